#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace pgwarden::cron {

using SysSeconds = std::chrono::sys_seconds;

// The directory the system time zone database lives in on Debian.
inline constexpr std::string_view kZoneInfoDir = "/usr/share/zoneinfo";

// One stretch of time with a constant UTC offset, as cron's DST handling needs it: the offset in
// force, the offset just before `begin` (to tell a spring-forward gap from a fall-back overlap)
// and the half-open bounds [begin, end). Unbounded ends are SysSeconds::min()/max().
struct ZoneSegment {
    SysSeconds begin;
    SysSeconds end;
    std::chrono::seconds offset{0};
    std::chrono::seconds previous_offset{0};
    bool is_dst = false;
};

// The POSIX TZ rule from a TZif v2+ footer ("EST5EDT,M3.2.0,M11.1.0"), which describes local
// time after the last transition in the file's table. Public so it can be tested on its own.
struct PosixTz {
    // When a DST rule switches; `kind` picks how `day`/`week`/`month` are read.
    struct Rule {
        enum class Kind : std::uint8_t {
            JulianNoLeap,  // "Jn": day 1-365, February 29 is never counted
            ZeroBasedDay,  // "n": day 0-365, February 29 counted in leap years
            MonthWeekDay,  // "Mm.w.d": weekday d of week w (5 = last) of month m
        };
        Kind kind = Kind::MonthWeekDay;
        int day = 0;
        int week = 0;
        int month = 0;
        std::chrono::seconds time{7200};  // local time of day of the switch; may be <0 or >24h
    };
    std::string std_abbrev;
    std::chrono::seconds std_offset{0};  // east of UTC (the POSIX sign is inverted on parse)
    std::optional<std::string> dst_abbrev;
    std::chrono::seconds dst_offset{0};
    Rule dst_start;
    Rule dst_end;

    bool has_dst() const { return dst_abbrev.has_value(); }
};

// "2026-03-08T07:00:00Z", for logs and error messages.
std::string format_utc(SysSeconds t);

// Parses a POSIX TZ string as found in TZif footers. Errors name the offending part.
common::Result<PosixTz> parse_posix_tz(std::string_view text);

// An IANA time zone read from a TZif file: the transition table plus the footer rule for instants
// after the table ends. Immutable after construction, so one instance can be shared by every job
// and thread without locking (unlike localtime_r with a switched TZ variable).
class TimeZone {
public:
    // UTC, with no transitions.
    static TimeZone utc();

    // Parses TZif bytes (RFC 8536, versions 2 and later; the 32-bit v1 block is skipped).
    // Files carrying leap seconds ("right/" zones) are rejected: cron counts civil seconds.
    static common::Result<TimeZone> from_tzif(std::string name, std::string_view bytes);

    // Reads `<dir>/<name>` (does I/O: call at config load, not per tick). The name must look
    // like an IANA name ("Europe/Berlin"): no "..", no leading '/', so a config value cannot
    // make pgwarden read arbitrary files.
    static common::Result<TimeZone> load(std::string_view name,
                                         std::string_view dir = kZoneInfoDir);

    const std::string& name() const { return name_; }

    // The UTC offset in force at `t` (local = t + offset).
    std::chrono::seconds offset_at(SysSeconds t) const { return segment_at(t).offset; }

    // The constant-offset stretch that contains `t`.
    ZoneSegment segment_at(SysSeconds t) const;

private:
    struct LocalType {
        std::chrono::seconds offset{0};
        bool is_dst = false;
    };
    struct Transition {
        std::int64_t at = 0;  // Unix seconds
        std::int64_t offset = 0;
        bool is_dst = false;
    };

    // Footer transitions (one DST start and one end per year) for `year`, sorted.
    void footer_transitions(int year, std::vector<Transition>& out) const;
    ZoneSegment footer_segment(SysSeconds t, const Transition& last_table) const;

    std::string name_;
    std::vector<Transition> transitions_;
    LocalType initial_;  // before the first transition (RFC 8536 3.2: local time type 0)
    std::optional<PosixTz> footer_;
};

}  // namespace pgwarden::cron
