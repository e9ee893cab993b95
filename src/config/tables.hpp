#pragma once

#include "config/config.hpp"
#include "config/reader.hpp"

#include <span>
#include <string>
#include <string_view>

// Internal to the config module: the kinds of top-level table a config file may hold.
// Adding a kind ([classes.NAME], [jobs.NAME]) is one load function plus one row in
// table_kinds(); the loader, the unknown-table hints and the cross-table key hints follow.
namespace pgwarden::config::detail {

struct TableKind {
    std::string_view name;   // the top-level key: "pgwarden", "databases"
    std::string_view shown;  // how hints name it: "[pgwarden]", "[databases.NAME]"
    // Reads the node found under `name` into `config`; every problem goes to `reader`.
    void (*load)(Reader& reader, const toml::node& node, Config& config);
    // The keys its tables accept, for "`host` belongs in [databases.NAME]" hints.
    std::span<const std::string_view> (*keys)();
};

std::span<const TableKind> table_kinds();

// "`key` belongs in [other]" when another table kind accepts `key`, else empty.
std::string belongs_elsewhere(std::string_view key, std::string_view current_kind);
// The hint for an unknown key of a `kind` table: where it belongs, else the known keys.
std::string unknown_key_hint(std::string_view key, std::string_view kind,
                             std::span<const std::string_view> known);

void load_settings(Reader& reader, const toml::node& node, Config& config);
std::span<const std::string_view> settings_keys();

void load_databases(Reader& reader, const toml::node& node, Config& config);
std::span<const std::string_view> database_keys();

void load_classes(Reader& reader, const toml::node& node, Config& config);
std::span<const std::string_view> class_keys();
// Orders the classes as the file lists them and appends the default class (or moves a
// configured [classes.default] to the end): always called, with or without [classes].
void finish_classes(Config& config);
// [jobs.NAME] and [scheduler] (jobs_table.cpp); check_jobs runs once every table is read.
void load_jobs(Reader& reader, const toml::node& node, Config& config);
std::span<const std::string_view> job_keys();
void load_scheduler(Reader& reader, const toml::node& node, Config& config);
std::span<const std::string_view> scheduler_keys();
void check_jobs(Reader& reader, Config& config);
void load_alerts(Reader& reader, const toml::node& node, Config& config);
std::span<const std::string_view> alert_keys();

}  // namespace pgwarden::config::detail
