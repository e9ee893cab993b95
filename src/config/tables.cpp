#include "config/tables.hpp"

#include <fmt/format.h>

namespace pgwarden::config::detail {

std::span<const TableKind> table_kinds() {
    static constexpr TableKind kKinds[] = {
        {"pgwarden", "[pgwarden]", &load_settings, &settings_keys},
        {"databases", "[databases.NAME]", &load_databases, &database_keys},
        {"classes", "[classes.NAME]", &load_classes, &class_keys},
        {"jobs", "[jobs.NAME]", &load_jobs, &job_keys},
        {"scheduler", "[scheduler]", &load_scheduler, &scheduler_keys},
        {"alerts", "[alerts]", &load_alerts, &alert_keys},
    };
    return kKinds;
}

std::string belongs_elsewhere(std::string_view key, std::string_view current_kind) {
    for (const auto& kind : table_kinds()) {
        if (kind.name == current_kind) {
            continue;
        }
        for (auto known : kind.keys()) {
            if (known == key) {
                return fmt::format("`{}` belongs in a {} table", key, kind.shown);
            }
        }
    }
    return {};
}

std::string unknown_key_hint(std::string_view key, std::string_view kind,
                             std::span<const std::string_view> known) {
    auto elsewhere = belongs_elsewhere(key, kind);
    if (!elsewhere.empty()) {
        return elsewhere;
    }
    std::string list;
    for (auto name : known) {
        list += list.empty() ? "" : ", ";
        list += name;
    }
    return "known keys: " + list;
}

}  // namespace pgwarden::config::detail
