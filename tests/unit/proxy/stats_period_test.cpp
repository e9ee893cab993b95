#include "proxy/stats_period.hpp"

#include <gtest/gtest.h>

namespace pgwarden::proxy {
namespace {

using namespace std::chrono_literals;

observe::ClassTotals totals(uint64_t xacts, double xact_seconds) {
    observe::ClassTotals t;
    t.transactions = xacts;
    t.transaction_seconds = xact_seconds;
    return t;
}

TEST(StatsPeriods, LastPeriodIsTheDifferenceOfTheLastTwoRolls) {
    StatsPeriods p;
    const auto t0 = std::chrono::steady_clock::time_point(100s);
    EXPECT_FALSE(p.last_period().has_value());
    p.roll({{"a", totals(10, 1.0)}}, t0);
    EXPECT_FALSE(p.last_period().has_value());  // one roll: no completed period yet
    p.roll({{"a", totals(70, 4.0)}, {"b", totals(5, 0.5)}}, t0 + 60s);
    auto last = p.last_period();
    ASSERT_TRUE(last.has_value());
    EXPECT_DOUBLE_EQ(last->second, 60.0);
    EXPECT_EQ(last->first["a"].transactions, 60u);
    EXPECT_DOUBLE_EQ(last->first["a"].transaction_seconds, 3.0);
    EXPECT_EQ(last->first["b"].transactions, 5u);  // new during the period: all of it counts
    p.roll({{"a", totals(70, 4.0)}, {"b", totals(5, 0.5)}}, t0 + 120s);
    EXPECT_EQ(p.last_period()->first["a"].transactions, 0u);  // a quiet period
}

}  // namespace
}  // namespace pgwarden::proxy
