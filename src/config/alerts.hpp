#pragma once

#include <chrono>
#include <string>

// The [alerts] table: thresholds and delivery of the utilization, leak and wait alerts
// (issue #4). Plain values only; serve turns them into observe::AlertsConfig, so the config
// module stays independent of observe.
namespace pgwarden::config {

struct AlertSettings {
    bool enabled = true;
    std::chrono::milliseconds evaluation_interval{1000};
    // Pool utilization (server connections in use / pool_size) warning and critical rules:
    // fire at >= threshold held for `_for`; resolve below `_resolve` held for
    // utilization_resolve_for. The gap between the two is the hysteresis band; a resolve
    // threshold left out of the file is its fire threshold minus 0.05.
    double utilization_warning = 0.70;
    std::chrono::milliseconds utilization_warning_for{std::chrono::seconds(60)};
    double utilization_warning_resolve = 0.65;
    double utilization_critical = 0.90;
    std::chrono::milliseconds utilization_critical_for{std::chrono::seconds(15)};
    double utilization_critical_resolve = 0.85;
    std::chrono::milliseconds utilization_resolve_for{std::chrono::seconds(30)};
    bool leak = true;  // alert on any suspected leaked checkout
    std::chrono::milliseconds class_wait{std::chrono::seconds(1)};  // 0 disables the rule
    // The dashboard highlights checkouts held longer than this as suspected leaks; 0: only
    // those the leak detector flags.
    std::chrono::milliseconds long_checkout{std::chrono::seconds(30)};
    std::string webhook_url;  // http://host:port/path (Alertmanager webhook format); empty: off
    std::chrono::milliseconds webhook_timeout{std::chrono::seconds(5)};
    int webhook_queue_size = 256;
    int webhook_max_attempts = 6;
    std::chrono::milliseconds webhook_backoff{std::chrono::seconds(1)};
    std::chrono::milliseconds webhook_backoff_max{std::chrono::seconds(60)};
};

}  // namespace pgwarden::config
