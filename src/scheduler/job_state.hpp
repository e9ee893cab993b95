#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.hpp"

namespace pgwarden::scheduler {

using TimePoint = common::Clock::time_point;
using Duration = common::Clock::duration;

// What to do when a run comes due while an earlier run of the same job is still running.
enum class OverlapPolicy : std::uint8_t {
    Skip,            // drop the new run (the default: a slow job cannot pile up)
    QueueOne,        // keep at most one run waiting; it becomes due when the running one ends
    Allow,           // start another instance alongside
    CancelPrevious,  // start the new run and cancel the running one
};

// What to do when due times passed unseen (pgwarden was down, paused or badly delayed).
enum class MisfirePolicy : std::uint8_t {
    RunOnce,  // one catch-up run for all missed due times, then back on schedule
    Skip,     // no catch-up: wait for the next due time
};

struct RetryPolicy {
    int max_retries = 0;  // retries after a failed attempt; 0 = none
    Duration initial_backoff = std::chrono::seconds(10);
    int multiplier = 2;  // backoff grows by this factor per retry
    Duration max_backoff = std::chrono::minutes(10);
};

struct JobPolicy {
    OverlapPolicy overlap = OverlapPolicy::Skip;
    MisfirePolicy misfire = MisfirePolicy::RunOnce;
    // A due time noticed more than this late counts as missed (misfire policy applies);
    // within it, a late tick simply runs the job.
    Duration misfire_grace = std::chrono::seconds(60);
    RetryPolicy retry;
    // Freshness window: how long a due run may wait while the pool reports pressure. Without
    // one, a run is never deferred for pressure (only for budget).
    std::optional<Duration> max_staleness;
    int priority = 0;  // higher starts first; under contention the lowest is deferred first
    std::string queue = "default";
};

// What a poll found. Self-explaining so each can be logged and counted as is.
enum class PollEvent : std::uint8_t {
    NothingDue,              // no due time or retry has been reached
    BecameDue,               // a scheduled run is due and waits for the planner
    MissedRunOnce,           // due time(s) were missed; one catch-up run is due (misfire=run_once)
    MissedSkipped,           // due time(s) were missed and dropped (misfire=skip)
    CoalescedWithPending,    // due again while the last due run still waits; one run covers both
    OverlapSkipped,          // due while running, overlap=skip: this run is dropped
    OverlapQueued,           // due while running, overlap=queue_one: waits for the running run
    OverlapQueueFull,        // due while running with a run already queued: dropped
    OverlapAllowed,          // due while running, overlap=allow: another instance is due
    OverlapCancelsPrevious,  // due while running, overlap=cancel_previous: starting it cancels
                             // the running instance(s)
    RetryDue,                // the backoff after a failure elapsed: the retry is due
    DueSupersedesRetry,      // a scheduled run came due during a backoff and replaces the retry
    ScheduleEnded,           // the schedule has no further fire times; the job is done
};

// How a finished run ended, as reported by the runner.
enum class RunOutcome : std::uint8_t {
    Succeeded,
    Failed,
    Cancelled,  // by cancel_previous or shutdown; never retried
};

// What the job made of a finished run.
enum class FinishEvent : std::uint8_t {
    Succeeded,               // the run succeeded; the failure streak is reset
    FailedRetryScheduled,    // the run failed; a retry is due after the backoff
    FailedRetriesExhausted,  // the run failed and no retries are left; wait for the schedule
    FailedNextRunPending,    // the run failed, but another run is running, queued or pending
                             // and serves as the retry
    Cancelled,               // the run was cancelled; no retry
};

struct FinishResult {
    FinishEvent event = FinishEvent::Succeeded;
    std::optional<TimePoint> retry_at;  // set with FailedRetryScheduled
    bool queued_run_released = false;   // overlap=queue_one: the queued run is now pending
};

// A run that is due and waits for the planner.
struct PendingRun {
    TimePoint due;                 // when it came due; staleness is measured from here
    int attempt = 1;               // 1 = first attempt, 2 = first retry, ...
    bool cancel_previous = false;  // starting it means cancelling the running instance(s)
    bool deferred = false;         // the planner has deferred it at least once
};

// Handed out when a run starts and handed back when it finishes, so a retry knows which
// attempt failed even when overlap=allow runs several instances.
struct RunTicket {
    TimePoint due;
    int attempt = 1;
};

// The next due time strictly after the given instant, or nullopt when the schedule has ended.
// Built from a Schedule and a TimeBase by the runtime; tests pass a lambda.
using NextDueFn = std::function<std::optional<TimePoint>(TimePoint)>;

// The decision logic of one job over time: due times, overlap, misfire, retries and what is
// pending. Pure: no threads, no I/O, no clock of its own (every call takes `now`), so tests
// drive it with a FakeClock. Not thread-safe; the scheduler owns one per job on one executor.
class JobState {
public:
    // `first_due` may lie in the past (the next fire after the last recorded run, after
    // downtime): the first poll then applies the misfire policy.
    JobState(std::string name, JobPolicy policy, std::optional<TimePoint> first_due);

    // Advances to `now`, consuming at most one event. Call until it returns NothingDue; an
    // idle job returns NothingDue after one comparison, without calling `next_due`.
    PollEvent poll(TimePoint now, const NextDueFn& next_due);

    // The run waiting to start, if any.
    const std::optional<PendingRun>& pending() const { return pending_; }

    // A run asked for outside the schedule (a user's `pgwarden jobs run`, or a run taken over
    // from an instance whose lease expired): handled like a due time at `now`, so the overlap
    // policy applies. Returns the event as poll() would.
    PollEvent request_run(TimePoint now);

    // Forgets the pending run without starting it (the job is paused, or another instance
    // runs that slot). No-op without one.
    void drop_pending() { pending_.reset(); }

    // The planner started the pending run (precondition: pending()).
    RunTicket on_started(TimePoint now);

    // The planner deferred the pending run (precondition: pending()).
    void on_deferred();

    // A run ended.
    FinishResult on_finished(TimePoint now, const RunTicket& ticket, RunOutcome outcome);

    // The retry backoff after `attempt` failed: initial * multiplier^(attempt-1), capped.
    Duration backoff(int attempt) const;

    const std::string& name() const { return name_; }
    const JobPolicy& policy() const { return policy_; }
    std::optional<TimePoint> next_due() const { return next_due_; }
    std::optional<TimePoint> retry_at() const { return retry_at_; }
    int running() const { return running_; }
    bool has_queued_run() const { return queued_.has_value(); }
    int consecutive_failures() const { return consecutive_failures_; }
    std::uint64_t deferrals() const { return deferrals_; }

private:
    PollEvent on_due(TimePoint due, PollEvent plain);

    std::string name_;
    JobPolicy policy_;
    std::optional<TimePoint> next_due_;
    std::optional<TimePoint> retry_at_;
    int retry_attempt_ = 0;  // the attempt number the pending retry will be
    std::optional<PendingRun> pending_;
    std::optional<TimePoint> queued_;  // overlap=queue_one: due time of the queued run
    int running_ = 0;
    int consecutive_failures_ = 0;
    std::uint64_t deferrals_ = 0;
    bool end_reported_ = false;
};

std::string_view to_string(PollEvent event);
std::string_view to_string(FinishEvent event);

}  // namespace pgwarden::scheduler
