#include "config/reader.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>

namespace pgwarden::config::detail {

namespace {

std::string lower(std::string_view text) {
    std::string out(text);
    for (auto& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
        text.remove_prefix(1);
    }
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
        text.remove_suffix(1);
    }
    return text;
}

bool is_bare_key(std::string_view key) {
    if (key.empty()) {
        return false;
    }
    return std::all_of(key.begin(), key.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-';
    });
}

bool looks_like_integer(std::string_view text) {
    text = trim(text);
    if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
        text.remove_prefix(1);
    }
    return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c));
    });
}

std::string last_part(const std::string& key) {
    auto dot = key.rfind('.');
    return dot == std::string::npos ? key : key.substr(dot + 1);
}

std::string range_message(int64_t value, int64_t min, int64_t max) {
    // "between 1 and 2147483647" reads like noise when the upper bound is just the type's.
    if (max < std::numeric_limits<int>::max()) {
        return fmt::format("must be between {} and {}, got {}", min, max, value);
    }
    if (value < min) {
        return fmt::format("must be at least {}, got {}", min, value);
    }
    return fmt::format("must be at most {}, got {}", max, value);
}

constexpr std::string_view kDurationHint =
    "use a number of seconds or a number with a unit: 250ms, 30s, 5m, 1h, 2d";

}  // namespace

void Reader::error(const toml::source_region& where, std::string key, std::string message,
                   std::string hint) {
    error(static_cast<int>(where.begin.line), static_cast<int>(where.begin.column), std::move(key),
          std::move(message), std::move(hint));
}

void Reader::error(int line, int column, std::string key, std::string message, std::string hint) {
    diagnostics_.push_back(
        Diagnostic{file_, line, column, std::move(key), std::move(message), std::move(hint)});
}

void Reader::remember(const std::string& key, const toml::source_region& where) {
    locations_.insert_or_assign(key, where);
}

const toml::source_region* Reader::location(const std::string& key) const {
    auto it = locations_.find(key);
    return it == locations_.end() ? nullptr : &it->second;
}

std::optional<int64_t> Reader::integer(const toml::node& node, const std::string& key, int64_t min,
                                       int64_t max) {
    if (const auto* v = node.as_integer()) {
        int64_t value = v->get();
        if (value < min || value > max) {
            error(node.source(), key, range_message(value, min, max));
            return std::nullopt;
        }
        return value;
    }
    std::string hint;
    if (const auto* s = node.as_string(); s != nullptr && looks_like_integer(s->get())) {
        hint =
            fmt::format("write the number without quotes: {} = {}", last_part(key), trim(s->get()));
    } else if (const auto* f = node.as_floating_point()) {
        if (std::isfinite(f->get()) && std::trunc(f->get()) == f->get()) {
            hint = fmt::format("write it without a fraction: {} = {}", last_part(key),
                               static_cast<int64_t>(f->get()));
        }
    }
    error(node.source(), key, fmt::format("expected an integer, got {}", type_phrase(node)),
          std::move(hint));
    return std::nullopt;
}

std::optional<std::string> Reader::string(const toml::node& node, const std::string& key) {
    if (const auto* v = node.as_string()) {
        return v->get();
    }
    error(node.source(), key, fmt::format("expected a string, got {}", type_phrase(node)),
          fmt::format("put the value in double quotes: {} = \"...\"", last_part(key)));
    return std::nullopt;
}

std::optional<bool> Reader::boolean(const toml::node& node, const std::string& key) {
    if (const auto* v = node.as_boolean()) {
        return v->get();
    }
    std::string hint;
    if (const auto* s = node.as_string()) {
        const std::string word = lower(trim(s->get()));
        for (std::string_view t : {"true", "on", "yes", "1"}) {
            if (word == t) {
                hint = fmt::format("write {} = true, without quotes", last_part(key));
            }
        }
        for (std::string_view f : {"false", "off", "no", "0"}) {
            if (word == f) {
                hint = fmt::format("write {} = false, without quotes", last_part(key));
            }
        }
    } else if (const auto* i = node.as_integer();
               i != nullptr && (i->get() == 0 || i->get() == 1)) {
        hint = fmt::format("write {} = {}", last_part(key), i->get() == 1 ? "true" : "false");
    }
    if (hint.empty()) {
        hint = "use true or false";
    }
    error(node.source(), key, fmt::format("expected true or false, got {}", type_phrase(node)),
          std::move(hint));
    return std::nullopt;
}

std::optional<Duration> Reader::duration(const toml::node& node, const std::string& key) {
    constexpr int64_t kMaxSeconds = std::numeric_limits<int64_t>::max() / 1000;
    if (const auto* i = node.as_integer()) {
        if (i->get() < 0) {
            error(node.source(), key, fmt::format("must not be negative, got {}", i->get()),
                  "use 0 to disable");
            return std::nullopt;
        }
        if (i->get() > kMaxSeconds) {
            error(node.source(), key, fmt::format("duration {}s is too large", i->get()));
            return std::nullopt;
        }
        return Duration(i->get() * 1000);
    }
    if (const auto* f = node.as_floating_point()) {
        const double seconds = f->get();
        if (!std::isfinite(seconds) || seconds > static_cast<double>(kMaxSeconds)) {
            error(node.source(), key, fmt::format("duration {} is not a usable number", seconds),
                  std::string(kDurationHint));
            return std::nullopt;
        }
        if (seconds < 0) {
            error(node.source(), key, fmt::format("must not be negative, got {}", seconds),
                  "use 0 to disable");
            return std::nullopt;
        }
        const double ms = seconds * 1000.0;
        if (std::abs(ms - std::round(ms)) > 1e-6) {
            error(node.source(), key,
                  fmt::format("duration {}s is finer than a millisecond", seconds),
                  "round it to whole milliseconds, e.g. \"250ms\"");
            return std::nullopt;
        }
        return Duration(static_cast<int64_t>(std::round(ms)));
    }
    if (const auto* s = node.as_string()) {
        if (auto d = parse_duration(s->get())) {
            return d;
        }
        if (auto t = trim(s->get()); !t.empty() && t.front() == '-') {
            error(node.source(), key, fmt::format("must not be negative, got \"{}\"", s->get()),
                  "use 0 to disable");
            return std::nullopt;
        }
        error(node.source(), key, fmt::format("cannot read \"{}\" as a duration", s->get()),
              std::string(kDurationHint));
        return std::nullopt;
    }
    error(node.source(), key, fmt::format("expected a duration, got {}", type_phrase(node)),
          std::string(kDurationHint));
    return std::nullopt;
}

std::optional<std::vector<std::string>> Reader::string_list(const toml::node& node,
                                                            const std::string& key) {
    std::vector<std::string> out;
    if (const auto* s = node.as_string()) {
        std::string_view rest = s->get();
        if (trim(rest).empty()) {
            return out;
        }
        bool ok = true;
        for (;;) {
            auto comma = rest.find(',');
            auto item = trim(rest.substr(0, comma));
            if (item.empty()) {
                ok = false;
            } else {
                out.emplace_back(item);
            }
            if (comma == std::string_view::npos) {
                break;
            }
            rest.remove_prefix(comma + 1);
        }
        if (!ok) {
            error(node.source(), key, fmt::format("empty entry in list \"{}\"", s->get()),
                  "separate entries with single commas: \"a, b\"");
            return std::nullopt;
        }
        return out;
    }
    if (const auto* array = node.as_array()) {
        bool ok = true;
        for (const auto& element : *array) {
            const auto* item = element.as_string();
            if (item == nullptr) {
                error(element.source(), key,
                      fmt::format("expected a string in the list, got {}", type_phrase(element)),
                      "quote every entry: [\"a\", \"b\"]");
                ok = false;
                continue;
            }
            auto text = trim(item->get());
            if (text.empty()) {
                error(element.source(), key, "empty entry in list", "remove the \"\" entry");
                ok = false;
                continue;
            }
            out.emplace_back(text);
        }
        if (!ok) {
            return std::nullopt;
        }
        return out;
    }
    error(node.source(), key,
          fmt::format("expected a string or an array of strings, got {}", type_phrase(node)),
          fmt::format("{} = \"a, b\" or {} = [\"a\", \"b\"]", last_part(key), last_part(key)));
    return std::nullopt;
}

std::optional<std::string_view> Reader::choice_index(const toml::node& node, const std::string& key,
                                                     std::span<const std::string_view> names) {
    std::string allowed;
    for (auto name : names) {
        allowed += allowed.empty() ? "" : ", ";
        allowed += name;
    }
    const auto* s = node.as_string();
    if (s == nullptr) {
        error(node.source(), key, fmt::format("expected a string, got {}", type_phrase(node)),
              "allowed: " + allowed);
        return std::nullopt;
    }
    const std::string word = lower(trim(s->get()));
    for (auto name : names) {
        if (word == name) {
            return name;
        }
    }
    std::string hint = "allowed: " + allowed;
    if (auto near = nearest(word, names); !near.empty()) {
        hint = fmt::format("did you mean \"{}\"? {}", near, hint);
    }
    error(node.source(), key, fmt::format("unknown {} \"{}\"", last_part(key), s->get()),
          std::move(hint));
    return std::nullopt;
}

void Reader::unknown_key(const toml::key& key, const std::string& dotted_key, std::string hint) {
    error(key.source(), dotted_key, "unknown key", std::move(hint));
}

std::string dotted(std::string_view parent, std::string_view key) {
    std::string out(parent);
    if (!out.empty()) {
        out += '.';
    }
    if (is_bare_key(key)) {
        out += key;
        return out;
    }
    out += '"';
    for (char c : key) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    out += '"';
    return out;
}

size_t edit_distance(std::string_view a, std::string_view b) {
    // Three rolling rows: the transposition step looks two rows back.
    std::vector<size_t> before(b.size() + 1), previous(b.size() + 1), current(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j) {
        previous[j] = j;
    }
    for (size_t i = 1; i <= a.size(); ++i) {
        current[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
                current[j] = std::min(current[j], before[j - 2] + 1);
            }
        }
        std::swap(before, previous);
        std::swap(previous, current);
    }
    return previous[b.size()];
}

std::string_view nearest(std::string_view word, std::span<const std::string_view> candidates) {
    // Short words tolerate fewer edits, or "port" would "mean" every four-letter key.
    const size_t limit = word.size() <= 4 ? 1 : word.size() <= 10 ? 2 : 3;
    const std::string folded = lower(word);
    std::string_view best;
    size_t best_distance = limit + 1;
    for (auto candidate : candidates) {
        const size_t d = edit_distance(folded, lower(candidate));
        if (d < best_distance) {
            best = candidate;
            best_distance = d;
        }
    }
    return best;
}

std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates) {
    auto near = nearest(word, candidates);
    return near.empty() ? std::string() : fmt::format("did you mean `{}`?", near);
}

std::string_view type_phrase(const toml::node& node) {
    switch (node.type()) {
    case toml::node_type::table:
        return "a table";
    case toml::node_type::array:
        return "an array";
    case toml::node_type::string:
        return "a string";
    case toml::node_type::integer:
        return "an integer";
    case toml::node_type::floating_point:
        return "a floating-point number";
    case toml::node_type::boolean:
        return "a boolean";
    case toml::node_type::date:
        return "a date";
    case toml::node_type::time:
        return "a time";
    case toml::node_type::date_time:
        return "a date-time";
    case toml::node_type::none:
        break;
    }
    return "nothing";
}

}  // namespace pgwarden::config::detail
