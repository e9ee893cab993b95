#pragma once

#include "config/alerts.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

// Configuration of the observe module. The alert thresholds and webhook settings have one
// source, config::AlertSettings (the [alerts] table and its defaults): alerts_from_settings
// turns those into rules, and the defaults here are taken from it.
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
    std::string url;  // http://host:port/path; empty disables the webhook
    Millis timeout{config::AlertSettings{}.webhook_timeout};  // per attempt, connect to response
    // Notifications beyond this are dropped and counted.
    size_t queue_capacity = static_cast<size_t>(config::AlertSettings{}.webhook_queue_size);
    int max_attempts = config::AlertSettings{}.webhook_max_attempts;  // first try included
    Millis initial_backoff{config::AlertSettings{}.webhook_backoff};  // doubled after each failure
    Millis max_backoff{config::AlertSettings{}.webhook_backoff_max};
};

struct AlertsConfig {
    bool enabled = true;
    Millis evaluation_interval{config::AlertSettings{}.evaluation_interval};
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

// The rules and webhook an [alerts] table asks for: utilization warning and critical, a
// suspected leak (unless `leak` is off) and a class waiting (unless `class_wait` is 0).
AlertsConfig alerts_from_settings(const config::AlertSettings& settings);

// What an [alerts] table left out means (config::AlertSettings' defaults).
std::vector<AlertRuleConfig> default_alert_rules();
AlertsConfig default_alerts_config();

}  // namespace pgwarden::observe
