#pragma once

#include "config/config.hpp"

#include <toml++/toml.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

// Internal to the config module: the only place that sees toml++. The public header stays
// free of it so a reload (and every module that reads a Config) does not compile TOML code.
namespace pgwarden::config::detail {

// Converts TOML nodes to typed values for one config file and collects a Diagnostic for
// every mismatch, so a user sees all problems in one run instead of fixing them one by one.
// Single-threaded; one Reader per load.
class Reader {
public:
    explicit Reader(std::string file) : file_(std::move(file)) {}

    const std::string& file() const { return file_; }
    std::vector<Diagnostic>& diagnostics() { return diagnostics_; }

    void error(const toml::source_region& where, std::string key, std::string message,
               std::string hint = {});
    void error(int line, int column, std::string key, std::string message, std::string hint = {});

    // Where each dotted key was written, for checks that involve several keys.
    void remember(const std::string& key, const toml::source_region& where);
    const toml::source_region* location(const std::string& key) const;

    std::optional<int64_t> integer(const toml::node& node, const std::string& key, int64_t min,
                                   int64_t max);
    std::optional<std::string> string(const toml::node& node, const std::string& key);
    std::optional<bool> boolean(const toml::node& node, const std::string& key);
    // A string with a unit ("30s") or a number of seconds; never negative.
    std::optional<Duration> duration(const toml::node& node, const std::string& key);
    // "a, b" or ["a", "b"]; entries are trimmed and must not be empty.
    std::optional<std::vector<std::string>> string_list(const toml::node& node,
                                                        const std::string& key);
    // One of `allowed` (matched case-insensitively); the error lists them all.
    template <typename E>
    std::optional<E> choice(const toml::node& node, const std::string& key,
                            std::span<const std::pair<std::string_view, E>> allowed);

    void unknown_key(const toml::key& key, const std::string& dotted_key, std::string hint);

private:
    std::optional<std::string_view> choice_index(const toml::node& node, const std::string& key,
                                                 std::span<const std::string_view> names);

    std::string file_;
    std::vector<Diagnostic> diagnostics_;
    std::map<std::string, toml::source_region> locations_;
};

// "parent.key", quoting a key that is not a bare TOML key ("databases.\"my.db\"").
std::string dotted(std::string_view parent, std::string_view key);

// Optimal string alignment distance: Levenshtein plus adjacent transpositions, because
// "defualt" is one typo, not two.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate a typo most likely meant, or empty when none is close enough.
std::string_view nearest(std::string_view word, std::span<const std::string_view> candidates);

// "did you mean `x`?" for the nearest candidate, or empty.
std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates);

// "an integer", "a string", ... for messages.
std::string_view type_phrase(const toml::node& node);

// One key of a table kind and how it lands in the target struct.
template <typename Target>
struct Field {
    std::string_view name;
    std::function<void(Reader&, const toml::node&, const std::string&, Target&)> apply;
};

// Applies every key of `table` through `fields`; unknown keys become errors with hints.
// `aliases` maps names users bring from elsewhere to the key meant ("port" -> "listen_port").
template <typename Target>
void apply_fields(Reader& reader, const toml::table& table, std::string_view parent,
                  std::span<const Field<Target>> fields,
                  std::span<const std::pair<std::string_view, std::string_view>> aliases,
                  const std::function<std::string(std::string_view)>& fallback_hint,
                  Target& target) {
    std::vector<std::string_view> names;
    names.reserve(fields.size());
    for (const auto& field : fields) {
        names.push_back(field.name);
    }
    for (const auto& [key, node] : table) {
        const std::string full = dotted(parent, key.str());
        reader.remember(full, node.source());
        bool known = false;
        for (const auto& field : fields) {
            if (field.name == key.str()) {
                field.apply(reader, node, full, target);
                known = true;
                break;
            }
        }
        if (known) {
            continue;
        }
        std::string hint;
        for (const auto& [from, to] : aliases) {
            if (from == key.str()) {
                hint = "did you mean `" + std::string(to) + "`?";
            }
        }
        if (hint.empty()) {
            hint = did_you_mean(key.str(), names);
        }
        if (hint.empty()) {
            hint = fallback_hint(key.str());
        }
        reader.unknown_key(key, full, std::move(hint));
    }
}

template <typename T>
struct Unwrapped {
    using type = T;
};
template <typename T>
struct Unwrapped<std::optional<T>> {
    using type = T;
};

// The names of `fields`, in order (a table's known keys).
template <typename Target>
std::vector<std::string_view> field_names(const std::vector<Field<Target>>& fields) {
    std::vector<std::string_view> names;
    names.reserve(fields.size());
    for (const auto& field : fields) {
        names.push_back(field.name);
    }
    return names;
}

template <typename Target, typename M>
Field<Target> int_field(std::string_view name, M Target::*member, int64_t min, int64_t max) {
    return {name, [member, min, max](Reader& r, const toml::node& n, const std::string& key,
                                     Target& target) {
                if (auto v = r.integer(n, key, min, max)) {
                    target.*member = static_cast<typename Unwrapped<M>::type>(*v);
                }
            }};
}

template <typename Target>
Field<Target> string_field(std::string_view name, std::string Target::*member) {
    return {name, [member](Reader& r, const toml::node& n, const std::string& key, Target& target) {
                if (auto v = r.string(n, key)) {
                    target.*member = std::move(*v);
                }
            }};
}

template <typename Target>
Field<Target> bool_field(std::string_view name, bool Target::*member) {
    return {name, [member](Reader& r, const toml::node& n, const std::string& key, Target& target) {
                if (auto v = r.boolean(n, key)) {
                    target.*member = *v;
                }
            }};
}

template <typename Target>
Field<Target> duration_field(std::string_view name, Duration Target::*member) {
    return {name, [member](Reader& r, const toml::node& n, const std::string& key, Target& target) {
                if (auto v = r.duration(n, key)) {
                    target.*member = *v;
                }
            }};
}

template <typename Target>
Field<Target> list_field(std::string_view name, std::vector<std::string> Target::*member) {
    return {name, [member](Reader& r, const toml::node& n, const std::string& key, Target& target) {
                if (auto v = r.string_list(n, key)) {
                    target.*member = std::move(*v);
                }
            }};
}

template <typename Target, typename M, typename E>
Field<Target> choice_field(std::string_view name, M Target::*member,
                           std::span<const std::pair<std::string_view, E>> allowed) {
    return {name, [member, allowed](Reader& r, const toml::node& n, const std::string& key,
                                    Target& target) {
                if (auto v = r.choice(n, key, allowed)) {
                    target.*member = *v;
                }
            }};
}

template <typename E>
std::optional<E> Reader::choice(const toml::node& node, const std::string& key,
                                std::span<const std::pair<std::string_view, E>> allowed) {
    std::vector<std::string_view> names;
    names.reserve(allowed.size());
    for (const auto& entry : allowed) {
        names.push_back(entry.first);
    }
    auto name = choice_index(node, key, names);
    if (!name) {
        return std::nullopt;
    }
    for (const auto& entry : allowed) {
        if (entry.first == *name) {
            return entry.second;
        }
    }
    return std::nullopt;
}

inline constexpr std::pair<std::string_view, PoolMode> kPoolModes[] = {
    {"session", PoolMode::Session},
    {"transaction", PoolMode::Transaction},
    {"statement", PoolMode::Statement},
};

inline constexpr std::pair<std::string_view, AuthType> kAuthTypes[] = {
    {"trust", AuthType::Trust},
    {"plain", AuthType::Plain},
    {"md5", AuthType::Md5},
    {"scram-sha-256", AuthType::ScramSha256},
};

}  // namespace pgwarden::config::detail
