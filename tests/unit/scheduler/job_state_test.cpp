#include "scheduler/job_state.hpp"

#include <gtest/gtest.h>

#include <vector>

#include "common/clock.hpp"
#include "scheduler/planner.hpp"

namespace pgwarden::scheduler {
namespace {

using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// Fire times every `period` since the fake clock's zero.
NextDueFn every(Duration period) {
    return [period](TimePoint after) -> std::optional<TimePoint> {
        const auto k = after.time_since_epoch() / period + 1;
        return TimePoint(period * k);
    };
}

class JobStateTest : public ::testing::Test {
protected:
    TimePoint t(Duration d) const { return TimePoint(d); }

    // Polls until nothing more happens, collecting the events.
    std::vector<PollEvent> poll_all(JobState& job, const NextDueFn& next) {
        std::vector<PollEvent> events;
        for (;;) {
            const PollEvent e = job.poll(clock_.now(), next);
            if (e == PollEvent::NothingDue) {
                return events;
            }
            events.push_back(e);
        }
    }

    common::FakeClock clock_;
    NextDueFn minutely_ = every(minutes(1));
};

TEST_F(JobStateTest, BecomesDueAtItsDueTimeAndNotBefore) {
    JobState job("j", JobPolicy{}, t(minutes(1)));
    clock_.set(t(seconds(59)));
    EXPECT_TRUE(poll_all(job, minutely_).empty());
    EXPECT_FALSE(job.pending());
    clock_.set(t(minutes(1)));
    EXPECT_EQ(poll_all(job, minutely_), std::vector<PollEvent>{PollEvent::BecameDue});
    ASSERT_TRUE(job.pending());
    EXPECT_EQ(job.pending()->due, t(minutes(1)));
    EXPECT_EQ(job.pending()->attempt, 1);
    EXPECT_EQ(job.next_due(), t(minutes(2)));
}

TEST_F(JobStateTest, OverlapSkipDropsRunsThatComeDueWhileRunning) {
    JobState job("j", JobPolicy{}, t(minutes(1)));
    clock_.set(t(minutes(1)));
    poll_all(job, minutely_);
    const RunTicket ticket = job.on_started(clock_.now());
    clock_.set(t(minutes(2)));
    EXPECT_EQ(poll_all(job, minutely_), std::vector<PollEvent>{PollEvent::OverlapSkipped});
    EXPECT_FALSE(job.pending());
    clock_.set(t(minutes(2) + seconds(30)));
    EXPECT_EQ(job.on_finished(clock_.now(), ticket, RunOutcome::Succeeded).event,
              FinishEvent::Succeeded);
    EXPECT_FALSE(job.pending());
    EXPECT_EQ(job.running(), 0);
}

TEST_F(JobStateTest, OverlapQueueOneKeepsOneRunForWhenTheRunningOneEnds) {
    JobPolicy policy;
    policy.overlap = OverlapPolicy::QueueOne;
    JobState job("j", policy, t(minutes(1)));
    clock_.set(t(minutes(1)));
    poll_all(job, minutely_);
    const RunTicket ticket = job.on_started(clock_.now());
    clock_.set(t(minutes(2)));
    EXPECT_EQ(poll_all(job, minutely_), std::vector<PollEvent>{PollEvent::OverlapQueued});
    clock_.set(t(minutes(3)));
    EXPECT_EQ(poll_all(job, minutely_), std::vector<PollEvent>{PollEvent::OverlapQueueFull});
    EXPECT_FALSE(job.pending());
    EXPECT_TRUE(job.has_queued_run());
    const FinishResult done = job.on_finished(clock_.now(), ticket, RunOutcome::Succeeded);
    EXPECT_TRUE(done.queued_run_released);
    ASSERT_TRUE(job.pending());
    EXPECT_EQ(job.pending()->due, t(minutes(2)));  // staleness counts from when it came due
    EXPECT_FALSE(job.has_queued_run());
}

TEST_F(JobStateTest, OverlapAllowMakesAnotherInstanceDue) {
    JobPolicy policy;
    policy.overlap = OverlapPolicy::Allow;
    JobState job("j", policy, t(minutes(1)));
    clock_.set(t(minutes(1)));
    poll_all(job, minutely_);
    const RunTicket first = job.on_started(clock_.now());
    clock_.set(t(minutes(2)));
    EXPECT_EQ(poll_all(job, minutely_), std::vector<PollEvent>{PollEvent::OverlapAllowed});
    const RunTicket second = job.on_started(clock_.now());
    EXPECT_EQ(job.running(), 2);
    job.on_finished(clock_.now(), second, RunOutcome::Succeeded);
    job.on_finished(clock_.now(), first, RunOutcome::Succeeded);
    EXPECT_EQ(job.running(), 0);
}

TEST_F(JobStateTest, OverlapCancelPreviousMarksTheRunAndForgetsItWhenNothingIsLeftToCancel) {
    JobPolicy policy;
    policy.overlap = OverlapPolicy::CancelPrevious;
    JobState job("j", policy, t(minutes(1)));
    clock_.set(t(minutes(1)));
    poll_all(job, minutely_);
    const RunTicket ticket = job.on_started(clock_.now());
    clock_.set(t(minutes(2)));
    EXPECT_EQ(poll_all(job, minutely_), std::vector<PollEvent>{PollEvent::OverlapCancelsPrevious});
    ASSERT_TRUE(job.pending());
    EXPECT_TRUE(job.pending()->cancel_previous);
    job.on_finished(clock_.now(), ticket, RunOutcome::Succeeded);
    ASSERT_TRUE(job.pending());
    EXPECT_FALSE(job.pending()->cancel_previous);
}

TEST_F(JobStateTest, MisfireRunOnceCollapsesDowntimeIntoOneCatchUpRun) {
    JobState job("j", JobPolicy{}, t(minutes(1)));
    clock_.set(t(hours(3) + seconds(10)));  // down for three hours: 180 due times missed
    EXPECT_EQ(poll_all(job, minutely_), std::vector<PollEvent>{PollEvent::MissedRunOnce});
    ASSERT_TRUE(job.pending());
    EXPECT_EQ(job.pending()->due, t(minutes(1)));
    EXPECT_EQ(job.next_due(), t(hours(3) + minutes(1)));
}

TEST_F(JobStateTest, MisfireSkipWaitsForTheNextDueTime) {
    JobPolicy policy;
    policy.misfire = MisfirePolicy::Skip;
    JobState job("j", policy, t(minutes(1)));
    clock_.set(t(hours(3) + seconds(10)));
    EXPECT_EQ(poll_all(job, minutely_), std::vector<PollEvent>{PollEvent::MissedSkipped});
    EXPECT_FALSE(job.pending());
    EXPECT_EQ(job.next_due(), t(hours(3) + minutes(1)));
}

TEST_F(JobStateTest, ALateTickWithinTheGraceIsNotAMisfire) {
    JobPolicy policy;
    policy.misfire = MisfirePolicy::Skip;
    policy.misfire_grace = seconds(30);
    JobState job("j", policy, t(minutes(1)));
    clock_.set(t(minutes(1) + seconds(30)));
    EXPECT_EQ(poll_all(job, minutely_), std::vector<PollEvent>{PollEvent::BecameDue});
    JobState late("k", policy, t(minutes(1)));
    clock_.set(t(minutes(1) + seconds(31)));
    EXPECT_EQ(poll_all(late, minutely_), std::vector<PollEvent>{PollEvent::MissedSkipped});
}

TEST_F(JobStateTest, RetriesBackOffExponentiallyUpToTheMaximumThenGiveUp) {
    JobPolicy policy;
    policy.retry = RetryPolicy{3, seconds(10), 2, seconds(25)};
    const NextDueFn hourly = every(hours(1));
    JobState job("j", policy, t(hours(1)));
    clock_.set(t(hours(1)));
    poll_all(job, hourly);
    const std::vector<Duration> expected_backoff = {seconds(10), seconds(20), seconds(25)};
    for (int attempt = 1; attempt <= 3; ++attempt) {
        SCOPED_TRACE(attempt);
        const RunTicket ticket = job.on_started(clock_.now());
        EXPECT_EQ(ticket.attempt, attempt);
        const FinishResult r = job.on_finished(clock_.now(), ticket, RunOutcome::Failed);
        EXPECT_EQ(r.event, FinishEvent::FailedRetryScheduled);
        const Duration wait = expected_backoff[static_cast<std::size_t>(attempt - 1)];
        ASSERT_EQ(r.retry_at, clock_.now() + wait);
        clock_.advance(wait - seconds(1));
        EXPECT_TRUE(poll_all(job, hourly).empty());
        clock_.advance(seconds(1));
        EXPECT_EQ(poll_all(job, hourly), std::vector<PollEvent>{PollEvent::RetryDue});
        ASSERT_TRUE(job.pending());
        EXPECT_EQ(job.pending()->attempt, attempt + 1);
    }
    const RunTicket last = job.on_started(clock_.now());
    EXPECT_EQ(job.on_finished(clock_.now(), last, RunOutcome::Failed).event,
              FinishEvent::FailedRetriesExhausted);
    EXPECT_EQ(job.consecutive_failures(), 4);
    EXPECT_FALSE(job.retry_at());
    // The next scheduled run starts a fresh streak of attempts.
    clock_.set(t(hours(2)));
    EXPECT_EQ(poll_all(job, hourly), std::vector<PollEvent>{PollEvent::BecameDue});
    const RunTicket fresh = job.on_started(clock_.now());
    EXPECT_EQ(fresh.attempt, 1);
    EXPECT_EQ(job.on_finished(clock_.now(), fresh, RunOutcome::Succeeded).event,
              FinishEvent::Succeeded);
    EXPECT_EQ(job.consecutive_failures(), 0);
}

TEST_F(JobStateTest, BackoffIsCappedWithoutOverflow) {
    JobPolicy policy;
    policy.retry = RetryPolicy{100, seconds(1), 10, hours(1)};
    JobState job("j", policy, std::nullopt);
    EXPECT_EQ(job.backoff(1), seconds(1));
    EXPECT_EQ(job.backoff(3), seconds(100));
    EXPECT_EQ(job.backoff(5), hours(1));
    EXPECT_EQ(job.backoff(90), hours(1));
}

TEST_F(JobStateTest, AScheduledRunSupersedesAPendingRetry) {
    JobPolicy policy;
    policy.retry = RetryPolicy{5, minutes(5), 2, hours(1)};
    JobState job("j", policy, t(minutes(1)));
    clock_.set(t(minutes(1)));
    poll_all(job, minutely_);
    const RunTicket ticket = job.on_started(clock_.now());
    job.on_finished(clock_.now(), ticket, RunOutcome::Failed);
    clock_.set(t(minutes(2)));
    EXPECT_EQ(poll_all(job, minutely_), std::vector<PollEvent>{PollEvent::DueSupersedesRetry});
    EXPECT_FALSE(job.retry_at());
    EXPECT_EQ(job.pending()->attempt, 1);
}

TEST_F(JobStateTest, CancelledRunsAreNotRetriedAndFailuresWithARunQueuedAreNotEither) {
    JobPolicy policy;
    policy.retry = RetryPolicy{5, seconds(10), 2, hours(1)};
    policy.overlap = OverlapPolicy::QueueOne;
    JobState job("j", policy, t(minutes(1)));
    clock_.set(t(minutes(1)));
    poll_all(job, minutely_);
    RunTicket ticket = job.on_started(clock_.now());
    EXPECT_EQ(job.on_finished(clock_.now(), ticket, RunOutcome::Cancelled).event,
              FinishEvent::Cancelled);
    EXPECT_FALSE(job.retry_at());
    clock_.set(t(minutes(2)));
    poll_all(job, minutely_);
    ticket = job.on_started(clock_.now());
    clock_.set(t(minutes(3)));
    EXPECT_EQ(poll_all(job, minutely_), std::vector<PollEvent>{PollEvent::OverlapQueued});
    const FinishResult r = job.on_finished(clock_.now(), ticket, RunOutcome::Failed);
    EXPECT_EQ(r.event, FinishEvent::FailedNextRunPending);
    EXPECT_TRUE(r.queued_run_released);
    EXPECT_FALSE(job.retry_at());
}

TEST_F(JobStateTest, ADeferredRunCoalescesWithTheNextDueTimeAndKeepsItsAge) {
    JobState job("j", JobPolicy{}, t(minutes(1)));
    clock_.set(t(minutes(1)));
    poll_all(job, minutely_);
    job.on_deferred();
    clock_.set(t(minutes(2)));
    EXPECT_EQ(poll_all(job, minutely_), std::vector<PollEvent>{PollEvent::CoalescedWithPending});
    EXPECT_EQ(job.pending()->due, t(minutes(1)));
    EXPECT_TRUE(job.pending()->deferred);
    EXPECT_EQ(job.deferrals(), 1U);
}

TEST_F(JobStateTest, TheEndOfTheScheduleIsReportedOnce) {
    int calls = 0;
    const NextDueFn once = [&calls](TimePoint) -> std::optional<TimePoint> {
        ++calls;
        return std::nullopt;
    };
    JobState job("j", JobPolicy{}, t(minutes(1)));
    clock_.set(t(minutes(1)));
    EXPECT_EQ(poll_all(job, once),
              (std::vector<PollEvent>{PollEvent::BecameDue, PollEvent::ScheduleEnded}));
    EXPECT_TRUE(poll_all(job, once).empty());
    EXPECT_EQ(calls, 1);
}

// A job with a freshness window slips while the pool reports pressure, and starts either when
// pressure drops or when one more tick would make it staler than max_staleness.
TEST_F(JobStateTest, DeferralUnderPressureStaysWithinMaxStaleness) {
    JobPolicy policy;
    policy.max_staleness = minutes(5);
    const Planner planner(Budget{4, {}});
    const NextDueFn hourly = every(hours(1));

    for (const bool pressure_drops : {true, false}) {
        SCOPED_TRACE(pressure_drops);
        JobState job("refresh", policy, t(hours(1)));
        clock_.set(t(hours(1)));
        poll_all(job, hourly);
        std::optional<PlanReason> started;
        TimePoint started_at;
        int deferred = 0;
        while (!started) {
            const bool pressure = !(pressure_drops && clock_.now() >= t(hours(1) + minutes(2)));
            const Candidate c = make_candidate(0, job);
            const auto decisions =
                planner.plan(PlanInput{clock_.now(), seconds(1), pressure}, Load{}, {&c, 1});
            ASSERT_EQ(decisions.size(), 1U);
            if (decisions[0].start()) {
                started = decisions[0].reason;
                started_at = clock_.now();
                job.on_started(clock_.now());
            } else {
                EXPECT_EQ(decisions[0].reason, PlanReason::DeferredUnderPressure);
                job.on_deferred();
                ++deferred;
                clock_.advance(seconds(1));
                poll_all(job, hourly);
            }
        }
        if (pressure_drops) {
            EXPECT_EQ(*started, PlanReason::StartedAfterDeferral);
            EXPECT_EQ(started_at, t(hours(1) + minutes(2)));
            EXPECT_EQ(deferred, 120);
        } else {
            EXPECT_EQ(*started, PlanReason::StartedStalenessLimit);
            EXPECT_EQ(started_at, t(hours(1) + minutes(5)));
            EXPECT_EQ(deferred, 300);
        }
        EXPECT_LE(started_at - t(hours(1)), minutes(5));
    }
}

TEST(JobStateNames, EventsHaveSnakeCaseNamesForLogsAndMetrics) {
    EXPECT_EQ(to_string(PollEvent::OverlapQueueFull), "overlap_queue_full");
    EXPECT_EQ(to_string(FinishEvent::FailedRetriesExhausted), "failed_retries_exhausted");
    EXPECT_EQ(to_string(PlanReason::DeferredQueueBudgetFull), "deferred_queue_budget_full");
}

}  // namespace
}  // namespace pgwarden::scheduler
