#include "config/tables.hpp"

#include <fmt/format.h>

#include <limits>
#include <vector>

namespace pgwarden::config::detail {

namespace {

constexpr int64_t kMaxInt = std::numeric_limits<int>::max();

// Names from libpq connection strings and from the [pgwarden] table.
constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
    {"hostname", "host"},   {"hostaddr", "host"},
    {"database", "dbname"}, {"db", "dbname"},
    {"username", "user"},   {"default_pool_size", "pool_size"},
    {"pass", "password"},   {"max_connections", "max_db_connections"},
};

void read_host(Reader& r, const toml::node& n, const std::string& key, DatabaseConfig& db) {
    auto host = r.string(n, key);
    if (!host) {
        return;
    }
    if (host->empty()) {
        r.error(n.source(), key, "must not be empty",
                "the PostgreSQL server's address, e.g. \"127.0.0.1\" or \"/var/run/postgresql\"");
        return;
    }
    db.host = std::move(*host);
}

const std::vector<Field<DatabaseConfig>>& database_fields() {
    static const std::vector<Field<DatabaseConfig>> kFields = {
        {"host", &read_host},
        int_field("port", &DatabaseConfig::port, 1, 65535),
        string_field("dbname", &DatabaseConfig::dbname),
        string_field("user", &DatabaseConfig::user),
        string_field("password", &DatabaseConfig::password),
        int_field("pool_size", &DatabaseConfig::pool_size, 1, kMaxInt),
        int_field("min_pool_size", &DatabaseConfig::min_pool_size, 0, kMaxInt),
        choice_field("pool_mode", &DatabaseConfig::pool_mode,
                     std::span<const std::pair<std::string_view, PoolMode>>(kPoolModes)),
        int_field("max_db_connections", &DatabaseConfig::max_db_connections, 0, kMaxInt),
    };
    return kFields;
}

void load_database(Reader& reader, const std::string& name, const toml::node& node,
                   Config& config) {
    const std::string key = dotted("databases", name);
    const auto* table = node.as_table();
    if (table == nullptr) {
        reader.error(
            node.source(), key, fmt::format("expected a table, got {}", type_phrase(node)),
            fmt::format("write a [{}] line followed by host = \"...\", port, dbname", key));
        return;
    }
    if (name.empty()) {
        reader.error(node.source(), key, "a database needs a name",
                     "use [databases.NAME], or [databases.\"*\"] for any database name");
        return;
    }
    DatabaseConfig db;
    db.name = name;
    db.config_line = static_cast<int>(node.source().begin.line);
    apply_fields<DatabaseConfig>(
        reader, *table, key, database_fields(), kAliases,
        [](std::string_view k) { return unknown_key_hint(k, "databases", database_keys()); }, db);
    if (!table->contains("host")) {
        reader.error(node.source(), key, "missing required key `host`",
                     "add host = \"...\" with the PostgreSQL server's address");
    }
    config.databases.insert_or_assign(name, std::move(db));
}

}  // namespace

std::span<const std::string_view> database_keys() {
    static const auto kKeys = field_names(database_fields());
    return kKeys;
}

void load_databases(Reader& reader, const toml::node& node, Config& config) {
    const auto* table = node.as_table();
    if (table == nullptr) {
        reader.error(node.source(), "databases",
                     fmt::format("expected a table, got {}", type_phrase(node)),
                     "write one [databases.NAME] table per database");
        return;
    }
    for (const auto& [name, entry] : *table) {
        reader.remember(dotted("databases", name.str()), entry.source());
        load_database(reader, std::string(name.str()), entry, config);
    }
}

}  // namespace pgwarden::config::detail
