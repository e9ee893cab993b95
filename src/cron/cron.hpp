#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.hpp"
#include "cron/timezone.hpp"

namespace pgwarden::cron {

// How far ahead next_after looks before declaring an expression impossible ("0 0 30 2 *").
// Leap-day-only jobs are the sparsest real schedules: four years apart, but eight across 2100
// (not a leap year). Searching costs only the days of the months named, so this stays cheap.
inline constexpr int kCronSearchYears = 8;

// A parsed cron expression: 5 fields (minute hour day-of-month month day-of-week) or 6 (a
// seconds field first), or a macro (@hourly @daily @midnight @weekly @monthly @yearly
// @annually). Immutable and cheap to copy; safe to share across threads.
//
// Day matching follows Vixie cron: when both day-of-month and day-of-week are restricted (their
// text does not start with '*'), a day matches if EITHER matches; otherwise both must match.
//
// Daylight-saving policy, also Vixie cron's (see next_after):
//  * Fixed-hour expressions (the hour field does not start with '*', e.g. "30 2 * * *"):
//    a local time skipped by a spring-forward gap fires once, at the first instant after the
//    gap; a local time that occurs twice in a fall-back overlap fires once, at its first
//    occurrence.
//  * Wall-clock-cadence expressions (the hour field starts with '*': "*/15 * * * *",
//    "0 */2 * * *", @hourly): fire at every real instant whose local time matches, so a gap
//    simply has no matching instants and both passes of an overlap fire. An "every 15 minutes"
//    job thus keeps running every 15 real minutes through both DST changes.
class CronExpr {
public:
    // The next fire time strictly after `after`, reading the fields as local time in `zone`.
    // Errors when no fire time exists within kCronSearchYears (e.g. "0 0 30 2 *").
    common::Result<SysSeconds> next_after(SysSeconds after, const TimeZone& zone) const;

    // The expression as written (after trimming), for logs and errors.
    const std::string& text() const { return text_; }

    // Whether the hour field starts with '*' (see the DST policy above).
    bool wall_clock_cadence() const { return hour_star_; }

    bool operator==(const CronExpr& other) const;

private:
    friend common::Result<CronExpr> parse_cron(std::string_view text);

    // The first local time >= `from` (seconds since the local epoch) matching every field, or
    // nullopt if there is none before `limit`. Pure calendar arithmetic, no time zone.
    std::optional<std::int64_t> first_local_match(std::int64_t from, std::int64_t limit) const;
    bool day_matches(std::chrono::sys_days day) const;
    // The first time of day >= `second_of_day` that matches, or nullopt.
    std::optional<std::int64_t> first_time_of_day(std::int64_t second_of_day) const;

    std::string text_;
    std::uint64_t seconds_ = 0;  // bit n: second n (0-59)
    std::uint64_t minutes_ = 0;  // bit n: minute n (0-59)
    std::uint32_t hours_ = 0;    // bit n: hour n (0-23)
    std::uint32_t days_ = 0;     // bit n: day of month n (1-31)
    std::uint16_t months_ = 0;   // bit n: month n (1-12)
    std::uint8_t weekdays_ = 0;  // bit n: weekday n (0 = Sunday; 7 is folded into 0)
    bool dom_star_ = false;
    bool dow_star_ = false;
    bool hour_star_ = false;
};

// Parses a cron expression. Names (JAN-DEC, SUN-SAT) and macros are case-insensitive.
// Errors say which field, which token and what is allowed, e.g.
// "field 2 (hour): 24 is out of range 0-23".
common::Result<CronExpr> parse_cron(std::string_view text);

}  // namespace pgwarden::cron
