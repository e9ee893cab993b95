#pragma once

#include "common/clock.hpp"
#include "common/result.hpp"
#include "config/config.hpp"
#include "scheduler/coordinator.hpp"
#include "scheduler/job_spec.hpp"
#include "scheduler/runner.hpp"

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pgwarden::scheduler {

// "hostname:pid": unique per process, so a restarted instance never mistakes its
// predecessor's claims for its own.
std::string default_instance_id();

// How busy the pool a job would use is, as the proxy sees it.
struct Pressure {
    double utilization = 0;                // server connections in use / pool_size, 0..1
    bool higher_priority_waiting = false;  // clients of a more important class are queued
};

// Asked once per planning tick per (database, user) that has a due run; called on the
// scheduler thread, so it must be thread-safe with respect to the proxy and must not block.
using PressureFn = std::function<Pressure(const std::string& database, const std::string& user)>;

// Upper bounds (seconds) of the run duration histogram; the last bucket is +Inf.
inline constexpr std::array<double, 10> kDurationBuckets{0.1, 0.5, 1,  2.5, 5,
                                                         10,  30,  60, 300, 1800};

// One job as SHOW JOBS and the metrics see it. Counters are cumulative since start.
struct JobSnapshot {
    std::string name;
    std::string kind;
    std::string schedule;  // "every 10m" or the cron text with its zone
    std::string queue;
    std::optional<cron::WallTime> next_run;
    std::optional<cron::WallTime> last_run;  // when the last run on this instance started
    std::string last_outcome;                // "succeeded", "failed", "timeout", "cancelled", ""
    std::string last_error;
    int running = 0;
    bool pending = false;
    bool paused = false;
    bool enabled = true;
    std::uint64_t runs_succeeded = 0;
    std::uint64_t runs_failed = 0;
    std::uint64_t runs_timeout = 0;
    std::uint64_t runs_cancelled = 0;
    std::uint64_t deferrals = 0;
    std::uint64_t skipped_overlaps = 0;
    std::uint64_t skipped_elsewhere = 0;  // the slot ran (or runs) on another instance
    std::uint64_t misfires = 0;
    double last_lag_seconds = 0;  // start minus due time of the last run
    double last_duration_seconds = 0;
    double duration_sum_seconds = 0;
    std::array<std::uint64_t, kDurationBuckets.size() + 1> duration_buckets{};  // not cumulative
};

struct ServiceOptions {
    std::string instance_id;                         // empty: hostname:pid
    std::unique_ptr<Coordinator> coordinator;        // null: a LocalCoordinator
    RunFn runner;                                    // null: run_job
    PressureFn pressure;                             // null: never under pressure
    ProxyEndpoint proxy;                             // where job connections go
    const common::Clock* clock = nullptr;            // null: the steady clock
    std::function<cron::WallTime()> wall_clock;      // null: system_clock
    std::chrono::milliseconds sweep_interval{1000};  // shared-state poll (pause, requests)
    std::chrono::milliseconds tick{1000};            // re-plan interval while runs wait
    std::chrono::milliseconds state_retry{5000};     // re-check an unreachable state database
};

// Runs the configured jobs: one scheduler thread decides (JobState + Planner + Coordinator)
// and one short-lived worker thread per run does the blocking work (libpq, waitpid, HTTP), so
// nothing here ever runs on a proxy event loop. Budget: at most max_concurrency connection
// units of runs at once, so worker threads are bounded too.
class SchedulerService {
public:
    // Builds every job's schedule (loads time zones). Errors for a job the loader would have
    // refused; no thread is started yet.
    static common::Result<std::unique_ptr<SchedulerService>> create(
        std::shared_ptr<const config::Config> config, ServiceOptions options);
    ~SchedulerService();
    SchedulerService(const SchedulerService&) = delete;
    SchedulerService& operator=(const SchedulerService&) = delete;

    // Starts the scheduler thread. Idempotent.
    void start();
    // Asks the scheduler thread to stop (cancelling running runs) without waiting; safe from
    // an event loop.
    void request_stop();
    // Cancels running runs, waits for them (each runner reacts within ~100 ms plus a kill
    // grace) and joins the scheduler thread. Idempotent; called by the destructor.
    void stop();

    // True once the scheduler thread has cancelled, waited for and recorded its runs (or was
    // never started). Thread-safe.
    bool stopped() const { return stopped_.load() || !started_flag_.load(); }

    // A consistent copy of every job's state; thread-safe and cheap (no I/O), so the admin
    // console can call it from an event loop.
    std::vector<JobSnapshot> snapshot() const;

    const std::string& instance_id() const { return instance_id_; }

private:
    struct Job;
    struct ActiveRun;
    struct Completion;

    SchedulerService(std::shared_ptr<const config::Config> config, ServiceOptions options);

    void loop();
    void tick(common::Clock::time_point now);
    void poll_job(std::size_t index, common::Clock::time_point now);
    void plan_and_start(common::Clock::time_point now);
    void start_run(std::size_t index, common::Clock::time_point now, const SlotKey& slot);
    void collect_completions(common::Clock::time_point now);
    void sweep(common::Clock::time_point now);
    void publish(std::size_t index);
    std::optional<common::Clock::time_point> next_wake(common::Clock::time_point now) const;
    std::optional<common::Clock::time_point> next_due(std::size_t index,
                                                      common::Clock::time_point after);
    cron::WallTime wall_now() const;

    std::shared_ptr<const config::Config> config_;
    ServiceOptions options_;
    std::string instance_id_;
    std::unique_ptr<Coordinator> coordinator_;
    common::SteadyClock steady_;
    const common::Clock* clock_;
    cron::TimeBase base_{};
    std::vector<std::unique_ptr<Job>> jobs_;
    std::map<std::string, std::size_t> job_index_;

    // The scheduler thread's own state.
    std::map<std::uint64_t, std::unique_ptr<ActiveRun>> active_;
    std::uint64_t next_run_id_ = 1;
    common::Clock::time_point next_sweep_{};
    common::Clock::time_point next_renew_{};
    common::Clock::time_point next_purge_{};
    bool coordinator_ready_ = false;
    common::Clock::time_point coordinator_retry_{};

    // Shared with runner threads and stop().
    mutable std::mutex mu_;
    std::condition_variable wake_;
    std::vector<Completion> completions_;
    bool stopping_ = false;
    bool started_ = false;
    std::atomic<bool> started_flag_{false};
    std::atomic<bool> stopped_{false};
    std::thread thread_;

    // What snapshot() returns, updated by the scheduler thread.
    mutable std::mutex stats_mu_;
    std::vector<JobSnapshot> stats_;
};

}  // namespace pgwarden::scheduler
