// Scheduler cost for 10,000 configured jobs: computing next fire times (mixed interval and cron
// schedules across DST zones), and the idle planner tick (poll every job, plan the empty
// candidate set). The bar: 10,000 configured jobs cost under 1% of a core while idle.
//
// Usage: scheduler_bench [jobs] [ticks]
#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "cron/cron.hpp"
#include "cron/schedule.hpp"
#include "cron/timezone.hpp"
#include "scheduler/job_state.hpp"
#include "scheduler/planner.hpp"

namespace {

using namespace pgwarden::scheduler;
using std::chrono::milliseconds;

double cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double wall_seconds() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

struct CronSpec {
    const char* expr;
    const char* zone;
};

// A spread of what real configs hold: minutely to yearly, business hours, DST zones, a
// far-from-UTC zone and a sparse leap-day job.
constexpr CronSpec kCrons[] = {
    {"*/5 * * * *", "UTC"},
    {"0 3 * * *", "Europe/Berlin"},
    {"30 2 * * *", "America/New_York"},
    {"*/15 9-17 * * MON-FRI", "America/New_York"},
    {"0 0 1 * *", "Asia/Kathmandu"},
    {"@hourly", "Australia/Lord_Howe"},
    {"0 30 1 * * SUN", "Europe/Berlin"},
    {"0 0 29 2 *", "UTC"},
    {"15,45 */2 * * *", "Europe/Berlin"},
    {"0 12 1,15 * FRI", "America/New_York"},
};

constexpr milliseconds kIntervals[] = {
    std::chrono::minutes(1), std::chrono::minutes(5),  std::chrono::minutes(10),
    std::chrono::hours(1),   std::chrono::seconds(30),
};

}  // namespace

int main(int argc, char** argv) {
    const int job_count = argc > 1 ? std::atoi(argv[1]) : 10'000;
    const int ticks = argc > 2 ? std::atoi(argv[2]) : 2'000;

    std::vector<cron::Schedule> schedules;
    schedules.reserve(static_cast<std::size_t>(job_count));
    std::vector<std::shared_ptr<const cron::TimeZone>> zones;
    for (const CronSpec& spec : kCrons) {
        auto tz = cron::TimeZone::load(spec.zone);
        if (!tz) {
            fmt::print(stderr, "{}\n", tz.error().message);
            return 1;
        }
        zones.push_back(std::make_shared<const cron::TimeZone>(std::move(tz.value())));
    }
    int cron_jobs = 0;
    for (int i = 0; i < job_count; ++i) {
        const std::string name = fmt::format("job_{}", i);
        const cron::ScheduleOptions options{milliseconds(i % 3 == 0 ? 10'000 : 0), 42, true};
        // Half cron, half intervals.
        if (i % 2 == 0) {
            const std::size_t k = static_cast<std::size_t>(i / 2) % std::size(kCrons);
            auto s =
                cron::Schedule::cron(*cron::parse_cron(kCrons[k].expr), zones[k], name, options);
            schedules.push_back(std::move(s.value()));
            ++cron_jobs;
        } else {
            const std::size_t k = static_cast<std::size_t>(i / 2) % std::size(kIntervals);
            auto s = cron::Schedule::every(kIntervals[k], name, options);
            schedules.push_back(std::move(s.value()));
        }
    }

    // 1. Next fire times: every job, 5 fires in a row, starting two days before the US DST
    //    change so the DST paths are on the clock too.
    const cron::WallTime start =
        cron::WallTime(std::chrono::sys_days(std::chrono::year(2026) / std::chrono::March / 6));
    constexpr int kFiresPerJob = 5;
    std::vector<cron::WallTime> cursor(schedules.size(), start);
    std::int64_t checksum = 0;
    // Even indices are cron jobs, odd ones intervals (see above): time each kind on its own.
    for (std::size_t kind = 0; kind < 2; ++kind) {
        const double cpu0 = cpu_seconds();
        std::size_t computed = 0;
        for (int round = 0; round < kFiresPerJob; ++round) {
            for (std::size_t i = kind; i < schedules.size(); i += 2) {
                auto f = schedules[i].next_after(cursor[i]);
                if (!f) {
                    fmt::print(stderr, "{}\n", f.error().message);
                    return 1;
                }
                cursor[i] = f->start;
                checksum += f->start.time_since_epoch().count() & 0xff;
                ++computed;
            }
        }
        const double cpu = cpu_seconds() - cpu0;
        fmt::print("next fire times, {}: {} jobs x {} fires: {:.1f} ms CPU, {:.0f} ns each\n",
                   kind == 0 ? "cron (10 expressions, 5 zones)" : "interval",
                   computed / kFiresPerJob, kFiresPerJob, cpu * 1e3,
                   cpu / static_cast<double>(computed) * 1e9);
    }
    fmt::print("({} jobs, {} cron; checksum {})\n", schedules.size(), cron_jobs, checksum);

    // 2. The idle tick: every job polled (none due), the planner run on no candidates.
    pgwarden::common::FakeClock clock;
    const cron::TimeBase base{clock.now(), start};
    std::vector<JobState> jobs;
    std::vector<NextDueFn> next_fns;
    jobs.reserve(schedules.size());
    next_fns.reserve(schedules.size());
    for (std::size_t i = 0; i < schedules.size(); ++i) {
        const cron::Schedule* s = &schedules[i];
        next_fns.emplace_back([s, base](TimePoint after) -> std::optional<TimePoint> {
            auto f = s->next_after(base.to_wall(after));
            if (!f) {
                return std::nullopt;
            }
            return base.to_steady(f->start);
        });
        JobPolicy policy;
        policy.priority = static_cast<int>(i % 4);
        policy.max_staleness = std::chrono::minutes(5);
        // The first due time lies after the benchmark's window: the tick stays idle.
        jobs.emplace_back(fmt::format("job_{}", i), policy,
                          clock.now() + std::chrono::hours(24 * 365));
    }
    const Planner planner(Budget{8, {{"reports", 2}}});
    std::vector<Candidate> candidates;
    candidates.reserve(jobs.size());
    std::size_t due_seen = 0;
    const double wall0 = wall_seconds();
    const double cpu0 = cpu_seconds();
    for (int tick = 0; tick < ticks; ++tick) {
        clock.advance(std::chrono::seconds(1));
        const TimePoint now = clock.now();
        candidates.clear();
        for (std::size_t i = 0; i < jobs.size(); ++i) {
            while (jobs[i].poll(now, next_fns[i]) != PollEvent::NothingDue) {
            }
            if (jobs[i].pending()) {
                candidates.push_back(make_candidate(i, jobs[i]));
            }
        }
        const auto decisions =
            planner.plan(PlanInput{now, std::chrono::seconds(1), false}, Load{}, candidates);
        due_seen += decisions.size();
    }
    const double tick_cpu = (cpu_seconds() - cpu0) / ticks;
    const double tick_wall = (wall_seconds() - wall0) / ticks;
    fmt::print(
        "idle tick: {} jobs, {} ticks: {:.1f} us CPU per tick ({:.1f} us wall), "
        "due runs seen {}\n",
        jobs.size(), ticks, tick_cpu * 1e6, tick_wall * 1e6, due_seen);
    fmt::print("idle cost at a 1 s tick: {:.4f}% of one core (bar: < 1%)\n", tick_cpu * 100.0);
    return tick_cpu * 100.0 < 1.0 ? 0 : 2;
}
