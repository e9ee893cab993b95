#include "scheduler/planner.hpp"

#include <algorithm>
#include <numeric>

namespace pgwarden::scheduler {

std::string_view to_string(PlanReason reason) {
    switch (reason) {
    case PlanReason::StartedOnTime:
        return "started_on_time";
    case PlanReason::StartedAfterDeferral:
        return "started_after_deferral";
    case PlanReason::StartedStalenessLimit:
        return "started_staleness_limit";
    case PlanReason::StartedNotDeferrable:
        return "started_not_deferrable";
    case PlanReason::DeferredUnderPressure:
        return "deferred_under_pressure";
    case PlanReason::DeferredBackgroundBudgetFull:
        return "deferred_background_budget_full";
    case PlanReason::DeferredQueueBudgetFull:
        return "deferred_queue_budget_full";
    }
    return "unknown";
}

Candidate make_candidate(std::size_t index, const JobState& job) {
    const PendingRun& run = *job.pending();
    return Candidate{index,
                     job.policy().priority,
                     job.policy().queue,
                     run.due,
                     job.policy().max_staleness,
                     run.deferred,
                     false,
                     1};
}

std::vector<PlanDecision> Planner::plan(const PlanInput& input, const Load& load,
                                        std::span<const Candidate> candidates) const {
    std::vector<PlanDecision> decisions(candidates.size());
    if (candidates.empty()) {
        return decisions;
    }
    std::vector<std::size_t> order(candidates.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const Candidate& x = candidates[a];
        const Candidate& y = candidates[b];
        if (x.priority != y.priority) {
            return x.priority > y.priority;
        }
        if (x.due != y.due) {
            return x.due < y.due;
        }
        return a < b;
    });

    int running = load.running;
    // Slots taken on this tick, per queue; views into the candidates, which outlive the call.
    std::map<std::string_view, int> started_in_queue;
    for (std::size_t i : order) {
        const Candidate& c = candidates[i];
        PlanDecision& d = decisions[i];
        d.job = c.job;
        PlanReason start_reason =
            c.deferred_before ? PlanReason::StartedAfterDeferral : PlanReason::StartedOnTime;
        if (input.pressure || c.under_pressure) {
            if (!c.max_staleness) {
                start_reason = PlanReason::StartedNotDeferrable;
            } else if (input.now + input.tick <= c.due + *c.max_staleness) {
                d.reason = PlanReason::DeferredUnderPressure;
                continue;
            } else {
                start_reason = PlanReason::StartedStalenessLimit;
            }
        }
        if (running + c.connections > budget_.max_running) {
            d.reason = PlanReason::DeferredBackgroundBudgetFull;
            continue;
        }
        if (auto limit = budget_.per_queue.find(c.queue); limit != budget_.per_queue.end()) {
            const auto busy = load.per_queue.find(c.queue);
            const int used =
                (busy == load.per_queue.end() ? 0 : busy->second) + started_in_queue[c.queue];
            if (used + c.connections > limit->second) {
                d.reason = PlanReason::DeferredQueueBudgetFull;
                continue;
            }
        }
        d.reason = start_reason;
        running += c.connections;
        started_in_queue[c.queue] += c.connections;
    }
    return decisions;
}

}  // namespace pgwarden::scheduler
