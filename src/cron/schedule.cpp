#include "cron/schedule.hpp"

#include <fmt/format.h>

namespace pgwarden::cron {

namespace {

using common::make_error;
using std::chrono::milliseconds;

// The splitmix64 finalizer: spreads FNV's weak low bits over the whole word, so "modulo the
// interval" gives evenly spread offsets even for names differing in one trailing character.
std::uint64_t mix(std::uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    const std::int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// A runaway guard for next_after: with jitter capped below the gap to the next nominal time
// the loop ends after jitter/period + 1 rounds; a second-granular cron with an hour of jitter
// needs 3601.
constexpr int kMaxJitterRounds = 1'000'000;

}  // namespace

std::uint64_t stable_hash(std::string_view text, std::uint64_t seed) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (char c : text) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ULL;
    }
    return mix(h ^ mix(seed));
}

common::Result<Schedule> Schedule::every(milliseconds interval, std::string_view job_name,
                                         ScheduleOptions options) {
    if (interval <= milliseconds(0)) {
        return make_error("schedule", fmt::format("job {}: the interval must be positive, got "
                                                  "{}ms",
                                                  job_name, interval.count()));
    }
    if (options.jitter < milliseconds(0) || options.jitter >= interval) {
        return make_error("schedule",
                          fmt::format("job {}: jitter {}ms must be at least 0 and "
                                      "shorter than the interval {}ms",
                                      job_name, options.jitter.count(), interval.count()));
    }
    Schedule s;
    s.job_name_ = std::string(job_name);
    s.options_ = options;
    s.interval_ = interval;
    if (options.stagger) {
        const std::uint64_t h = stable_hash(job_name);
        const auto ms = static_cast<std::uint64_t>(interval.count());
        // Whole seconds when the interval allows it: "fires at :07:23" reads better in logs.
        s.offset_ = ms % 1000 == 0 ? milliseconds(static_cast<std::int64_t>(h % (ms / 1000)) * 1000)
                                   : milliseconds(static_cast<std::int64_t>(h % ms));
    }
    return s;
}

common::Result<Schedule> Schedule::cron(CronExpr expr, std::shared_ptr<const TimeZone> zone,
                                        std::string_view job_name, ScheduleOptions options) {
    if (options.jitter < milliseconds(0)) {
        return make_error("schedule", fmt::format("job {}: jitter must not be negative", job_name));
    }
    if (!zone) {
        return make_error("schedule", fmt::format("job {}: no time zone", job_name));
    }
    Schedule s;
    s.job_name_ = std::string(job_name);
    s.options_ = options;
    s.cron_ = std::move(expr);
    s.zone_ = std::move(zone);
    return s;
}

common::Result<WallTime> Schedule::next_nominal_after(WallTime after) const {
    if (cron_) {
        // Cron is second-granular: the next fire after the whole second holding `after` is
        // also the next one after `after` itself.
        auto next = cron_->next_after(std::chrono::floor<std::chrono::seconds>(after), *zone_);
        if (!next) {
            return std::move(next).error();
        }
        return WallTime(*next);
    }
    const std::int64_t period = interval_.count();
    const std::int64_t k =
        floor_div(after.time_since_epoch().count() - offset_.count(), period) + 1;
    return WallTime(milliseconds(k * period + offset_.count()));
}

common::Result<milliseconds> Schedule::jitter_for(WallTime nominal) const {
    if (options_.jitter == milliseconds(0)) {
        return milliseconds(0);
    }
    std::int64_t bound = options_.jitter.count();
    if (cron_) {
        auto next = next_nominal_after(nominal);
        if (!next) {
            return std::move(next).error();
        }
        bound = std::min(bound, (*next - nominal).count());
    }
    const std::uint64_t h = mix(stable_hash(job_name_, options_.seed) ^
                                static_cast<std::uint64_t>(nominal.time_since_epoch().count()));
    return milliseconds(static_cast<std::int64_t>(h % static_cast<std::uint64_t>(bound)));
}

common::Result<FireTime> Schedule::next_after(WallTime after) const {
    // A fire whose nominal time is up to `jitter` before `after` may still start after it.
    auto nominal = next_nominal_after(after - options_.jitter);
    for (int round = 0; round < kMaxJitterRounds; ++round) {
        if (!nominal) {
            return std::move(nominal).error();
        }
        auto jitter = jitter_for(*nominal);
        if (!jitter) {
            return std::move(jitter).error();
        }
        const WallTime start = *nominal + *jitter;
        if (start > after) {
            return FireTime{*nominal, start};
        }
        nominal = next_nominal_after(*nominal);
    }
    return make_error("schedule", fmt::format("job {}: jitter {}ms spans too many fire times",
                                              job_name_, options_.jitter.count()));
}

std::string Schedule::describe() const {
    if (cron_) {
        return fmt::format("cron '{}' in {}, jitter {}ms", cron_->text(), zone_->name(),
                           options_.jitter.count());
    }
    return fmt::format("every {}ms, offset {}ms, jitter {}ms", interval_.count(), offset_.count(),
                       options_.jitter.count());
}

}  // namespace pgwarden::cron
