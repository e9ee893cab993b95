#include "commands.hpp"

#include "config/config.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <iostream>
#include <memory>
#include <string>

namespace pgwarden::app {

namespace {

std::string listen_summary(const config::Settings& s) {
    std::string out;
    for (const auto& addr : s.listen_addr) {
        out += out.empty() ? "" : ", ";
        // An IPv6 literal needs brackets before ":port" to stay readable and pasteable.
        out += addr.find(':') != std::string::npos ? fmt::format("[{}]:{}", addr, s.listen_port)
                                                   : fmt::format("{}:{}", addr, s.listen_port);
    }
    if (!s.unix_socket_dir.empty()) {
        out += fmt::format(", unix socket in {}", s.unix_socket_dir);
    }
    return out;
}

std::string database_summary(const config::DatabaseConfig& db, const config::Settings& s) {
    const std::string dbname =
        !db.dbname.empty() ? db.dbname : (db.name == "*" ? "<client's database>" : db.name);
    const std::string user = db.user.empty() ? "<client's user>" : db.user;
    return fmt::format("{} -> {}:{}/{} as {}, pool_size {}, {} mode", db.name, db.host, db.port,
                       dbname, user, db.pool_size.value_or(s.default_pool_size),
                       config::to_string(db.pool_mode.value_or(s.pool_mode)));
}

std::string class_summary(const config::WorkloadClass& c) {
    std::vector<std::string> match;
    auto add = [&](const char* key, const std::vector<std::string>& values) {
        if (!values.empty()) {
            match.push_back(fmt::format("{}={}", key, fmt::join(values, "|")));
        }
    };
    add("application_name", c.application_name);
    add("user", c.user);
    add("database", c.database);
    add("client_addr", c.client_addr_text);
    std::string out = fmt::format(
        "{}: {}; reserve {}, max {}, priority {}", c.name,
        match.empty() ? "everything else" : fmt::format("{}", fmt::join(match, " ")),
        c.reserve ? c.reserve->to_string() : "0", c.max ? c.max->to_string() : "pool", c.priority);
    if (c.idle_transaction_timeout.count() > 0 || c.max_checkout_time.count() > 0) {
        out += fmt::format(", leaks: idle_transaction_timeout {} max_checkout_time {} -> {}",
                           config::format_duration(c.idle_transaction_timeout),
                           config::format_duration(c.max_checkout_time),
                           config::to_string(c.leak_action));
    }
    if (c.query_timeout.count() > 0) {
        out += fmt::format(", query_timeout {}", config::format_duration(c.query_timeout));
    }
    return out;
}

std::string alerts_summary(const config::AlertSettings& a) {
    if (!a.enabled) {
        return "off";
    }
    const auto pct = [](double v) { return static_cast<int>(v * 100 + 0.5); };
    std::string out = fmt::format(
        "utilization >= {}% for {} (warning), >= {}% for {} (critical)", pct(a.utilization_warning),
        config::format_duration(a.utilization_warning_for), pct(a.utilization_critical),
        config::format_duration(a.utilization_critical_for));
    if (a.leak) {
        out += ", suspected leaks";
    }
    if (a.class_wait.count() > 0) {
        out += fmt::format(", class waits > {}", config::format_duration(a.class_wait));
    }
    out += a.webhook_url.empty() ? "; no webhook" : "; webhook " + a.webhook_url;
    return out;
}

int run_check(const std::string& path) {
    const auto result = config::load_file(path);
    if (!result.ok()) {
        for (const auto& diagnostic : result.errors) {
            std::cerr << diagnostic.to_string() << "\n";
        }
        std::cerr << fmt::format("pgwarden check: {} error{} in {}\n", result.errors.size(),
                                 result.errors.size() == 1 ? "" : "s", path);
        return 1;
    }
    const auto& c = *result.config;
    const auto& s = c.settings;
    std::cout << fmt::format("{}: OK\n", path);
    std::cout << fmt::format("listen:    {}\n", listen_summary(s));
    std::cout << fmt::format("auth:      {}{}\n", config::to_string(s.auth_type),
                             s.auth_file.empty()
                                 ? std::string()
                                 : fmt::format(", {} user{} from {}", c.users.size(),
                                               c.users.size() == 1 ? "" : "s", s.auth_file));
    std::cout << fmt::format("pool mode: {}, default_pool_size {}, max_client_conn {}\n",
                             config::to_string(s.pool_mode), s.default_pool_size,
                             s.max_client_conn);
    std::cout << fmt::format("databases: {}\n", c.databases.size());
    for (const auto& [name, db] : c.databases) {
        std::cout << "  " << database_summary(db, s) << "\n";
    }
    std::cout << fmt::format("classes (first match wins): {}\n", c.classes.size());
    for (const auto& cls : c.classes) {
        std::cout << "  " << class_summary(cls) << "\n";
    }
    if (!c.jobs.empty()) {
        std::cout << fmt::format("jobs:      {} (max_concurrency {})\n", c.jobs.size(),
                                 c.scheduler.max_concurrency);
        for (const auto& [name, job] : c.jobs) {
            std::cout << fmt::format("  {}: {} {} on {}{}\n", name, config::to_string(job.kind),
                                     job.every ? "every " + config::format_duration(*job.every)
                                               : "\"" + job.schedule + "\" " + job.timezone,
                                     job.database, job.enabled ? "" : " (disabled)");
        }
    }
    std::cout << fmt::format("stats:     http://{}/ (metrics, health, alerts, dashboard)\n",
                             s.stats_listen);
    std::cout << "alerts:    " << alerts_summary(c.alerts) << "\n";
    return 0;
}

}  // namespace

Runner register_check(CLI::App& root) {
    auto* cmd = root.add_subcommand(
        "check",
        "Validate a config file (and its auth_file); print every problem with "
        "file:line:column, or a summary when it is valid. Exit 0 valid, 1 invalid.");
    auto path = std::make_shared<std::string>();
    cmd->add_option("-c,--config", *path, "The TOML config file to check")
        ->required()
        ->option_text("FILE");
    return [path] { return run_check(*path); };
}

}  // namespace pgwarden::app
