#include "cron/cron.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_time.hpp"

namespace pgwarden::cron {
namespace {

using testing::at;
using testing::zone;

struct ParseOk {
    std::string expr;
    std::string same_as;  // an equivalent spelling, compared field by field
};

TEST(CronParse, EquivalentSpellingsParseToTheSameExpression) {
    const std::vector<ParseOk> cases = {
        {"@hourly", "0 * * * *"},
        {"@HOURLY", "0 * * * *"},
        {"@daily", "0 0 * * *"},
        {"@midnight", "0 0 * * *"},
        {"@weekly", "0 0 * * 0"},
        {"@monthly", "0 0 1 * *"},
        {"@yearly", "0 0 1 1 *"},
        {"@annually", "0 0 1 1 *"},
        {"  */5 * * * *\t", "0,5,10,15,20,25,30,35,40,45,50,55 * * * *"},
        {"0 0 * * 7", "0 0 * * 0"},
        {"0 0 * * SUN", "0 0 * * 0"},
        {"0 0 * * sun", "0 0 * * 0"},
        {"0 0 * * Mon-Fri", "0 0 * * 1,2,3,4,5"},
        {"0 0 * * 5-7", "0 0 * * 0,5,6"},
        {"0 0 1 jan-mar/2 *", "0 0 1 1,3 *"},
        {"0 0 1 JAN,Dec *", "0 0 1 1,12 *"},
        {"1-30/10 * * * *", "1,11,21 * * * *"},
        {"5/15 * * * *", "5,20,35,50 * * * *"},
        {"0 0-23/6 * * *", "0 0,6,12,18 * * *"},
        {"0 * * * * *", "* * * * *"},
        {"0 30 9 * * MON-FRI", "30 9 * * 1-5"},
        {"59 23 31 12 6", "59 23 31 DEC SAT"},
        {"0 0 * * 0-6/2", "0 0 * * 0,2,4,6"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.expr);
        auto a = parse_cron(c.expr);
        auto b = parse_cron(c.same_as);
        ASSERT_TRUE(a.ok()) << a.error().message;
        ASSERT_TRUE(b.ok()) << b.error().message;
        EXPECT_TRUE(*a == *b);
    }
}

TEST(CronParse, KeepsTheTrimmedTextAndTheHourFieldKind) {
    auto hourly = parse_cron(" @hourly ");
    ASSERT_TRUE(hourly.ok());
    EXPECT_EQ(hourly->text(), "@hourly");
    EXPECT_TRUE(hourly->wall_clock_cadence());
    EXPECT_TRUE(parse_cron("0 */2 * * *")->wall_clock_cadence());
    EXPECT_FALSE(parse_cron("0 0-23 * * *")->wall_clock_cadence());
    EXPECT_FALSE(parse_cron("@daily")->wall_clock_cadence());
}

struct ParseError {
    std::string expr;
    std::string message;
};

TEST(CronParse, EveryErrorNamesTheFieldTheTokenAndWhatIsAllowed) {
    const std::vector<ParseError> cases = {
        {"", "empty cron expression"},
        {"   ", "empty cron expression"},
        {"* * * *",
         "expected 5 fields (minute hour day-of-month month day-of-week) or 6 "
         "(seconds first), got 4 in '* * * *'"},
        {"* * * * * * *",
         "expected 5 fields (minute hour day-of-month month day-of-week) or 6 "
         "(seconds first), got 7 in '* * * * * * *'"},
        {"@reboot",
         "unknown macro '@reboot' (allowed: @yearly @annually @monthly @weekly "
         "@daily @midnight @hourly)"},
        {"60 * * * *", "field 1 (minute): 60 is out of range 0-59"},
        {"0 24 * * *", "field 2 (hour): 24 is out of range 0-23"},
        {"0 0 0 * *", "field 3 (day-of-month): 0 is out of range 1-31"},
        {"0 0 32 * *", "field 3 (day-of-month): 32 is out of range 1-31"},
        {"0 0 * 13 *", "field 4 (month): 13 is out of range 1-12"},
        {"0 0 * 0 *", "field 4 (month): 0 is out of range 1-12"},
        {"0 0 * * 8", "field 5 (day-of-week): 8 is out of range 0-7"},
        {"99999 * * * *", "field 1 (minute): 99999 is out of range 0-59"},
        {"0 0 * FOO *", "field 4 (month): 'FOO' is not a number or month name (JAN-DEC)"},
        {"0 0 * MON *", "field 4 (month): 'MON' is not a number or month name (JAN-DEC)"},
        {"0 0 * * JAN", "field 5 (day-of-week): 'JAN' is not a number or day name (SUN-SAT)"},
        {"0 0 * * MONDAY", "field 5 (day-of-week): 'MONDAY' is not a number or day name (SUN-SAT)"},
        {"x * * * *", "field 1 (minute): 'x' is not a number"},
        {"0 1h * * *", "field 2 (hour): '1h' is not a number"},
        {"30-10 * * * *", "field 1 (minute): range 30-10 is reversed (start must not exceed end)"},
        {"0 0 * * FRI-MON",
         "field 5 (day-of-week): range FRI-MON is reversed (start must not exceed end)"},
        {"*/0 * * * *", "field 1 (minute): step 0 in '*/0' is out of range 1-59"},
        {"*/60 * * * *", "field 1 (minute): step 60 in '*/60' is out of range 1-59"},
        {"0 */24 * * *", "field 2 (hour): step 24 in '*/24' is out of range 1-23"},
        {"*/x * * * *", "field 1 (minute): step 'x' in '*/x' is not a number"},
        {"1/2/3 * * * *", "field 1 (minute): step '2/3' in '1/2/3' is not a number"},
        {"/5 * * * *", "field 1 (minute): '/5' has no range before the '/'"},
        {"1,,2 * * * *", "field 1 (minute): empty list element in '1,,2'"},
        {"1, * * * *", "field 1 (minute): empty list element in '1,'"},
        {"1- * * * *", "field 1 (minute): '1-' is not a valid value, range or step"},
        {"-5 * * * *", "field 1 (minute): '-5' is not a valid value, range or step"},
        {"1-2-3 * * * *", "field 1 (minute): '1-2-3' is not a valid value, range or step"},
        {"60 0 0 * * *", "field 1 (second): 60 is out of range 0-59"},
        {"0 60 0 * * *", "field 2 (minute): 60 is out of range 0-59"},
        {"0 0 24 * * *", "field 3 (hour): 24 is out of range 0-23"},
        {"0 0 0 * * 9", "field 6 (day-of-week): 9 is out of range 0-7"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.expr);
        auto r = parse_cron(c.expr);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().code, "cron");
        EXPECT_EQ(r.error().message, c.message);
    }
}

struct NextCase {
    std::string expr;
    std::string zone;
    std::string from;
    std::string expected;
};

// Expected instants are written as local time with the zone's real offset at that instant;
// each was checked with `TZ=<zone> date -d <instant> +%FT%T%:z` on Debian 12's tzdata.
const std::vector<NextCase> kNextCases = {
    // Every field form, UTC. 2026-01-01 is a Thursday.
    {"* * * * *", "UTC", "2026-01-01T00:00:30Z", "2026-01-01T00:01:00Z"},
    {"* * * * *", "UTC", "2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z"},
    {"*/5 * * * * *", "UTC", "2026-01-01T00:00:03Z", "2026-01-01T00:00:05Z"},
    {"30 59 23 31 12 *", "UTC", "2026-12-31T23:59:30Z", "2027-12-31T23:59:30Z"},
    {"*/15 * * * *", "UTC", "2026-01-01T10:46:00Z", "2026-01-01T11:00:00Z"},
    {"1-30/10 0 * * *", "UTC", "2026-01-01T00:01:00Z", "2026-01-01T00:11:00Z"},
    {"1-30/10 0 * * *", "UTC", "2026-01-01T00:21:00Z", "2026-01-02T00:01:00Z"},
    {"5/15 * * * *", "UTC", "2026-01-01T00:21:00Z", "2026-01-01T00:35:00Z"},
    {"0 9,17 * * *", "UTC", "2026-01-01T09:00:00Z", "2026-01-01T17:00:00Z"},
    {"0 30 9 * * MON-FRI", "UTC", "2026-01-02T10:00:00Z", "2026-01-05T09:30:00Z"},
    {"0 0 * * 7", "UTC", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z"},
    {"0 0 * * sun", "UTC", "2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"},
    {"0 0 1 jan-mar/2 *", "UTC", "2026-01-02T00:00:00Z", "2026-03-01T00:00:00Z"},
    {"0 0 1 1 *", "UTC", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z"},
    // Both day fields restricted: either matches (Vixie). 2026-01-05 is the first Monday.
    {"0 0 1,15 * MON", "UTC", "2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z"},
    {"0 0 1,15 * MON", "UTC", "2026-01-12T00:00:00Z", "2026-01-15T00:00:00Z"},
    {"0 0 13 * FRI", "UTC", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"},
    // A day field starting with '*' narrows instead: odd days that are Mondays.
    {"0 0 */2 * MON", "UTC", "2026-01-01T00:00:00Z", "2026-01-05T00:00:00Z"},
    {"0 0 */2 * MON", "UTC", "2026-01-05T00:00:00Z", "2026-01-19T00:00:00Z"},
    {"0 0 * 2 1-5", "UTC", "2026-01-15T00:00:00Z", "2026-02-02T00:00:00Z"},
    // Macros.
    {"@hourly", "UTC", "2026-01-01T10:00:00Z", "2026-01-01T11:00:00Z"},
    {"@daily", "UTC", "2026-01-01T10:00:00Z", "2026-01-02T00:00:00Z"},
    {"@weekly", "UTC", "2026-01-01T10:00:00Z", "2026-01-04T00:00:00Z"},
    {"@monthly", "UTC", "2026-01-31T10:00:00Z", "2026-02-01T00:00:00Z"},
    {"@yearly", "UTC", "2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"},
    // Leap days and month ends.
    {"0 0 29 2 *", "UTC", "2025-01-01T00:00:00Z", "2028-02-29T00:00:00Z"},
    {"0 0 29 2 *", "UTC", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"},
    {"0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", "2104-02-29T00:00:00Z"},
    {"0 0 30 * *", "UTC", "2026-01-30T00:00:00Z", "2026-03-30T00:00:00Z"},
    {"0 0 31 * *", "UTC", "2026-04-01T00:00:00Z", "2026-05-31T00:00:00Z"},
    {"0 0 31 * *", "UTC", "2026-07-31T00:00:00Z", "2026-08-31T00:00:00Z"},
    {"59 23 28-31 2 *", "UTC", "2026-02-28T23:59:00Z", "2027-02-28T23:59:00Z"},
    {"59 23 28-31 2 *", "UTC", "2028-02-28T23:59:00Z", "2028-02-29T23:59:00Z"},
    // Far from UTC, no DST.
    {"0 9 * * *", "Asia/Kathmandu", "2026-01-01T00:00:00Z", "2026-01-01T09:00:00+05:45"},
    {"30 0 1 * *", "Asia/Kathmandu", "2026-02-01T00:45:00+05:45", "2026-03-01T00:30:00+05:45"},
    {"@daily", "Asia/Kathmandu", "2026-06-30T18:14:59Z", "2026-06-30T18:15:00Z"},
    // New York, DST starts 2026-03-08 02:00 EST -> 03:00 EDT.
    {"30 2 * * *", "America/New_York", "2026-03-07T12:00:00-05:00", "2026-03-08T03:00:00-04:00"},
    {"30 2 * * *", "America/New_York", "2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"},
    {"*/15 2 * * *", "America/New_York", "2026-03-08T01:50:00-05:00", "2026-03-08T03:00:00-04:00"},
    {"*/15 2 * * *", "America/New_York", "2026-03-08T03:00:00-04:00", "2026-03-09T02:00:00-04:00"},
    {"30 30 2 * * *", "America/New_York", "2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00"},
    {"0 3 * * *", "America/New_York", "2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00"},
    {"59 1 * * *", "America/New_York", "2026-03-08T00:00:00-05:00", "2026-03-08T01:59:00-05:00"},
    {"0 2 8 3 *", "America/New_York", "2026-01-01T00:00:00-05:00", "2026-03-08T03:00:00-04:00"},
    // Wall-clock cadence: the skipped local times simply do not exist.
    {"30 * * * *", "America/New_York", "2026-03-08T01:45:00-05:00", "2026-03-08T03:30:00-04:00"},
    {"*/20 * * * *", "America/New_York", "2026-03-08T01:40:00-05:00", "2026-03-08T03:00:00-04:00"},
    // New York, DST ends 2026-11-01 02:00 EDT -> 01:00 EST: fixed hours fire once.
    {"30 1 * * *", "America/New_York", "2026-11-01T00:00:00-04:00", "2026-11-01T01:30:00-04:00"},
    {"30 1 * * *", "America/New_York", "2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"},
    {"30 1 * * *", "America/New_York", "2026-11-01T01:10:00-05:00", "2026-11-02T01:30:00-05:00"},
    {"0 1 * * *", "America/New_York", "2026-11-01T01:00:00-04:00", "2026-11-02T01:00:00-05:00"},
    {"*/30 1 * * *", "America/New_York", "2026-11-01T01:30:00-04:00", "2026-11-02T01:00:00-05:00"},
    {"0 2 * * *", "America/New_York", "2026-11-01T01:30:00-05:00", "2026-11-01T02:00:00-05:00"},
    {"0 2 * * *", "America/New_York", "2026-11-01T01:30:00-04:00", "2026-11-01T02:00:00-05:00"},
    // ... and wall-clock cadences run through both passes.
    {"*/30 * * * *", "America/New_York", "2026-11-01T01:30:00-04:00", "2026-11-01T01:00:00-05:00"},
    {"0 * * * *", "America/New_York", "2026-11-01T01:00:00-04:00", "2026-11-01T01:00:00-05:00"},
    {"0 * * * *", "America/New_York", "2026-11-01T01:00:00-05:00", "2026-11-01T02:00:00-05:00"},
    // Berlin, DST starts 2026-03-29 02:00 CET -> 03:00 CEST, ends 2026-10-25 03:00 -> 02:00.
    {"30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00+01:00", "2026-03-29T03:00:00+02:00"},
    {"0 2 * * SUN", "Europe/Berlin", "2026-03-28T00:00:00+01:00", "2026-03-29T03:00:00+02:00"},
    {"0 2 * * SUN", "Europe/Berlin", "2026-03-29T03:00:00+02:00", "2026-04-05T02:00:00+02:00"},
    {"30 2 * * *", "Europe/Berlin", "2026-10-25T00:00:00+02:00", "2026-10-25T02:30:00+02:00"},
    {"30 2 * * *", "Europe/Berlin", "2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"},
    {"*/20 * * * *", "Europe/Berlin", "2026-10-25T02:40:00+02:00", "2026-10-25T02:00:00+01:00"},
    {"0 0 * * *", "Europe/Berlin", "2026-10-24T12:00:00+02:00", "2026-10-25T00:00:00+02:00"},
    // Lord Howe moves by 30 minutes: 2026-10-04 02:00 -> 02:30, 2026-04-05 02:00 -> 01:30.
    {"15 2 * * *", "Australia/Lord_Howe", "2026-10-03T12:00:00+10:30", "2026-10-04T02:30:00+11:00"},
    {"45 1 * * *", "Australia/Lord_Howe", "2026-04-05T00:00:00+11:00", "2026-04-05T01:45:00+11:00"},
    {"45 1 * * *", "Australia/Lord_Howe", "2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"},
    {"*/15 * * * *", "Australia/Lord_Howe", "2026-04-05T01:45:00+11:00",
     "2026-04-05T01:30:00+10:30"},
    // Past the end of the TZif table (2037): the POSIX footer rule takes over.
    {"30 2 * * *", "America/New_York", "2040-03-10T12:00:00-05:00", "2040-03-11T03:00:00-04:00"},
    {"30 1 * * *", "Europe/Berlin", "2045-10-29T01:30:00+02:00", "2045-10-30T01:30:00+01:00"},
};

TEST(CronNextAfter, KnownFireTimes) {
    for (const auto& c : kNextCases) {
        SCOPED_TRACE(c.expr + " in " + c.zone + " after " + c.from);
        auto expr = parse_cron(c.expr);
        ASSERT_TRUE(expr.ok()) << expr.error().message;
        auto next = expr->next_after(at(c.from), zone(c.zone));
        ASSERT_TRUE(next.ok()) << next.error().message;
        EXPECT_EQ(format_utc(*next), format_utc(at(c.expected))) << "expected " << c.expected;
    }
}

TEST(CronNextAfter, ImpossibleExpressionsErrorInsteadOfLooping) {
    for (const std::string text : {"0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 31 2 *"}) {
        SCOPED_TRACE(text);
        auto expr = parse_cron(text);
        ASSERT_TRUE(expr.ok());
        auto next = expr->next_after(at("2026-01-01T00:00:00Z"), zone("Europe/Berlin"));
        ASSERT_FALSE(next.ok());
        EXPECT_EQ(next.error().message,
                  "'" + text +
                      "' has no fire time within 8 years after 2026-01-01T00:00:00Z "
                      "(does the day of month exist in the months given?)");
    }
}

// Walking an every-minute expression across a whole year in a DST zone: the fire times are
// strictly increasing, a minute apart in real time except at the two DST changes, and a daily
// fixed-hour job fires exactly once per calendar day.
TEST(CronNextAfter, AYearOfFireTimesIsMonotonicAndDailyJobsFireOncePerDay) {
    const TimeZone& ny = zone("America/New_York");
    auto minutely = parse_cron("* * * * *");
    ASSERT_TRUE(minutely.ok());
    SysSeconds t = at("2026-01-01T00:00:00-05:00");
    const SysSeconds end = at("2027-01-01T00:00:00-05:00");
    int count = 0;
    while (t < end) {
        auto next = minutely->next_after(t, ny);
        ASSERT_TRUE(next.ok());
        ASSERT_EQ((*next - t).count(), 60) << format_utc(t);
        t = *next;
        ++count;
    }
    EXPECT_EQ(count, 365 * 1440);

    for (const std::string text : {"30 2 * * *", "30 1 * * *", "0 0 * * *", "59 23 * * *"}) {
        SCOPED_TRACE(text);
        auto daily = parse_cron(text);
        ASSERT_TRUE(daily.ok());
        int fires = 0;
        t = at("2025-12-31T23:59:59-05:00");
        SysSeconds previous = t;
        for (;;) {
            auto next = daily->next_after(t, ny);
            ASSERT_TRUE(next.ok());
            if (*next >= end) {
                break;
            }
            ASSERT_GT(*next, previous);
            // Never two fires within 22 hours, even across the overlap.
            if (fires > 0) {
                ASSERT_GE((*next - previous).count(), 22 * 3600) << format_utc(*next);
            }
            previous = *next;
            t = *next;
            ++fires;
        }
        EXPECT_EQ(fires, 365);
    }
}

}  // namespace
}  // namespace pgwarden::cron
