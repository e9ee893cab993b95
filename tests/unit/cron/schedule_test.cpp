#include "cron/schedule.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "test_time.hpp"

namespace pgwarden::cron {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::at;
using testing::zone;

WallTime wall(std::string_view text) {
    return WallTime(at(text));
}

TEST(Schedule, IntervalFiresAreEpochAnchoredPlusAStablePerJobOffset) {
    auto s = Schedule::every(minutes(10), "vacuum_sessions");
    ASSERT_TRUE(s.ok()) << s.error().message;
    const milliseconds offset = s->offset();
    EXPECT_GE(offset, milliseconds(0));
    EXPECT_LT(offset, minutes(10));
    EXPECT_EQ(offset.count() % 1000, 0) << "whole seconds for whole-second intervals";

    // The same name gives the same offset on every replica and every restart.
    EXPECT_EQ(Schedule::every(minutes(10), "vacuum_sessions")->offset(), offset);

    WallTime t = wall("2026-01-01T00:00:00Z");
    auto first = s->next_nominal_after(t);
    ASSERT_TRUE(first.ok());
    EXPECT_EQ(*first, t + offset + (offset == milliseconds(0) ? minutes(10) : milliseconds(0)));
    t = *first;
    for (int i = 0; i < 100; ++i) {
        auto next = s->next_nominal_after(t);
        ASSERT_TRUE(next.ok());
        EXPECT_EQ(*next - t, minutes(10));
        t = *next;
    }
    // Strictly after: asking from a fire time gives the following one.
    EXPECT_EQ(*s->next_nominal_after(*first), *first + minutes(10));
    EXPECT_EQ(*s->next_nominal_after(*first - milliseconds(1)), *first);
}

TEST(Schedule, OffsetsSpreadJobsWithEqualIntervalsEvenly) {
    std::vector<int> buckets(10, 0);
    std::set<std::int64_t> distinct;
    for (int i = 0; i < 1000; ++i) {
        auto s = Schedule::every(minutes(10), "job_" + std::to_string(i));
        ASSERT_TRUE(s.ok());
        ++buckets[static_cast<std::size_t>(s->offset() / minutes(1))];
        distinct.insert(s->offset().count());
    }
    for (int count : buckets) {
        EXPECT_GT(count, 60);
        EXPECT_LT(count, 140);
    }
    // 1000 jobs in 600 one-second slots: a uniform hash fills about 600(1-e^(-1000/600)) = 487.
    EXPECT_GT(distinct.size(), 450U);
}

TEST(Schedule, WithoutStaggerIntervalsAlignToTheEpoch) {
    auto s = Schedule::every(minutes(15), "report", ScheduleOptions{milliseconds(0), 0, false});
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->offset(), milliseconds(0));
    EXPECT_EQ(*s->next_nominal_after(wall("2026-01-01T10:07:00Z")), wall("2026-01-01T10:15:00Z"));
    // Sub-second intervals keep millisecond offsets.
    auto fast = Schedule::every(milliseconds(250), "poll");
    ASSERT_TRUE(fast.ok());
    EXPECT_LT(fast->offset(), milliseconds(250));
}

TEST(Schedule, StableHashIsPinnedSoReplicasOfDifferentBuildsAgree) {
    // Changing the hash moves every job's offset and jitter: a deliberate, visible decision.
    EXPECT_EQ(stable_hash(""), stable_hash("", 0));
    EXPECT_NE(stable_hash("a"), stable_hash("b"));
    EXPECT_NE(stable_hash("a", 1), stable_hash("a", 2));
    EXPECT_EQ(Schedule::every(minutes(10), "vacuum_sessions")->offset(),
              milliseconds(static_cast<std::int64_t>(stable_hash("vacuum_sessions") % 600) * 1000));
}

TEST(Schedule, JitterIsBoundedDeterministicAndSeedDependent) {
    const ScheduleOptions a{seconds(30), 1, true};
    const ScheduleOptions b{seconds(30), 2, true};
    auto s1 = Schedule::every(minutes(1), "refresh", a);
    auto s1_again = Schedule::every(minutes(1), "refresh", a);
    auto s2 = Schedule::every(minutes(1), "refresh", b);
    ASSERT_TRUE(s1.ok() && s1_again.ok() && s2.ok());
    WallTime t = wall("2026-01-01T00:00:00Z");
    int differing = 0;
    std::set<std::int64_t> values;
    for (int i = 0; i < 200; ++i) {
        auto f = s1->next_after(t);
        auto g = s1_again->next_after(t);
        ASSERT_TRUE(f.ok() && g.ok());
        EXPECT_EQ(f->start, g->start);
        EXPECT_GT(f->start, t);
        EXPECT_GE(f->start - f->nominal, milliseconds(0));
        EXPECT_LT(f->start - f->nominal, seconds(30));
        EXPECT_EQ((f->nominal - s1->offset()).time_since_epoch() % minutes(1), milliseconds(0));
        values.insert((f->start - f->nominal).count());
        if (*s2->jitter_for(f->nominal) != f->start - f->nominal) {
            ++differing;
        }
        t = f->start;
    }
    EXPECT_GT(values.size(), 150U);
    EXPECT_GT(differing, 190);
}

TEST(Schedule, NextAfterFindsAFireWhoseNominalTimeIsAlreadyPast) {
    auto s = Schedule::every(minutes(1), "x", ScheduleOptions{seconds(50), 7, false});
    ASSERT_TRUE(s.ok());
    const WallTime nominal = wall("2026-01-01T00:05:00Z");
    const milliseconds j = *s->jitter_for(nominal);
    ASSERT_GT(j, milliseconds(0));
    // Just after the nominal time but before its jittered start: that same fire is next.
    auto f = s->next_after(nominal + j - milliseconds(1));
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->nominal, nominal);
    EXPECT_EQ(f->start, nominal + j);
    auto g = s->next_after(nominal + j);
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(g->nominal, nominal + minutes(1));
}

TEST(Schedule, CronScheduleUsesTheZoneAndCapsJitterBeforeTheNextFire) {
    auto expr = parse_cron("0 3 * * *");
    ASSERT_TRUE(expr.ok());
    auto berlin = std::make_shared<const TimeZone>(zone("Europe/Berlin"));
    auto s = Schedule::cron(*expr, berlin, "nightly", ScheduleOptions{minutes(10), 0, true});
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->offset(), milliseconds(0));
    auto f = s->next_after(wall("2026-03-28T12:00:00Z"));
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->nominal, wall("2026-03-29T03:00:00+02:00"));
    EXPECT_LT(f->start - f->nominal, minutes(10));
    EXPECT_EQ(s->describe(), "cron '0 3 * * *' in Europe/Berlin, jitter 600000ms");

    // Every second, with 10 s of jitter: each delay stays under the one-second gap.
    auto every_second = Schedule::cron(*parse_cron("* * * * * *"), berlin, "tight",
                                       ScheduleOptions{seconds(10), 0, true});
    ASSERT_TRUE(every_second.ok());
    WallTime t = wall("2026-01-01T00:00:00Z");
    for (int i = 0; i < 100; ++i) {
        auto fire = every_second->next_after(t);
        ASSERT_TRUE(fire.ok());
        EXPECT_LT(fire->start - fire->nominal, seconds(1));
        EXPECT_GT(fire->start, t);
        t = fire->start;
    }
}

TEST(Schedule, ErrorsAreReported) {
    auto zero = Schedule::every(milliseconds(0), "x");
    ASSERT_FALSE(zero.ok());
    EXPECT_EQ(zero.error().message, "job x: the interval must be positive, got 0ms");
    auto wide = Schedule::every(minutes(1), "x", ScheduleOptions{minutes(1), 0, true});
    ASSERT_FALSE(wide.ok());
    EXPECT_EQ(wide.error().message,
              "job x: jitter 60000ms must be at least 0 and shorter than the interval 60000ms");
    auto no_zone = Schedule::cron(*parse_cron("@daily"), nullptr, "x");
    ASSERT_FALSE(no_zone.ok());
    EXPECT_EQ(no_zone.error().message, "job x: no time zone");
    auto impossible = Schedule::cron(*parse_cron("0 0 30 2 *"),
                                     std::make_shared<const TimeZone>(TimeZone::utc()), "x");
    ASSERT_TRUE(impossible.ok());
    auto next = impossible->next_after(wall("2026-01-01T00:00:00Z"));
    ASSERT_FALSE(next.ok());
    EXPECT_EQ(next.error().code, "cron");
}

TEST(TimeBase, ConvertsBetweenTheMonotonicClockAndWallTime) {
    common::FakeClock clock;
    clock.advance(std::chrono::hours(5));
    const TimeBase base{clock.now(), wall("2026-01-01T00:00:00Z")};
    EXPECT_EQ(base.to_wall(clock.now() + seconds(90)), wall("2026-01-01T00:01:30Z"));
    EXPECT_EQ(base.to_steady(wall("2026-01-01T00:01:30Z")), clock.now() + seconds(90));
}

}  // namespace
}  // namespace pgwarden::cron
