#include "config/tables.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace pgwarden::config::detail {

namespace {

// A share of a pool, 0 < x <= 1. Percentages are the usual slip ("70" for 70%), so they get
// a hint rather than a silent conversion.
void read_ratio(Reader& r, const toml::node& n, const std::string& key, double& out) {
    double v = 0;
    if (const auto* f = n.as_floating_point()) {
        v = f->get();
    } else if (const auto* i = n.as_integer()) {
        v = static_cast<double>(i->get());
    } else {
        r.error(n.source(), key, fmt::format("expected a number, got {}", type_phrase(n)),
                "a share of the pool between 0 and 1, e.g. 0.70");
        return;
    }
    if (!std::isfinite(v) || v <= 0 || v > 1) {
        r.error(n.source(), key, fmt::format("must be above 0 and at most 1, got {}", v),
                v > 1 && v <= 100 ? fmt::format("write {} for {}%", v / 100, v)
                                  : std::string("e.g. 0.70 for 70%"));
        return;
    }
    out = v;
}

Field<AlertSettings> ratio_field(std::string_view name, double AlertSettings::*member) {
    return {name, [member](Reader& r, const toml::node& n, const std::string& key,
                           AlertSettings& target) { read_ratio(r, n, key, target.*member); }};
}

void read_webhook_url(Reader& r, const toml::node& n, const std::string& key, AlertSettings& a) {
    auto text = r.string(n, key);
    if (!text) {
        return;
    }
    if (!text->empty() && !text->starts_with("http://")) {
        r.error(n.source(), key, fmt::format("\"{}\" is not an http:// URL", *text),
                text->starts_with("https://")
                    ? "https is not supported; point it at a local relay or Alertmanager"
                    : "e.g. \"http://127.0.0.1:9093/api/v1/alerts\"");
        return;
    }
    a.webhook_url = *text;
}

const std::vector<Field<AlertSettings>>& alert_fields() {
    static const std::vector<Field<AlertSettings>> kFields = {
        bool_field("enabled", &AlertSettings::enabled),
        duration_field("evaluation_interval", &AlertSettings::evaluation_interval),
        ratio_field("utilization_warning", &AlertSettings::utilization_warning),
        duration_field("utilization_warning_for", &AlertSettings::utilization_warning_for),
        ratio_field("utilization_warning_resolve", &AlertSettings::utilization_warning_resolve),
        ratio_field("utilization_critical", &AlertSettings::utilization_critical),
        duration_field("utilization_critical_for", &AlertSettings::utilization_critical_for),
        ratio_field("utilization_critical_resolve", &AlertSettings::utilization_critical_resolve),
        duration_field("utilization_resolve_for", &AlertSettings::utilization_resolve_for),
        bool_field("leak", &AlertSettings::leak),
        duration_field("class_wait", &AlertSettings::class_wait),
        duration_field("long_checkout", &AlertSettings::long_checkout),
        {"webhook_url", &read_webhook_url},
        duration_field("webhook_timeout", &AlertSettings::webhook_timeout),
        int_field("webhook_queue_size", &AlertSettings::webhook_queue_size, 1, 1000000),
        int_field("webhook_max_attempts", &AlertSettings::webhook_max_attempts, 1, 100),
        duration_field("webhook_backoff", &AlertSettings::webhook_backoff),
        duration_field("webhook_backoff_max", &AlertSettings::webhook_backoff_max),
    };
    return kFields;
}

// A resolve threshold above its fire threshold would make the alert flap or never resolve.
void check_band(Reader& r, std::string_view level, double fire, double resolve) {
    if (resolve <= fire) {
        return;
    }
    const std::string key = fmt::format("alerts.utilization_{}_resolve", level);
    const std::string message =
        fmt::format("resolve threshold {} is above the fire threshold {}", resolve, fire);
    const std::string hint = fmt::format("set it below utilization_{}", level);
    if (const auto* where = r.location(key)) {
        r.error(*where, key, message, hint);
    }
}

}  // namespace

std::span<const std::string_view> alert_keys() {
    static const auto kKeys = field_names(alert_fields());
    return kKeys;
}

void load_alerts(Reader& reader, const toml::node& node, Config& config) {
    const auto* table = node.as_table();
    if (table == nullptr) {
        reader.error(node.source(), "alerts",
                     fmt::format("expected a table, got {}", type_phrase(node)),
                     "write an [alerts] line and put the alert settings below it");
        return;
    }
    apply_fields<AlertSettings>(
        reader, *table, "alerts", alert_fields(), {},
        [](std::string_view key) {
            auto elsewhere = belongs_elsewhere(key, "alerts");
            return elsewhere.empty() ? std::string("docs/metrics.md lists the alert settings")
                                     : elsewhere;
        },
        config.alerts);
    auto& a = config.alerts;
    // A resolve threshold not written follows its fire threshold, 5 points below, so moving
    // only the fire threshold keeps a working hysteresis band.
    if (reader.location("alerts.utilization_warning_resolve") == nullptr) {
        a.utilization_warning_resolve = std::max(0.01, a.utilization_warning - 0.05);
    }
    if (reader.location("alerts.utilization_critical_resolve") == nullptr) {
        a.utilization_critical_resolve = std::max(0.01, a.utilization_critical - 0.05);
    }
    check_band(reader, "warning", a.utilization_warning, a.utilization_warning_resolve);
    check_band(reader, "critical", a.utilization_critical, a.utilization_critical_resolve);
    if (a.webhook_backoff_max < a.webhook_backoff) {
        if (const auto* where = reader.location("alerts.webhook_backoff_max")) {
            reader.error(*where, "alerts.webhook_backoff_max",
                         "webhook_backoff_max is shorter than webhook_backoff",
                         "the backoff doubles from webhook_backoff up to webhook_backoff_max");
        }
    }
    if (a.evaluation_interval.count() == 0) {
        if (const auto* where = reader.location("alerts.evaluation_interval")) {
            reader.error(*where, "alerts.evaluation_interval", "must be above 0",
                         "set enabled = false to switch alerts off");
        }
    }
}

}  // namespace pgwarden::config::detail
