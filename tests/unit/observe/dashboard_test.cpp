#include "observe/dashboard.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace pgwarden::observe {
namespace {

using namespace std::chrono_literals;

PoolSnapshot pool(int active, int waiting) {
    PoolSnapshot p;
    p.database = "appdb";
    p.user = "app";
    p.pool_size = 10;
    p.server_active = active;
    ClassSnapshot c;
    c.name = "default";
    c.server_connections = active;
    c.clients_waiting = waiting;
    p.classes.push_back(c);
    return p;
}

TEST(Dashboard, StateHasHistoryCheckoutsOldestFirstAndHighlights) {
    net::asio::io_context io;
    int active = 3;
    DashboardInputs in;
    in.pools = [&] { return std::vector<PoolSnapshot>{pool(active, 1)}; };
    in.checkouts = [] {
        return std::vector<Checkout>{
            {"127.0.0.1:1", "api", "appdb", "app", "default", 0.5, "SELECT 1", false},
            {"127.0.0.1:2", "leaky", "appdb", "app", "default", 45, "SELECT \"x\"\n", false},
            {"127.0.0.1:3", "flagged", "appdb", "app", "default", 2, "SELECT 3", true},
        };
    };
    in.highlight_after = 30s;
    in.sample_interval = 1s;
    in.history = 3s;  // three samples kept
    auto d = std::make_shared<Dashboard>(io.get_executor(), in);
    const auto t0 = std::chrono::system_clock::time_point(std::chrono::seconds(1000));
    for (int i = 0; i < 5; ++i) {
        active = i;
        d->sample(t0 + std::chrono::seconds(i));
    }
    auto doc = nlohmann::json::parse(d->state_json(t0 + 5s));
    EXPECT_DOUBLE_EQ(doc["threshold"].get<double>(), 0.70);
    ASSERT_EQ(doc["series"].size(), 1u);
    EXPECT_EQ(doc["series"][0]["key"], "appdb/app/default");
    const auto& pts = doc["series"][0]["points"];
    ASSERT_EQ(pts.size(), 3u);  // the ring buffer dropped the two oldest
    EXPECT_EQ(pts[0][0].get<int64_t>(), 1002000);
    EXPECT_DOUBLE_EQ(pts[2][1].get<double>(), 0.4);
    EXPECT_EQ(pts[2][2].get<int>(), 1);
    const auto& rows = doc["checkouts"];
    ASSERT_EQ(rows.size(), 3u);
    EXPECT_EQ(rows[0]["application_name"], "leaky");         // oldest first
    EXPECT_TRUE(rows[0]["suspected_leak"].get<bool>());      // older than highlight_after
    EXPECT_EQ(rows[0]["last_statement"], "SELECT \"x\"\n");  // escaped and parsed back
    EXPECT_TRUE(rows[1]["suspected_leak"].get<bool>());      // flagged by the detector
    EXPECT_FALSE(rows[2]["suspected_leak"].get<bool>());
    EXPECT_EQ(doc["pools"][0]["clients_waiting"], 1);
}

TEST(Dashboard, InvalidUtf8InAStatementKeepsTheJsonValid) {
    net::asio::io_context io;
    DashboardInputs in;
    in.checkouts = [] {
        return std::vector<Checkout>{
            {"c", "app", "d", "u", "default", 1, "SELECT '\xff\xfe'", false}};
    };
    auto d = std::make_shared<Dashboard>(io.get_executor(), in);
    const auto doc = nlohmann::json::parse(d->state_json(std::chrono::system_clock::now()));
    EXPECT_EQ(doc["checkouts"].size(), 1u);
}

TEST(Dashboard, PageIsSelfContained) {
    const std::string page(kDashboardPage);
    EXPECT_NE(page.find("<svg id=\"chart\""), std::string::npos);
    EXPECT_NE(page.find("api/state"), std::string::npos);
    // No external assets: nothing loaded from another origin.
    EXPECT_EQ(page.find("src=\"http"), std::string::npos);
    EXPECT_EQ(page.find("href=\"http"), std::string::npos);
}

}  // namespace
}  // namespace pgwarden::observe
