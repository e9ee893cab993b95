#include "scheduler/job_state.hpp"

#include <algorithm>
#include <cstdlib>
#include <utility>

namespace pgwarden::scheduler {

JobState::JobState(std::string name, JobPolicy policy, std::optional<TimePoint> first_due)
    : name_(std::move(name)), policy_(std::move(policy)), next_due_(first_due) {}

PollEvent JobState::poll(TimePoint now, const NextDueFn& next_due) {
    if (retry_at_ && now >= *retry_at_) {
        retry_at_.reset();
        if (pending_) {
            return PollEvent::CoalescedWithPending;
        }
        pending_ = PendingRun{now, retry_attempt_, false, false};
        return PollEvent::RetryDue;
    }
    if (!next_due_) {
        if (!end_reported_) {
            end_reported_ = true;
            return PollEvent::ScheduleEnded;
        }
        return PollEvent::NothingDue;
    }
    if (now < *next_due_) {
        return PollEvent::NothingDue;
    }
    const TimePoint due = *next_due_;
    // The next due time strictly after `now` collapses every due time that passed unseen
    // into this one event: a restart after a day of downtime is one decision, not 1440.
    next_due_ = next_due(now);
    const bool missed = now - due > policy_.misfire_grace;
    if (missed && policy_.misfire == MisfirePolicy::Skip) {
        return PollEvent::MissedSkipped;
    }
    return on_due(due, missed ? PollEvent::MissedRunOnce : PollEvent::BecameDue);
}

PollEvent JobState::on_due(TimePoint due, PollEvent plain) {
    if (retry_at_) {
        // The schedule's own run does what the retry would have done, sooner.
        retry_at_.reset();
        if (plain == PollEvent::BecameDue) {
            plain = PollEvent::DueSupersedesRetry;
        }
    }
    if (pending_) {
        // Keep the older due time: the freshness window runs from the first missed chance.
        return PollEvent::CoalescedWithPending;
    }
    if (running_ > 0) {
        switch (policy_.overlap) {
        case OverlapPolicy::Skip:
            return PollEvent::OverlapSkipped;
        case OverlapPolicy::QueueOne:
            if (queued_) {
                return PollEvent::OverlapQueueFull;
            }
            queued_ = due;
            return PollEvent::OverlapQueued;
        case OverlapPolicy::Allow:
            pending_ = PendingRun{due, 1, false, false};
            return PollEvent::OverlapAllowed;
        case OverlapPolicy::CancelPrevious:
            pending_ = PendingRun{due, 1, true, false};
            return PollEvent::OverlapCancelsPrevious;
        }
    }
    pending_ = PendingRun{due, 1, false, false};
    return plain;
}

PollEvent JobState::request_run(TimePoint now) {
    return on_due(now, PollEvent::BecameDue);
}

RunTicket JobState::on_started(TimePoint /*now*/) {
    if (!pending_) {
        std::abort();  // the planner only starts jobs that have a pending run
    }
    const RunTicket ticket{pending_->due, pending_->attempt};
    pending_.reset();
    ++running_;
    return ticket;
}

void JobState::on_deferred() {
    if (!pending_) {
        std::abort();  // the planner only defers jobs that have a pending run
    }
    pending_->deferred = true;
    ++deferrals_;
}

FinishResult JobState::on_finished(TimePoint now, const RunTicket& ticket, RunOutcome outcome) {
    if (running_ <= 0) {
        std::abort();  // a finish without a start is a bookkeeping bug in the runner
    }
    --running_;
    FinishResult result;
    if (running_ == 0) {
        if (pending_) {
            pending_->cancel_previous = false;  // nothing left to cancel
        }
        if (queued_) {
            if (!pending_) {
                pending_ = PendingRun{*queued_, 1, false, false};
            }
            queued_.reset();
            result.queued_run_released = true;
        }
    }
    switch (outcome) {
    case RunOutcome::Succeeded:
        consecutive_failures_ = 0;
        result.event = FinishEvent::Succeeded;
        break;
    case RunOutcome::Cancelled:
        result.event = FinishEvent::Cancelled;
        break;
    case RunOutcome::Failed:
        ++consecutive_failures_;
        if (ticket.attempt > policy_.retry.max_retries) {
            result.event = FinishEvent::FailedRetriesExhausted;
        } else if (pending_ || running_ > 0) {
            result.event = FinishEvent::FailedNextRunPending;
        } else {
            retry_at_ = now + backoff(ticket.attempt);
            retry_attempt_ = ticket.attempt + 1;
            result.event = FinishEvent::FailedRetryScheduled;
            result.retry_at = retry_at_;
        }
        break;
    }
    return result;
}

Duration JobState::backoff(int attempt) const {
    const RetryPolicy& r = policy_.retry;
    Duration d = r.initial_backoff;
    for (int i = 1; i < attempt; ++i) {
        if (d >= r.max_backoff / std::max(r.multiplier, 1)) {
            return r.max_backoff;
        }
        d *= std::max(r.multiplier, 1);
    }
    return std::min(d, r.max_backoff);
}

std::string_view to_string(PollEvent event) {
    switch (event) {
    case PollEvent::NothingDue:
        return "nothing_due";
    case PollEvent::BecameDue:
        return "became_due";
    case PollEvent::MissedRunOnce:
        return "missed_run_once";
    case PollEvent::MissedSkipped:
        return "missed_skipped";
    case PollEvent::CoalescedWithPending:
        return "coalesced_with_pending";
    case PollEvent::OverlapSkipped:
        return "overlap_skipped";
    case PollEvent::OverlapQueued:
        return "overlap_queued";
    case PollEvent::OverlapQueueFull:
        return "overlap_queue_full";
    case PollEvent::OverlapAllowed:
        return "overlap_allowed";
    case PollEvent::OverlapCancelsPrevious:
        return "overlap_cancels_previous";
    case PollEvent::RetryDue:
        return "retry_due";
    case PollEvent::DueSupersedesRetry:
        return "due_supersedes_retry";
    case PollEvent::ScheduleEnded:
        return "schedule_ended";
    }
    return "unknown";
}

std::string_view to_string(FinishEvent event) {
    switch (event) {
    case FinishEvent::Succeeded:
        return "succeeded";
    case FinishEvent::FailedRetryScheduled:
        return "failed_retry_scheduled";
    case FinishEvent::FailedRetriesExhausted:
        return "failed_retries_exhausted";
    case FinishEvent::FailedNextRunPending:
        return "failed_next_run_pending";
    case FinishEvent::Cancelled:
        return "cancelled";
    }
    return "unknown";
}

}  // namespace pgwarden::scheduler
