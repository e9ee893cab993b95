#include "observe/alert_config.hpp"

#include <string>

namespace pgwarden::observe {

AlertsConfig alerts_from_settings(const config::AlertSettings& a) {
    AlertsConfig cfg;
    cfg.enabled = a.enabled;
    cfg.evaluation_interval = a.evaluation_interval;
    const auto pct = [](double v) { return static_cast<int>(v * 100 + 0.5); };
    cfg.rules.push_back({"PgwardenPoolUtilizationHigh", AlertKind::Utilization, Severity::Warning,
                         a.utilization_warning, a.utilization_warning_resolve,
                         a.utilization_warning_for, a.utilization_resolve_for,
                         "pool utilization {value} has been at or above {threshold} (" +
                             std::to_string(pct(a.utilization_warning)) + "%)"});
    cfg.rules.push_back({"PgwardenPoolUtilizationHigh", AlertKind::Utilization, Severity::Critical,
                         a.utilization_critical, a.utilization_critical_resolve,
                         a.utilization_critical_for, a.utilization_resolve_for,
                         "pool utilization {value} has been at or above {threshold} (" +
                             std::to_string(pct(a.utilization_critical)) + "%)"});
    if (a.leak) {
        cfg.rules.push_back({"PgwardenSuspectedLeak", AlertKind::SuspectedLeak, Severity::Warning,
                             1, 1, std::chrono::milliseconds(0), std::chrono::seconds(30),
                             "{value} suspected leaked connection(s) held by this class"});
    }
    if (a.class_wait.count() > 0) {
        const double wait = std::chrono::duration<double>(a.class_wait).count();
        cfg.rules.push_back({"PgwardenClassWaiting", AlertKind::ClassWait, Severity::Warning, wait,
                             wait / 2, std::chrono::milliseconds(0), std::chrono::seconds(15),
                             "clients of this class have waited {value}s for a connection"});
    }
    cfg.webhook.url = a.webhook_url;
    cfg.webhook.timeout = a.webhook_timeout;
    cfg.webhook.queue_capacity = static_cast<size_t>(a.webhook_queue_size);
    cfg.webhook.max_attempts = a.webhook_max_attempts;
    cfg.webhook.initial_backoff = a.webhook_backoff;
    cfg.webhook.max_backoff = a.webhook_backoff_max;
    return cfg;
}

std::vector<AlertRuleConfig> default_alert_rules() {
    return alerts_from_settings(config::AlertSettings{}).rules;
}

AlertsConfig default_alerts_config() {
    return alerts_from_settings(config::AlertSettings{});
}

}  // namespace pgwarden::observe
