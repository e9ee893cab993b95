#include "config/tables.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <vector>

namespace pgwarden::config::detail {

namespace {

constexpr int64_t kMaxInt = std::numeric_limits<int>::max();

constexpr std::pair<std::string_view, std::string_view> kLogFormats[] = {
    {"text", "text"},
    {"json", "json"},
};

// The names spdlog::level::from_str understands.
constexpr std::pair<std::string_view, std::string_view> kLogLevels[] = {
    {"trace", "trace"}, {"debug", "debug"},       {"info", "info"}, {"warn", "warn"},
    {"error", "error"}, {"critical", "critical"}, {"off", "off"},
};

// Names users bring from PgBouncer habits or PostgreSQL's own settings.
constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
    {"pool_size", "default_pool_size"},
    {"port", "listen_port"},
    {"listen_host", "listen_addr"},
    {"max_connections", "max_client_conn"},
    {"auth_method", "auth_type"},
    {"userlist", "auth_file"},
    {"threads", "workers"},
};

bool is_host_name(std::string_view text) {
    return !text.empty() && text.size() <= 253 && std::all_of(text.begin(), text.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.';
    });
}

bool is_ip(const std::string& text) {
    unsigned char buffer[16];
    return inet_pton(AF_INET, text.c_str(), buffer) == 1 ||
           inet_pton(AF_INET6, text.c_str(), buffer) == 1;
}

void read_listen_addr(Reader& r, const toml::node& n, const std::string& key, Settings& s) {
    auto list = r.string_list(n, key);
    if (!list) {
        return;
    }
    if (list->empty()) {
        r.error(n.source(), key, "must name at least one address",
                "use \"127.0.0.1\" for local clients or \"*\" for every interface");
        return;
    }
    bool ok = true;
    for (const auto& addr : *list) {
        if (addr != "*" && !is_ip(addr) && !is_host_name(addr)) {
            r.error(n.source(), key, fmt::format("\"{}\" is not an IP address or host name", addr),
                    "examples: \"127.0.0.1\", \"::1\", \"*\"");
            ok = false;
        }
    }
    if (ok) {
        s.listen_addr = std::move(*list);
    }
}

void read_stats_listen(Reader& r, const toml::node& n, const std::string& key, Settings& s) {
    auto text = r.string(n, key);
    if (!text) {
        return;
    }
    const std::string_view hint = "write host:port, e.g. \"127.0.0.1:9127\" or \"[::1]:9127\"";
    auto colon = text->rfind(':');
    if (colon == std::string::npos || colon == 0) {
        r.error(n.source(), key, fmt::format("\"{}\" is not host:port", *text), std::string(hint));
        return;
    }
    std::string host = text->substr(0, colon);
    std::string_view port_text = std::string_view(*text).substr(colon + 1);
    if (host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string::npos) {
        r.error(n.source(), key, fmt::format("\"{}\": an IPv6 address needs brackets", *text),
                std::string(hint));
        return;
    }
    int port = 0;
    auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 ||
        port > 65535) {
        r.error(n.source(), key, fmt::format("\"{}\": port must be 1..65535", *text),
                std::string(hint));
        return;
    }
    if (host != "*" && !is_ip(host) && !is_host_name(host)) {
        r.error(n.source(), key,
                fmt::format("\"{}\": \"{}\" is not an IP address or host name", *text, host),
                std::string(hint));
        return;
    }
    s.stats_listen = *text;
}

const std::vector<Field<Settings>>& settings_fields() {
    static const std::vector<Field<Settings>> kFields = {
        {"listen_addr", &read_listen_addr},
        int_field("listen_port", &Settings::listen_port, 1, 65535),
        string_field("unix_socket_dir", &Settings::unix_socket_dir),
        choice_field("auth_type", &Settings::auth_type,
                     std::span<const std::pair<std::string_view, AuthType>>(kAuthTypes)),
        string_field("auth_file", &Settings::auth_file),
        string_field("auth_query", &Settings::auth_query),
        string_field("auth_user", &Settings::auth_user),
        choice_field("pool_mode", &Settings::pool_mode,
                     std::span<const std::pair<std::string_view, PoolMode>>(kPoolModes)),
        int_field("default_pool_size", &Settings::default_pool_size, 1, kMaxInt),
        int_field("min_pool_size", &Settings::min_pool_size, 0, kMaxInt),
        int_field("max_client_conn", &Settings::max_client_conn, 1, kMaxInt),
        int_field("max_db_connections", &Settings::max_db_connections, 0, kMaxInt),
        int_field("max_user_connections", &Settings::max_user_connections, 0, kMaxInt),
        int_field("max_prepared_statements", &Settings::max_prepared_statements, 0, kMaxInt),
        duration_field("server_lifetime", &Settings::server_lifetime),
        duration_field("server_idle_timeout", &Settings::server_idle_timeout),
        duration_field("server_check_delay", &Settings::server_check_delay),
        duration_field("server_connect_timeout", &Settings::server_connect_timeout),
        duration_field("server_login_retry", &Settings::server_login_retry),
        duration_field("query_wait_timeout", &Settings::query_wait_timeout),
        duration_field("client_idle_timeout", &Settings::client_idle_timeout),
        duration_field("client_login_timeout", &Settings::client_login_timeout),
        duration_field("shutdown_timeout", &Settings::shutdown_timeout),
        string_field("server_reset_query", &Settings::server_reset_query),
        bool_field("server_reset_query_always", &Settings::server_reset_query_always),
        // A PostgreSQL message length is an int32, so larger limits mean nothing; below
        // 1 KiB ordinary startup packets would already be refused.
        int_field("max_packet_size", &Settings::max_packet_size, 1024, 2147483647),
        list_field("admin_users", &Settings::admin_users),
        list_field("stats_users", &Settings::stats_users),
        int_field("workers", &Settings::workers, 0, 1024),
        int_field("max_server_connections", &Settings::max_server_connections, 0, kMaxInt),
        int_field("server_connections_margin", &Settings::server_connections_margin, 0, kMaxInt),
        int_field("leak_history", &Settings::leak_history, 0, 1000000),
        choice_field("log_format", &Settings::log_format,
                     std::span<const std::pair<std::string_view, std::string_view>>(kLogFormats)),
        choice_field("log_level", &Settings::log_level,
                     std::span<const std::pair<std::string_view, std::string_view>>(kLogLevels)),
        bool_field("log_connections", &Settings::log_connections),
        bool_field("log_disconnections", &Settings::log_disconnections),
        {"stats_listen", &read_stats_listen},
    };
    return kFields;
}

}  // namespace

std::span<const std::string_view> settings_keys() {
    static const auto kKeys = field_names(settings_fields());
    return kKeys;
}

void load_settings(Reader& reader, const toml::node& node, Config& config) {
    const auto* table = node.as_table();
    if (table == nullptr) {
        reader.error(node.source(), "pgwarden",
                     fmt::format("expected a table, got {}", type_phrase(node)),
                     "write a [pgwarden] line and put the settings below it");
        return;
    }
    apply_fields<Settings>(
        reader, *table, "pgwarden", settings_fields(), kAliases,
        [](std::string_view key) {
            auto elsewhere = belongs_elsewhere(key, "pgwarden");
            return elsewhere.empty()
                       ? std::string("deploy/pgwarden.example.toml lists every setting")
                       : elsewhere;
        },
        config.settings);
}

}  // namespace pgwarden::config::detail
