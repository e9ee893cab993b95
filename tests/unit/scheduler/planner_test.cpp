#include "scheduler/planner.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace pgwarden::scheduler {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

const TimePoint kNow = TimePoint(std::chrono::hours(10));

Candidate candidate(std::size_t job, int priority, std::string_view queue = "default",
                    Duration age = seconds(0), std::optional<Duration> staleness = std::nullopt,
                    bool deferred_before = false) {
    return Candidate{job, priority, queue, kNow - age, staleness, deferred_before, false, 1};
}

std::vector<PlanReason> reasons(const std::vector<PlanDecision>& decisions) {
    std::vector<PlanReason> out;
    for (const auto& d : decisions) {
        out.push_back(d.reason);
    }
    return out;
}

TEST(Planner, HighestPriorityTakesTheSlotsAndDecisionsKeepTheCandidateOrder) {
    const Planner planner(Budget{2, {}});
    const std::vector<Candidate> cs = {candidate(10, 1), candidate(11, 5), candidate(12, 3)};
    const auto d = planner.plan(PlanInput{kNow}, Load{}, cs);
    ASSERT_EQ(d.size(), 3U);
    EXPECT_EQ(d[0].job, 10U);
    EXPECT_EQ(d[1].job, 11U);
    EXPECT_EQ(reasons(d),
              (std::vector<PlanReason>{PlanReason::DeferredBackgroundBudgetFull,
                                       PlanReason::StartedOnTime, PlanReason::StartedOnTime}));
}

TEST(Planner, EqualPrioritiesGoOldestFirst) {
    const Planner planner(Budget{1, {}});
    const std::vector<Candidate> cs = {candidate(0, 1, "default", seconds(5)),
                                       candidate(1, 1, "default", seconds(50))};
    EXPECT_EQ(reasons(planner.plan(PlanInput{kNow}, Load{}, cs)),
              (std::vector<PlanReason>{PlanReason::DeferredBackgroundBudgetFull,
                                       PlanReason::StartedOnTime}));
}

TEST(Planner, RunningJobsCountAgainstTheBudgets) {
    Budget budget{3, {{"reports", 1}}};
    const Planner planner(budget);
    Load load;
    load.running = 2;
    load.per_queue["reports"] = 1;
    const std::vector<Candidate> cs = {candidate(0, 9, "reports"), candidate(1, 1),
                                       candidate(2, 0)};
    EXPECT_EQ(
        reasons(planner.plan(PlanInput{kNow}, load, cs)),
        (std::vector<PlanReason>{PlanReason::DeferredQueueBudgetFull, PlanReason::StartedOnTime,
                                 PlanReason::DeferredBackgroundBudgetFull}));
}

TEST(Planner, AFullQueueDoesNotBlockOtherQueues) {
    const Planner planner(Budget{10, {{"reports", 1}, {"etl", 2}}});
    const std::vector<Candidate> cs = {candidate(0, 5, "reports"), candidate(1, 4, "reports"),
                                       candidate(2, 3, "etl"),     candidate(3, 2, "etl"),
                                       candidate(4, 1, "etl"),     candidate(5, 0, "other")};
    EXPECT_EQ(
        reasons(planner.plan(PlanInput{kNow}, Load{}, cs)),
        (std::vector<PlanReason>{PlanReason::StartedOnTime, PlanReason::DeferredQueueBudgetFull,
                                 PlanReason::StartedOnTime, PlanReason::StartedOnTime,
                                 PlanReason::DeferredQueueBudgetFull, PlanReason::StartedOnTime}));
}

TEST(Planner, PressureDefersRunsInsideTheirFreshnessWindowOnly) {
    const Planner planner(Budget{1, {}});
    const std::vector<Candidate> cs = {
        candidate(0, 9, "default", minutes(1), minutes(5)),  // fresh: waits
        candidate(1, 0, "default", minutes(5), minutes(5)),  // last tick: starts
        candidate(2, 0, "default", seconds(0)),              // no window: starts
    };
    // Budget 1: the stale run (older) is considered before the no-window run of equal priority.
    EXPECT_EQ(reasons(planner.plan(PlanInput{kNow, seconds(1), true}, Load{}, cs)),
              (std::vector<PlanReason>{PlanReason::DeferredUnderPressure,
                                       PlanReason::StartedStalenessLimit,
                                       PlanReason::DeferredBackgroundBudgetFull}));
    const Planner roomy(Budget{5, {}});
    EXPECT_EQ(reasons(roomy.plan(PlanInput{kNow, seconds(1), true}, Load{}, cs)),
              (std::vector<PlanReason>{PlanReason::DeferredUnderPressure,
                                       PlanReason::StartedStalenessLimit,
                                       PlanReason::StartedNotDeferrable}));
    // Without pressure everything within budget starts; a previously deferred run says so.
    std::vector<Candidate> again = cs;
    again[0].deferred_before = true;
    EXPECT_EQ(reasons(roomy.plan(PlanInput{kNow, seconds(1), false}, Load{}, again)),
              (std::vector<PlanReason>{PlanReason::StartedAfterDeferral, PlanReason::StartedOnTime,
                                       PlanReason::StartedOnTime}));
}

TEST(Planner, PressureCanBePerCandidate) {
    const Planner planner(Budget{5, {}});
    std::vector<Candidate> cs = {candidate(0, 0, "default", seconds(0), minutes(5)),
                                 candidate(1, 0, "default", seconds(0), minutes(5))};
    cs[1].under_pressure = true;  // only job 1's pool is busy
    EXPECT_EQ(
        reasons(planner.plan(PlanInput{kNow}, Load{}, cs)),
        (std::vector<PlanReason>{PlanReason::StartedOnTime, PlanReason::DeferredUnderPressure}));
}

TEST(Planner, BudgetsCountConnectionsNotRuns) {
    const Planner planner(Budget{4, {{"etl", 3}}});
    std::vector<Candidate> cs = {candidate(0, 9, "etl"), candidate(1, 8, "etl"), candidate(2, 7),
                                 candidate(3, 6)};
    cs[0].connections = 2;
    cs[1].connections = 2;  // 2 + 2 > the queue's 3
    cs[2].connections = 2;  // 2 + 2 = the total 4
    Load load;
    EXPECT_EQ(reasons(planner.plan(PlanInput{kNow}, load, cs)),
              (std::vector<PlanReason>{
                  PlanReason::StartedOnTime, PlanReason::DeferredQueueBudgetFull,
                  PlanReason::StartedOnTime, PlanReason::DeferredBackgroundBudgetFull}));
    load.running = 3;
    EXPECT_EQ(reasons(planner.plan(PlanInput{kNow}, load, cs))[0],
              PlanReason::DeferredBackgroundBudgetFull);
}

TEST(Planner, ALongerTickStartsStaleRunsEarlier) {
    const Planner planner(Budget{5, {}});
    const std::vector<Candidate> cs = {candidate(0, 0, "default", minutes(4), minutes(5))};
    EXPECT_EQ(planner.plan(PlanInput{kNow, seconds(30), true}, Load{}, cs)[0].reason,
              PlanReason::DeferredUnderPressure);
    EXPECT_EQ(planner.plan(PlanInput{kNow, seconds(61), true}, Load{}, cs)[0].reason,
              PlanReason::StartedStalenessLimit);
}

// The reference model: the rules written as plainly as possible, picking the best remaining
// candidate by a linear scan each round instead of sorting.
std::vector<PlanReason> reference_plan(const Budget& budget, const PlanInput& in, const Load& load,
                                       const std::vector<Candidate>& cs) {
    std::vector<PlanReason> out(cs.size());
    std::vector<bool> done(cs.size(), false);
    int running = load.running;
    std::map<std::string, int, std::less<>> per_queue = load.per_queue;
    for (std::size_t round = 0; round < cs.size(); ++round) {
        std::size_t best = cs.size();
        for (std::size_t i = 0; i < cs.size(); ++i) {
            if (done[i]) {
                continue;
            }
            if (best == cs.size() || cs[i].priority > cs[best].priority ||
                (cs[i].priority == cs[best].priority && cs[i].due < cs[best].due)) {
                best = i;
            }
        }
        done[best] = true;
        const Candidate& c = cs[best];
        const bool fresh = c.max_staleness && in.now + in.tick <= c.due + *c.max_staleness;
        if (in.pressure && fresh) {
            out[best] = PlanReason::DeferredUnderPressure;
            continue;
        }
        if (running >= budget.max_running) {
            out[best] = PlanReason::DeferredBackgroundBudgetFull;
            continue;
        }
        const std::string queue(c.queue);
        if (budget.per_queue.count(queue) != 0 && per_queue[queue] >= budget.per_queue.at(queue)) {
            out[best] = PlanReason::DeferredQueueBudgetFull;
            continue;
        }
        ++running;
        ++per_queue[queue];
        if (!in.pressure) {
            out[best] =
                c.deferred_before ? PlanReason::StartedAfterDeferral : PlanReason::StartedOnTime;
        } else {
            out[best] = c.max_staleness ? PlanReason::StartedStalenessLimit
                                        : PlanReason::StartedNotDeferrable;
        }
    }
    return out;
}

TEST(Planner, MatchesTheReferenceModelOnRandomInputsAndKeepsItsInvariants) {
    std::mt19937_64 rng(20260219);
    const std::vector<std::string> queues = {"default", "reports", "etl"};
    auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    int started_total = 0;
    int deferred_total = 0;
    for (int iteration = 0; iteration < 3000; ++iteration) {
        Budget budget{uniform(0, 8), {}};
        Load load;
        load.running = uniform(0, 6);
        for (const auto& q : queues) {
            if (uniform(0, 1) == 1) {
                budget.per_queue[q] = uniform(0, 3);
            }
            load.per_queue[q] = uniform(0, 2);
        }
        const PlanInput in{kNow, seconds(uniform(1, 30)), uniform(0, 2) == 0};
        std::vector<Candidate> cs;
        const int n = uniform(0, 25);
        for (int i = 0; i < n; ++i) {
            std::optional<Duration> staleness;
            if (uniform(0, 2) != 0) {
                staleness = seconds(uniform(0, 600));
            }
            cs.push_back(Candidate{static_cast<std::size_t>(i), uniform(0, 3),
                                   queues[static_cast<std::size_t>(uniform(0, 2))],
                                   kNow - seconds(uniform(0, 600)), staleness, uniform(0, 1) == 1,
                                   false, 1});
        }
        // Unique due times per priority would make the index tie-break invisible; keep ties.
        const Planner planner(budget);
        const auto decisions = planner.plan(in, load, cs);
        const auto expected = reference_plan(budget, in, load, cs);
        ASSERT_EQ(reasons(decisions), expected) << "iteration " << iteration;

        // Invariants, stated independently of either implementation.
        int started = 0;
        std::map<std::string, int> started_per_queue;
        int lowest_started_priority = 1 << 30;
        int highest_budget_deferred = -1;
        for (std::size_t i = 0; i < cs.size(); ++i) {
            ASSERT_EQ(decisions[i].job, cs[i].job);
            if (decisions[i].start()) {
                ++started;
                ++started_per_queue[std::string(cs[i].queue)];
                lowest_started_priority = std::min(lowest_started_priority, cs[i].priority);
                if (in.pressure && cs[i].max_staleness) {
                    ASSERT_GT(in.now + in.tick, cs[i].due + *cs[i].max_staleness);
                }
            } else if (decisions[i].reason == PlanReason::DeferredBackgroundBudgetFull) {
                highest_budget_deferred = std::max(highest_budget_deferred, cs[i].priority);
            }
        }
        ASSERT_LE(load.running + started, std::max(budget.max_running, load.running));
        for (const auto& [queue, limit] : budget.per_queue) {
            ASSERT_LE(load.per_queue[queue] + started_per_queue[queue],
                      std::max(limit, load.per_queue[queue]));
        }
        // A run deferred for the total budget never loses its slot to a lower priority.
        if (highest_budget_deferred >= 0 && started > 0) {
            ASSERT_GE(lowest_started_priority, highest_budget_deferred);
        }
        started_total += started;
        deferred_total += static_cast<int>(cs.size()) - started;
    }
    // The generator exercises both outcomes in earnest.
    EXPECT_GT(started_total, 2000);
    EXPECT_GT(deferred_total, 2000);
}

}  // namespace
}  // namespace pgwarden::scheduler
