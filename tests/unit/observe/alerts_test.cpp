#include "observe/alerts.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>

namespace pgwarden::observe {
namespace {

using std::chrono::seconds;

// A fake clock pair: steady time drives the state machines, wall time only labels events.
struct FakeTime {
    SteadyTime steady{};
    WallTime wall = WallTime(seconds(1771495200));  // 2026-02-19T10:00:00Z
    void advance(seconds s) {
        steady += s;
        wall += s;
    }
};

AlertRuleConfig utilization_rule() {
    AlertRuleConfig r;
    r.name = "PgwardenPoolUtilizationHigh";
    r.kind = AlertKind::Utilization;
    r.severity = Severity::Warning;
    r.fire_threshold = 0.70;
    r.resolve_threshold = 0.65;
    r.fire_for = seconds(60);
    r.resolve_for = seconds(30);
    r.summary = "utilization {value} >= {threshold}";
    return r;
}

AlertsConfig one_rule(AlertRuleConfig rule) {
    AlertsConfig cfg;
    cfg.rules = {std::move(rule)};
    return cfg;
}

std::vector<Observation> util(double v, const std::string& db = "app") {
    return {{AlertKind::Utilization, db, "svc", "", v}};
}

TEST(AlertRules, DefaultsMatchTheIssue) {
    auto rules = default_alert_rules();
    ASSERT_EQ(rules.size(), 4u);
    EXPECT_DOUBLE_EQ(rules[0].fire_threshold, 0.70);
    EXPECT_EQ(rules[0].fire_for, seconds(60));
    EXPECT_EQ(rules[0].severity, Severity::Warning);
    EXPECT_DOUBLE_EQ(rules[1].fire_threshold, 0.90);
    EXPECT_EQ(rules[1].fire_for, seconds(15));
    EXPECT_EQ(rules[1].severity, Severity::Critical);
    EXPECT_EQ(rules[2].kind, AlertKind::SuspectedLeak);
    EXPECT_DOUBLE_EQ(rules[2].fire_threshold, 1);
    EXPECT_EQ(rules[3].kind, AlertKind::ClassWait);
    EXPECT_DOUBLE_EQ(rules[3].fire_threshold, 1.0);
    for (const auto& r : rules) {
        EXPECT_LE(r.resolve_threshold, r.fire_threshold) << r.name;
    }
}

TEST(AlertStateMachine, FiresAfterTheDurationNotBefore) {
    AlertManager m(one_rule(utilization_rule()));
    FakeTime t;
    EXPECT_TRUE(m.evaluate(t.steady, t.wall, util(0.75)).empty());
    ASSERT_EQ(m.active().size(), 1u);
    EXPECT_EQ(m.active()[0].state, AlertState::Pending);
    t.advance(seconds(59));
    EXPECT_TRUE(m.evaluate(t.steady, t.wall, util(0.75)).empty());
    EXPECT_EQ(m.firing_count(), 0u);
    t.advance(seconds(1));
    auto events = m.evaluate(t.steady, t.wall, util(0.8));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].alert.state, AlertState::Firing);
    EXPECT_EQ(events[0].alert.database, "app");
    EXPECT_EQ(events[0].alert.summary, "utilization 80% >= 70%");
    EXPECT_EQ(iso8601(events[0].alert.starts_at), "2026-02-19T10:01:00.000Z");
    EXPECT_EQ(m.firing_count(), 1u);
    // Firing is announced once, not at every evaluation.
    t.advance(seconds(1));
    EXPECT_TRUE(m.evaluate(t.steady, t.wall, util(0.8)).empty());
}

TEST(AlertStateMachine, FlappingAroundTheThresholdNeverFires) {
    AlertManager m(one_rule(utilization_rule()));
    FakeTime t;
    // Above for 50 s, a dip, above for 50 s, a dip...: the 60 s never complete.
    for (int round = 0; round < 5; ++round) {
        for (int s = 0; s < 50; s += 10) {
            EXPECT_TRUE(m.evaluate(t.steady, t.wall, util(0.72)).empty());
            t.advance(seconds(10));
        }
        EXPECT_TRUE(m.evaluate(t.steady, t.wall, util(0.69)).empty());
        t.advance(seconds(10));
    }
    EXPECT_EQ(m.firing_count(), 0u);
}

TEST(AlertStateMachine, HysteresisKeepsFiringBetweenThresholdsAndResolvesAfterResolveFor) {
    AlertManager m(one_rule(utilization_rule()));
    FakeTime t;
    m.evaluate(t.steady, t.wall, util(0.9));
    t.advance(seconds(60));
    ASSERT_EQ(m.evaluate(t.steady, t.wall, util(0.9)).size(), 1u);
    // Below the fire threshold but above the resolve threshold: still firing, silently.
    t.advance(seconds(10));
    EXPECT_TRUE(m.evaluate(t.steady, t.wall, util(0.67)).empty());
    EXPECT_EQ(m.firing_count(), 1u);
    // Below the resolve threshold: resolving, but it must stay clear for 30 s.
    t.advance(seconds(10));
    EXPECT_TRUE(m.evaluate(t.steady, t.wall, util(0.5)).empty());
    EXPECT_EQ(m.firing_count(), 1u);
    t.advance(seconds(20));
    EXPECT_TRUE(m.evaluate(t.steady, t.wall, util(0.66)).empty());  // back in the band
    EXPECT_EQ(m.firing_count(), 1u);
    t.advance(seconds(1));
    EXPECT_TRUE(m.evaluate(t.steady, t.wall, util(0.3)).empty());  // clear again: restart
    t.advance(seconds(29));
    EXPECT_TRUE(m.evaluate(t.steady, t.wall, util(0.3)).empty());
    t.advance(seconds(1));
    auto events = m.evaluate(t.steady, t.wall, util(0.3));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].alert.state, AlertState::Resolved);
    EXPECT_EQ(iso8601(events[0].alert.ends_at), "2026-02-19T10:02:11.000Z");
    EXPECT_EQ(m.firing_count(), 0u);
    EXPECT_TRUE(m.active().empty());
    ASSERT_EQ(m.history().size(), 1u);
    EXPECT_EQ(m.history()[0].state, AlertState::Resolved);
}

TEST(AlertStateMachine, ZeroDurationRuleFiresAtOnceAndInstancesAreIndependent) {
    AlertRuleConfig leak;
    leak.name = "PgwardenSuspectedLeak";
    leak.kind = AlertKind::SuspectedLeak;
    leak.fire_threshold = 1;
    leak.resolve_threshold = 1;
    AlertManager m(one_rule(leak));
    FakeTime t;
    std::vector<Observation> obs{{AlertKind::SuspectedLeak, "app", "svc", "api", 0},
                                 {AlertKind::SuspectedLeak, "app", "svc", "jobs", 2},
                                 {AlertKind::Utilization, "app", "svc", "", 1.0}};
    auto events = m.evaluate(t.steady, t.wall, obs);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].alert.workload_class, "jobs");
    obs[1].value = 0;
    t.advance(seconds(1));
    events = m.evaluate(t.steady, t.wall, obs);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].alert.state, AlertState::Resolved);
}

TEST(AlertStateMachine, AVanishedPoolResolvesItsAlerts) {
    AlertManager m(one_rule(utilization_rule()));
    FakeTime t;
    m.evaluate(t.steady, t.wall, util(0.95));
    t.advance(seconds(60));
    ASSERT_EQ(m.evaluate(t.steady, t.wall, util(0.95)).size(), 1u);
    t.advance(seconds(1));
    EXPECT_TRUE(m.evaluate(t.steady, t.wall, {}).empty());
    t.advance(seconds(30));
    auto events = m.evaluate(t.steady, t.wall, {});
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(events[0].alert.state, AlertState::Resolved);
}

TEST(AlertStateMachine, HistoryIsBounded) {
    AlertRuleConfig r = utilization_rule();
    r.fire_for = seconds(0);
    r.resolve_for = seconds(0);
    AlertsConfig cfg = one_rule(r);
    cfg.history_size = 3;
    AlertManager m(cfg);
    FakeTime t;
    for (int i = 0; i < 10; ++i) {
        m.evaluate(t.steady, t.wall, util(0.9));
        t.advance(seconds(1));
        m.evaluate(t.steady, t.wall, util(0.1));
        t.advance(seconds(1));
    }
    EXPECT_EQ(m.history().size(), 3u);
}

TEST(AlertStateMachine, DisabledManagerNeverFires) {
    AlertsConfig cfg = one_rule(utilization_rule());
    cfg.enabled = false;
    AlertManager m(cfg);
    FakeTime t;
    m.evaluate(t.steady, t.wall, util(1));
    t.advance(seconds(600));
    EXPECT_TRUE(m.evaluate(t.steady, t.wall, util(1)).empty());
}

TEST(AlertMetrics, FiringGaugeHasEveryRuleEvenWhenQuiet) {
    AlertManager m(default_alerts_config());
    ScrapeBuilder out;
    m.write_metrics(out);
    std::string text = out.finish();
    EXPECT_TRUE(check_exposition(text).ok()) << text;
    EXPECT_NE(text.find("pgwarden_alerts_firing{alertname=\"PgwardenPoolUtilizationHigh\","
                        "severity=\"critical\"} 0\n"),
              std::string::npos);
    FakeTime t;
    m.evaluate(t.steady, t.wall, {{AlertKind::SuspectedLeak, "app", "svc", "api", 3}});
    ScrapeBuilder again;
    m.write_metrics(again);
    text = again.finish();
    EXPECT_NE(text.find("pgwarden_alerts_firing{alertname=\"PgwardenSuspectedLeak\","
                        "severity=\"warning\"} 1\n"),
              std::string::npos);
    EXPECT_NE(text.find("pgwarden_alerts_fired_total{alertname=\"PgwardenSuspectedLeak\","
                        "severity=\"warning\"} 1\n"),
              std::string::npos);
}

TEST(AlertsJson, ListsFiringPendingResolvedAndRules) {
    AlertManager m(default_alerts_config());
    FakeTime t;
    m.evaluate(t.steady, t.wall,
               {{AlertKind::Utilization, "app", "svc", "", 0.95},
                {AlertKind::ClassWait, "app", "svc", "api", 2.5}});
    auto doc = nlohmann::json::parse(m.alerts_json(t.wall));
    ASSERT_EQ(doc["firing"].size(), 1u);  // class wait fires at once
    EXPECT_EQ(doc["firing"][0]["labels"]["alertname"], "PgwardenClassWaiting");
    EXPECT_EQ(doc["firing"][0]["labels"]["class"], "api");
    EXPECT_EQ(doc["firing"][0]["startsAt"], "2026-02-19T10:00:00.000Z");
    EXPECT_EQ(doc["pending"].size(), 2u);  // utilization warning and critical
    EXPECT_EQ(doc["resolved"].size(), 0u);
    EXPECT_EQ(doc["rules"].size(), 4u);
    EXPECT_EQ(doc["generatedAt"], "2026-02-19T10:00:00.000Z");
}

TEST(WebhookPayload, AlertmanagerVersion4Shape) {
    AlertManager m(default_alerts_config());
    FakeTime t;
    auto fired =
        m.evaluate(t.steady, t.wall, {{AlertKind::SuspectedLeak, "app", "svc", "jobs", 1}});
    ASSERT_EQ(fired.size(), 1u);
    auto doc = nlohmann::json::parse(webhook_payload(fired, "db1:9127", "http://db1:9127"));
    EXPECT_EQ(doc["version"], "4");
    EXPECT_EQ(doc["status"], "firing");
    EXPECT_EQ(doc["receiver"], "pgwarden");
    EXPECT_TRUE(doc["groupLabels"].is_object());
    EXPECT_TRUE(doc.contains("groupKey"));
    EXPECT_EQ(doc["truncatedAlerts"], 0);
    EXPECT_EQ(doc["externalURL"], "http://db1:9127");
    ASSERT_EQ(doc["alerts"].size(), 1u);
    const auto& a = doc["alerts"][0];
    EXPECT_EQ(a["status"], "firing");
    EXPECT_EQ(a["labels"]["alertname"], "PgwardenSuspectedLeak");
    EXPECT_EQ(a["labels"]["severity"], "warning");
    EXPECT_EQ(a["labels"]["database"], "app");
    EXPECT_EQ(a["labels"]["user"], "svc");
    EXPECT_EQ(a["labels"]["class"], "jobs");
    EXPECT_EQ(a["labels"]["instance"], "db1:9127");
    EXPECT_EQ(a["annotations"]["summary"], "1 suspected leaked connection(s) held by this class");
    EXPECT_EQ(a["startsAt"], "2026-02-19T10:00:00.000Z");
    EXPECT_EQ(a["endsAt"], "0001-01-01T00:00:00Z");
    EXPECT_EQ(a["generatorURL"], "http://db1:9127/alerts");
    EXPECT_EQ(a["fingerprint"].get<std::string>().size(), 16u);
    EXPECT_EQ(doc["commonLabels"], a["labels"]);

    t.advance(seconds(1));
    EXPECT_TRUE(m.evaluate(t.steady, t.wall, {}).empty());  // clear: resolving starts
    t.advance(seconds(30));
    auto resolved = m.evaluate(t.steady, t.wall, {});
    ASSERT_EQ(resolved.size(), 1u);
    auto rdoc = nlohmann::json::parse(webhook_payload(resolved, "db1:9127", "http://db1:9127"));
    EXPECT_EQ(rdoc["status"], "resolved");
    EXPECT_EQ(rdoc["alerts"][0]["status"], "resolved");
    EXPECT_EQ(rdoc["alerts"][0]["endsAt"], "2026-02-19T10:00:31.000Z");
    EXPECT_EQ(rdoc["alerts"][0]["fingerprint"], a["fingerprint"]);
}

}  // namespace
}  // namespace pgwarden::observe
