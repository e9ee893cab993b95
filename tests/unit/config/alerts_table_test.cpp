#include "config/config.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace pgwarden::config {
namespace {

using namespace std::chrono_literals;

// A minimal valid config followed by `alerts` (the [alerts] table text).
LoadResult load(const std::string& alerts) {
    return load_string(
        "[pgwarden]\nauth_type = \"trust\"\n\n"
        "[databases.app]\nhost = \"127.0.0.1\"\nport = 5432\n\n" +
            alerts,
        "/tmp/alerts.toml");
}

std::string dump(const LoadResult& r) {
    std::string out;
    for (const auto& e : r.errors) {
        out += e.to_string() + "\n";
    }
    return out;
}

TEST(AlertsTable, DefaultsWhenAbsent) {
    auto r = load("");
    ASSERT_TRUE(r.ok()) << dump(r);
    const auto& a = r.config->alerts;
    EXPECT_TRUE(a.enabled);
    EXPECT_DOUBLE_EQ(a.utilization_warning, 0.70);
    EXPECT_EQ(a.utilization_warning_for, 60s);
    EXPECT_DOUBLE_EQ(a.utilization_critical, 0.90);
    EXPECT_EQ(a.utilization_critical_for, 15s);
    EXPECT_EQ(a.class_wait, 1s);
    EXPECT_TRUE(a.leak);
    EXPECT_TRUE(a.webhook_url.empty());
}

TEST(AlertsTable, ReadsEveryKey) {
    auto r = load(
        "[alerts]\n"
        "enabled = true\n"
        "evaluation_interval = \"250ms\"\n"
        "utilization_warning = 0.6\n"
        "utilization_warning_for = \"30s\"\n"
        "utilization_warning_resolve = 0.5\n"
        "utilization_critical = 0.8\n"
        "utilization_critical_for = \"5s\"\n"
        "utilization_critical_resolve = 0.75\n"
        "utilization_resolve_for = \"10s\"\n"
        "leak = false\n"
        "class_wait = \"2s\"\n"
        "long_checkout = \"45s\"\n"
        "webhook_url = \"http://127.0.0.1:9093/hook\"\n"
        "webhook_timeout = \"3s\"\n"
        "webhook_queue_size = 10\n"
        "webhook_max_attempts = 3\n"
        "webhook_backoff = \"500ms\"\n"
        "webhook_backoff_max = \"20s\"\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    const auto& a = r.config->alerts;
    EXPECT_EQ(a.evaluation_interval, 250ms);
    EXPECT_DOUBLE_EQ(a.utilization_warning, 0.6);
    EXPECT_EQ(a.utilization_warning_for, 30s);
    EXPECT_DOUBLE_EQ(a.utilization_warning_resolve, 0.5);
    EXPECT_DOUBLE_EQ(a.utilization_critical, 0.8);
    EXPECT_EQ(a.utilization_critical_for, 5s);
    EXPECT_DOUBLE_EQ(a.utilization_critical_resolve, 0.75);
    EXPECT_EQ(a.utilization_resolve_for, 10s);
    EXPECT_FALSE(a.leak);
    EXPECT_EQ(a.class_wait, 2s);
    EXPECT_EQ(a.long_checkout, 45s);
    EXPECT_EQ(a.webhook_url, "http://127.0.0.1:9093/hook");
    EXPECT_EQ(a.webhook_timeout, 3s);
    EXPECT_EQ(a.webhook_queue_size, 10);
    EXPECT_EQ(a.webhook_max_attempts, 3);
    EXPECT_EQ(a.webhook_backoff, 500ms);
    EXPECT_EQ(a.webhook_backoff_max, 20s);
}

TEST(AlertsTable, ErrorsNameFileLineAndKey) {
    auto r = load(
        "[alerts]\n"                          // line 8
        "utilization_warning = 70\n"          // 9: a percentage
        "utilizaton_critical = 0.9\n"         // 10: typo
        "webhook_url = \"https://x/hook\"\n"  // 11: https
        "class_wait = \"soon\"\n");           // 12
    ASSERT_FALSE(r.ok());
    const auto text = dump(r);
    EXPECT_NE(text.find("/tmp/alerts.toml:9:"), std::string::npos) << text;
    EXPECT_NE(text.find("alerts.utilization_warning: must be above 0 and at most 1"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("write 0.7 for 70%"), std::string::npos) << text;
    EXPECT_NE(text.find("/tmp/alerts.toml:10:1: alerts.utilizaton_critical: unknown key"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("did you mean `utilization_critical`"), std::string::npos) << text;
    EXPECT_NE(text.find("/tmp/alerts.toml:11:"), std::string::npos) << text;
    EXPECT_NE(text.find("alerts.webhook_url"), std::string::npos) << text;
    EXPECT_NE(text.find("/tmp/alerts.toml:12:"), std::string::npos) << text;
    EXPECT_EQ(r.errors.size(), 4u) << text;
}

TEST(AlertsTable, ResolveAboveFireIsAnError) {
    auto r = load("[alerts]\nutilization_warning = 0.5\nutilization_warning_resolve = 0.6\n");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(dump(r).find("alerts.utilization_warning_resolve: resolve threshold 0.6 is above"),
              std::string::npos)
        << dump(r);
    // Lowering only the fire threshold moves the default resolve threshold with it.
    auto implicit = load("[alerts]\nutilization_warning = 0.6\nutilization_critical = 0.8\n");
    ASSERT_TRUE(implicit.ok()) << dump(implicit);
    EXPECT_DOUBLE_EQ(implicit.config->alerts.utilization_warning_resolve, 0.55);
    EXPECT_DOUBLE_EQ(implicit.config->alerts.utilization_critical_resolve, 0.75);
}

TEST(AlertsTable, MisplacedSettingGetsAHint) {
    auto r = load("[alerts]\ndefault_pool_size = 5\n");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(dump(r).find("belongs in a [pgwarden] table"), std::string::npos) << dump(r);
}

}  // namespace
}  // namespace pgwarden::config
