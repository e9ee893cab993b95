#include "config/config.hpp"

#include "common/ascii.hpp"
#include "config/reader.hpp"

namespace pgwarden::config {

namespace {

template <typename E, size_t N>
std::optional<E> lookup(std::string_view text, const std::pair<std::string_view, E> (&table)[N]) {
    for (const auto& [name, value] : table) {
        if (common::iequals_lower(text, name)) {
            return value;
        }
    }
    return std::nullopt;
}

template <typename E, size_t N>
std::string_view name_of(E value, const std::pair<std::string_view, E> (&table)[N]) {
    for (const auto& [name, v] : table) {
        if (v == value) {
            return name;
        }
    }
    return "unknown";
}

}  // namespace

const DatabaseConfig* Config::find_database(std::string_view name) const {
    if (auto it = databases.find(std::string(name)); it != databases.end()) {
        return &it->second;
    }
    if (auto it = databases.find("*"); it != databases.end()) {
        return &it->second;
    }
    return nullptr;
}

std::string Diagnostic::to_string() const {
    std::string out;
    if (!file.empty()) {
        out += file;
        if (line > 0) {
            out += ':' + std::to_string(line);
            if (column > 0) {
                out += ':' + std::to_string(column);
            }
        }
        out += ": ";
    }
    if (!key.empty()) {
        out += key + ": ";
    }
    out += message;
    if (!hint.empty()) {
        out += " (" + hint + ")";
    }
    return out;
}

std::string_view to_string(PoolMode mode) {
    return name_of(mode, detail::kPoolModes);
}

std::string_view to_string(AuthType type) {
    return name_of(type, detail::kAuthTypes);
}

std::optional<PoolMode> parse_pool_mode(std::string_view text) {
    return lookup(text, detail::kPoolModes);
}

std::optional<AuthType> parse_auth_type(std::string_view text) {
    return lookup(text, detail::kAuthTypes);
}

const WorkloadClass* Config::find_class(std::string_view name) const {
    for (const auto& c : classes) {
        if (c.name == name) {
            return &c;
        }
    }
    return nullptr;
}

const WorkloadClass& Config::match_class(std::string_view application_name, std::string_view user,
                                         std::string_view database,
                                         std::string_view client_address) const {
    if (auto job = jobs.find(std::string(application_name)); job != jobs.end()) {
        const auto* cls = find_class(job->second.workload_class.empty()
                                         ? std::string_view("background")
                                         : std::string_view(job->second.workload_class));
        if (cls != nullptr) {
            return *cls;
        }
    }
    for (const auto& c : classes) {
        if (c.matches(application_name, user, database, client_address)) {
            return c;
        }
    }
    // Only a Config built by hand (tests) lacks the default class.
    static const WorkloadClass kFallback = [] {
        WorkloadClass c;
        c.name = std::string(kDefaultClass);
        return c;
    }();
    return kFallback;
}

}  // namespace pgwarden::config
