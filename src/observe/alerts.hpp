#pragma once

#include "observe/alert_config.hpp"
#include "observe/metrics.hpp"

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgwarden::observe {

using SteadyTime = std::chrono::steady_clock::time_point;
using WallTime = std::chrono::system_clock::time_point;

// One measured value an alert rule looks at, for one pool (class empty) or one class.
struct Observation {
    AlertKind kind = AlertKind::Utilization;
    std::string database;
    std::string user;
    std::string workload_class;  // empty for pool-level values (utilization)
    double value = 0;
};

enum class AlertState {
    Inactive,   // condition false (not stored: an instance in this state is forgotten)
    Pending,    // condition true for less than fire_for; not notified
    Firing,     // notified; stays firing while value >= resolve_threshold
    Resolving,  // still firing to the outside; value below resolve_threshold for < resolve_for
    Resolved,   // notified as resolved; kept in history only
};

std::string_view state_name(AlertState state);
std::string_view severity_name(Severity severity);

// One alert instance: a rule applied to one pool or class.
struct Alert {
    std::string name;  // alertname
    Severity severity = Severity::Warning;
    std::string database;
    std::string user;
    std::string workload_class;
    AlertState state = AlertState::Inactive;
    double value = 0;      // the latest observed value
    double threshold = 0;  // the rule's fire threshold
    SteadyTime since{};    // entered Pending (or Resolving)
    WallTime starts_at{};  // became Firing
    WallTime ends_at{};    // became Resolved (epoch while not resolved)
    std::string summary;

    // Firing and Resolving are both "firing" to the outside world.
    bool firing() const { return state == AlertState::Firing || state == AlertState::Resolving; }
};

// A transition the outside world hears about: an alert started firing or resolved.
struct AlertEvent {
    Alert alert;  // state Firing or Resolved
};

// Keeps every rule's state machine per (rule, pool, class), the firing alerts and a bounded
// history of resolved ones. Thread-safe (one mutex); evaluate() is driven with explicit times
// so tests use a fake clock.
class AlertManager {
public:
    explicit AlertManager(AlertsConfig config);

    // Advances every instance to `now` with this round's observations; an instance missing
    // from `observations` (its pool went away) counts as condition false. Returns the
    // firing/resolved notifications, in rule order.
    std::vector<AlertEvent> evaluate(SteadyTime now, WallTime wall,
                                     const std::vector<Observation>& observations);

    // Alerts currently pending or firing, in a stable order.
    std::vector<Alert> active() const;
    std::vector<Alert> history() const;  // resolved, newest first
    size_t firing_count() const;

    // The /alerts document: {"firing":[...],"pending":[...],"resolved":[...],"rules":[...]}.
    std::string alerts_json(WallTime now) const;

    // pgwarden_alerts_firing{alertname,severity} (every rule present, 0 when quiet) and
    // pgwarden_alerts_fired_total{alertname,severity}.
    void write_metrics(ScrapeBuilder& out) const;

    const AlertsConfig& config() const { return config_; }

private:
    struct Key {
        size_t rule;
        std::string database;
        std::string user;
        std::string workload_class;
        // clang-tidy 14 reports the literal 0 inside the synthesized comparison.
        auto operator<=>(const Key&) const = default;  // NOLINT(modernize-use-nullptr)
    };
    void step(const AlertRuleConfig& rule, Alert& alert, bool seen, double value, SteadyTime now,
              WallTime wall, std::vector<AlertEvent>& events);

    AlertsConfig config_;
    mutable std::mutex mu_;
    std::map<Key, Alert> instances_;
    std::deque<Alert> history_;
    std::vector<uint64_t> fired_total_;  // per rule
};

// ISO-8601 UTC with milliseconds, e.g. 2026-02-19T10:04:05.123Z.
std::string iso8601(WallTime t);

// The summary annotation with {value} and {threshold} filled in.
std::string render_summary(const AlertRuleConfig& rule, double value);

// An Alertmanager webhook document (version "4") for these events: status "firing" when any
// of them fires, else "resolved"; each alert with labels (alertname, severity, database,
// user, class, instance), annotations (summary), startsAt, endsAt (0001-01-01T00:00:00Z while
// firing, as Alertmanager sends) and a fingerprint.
std::string webhook_payload(const std::vector<AlertEvent>& events, std::string_view instance,
                            std::string_view external_url);

}  // namespace pgwarden::observe
