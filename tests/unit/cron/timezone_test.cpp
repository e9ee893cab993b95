#include "cron/timezone.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "test_time.hpp"

namespace pgwarden::cron {
namespace {

using std::chrono::seconds;
using testing::at;
using testing::zone;

void put_be(std::string& out, std::int64_t v, int width) {
    for (int i = width - 1; i >= 0; --i) {
        out.push_back(static_cast<char>((static_cast<std::uint64_t>(v) >> (i * 8)) & 0xff));
    }
}

// A minimal TZif v2 file: one local time type (`offset`), the given transitions all to that
// type, and `footer`. Enough to exercise the reader and the footer rule in isolation.
std::string tzif(const std::string& footer, std::int64_t offset = 0,
                 const std::vector<std::int64_t>& transitions = {}, char version = '2') {
    auto header = [&](std::string& out, std::int64_t timecnt) {
        out += "TZif";
        out.push_back(version);
        out.append(15, '\0');
        for (std::int64_t count : {0L, 0L, 0L, timecnt, 1L, 4L}) {
            put_be(out, count, 4);
        }
    };
    std::string out;
    header(out, 0);
    put_be(out, offset, 4);
    out += std::string("\0\0", 2) + std::string("XXX\0", 4);
    header(out, static_cast<std::int64_t>(transitions.size()));
    for (std::int64_t t : transitions) {
        put_be(out, t, 8);
    }
    out.append(transitions.size(), '\0');
    put_be(out, offset, 4);
    out += std::string("\0\0", 2) + std::string("XXX\0", 4);
    out += "\n" + footer + "\n";
    return out;
}

TEST(PosixTz, ParsesTheFooterForms) {
    auto ny = parse_posix_tz("EST5EDT,M3.2.0,M11.1.0");
    ASSERT_TRUE(ny.ok()) << ny.error().message;
    EXPECT_EQ(ny->std_abbrev, "EST");
    EXPECT_EQ(ny->std_offset, seconds(-5 * 3600));
    ASSERT_TRUE(ny->has_dst());
    EXPECT_EQ(ny->dst_offset, seconds(-4 * 3600));
    EXPECT_EQ(ny->dst_start.month, 3);
    EXPECT_EQ(ny->dst_start.week, 2);
    EXPECT_EQ(ny->dst_start.day, 0);
    EXPECT_EQ(ny->dst_start.time, seconds(7200));

    auto berlin = parse_posix_tz("CET-1CEST,M3.5.0,M10.5.0/3");
    ASSERT_TRUE(berlin.ok());
    EXPECT_EQ(berlin->std_offset, seconds(3600));
    EXPECT_EQ(berlin->dst_end.time, seconds(3 * 3600));

    auto kathmandu = parse_posix_tz("<+0545>-5:45");
    ASSERT_TRUE(kathmandu.ok());
    EXPECT_EQ(kathmandu->std_abbrev, "+0545");
    EXPECT_EQ(kathmandu->std_offset, seconds(5 * 3600 + 45 * 60));
    EXPECT_FALSE(kathmandu->has_dst());

    auto lord_howe = parse_posix_tz("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0");
    ASSERT_TRUE(lord_howe.ok());
    EXPECT_EQ(lord_howe->dst_offset, seconds(11 * 3600));

    auto greenland = parse_posix_tz("<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
    ASSERT_TRUE(greenland.ok());
    EXPECT_EQ(greenland->dst_start.time, seconds(-3600));

    auto julian = parse_posix_tz("XXX3YYY,J60/2:30:15,300");
    ASSERT_TRUE(julian.ok());
    EXPECT_EQ(julian->dst_start.kind, PosixTz::Rule::Kind::JulianNoLeap);
    EXPECT_EQ(julian->dst_start.time, seconds(2 * 3600 + 30 * 60 + 15));
    EXPECT_EQ(julian->dst_end.kind, PosixTz::Rule::Kind::ZeroBasedDay);
    EXPECT_EQ(julian->dst_end.day, 300);

    EXPECT_TRUE(parse_posix_tz("UTC0").ok());
}

TEST(PosixTz, RejectsMalformedRules) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "expected a standard-time abbreviation (3+ letters or <...>)"},
        {"E5", "expected a standard-time abbreviation (3+ letters or <...>)"},
        {"EST", "expected a UTC offset after the standard-time abbreviation"},
        {"EST5EDT,M13.1.0,M11.1.0", "malformed DST start rule (Jn, n or Mm.w.d, optionally /time)"},
        {"EST5EDT,M3.2.0", "expected ',' before the DST end rule"},
        {"EST5EDT,M3.2.0,M11.6.0", "malformed DST end rule (Jn, n or Mm.w.d, optionally /time)"},
        {"EST5EDT,M3.2.0,M11.1.0x", "unexpected text after the DST end rule"},
        {"<+05", "expected a standard-time abbreviation (3+ letters or <...>)"},
    };
    for (const auto& [text, message] : cases) {
        SCOPED_TRACE(text);
        auto r = parse_posix_tz(text);
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().message, "TZ rule '" + text + "': " + message);
    }
}

// The footer rule alone must reproduce what the full table says, for every transition of a
// decade in zones with different rule shapes (northern, southern, 30-minute, '/time').
TEST(TimeZone, FooterRuleAgreesWithTheTransitionTable) {
    const std::vector<std::pair<std::string, std::string>> zones = {
        {"America/New_York", "EST5EDT,M3.2.0,M11.1.0"},
        {"Europe/Berlin", "CET-1CEST,M3.5.0,M10.5.0/3"},
        {"Australia/Lord_Howe", "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0"},
        {"Australia/Sydney", "AEST-10AEDT,M10.1.0,M4.1.0/3"},
        {"America/Santiago", "<-04>4<-03>,M9.1.6/24,M4.1.6/24"},
    };
    for (const auto& [name, rule] : zones) {
        SCOPED_TRACE(name);
        const TimeZone& table = zone(name);
        auto rule_only = TimeZone::from_tzif(name + " (footer)", tzif(rule));
        ASSERT_TRUE(rule_only.ok()) << rule_only.error().message;
        SysSeconds t = at("2027-01-01T00:00:00Z");
        const SysSeconds end = at("2037-01-01T00:00:00Z");
        int transitions = 0;
        while (t < end) {
            const ZoneSegment a = table.segment_at(t);
            const ZoneSegment b = rule_only->segment_at(t);
            ASSERT_EQ(a.offset, b.offset) << format_utc(t);
            ASSERT_EQ(a.end, b.end) << format_utc(t);
            ASSERT_EQ(a.begin, b.begin) << format_utc(t);
            ASSERT_EQ(a.previous_offset, b.previous_offset) << format_utc(t);
            t = a.end;
            ++transitions;
        }
        EXPECT_EQ(transitions, 21);
    }
}

TEST(TimeZone, SegmentsAroundTheDstChangesOf2026) {
    const TimeZone& ny = zone("America/New_York");
    const ZoneSegment winter = ny.segment_at(at("2026-02-01T00:00:00Z"));
    EXPECT_EQ(winter.offset, seconds(-5 * 3600));
    EXPECT_FALSE(winter.is_dst);
    EXPECT_EQ(format_utc(winter.end), "2026-03-08T07:00:00Z");
    const ZoneSegment summer = ny.segment_at(winter.end);
    EXPECT_TRUE(summer.is_dst);
    EXPECT_EQ(summer.offset, seconds(-4 * 3600));
    EXPECT_EQ(summer.previous_offset, seconds(-5 * 3600));
    EXPECT_EQ(format_utc(summer.end), "2026-11-01T06:00:00Z");

    const TimeZone& kathmandu = zone("Asia/Kathmandu");
    EXPECT_EQ(kathmandu.offset_at(at("2026-06-01T00:00:00Z")), seconds(5 * 3600 + 45 * 60));
    EXPECT_EQ(TimeZone::utc().offset_at(at("2026-06-01T00:00:00Z")), seconds(0));
    EXPECT_EQ(zone("UTC").name(), "UTC");
}

TEST(TimeZone, LoadRejectsNamesThatAreNotZoneNames) {
    for (const std::string name : {"", "/etc/passwd", "../../etc/passwd", "Europe/../../etc",
                                   "Europe//Berlin", "Europe/Berlin ", "a;b"}) {
        SCOPED_TRACE(name);
        auto tz = TimeZone::load(name);
        ASSERT_FALSE(tz.ok());
        EXPECT_EQ(tz.error().message,
                  "'" + name + "' is not a valid IANA time zone name (like Europe/Berlin)");
    }
    auto missing = TimeZone::load("Mars/Olympus_Mons");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().message,
              "unknown time zone 'Mars/Olympus_Mons' (no file /usr/share/zoneinfo/"
              "Mars/Olympus_Mons)");
}

TEST(TimeZone, FromTzifRejectsDamagedFiles) {
    const std::string good = tzif("EST5EDT,M3.2.0,M11.1.0", -5 * 3600, {100, 200});
    ASSERT_TRUE(TimeZone::from_tzif("x", good).ok());
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "not a TZif file"},
        {"TZif2", "not a TZif file"},
        {tzif("UTC0", 0, {}, '\0'), "TZif version 1 files are not supported (no 64-bit data)"},
        {good.substr(0, 60), "missing version 2+ header"},
        {good.substr(0, 100), "truncated transition times"},
        {tzif("UTC0", 0, {200, 100}), "transition times are not ascending"},
        {tzif("EST5EDT,M3.2.0", 0),
         "TZ rule 'EST5EDT,M3.2.0': expected ',' before the DST "
         "end rule"},
        {good.substr(0, good.size() - 1), "unterminated footer"},
    };
    for (const auto& [bytes, message] : cases) {
        SCOPED_TRACE(message);
        auto tz = TimeZone::from_tzif("x", bytes);
        ASSERT_FALSE(tz.ok());
        EXPECT_EQ(tz.error().message, "time zone x: " + message);
    }
}

}  // namespace
}  // namespace pgwarden::cron
