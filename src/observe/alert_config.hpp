#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

// Configuration of the observe module, with the defaults issue #4 asks for. The config loader
// (src/config) fills these from the [stats] and [alerts] tables; observe never reads TOML.
namespace pgwarden::observe {

using Millis = std::chrono::milliseconds;

enum class Severity {
    Warning,   // needs attention soon
    Critical,  // user traffic is at risk now
};

enum class AlertKind {
    Utilization,    // value: a pool's server connections in use / pool_size (0..1)
    SuspectedLeak,  // value: a class's currently suspected leaked checkouts (count)
    ClassWait,      // value: a class's oldest waiting client, seconds
};

// One rule: fires when `value >= fire_threshold` has held for `fire_for`; resolves when
// `value < resolve_threshold` has held for `resolve_for`. resolve_threshold <= fire_threshold
// is the hysteresis band: a value hovering around the fire threshold does not flap.
struct AlertRuleConfig {
    std::string name;  // Alertmanager `alertname`, e.g. PgwardenPoolUtilizationHigh
    AlertKind kind = AlertKind::Utilization;
    Severity severity = Severity::Warning;
    double fire_threshold = 0;
    double resolve_threshold = 0;
    Millis fire_for{0};
    Millis resolve_for{0};
    std::string summary;  // annotation; {value} and {threshold} are substituted
};

struct WebhookConfig {
    std::string url;               // http://host:port/path; empty disables the webhook
    Millis timeout{5000};          // per attempt: connect + send + response
    size_t queue_capacity = 256;   // notifications beyond this are dropped and counted
    int max_attempts = 6;          // first try included
    Millis initial_backoff{1000};  // doubled after each failure
    Millis max_backoff{60000};
};

struct AlertsConfig {
    bool enabled = true;
    Millis evaluation_interval{1000};
    size_t history_size = 200;           // resolved alerts kept for /alerts
    std::vector<AlertRuleConfig> rules;  // default_alert_rules() unless configured
    WebhookConfig webhook;
};

// Limits of the stats HTTP endpoint. Each exists to keep a misbehaving HTTP client from
// costing the proxy anything.
struct HttpConfig {
    std::string listen = "127.0.0.1:9127";   // host:port; [v6]:port accepted
    size_t header_limit = size_t{8} * 1024;  // larger request headers: 431
    size_t body_limit = size_t{16} * 1024;   // larger request bodies: 413
    Millis read_timeout{5000};               // whole request, from the first byte wait
    Millis write_timeout{10000};
    size_t max_connections = 64;  // beyond: accepted and closed at once
};

// The rules of issue #4: utilization >= 70% for 60 s (warning), >= 90% for 15 s (critical),
// any suspected leak (warning), a class waiting more than 1 s (warning).
inline std::vector<AlertRuleConfig> default_alert_rules() {
    using std::chrono::seconds;
    return {
        {"PgwardenPoolUtilizationHigh", AlertKind::Utilization, Severity::Warning, 0.70, 0.65,
         seconds(60), seconds(30),
         "pool utilization {value} has been at or above {threshold} for a minute"},
        {"PgwardenPoolUtilizationHigh", AlertKind::Utilization, Severity::Critical, 0.90, 0.85,
         seconds(15), seconds(30),
         "pool utilization {value} has been at or above {threshold} for 15 seconds"},
        {"PgwardenSuspectedLeak", AlertKind::SuspectedLeak, Severity::Warning, 1, 1, seconds(0),
         seconds(30), "{value} suspected leaked connection(s) held by this class"},
        {"PgwardenClassWaiting", AlertKind::ClassWait, Severity::Warning, 1.0, 0.5, seconds(0),
         seconds(15), "clients of this class have waited {value}s for a connection"},
    };
}

inline AlertsConfig default_alerts_config() {
    AlertsConfig cfg;
    cfg.rules = default_alert_rules();
    return cfg;
}

}  // namespace pgwarden::observe
