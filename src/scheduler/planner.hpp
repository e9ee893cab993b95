#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "scheduler/job_state.hpp"

namespace pgwarden::scheduler {

// Why a due run was started or deferred on this tick. Self-explaining, for logs and counters.
enum class PlanReason : std::uint8_t {
    StartedOnTime,                 // due, no pressure in its way, budget free
    StartedAfterDeferral,          // deferred before; whatever held it back is gone
    StartedStalenessLimit,         // pressure, but one more tick would exceed max_staleness
    StartedNotDeferrable,          // pressure, but the job declares no freshness window
    DeferredUnderPressure,         // pressure, and the run is still inside max_staleness
    DeferredBackgroundBudgetFull,  // every background-job slot is taken
    DeferredQueueBudgetFull,       // every slot of the job's queue is taken
};

std::string_view to_string(PlanReason reason);

inline bool is_start(PlanReason reason) {
    return reason == PlanReason::StartedOnTime || reason == PlanReason::StartedAfterDeferral ||
           reason == PlanReason::StartedStalenessLimit ||
           reason == PlanReason::StartedNotDeferrable;
}

// A job with a pending run, as the planner sees it.
struct Candidate {
    std::size_t job = 0;     // caller's index, echoed in the decision
    int priority = 0;        // higher first
    std::string_view queue;  // must outlive the plan() call
    TimePoint due;           // when the run came due
    std::optional<Duration> max_staleness;
    bool deferred_before = false;
    bool under_pressure = false;  // this job's own pool reports pressure (adds to the input's)
    int connections = 1;          // budget units the run holds
};

// Builds the candidate for `job`'s pending run (precondition: job.pending()).
Candidate make_candidate(std::size_t index, const JobState& job);

// How many connection units background runs may hold at once (a run holds its job's
// `connections`): across all jobs, and per queue (queues not listed are bounded only by the
// total).
struct Budget {
    int max_running = 4;
    std::map<std::string, int, std::less<>> per_queue;
};

// What is running now, counted by the caller.
struct Load {
    int running = 0;  // connection units held by running runs
    std::map<std::string, int, std::less<>> per_queue;
};

struct PlanInput {
    TimePoint now;
    Duration tick = std::chrono::seconds(1);  // time until the planner runs again
    bool pressure = false;                    // the pool reports pressure (user traffic first)
};

struct PlanDecision {
    std::size_t job = 0;
    PlanReason reason = PlanReason::StartedOnTime;
    bool start() const { return is_start(reason); }
};

// Decides, each tick, which due runs start now and which wait, and why. Stateless and pure:
// the same input gives the same decisions, in the order of the candidates.
//
// Order of consideration: priority (high first), then due time (oldest first), then the
// caller's index; so when slots are short, the lowest priority is deferred first. Under
// pressure a run with a freshness window waits while now + tick <= due + max_staleness, i.e.
// until waiting one more tick would make it too stale; deferred runs take no slot. Budgets are
// hard limits and apply under pressure too.
class Planner {
public:
    explicit Planner(Budget budget) : budget_(std::move(budget)) {}

    std::vector<PlanDecision> plan(const PlanInput& input, const Load& load,
                                   std::span<const Candidate> candidates) const;

    const Budget& budget() const { return budget_; }

private:
    Budget budget_;
};

}  // namespace pgwarden::scheduler
