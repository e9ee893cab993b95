#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"
#include "common/result.hpp"
#include "cron/cron.hpp"
#include "cron/timezone.hpp"

namespace pgwarden::cron {

// Wall-clock instants at millisecond precision: what schedules are written in.
using WallTime = std::chrono::sys_time<std::chrono::milliseconds>;

// A 64-bit hash that is the same on every build and machine (FNV-1a, then a finalizer), so
// every replica derives the same per-job offset and jitter without talking to the others.
std::uint64_t stable_hash(std::string_view text, std::uint64_t seed = 0);

struct ScheduleOptions {
    // Upper bound (exclusive) of the delay added to each nominal fire time. The delay is a
    // hash of (seed, job name, nominal time): random-looking across jobs and fires, but the
    // same on every replica and every run, so it is testable and replicas agree.
    std::chrono::milliseconds jitter{0};
    std::uint64_t seed = 0;
    // Interval schedules only: shift every fire by a stable per-job offset (hash of the job
    // name modulo the interval), so jobs with equal intervals do not all fire at once.
    bool stagger = true;
};

// One fire of a schedule.
struct FireTime {
    WallTime nominal;  // the schedule's own time: the de-duplication key across replicas
    WallTime start;    // nominal + jitter: when the run becomes due
};

// When a job runs: a fixed interval or a cron expression in a time zone, plus jitter.
// Immutable and thread-safe after construction; no I/O (the zone is loaded beforehand).
class Schedule {
public:
    // Every `interval`, anchored to the Unix epoch plus the per-job offset, so the times do
    // not depend on when pgwarden started. The jitter must be shorter than the interval.
    static common::Result<Schedule> every(std::chrono::milliseconds interval,
                                          std::string_view job_name, ScheduleOptions options = {});

    // The cron expression's times in `zone`. Jitter is capped per fire so that a run never
    // starts after the next nominal time.
    static common::Result<Schedule> cron(CronExpr expr, std::shared_ptr<const TimeZone> zone,
                                         std::string_view job_name, ScheduleOptions options = {});

    // The first nominal time strictly after `after`.
    common::Result<WallTime> next_nominal_after(WallTime after) const;

    // The first fire whose start (nominal + jitter) is strictly after `after`. Starts are
    // strictly increasing because the jitter never reaches the next nominal time.
    common::Result<FireTime> next_after(WallTime after) const;

    // The delay added to the fire at `nominal`, in [0, min(jitter, gap to next nominal)).
    common::Result<std::chrono::milliseconds> jitter_for(WallTime nominal) const;

    // The per-job offset of an interval schedule (zero for cron or without stagger).
    std::chrono::milliseconds offset() const { return offset_; }

    // "every 600000ms, offset 327000ms, jitter 0ms" or "cron '0 3 * * *' in Europe/Berlin".
    std::string describe() const;

private:
    Schedule() = default;

    std::string job_name_;
    ScheduleOptions options_;
    std::chrono::milliseconds interval_{0};  // zero for cron schedules
    std::chrono::milliseconds offset_{0};
    std::optional<CronExpr> cron_;
    std::shared_ptr<const TimeZone> zone_;
};

// Maps between the monotonic clock the job state machine runs on and wall-clock time, with
// one fixed pairing taken when the scheduler starts (or re-taken after a wall-clock jump).
struct TimeBase {
    common::Clock::time_point steady;
    WallTime wall;

    WallTime to_wall(common::Clock::time_point t) const {
        return wall + std::chrono::duration_cast<std::chrono::milliseconds>(t - steady);
    }
    common::Clock::time_point to_steady(WallTime t) const {
        return steady + std::chrono::duration_cast<common::Clock::duration>(t - wall);
    }
};

}  // namespace pgwarden::cron
