#include "observe/alerts.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <ctime>
#include <functional>

namespace pgwarden::observe {

std::string_view state_name(AlertState state) {
    switch (state) {
    case AlertState::Inactive:
        return "inactive";
    case AlertState::Pending:
        return "pending";
    case AlertState::Firing:
    case AlertState::Resolving:  // hysteresis is internal: still firing to consumers
        return "firing";
    case AlertState::Resolved:
        return "resolved";
    }
    return "inactive";
}

std::string_view severity_name(Severity severity) {
    return severity == Severity::Critical ? "critical" : "warning";
}

std::string iso8601(WallTime t) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    std::time_t secs = static_cast<std::time_t>(ms / 1000);
    long millis = static_cast<long>(ms % 1000);
    if (millis < 0) {
        millis += 1000;
        --secs;
    }
    std::tm tm{};
    gmtime_r(&secs, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                       tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
}

std::string render_summary(const AlertRuleConfig& rule, double value) {
    std::string out = rule.summary;
    auto replace = [&out](std::string_view what, const std::string& with) {
        for (auto pos = out.find(what); pos != std::string::npos;
             pos = out.find(what, pos + with.size())) {
            out.replace(pos, what.size(), with);
        }
    };
    auto number = [&rule](double v) {
        // Ratios read better as percentages in a human-facing sentence.
        return rule.kind == AlertKind::Utilization ? fmt::format("{:.0f}%", v * 100)
                                                   : fmt::format("{:g}", v);
    };
    replace("{value}", number(value));
    replace("{threshold}", number(rule.fire_threshold));
    return out;
}

AlertManager::AlertManager(AlertsConfig config)
    : config_(std::move(config)), fired_total_(config_.rules.size(), 0) {}

void AlertManager::step(const AlertRuleConfig& rule, Alert& alert, bool seen, double value,
                        SteadyTime now, WallTime wall, std::vector<AlertEvent>& events) {
    if (seen) {
        alert.value = value;
    }
    const bool over = seen && value >= rule.fire_threshold;
    const bool clear = !seen || value < rule.resolve_threshold;
    switch (alert.state) {
    case AlertState::Inactive:
        if (over) {
            alert.state = AlertState::Pending;
            alert.since = now;
        }
        break;
    case AlertState::Pending:
        // Any dip below the fire threshold restarts the wait: a flapping value never
        // fires a rule that has a `for` duration.
        if (!over) {
            alert.state = AlertState::Inactive;
        }
        break;
    case AlertState::Firing:
        if (clear) {
            alert.state = AlertState::Resolving;
            alert.since = now;
        }
        break;
    case AlertState::Resolving:
        if (!clear) {
            alert.state = AlertState::Firing;
        }
        break;
    case AlertState::Resolved:
        break;
    }
    if (alert.state == AlertState::Pending && now - alert.since >= rule.fire_for) {
        alert.state = AlertState::Firing;
        alert.starts_at = wall;
        alert.summary = render_summary(rule, alert.value);
        events.push_back(AlertEvent{alert});
    }
    if (alert.state == AlertState::Resolving && now - alert.since >= rule.resolve_for) {
        alert.state = AlertState::Resolved;
        alert.ends_at = wall;
        events.push_back(AlertEvent{alert});
    }
}

std::vector<AlertEvent> AlertManager::evaluate(SteadyTime now, WallTime wall,
                                               const std::vector<Observation>& observations) {
    std::vector<AlertEvent> events;
    if (!config_.enabled) {
        return events;
    }
    std::lock_guard lock(mu_);
    std::map<Key, bool> seen;
    for (size_t r = 0; r < config_.rules.size(); ++r) {
        const AlertRuleConfig& rule = config_.rules[r];
        for (const Observation& o : observations) {
            if (o.kind != rule.kind) {
                continue;
            }
            Key key{r, o.database, o.user, o.workload_class};
            auto it = instances_.find(key);
            if (it == instances_.end()) {
                if (o.value < rule.fire_threshold) {
                    continue;  // inactive instances are not stored
                }
                Alert fresh;
                fresh.name = rule.name;
                fresh.severity = rule.severity;
                fresh.database = o.database;
                fresh.user = o.user;
                fresh.workload_class = o.workload_class;
                fresh.threshold = rule.fire_threshold;
                it = instances_.emplace(key, std::move(fresh)).first;
            }
            seen[key] = true;
            step(rule, it->second, true, o.value, now, wall, events);
        }
    }
    for (auto it = instances_.begin(); it != instances_.end();) {
        if (!seen.count(it->first)) {
            step(config_.rules[it->first.rule], it->second, false, 0, now, wall, events);
        }
        Alert& a = it->second;
        if (a.state == AlertState::Resolved || a.state == AlertState::Inactive) {
            if (a.state == AlertState::Resolved) {
                history_.push_front(a);
                while (history_.size() > config_.history_size) {
                    history_.pop_back();
                }
            }
            it = instances_.erase(it);
        } else {
            ++it;
        }
    }
    for (const auto& e : events) {
        if (e.alert.state != AlertState::Firing) {
            continue;
        }
        for (size_t r = 0; r < config_.rules.size(); ++r) {
            if (config_.rules[r].name == e.alert.name &&
                config_.rules[r].severity == e.alert.severity) {
                ++fired_total_[r];
                break;
            }
        }
    }
    return events;
}

std::vector<Alert> AlertManager::active() const {
    std::lock_guard lock(mu_);
    std::vector<Alert> out;
    for (const auto& [key, alert] : instances_) {
        out.push_back(alert);
    }
    return out;
}

std::vector<Alert> AlertManager::history() const {
    std::lock_guard lock(mu_);
    return {history_.begin(), history_.end()};
}

size_t AlertManager::firing_count() const {
    std::lock_guard lock(mu_);
    size_t n = 0;
    for (const auto& [key, alert] : instances_) {
        n += alert.firing() ? 1 : 0;
    }
    return n;
}

namespace {

nlohmann::json alert_json(const Alert& a) {
    nlohmann::json labels = {{"alertname", a.name}, {"severity", severity_name(a.severity)}};
    if (!a.database.empty()) {
        labels["database"] = a.database;
    }
    if (!a.user.empty()) {
        labels["user"] = a.user;
    }
    if (!a.workload_class.empty()) {
        labels["class"] = a.workload_class;
    }
    nlohmann::json j = {{"labels", labels},
                        {"state", state_name(a.state)},
                        {"value", a.value},
                        {"threshold", a.threshold}};
    if (!a.summary.empty()) {
        j["annotations"] = {{"summary", a.summary}};
    }
    if (a.firing() || a.state == AlertState::Resolved) {
        j["startsAt"] = iso8601(a.starts_at);
    }
    if (a.state == AlertState::Resolved) {
        j["endsAt"] = iso8601(a.ends_at);
    }
    return j;
}

}  // namespace

std::string AlertManager::alerts_json(WallTime now) const {
    nlohmann::json firing = nlohmann::json::array();
    nlohmann::json pending = nlohmann::json::array();
    nlohmann::json resolved = nlohmann::json::array();
    nlohmann::json rules = nlohmann::json::array();
    {
        std::lock_guard lock(mu_);
        for (const auto& [key, alert] : instances_) {
            (alert.firing() ? firing : pending).push_back(alert_json(alert));
        }
        for (const auto& alert : history_) {
            resolved.push_back(alert_json(alert));
        }
    }
    for (const auto& r : config_.rules) {
        rules.push_back(
            {{"alertname", r.name},
             {"severity", severity_name(r.severity)},
             {"fire_threshold", r.fire_threshold},
             {"resolve_threshold", r.resolve_threshold},
             {"for_seconds", static_cast<double>(r.fire_for.count()) / 1000.0},
             {"resolve_for_seconds", static_cast<double>(r.resolve_for.count()) / 1000.0}});
    }
    nlohmann::json doc = {{"generatedAt", iso8601(now)},     {"enabled", config_.enabled},
                          {"firing", std::move(firing)},     {"pending", std::move(pending)},
                          {"resolved", std::move(resolved)}, {"rules", std::move(rules)}};
    return doc.dump();
}

void AlertManager::write_metrics(ScrapeBuilder& out) const {
    auto& firing = out.family("pgwarden_alerts_firing", MetricType::Gauge,
                              "Alerts currently firing, by rule and severity.");
    auto& fired = out.family("pgwarden_alerts_fired_total", MetricType::Counter,
                             "Times an alert started firing, by rule and severity.");
    std::lock_guard lock(mu_);
    // Rules that share an alertname and severity are one series.
    std::vector<std::pair<std::string, Severity>> series;
    for (const auto& r : config_.rules) {
        std::pair<std::string, Severity> id{r.name, r.severity};
        if (std::find(series.begin(), series.end(), id) == series.end()) {
            series.push_back(id);
        }
    }
    for (const auto& [name, severity] : series) {
        size_t count = 0;
        for (const auto& [key, alert] : instances_) {
            if (alert.firing() && alert.name == name && alert.severity == severity) {
                ++count;
            }
        }
        uint64_t total = 0;
        for (size_t r = 0; r < config_.rules.size(); ++r) {
            if (config_.rules[r].name == name && config_.rules[r].severity == severity) {
                total += fired_total_[r];
            }
        }
        LabelSet labels{{"alertname", name}, {"severity", severity_name(severity)}};
        firing.sample(labels, static_cast<double>(count));
        fired.sample(labels, static_cast<double>(total));
    }
}

std::string webhook_payload(const std::vector<AlertEvent>& events, std::string_view instance,
                            std::string_view external_url) {
    nlohmann::json alerts = nlohmann::json::array();
    bool any_firing = false;
    for (const auto& e : events) {
        const Alert& a = e.alert;
        const bool firing = a.state != AlertState::Resolved;
        any_firing = any_firing || firing;
        nlohmann::json labels = {{"alertname", a.name}, {"severity", severity_name(a.severity)}};
        if (!instance.empty()) {
            labels["instance"] = instance;
        }
        if (!a.database.empty()) {
            labels["database"] = a.database;
        }
        if (!a.user.empty()) {
            labels["user"] = a.user;
        }
        if (!a.workload_class.empty()) {
            labels["class"] = a.workload_class;
        }
        // A stable identity per instance, as Alertmanager's fingerprint is: a hash of labels.
        std::string identity = labels.dump();
        auto fingerprint = fmt::format("{:016x}", std::hash<std::string>{}(identity));
        alerts.push_back(
            {{"status", firing ? "firing" : "resolved"},
             {"labels", labels},
             {"annotations", {{"summary", a.summary}}},
             {"startsAt", iso8601(a.starts_at)},
             {"endsAt", firing ? std::string("0001-01-01T00:00:00Z") : iso8601(a.ends_at)},
             {"generatorURL", std::string(external_url) + "/alerts"},
             {"fingerprint", fingerprint}});
    }
    nlohmann::json common_labels = nlohmann::json::object();
    if (events.size() == 1) {
        common_labels = alerts[0]["labels"];
    }
    nlohmann::json doc = {{"version", "4"},
                          {"groupKey", "{}:{}"},
                          {"truncatedAlerts", 0},
                          {"status", any_firing ? "firing" : "resolved"},
                          {"receiver", "pgwarden"},
                          {"groupLabels", nlohmann::json::object()},
                          {"commonLabels", common_labels},
                          {"commonAnnotations", nlohmann::json::object()},
                          {"externalURL", external_url},
                          {"alerts", std::move(alerts)}};
    return doc.dump();
}

}  // namespace pgwarden::observe
