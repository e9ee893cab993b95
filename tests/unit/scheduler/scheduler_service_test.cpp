// SchedulerService with a fake runner and the in-process coordinator: timing, overlap, budget,
// pressure deferral and retries, on real (short) intervals. Assertions are about order and
// counts with generous bounds, never about speed.
#include "scheduler/scheduler_service.hpp"

#include "config/config.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace pgwarden::scheduler {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<const config::Config> load(const std::string& jobs) {
    auto r = config::load_string(
        "[pgwarden]\nauth_type = \"trust\"\n[databases.app]\n"
        "host = \"127.0.0.1\"\nuser = \"app\"\n\n" +
            jobs,
        "t.toml");
    if (!r.ok()) {
        std::string all;
        for (const auto& e : r.errors) {
            all += e.to_string() + "\n";
        }
        ADD_FAILURE() << all;
        std::abort();
    }
    return r.config;
}

std::string job(const std::string& name, const std::string& extra) {
    return "[jobs." + name + "]\nevery = \"100ms\"\ndatabase = \"app\"\nsql = \"SELECT 1\"\n" +
           extra + "\n";
}

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (done()) {
            return true;
        }
        std::this_thread::sleep_for(10ms);
    }
    return done();
}

JobSnapshot find(const SchedulerService& s, const std::string& name) {
    for (auto& j : s.snapshot()) {
        if (j.name == name) {
            return j;
        }
    }
    ADD_FAILURE() << "no job " << name;
    return {};
}

// Counts calls and the most runs seen at once.
struct Probe {
    std::atomic<int> calls{0};
    std::atomic<int> running{0};
    std::atomic<int> max_running{0};
    RunFn runner(std::chrono::milliseconds work, std::function<RunReport(int)> result = {}) {
        return [this, work, result](const RunContext& context) {
            const int now = ++running;
            int seen = max_running.load();
            while (now > seen && !max_running.compare_exchange_weak(seen, now)) {
            }
            const int call = ++calls;
            const auto end = std::chrono::steady_clock::now() + work;
            while (std::chrono::steady_clock::now() < end && !context.cancel->load()) {
                std::this_thread::sleep_for(5ms);
            }
            --running;
            if (context.cancel->load()) {
                return RunReport{RunOutcome::Cancelled, false, "cancelled", {}};
            }
            return result ? result(call) : RunReport{};
        };
    }
};

std::unique_ptr<SchedulerService> make(const std::string& jobs, RunFn runner,
                                       PressureFn pressure = {}) {
    ServiceOptions o;
    o.runner = std::move(runner);
    o.pressure = std::move(pressure);
    o.tick = 20ms;
    o.sweep_interval = 50ms;
    auto s = SchedulerService::create(load(jobs), std::move(o));
    if (!s) {
        ADD_FAILURE() << s.error().message;
        std::abort();
    }
    return std::move(*s);
}

TEST(SchedulerService, RunsAnIntervalJobAndCountsOutcomes) {
    Probe probe;
    auto s = make(job("a", ""), probe.runner(0ms));
    s->start();
    ASSERT_TRUE(eventually([&] { return probe.calls >= 3; }));
    s->stop();
    const JobSnapshot a = find(*s, "a");
    EXPECT_EQ(a.runs_succeeded, static_cast<std::uint64_t>(probe.calls.load()));
    EXPECT_EQ(a.last_outcome, "succeeded");
    EXPECT_EQ(a.schedule, "every 100ms");
    EXPECT_EQ(a.kind, "sql");
    EXPECT_TRUE(a.next_run.has_value());
    EXPECT_TRUE(a.last_run.has_value());
    std::uint64_t histogram = 0;
    for (auto n : a.duration_buckets) {
        histogram += n;
    }
    EXPECT_EQ(histogram, a.runs_succeeded);
    s->stop();  // idempotent
}

TEST(SchedulerService, OverlapSkipNeverRunsTwoAtOnceAndCountsSkips) {
    Probe probe;
    auto s = make(job("slow", "overlap = \"skip\""), probe.runner(350ms));
    s->start();
    ASSERT_TRUE(eventually([&] { return find(*s, "slow").skipped_overlaps >= 2; }));
    s->stop();
    EXPECT_EQ(probe.max_running.load(), 1);
}

TEST(SchedulerService, OverlapAllowRunsSideBySide) {
    Probe probe;
    auto s = make(job("wide", "overlap = \"allow\""), probe.runner(350ms));
    s->start();
    ASSERT_TRUE(eventually([&] { return probe.max_running >= 2; }));
    s->stop();
    EXPECT_EQ(find(*s, "wide").skipped_overlaps, 0u);
}

TEST(SchedulerService, CancelPreviousCancelsTheRunningRun) {
    Probe probe;
    auto s = make(job("fresh", "overlap = \"cancel_previous\""), probe.runner(5s));
    s->start();
    ASSERT_TRUE(eventually([&] { return find(*s, "fresh").runs_cancelled >= 1; }));
    s->stop();
}

TEST(SchedulerService, TheBudgetBoundsRunsAcrossJobs) {
    Probe probe;
    auto s = make("[scheduler]\nmax_concurrency = 2\n" +
                      job("a", "overlap = \"allow\"\nconnections = 2") +
                      job("b", "overlap = \"allow\"") + job("c", "overlap = \"allow\""),
                  probe.runner(150ms));
    s->start();
    ASSERT_TRUE(eventually([&] { return probe.calls >= 8; }));
    s->stop();
    // Job a holds both units alone; b and c may run together.
    EXPECT_LE(probe.max_running.load(), 2);
    std::uint64_t deferrals = 0;
    for (const auto& j : s->snapshot()) {
        deferrals += j.deferrals;
    }
    EXPECT_GT(deferrals, 0u);
}

TEST(SchedulerService, QueueLimitsApplyPerQueue) {
    Probe probe;
    auto s = make("[scheduler]\nmax_concurrency = 4\n[scheduler.queues]\nreports = 1\n" +
                      job("r1", "queue = \"reports\"\noverlap = \"allow\"") +
                      job("r2", "queue = \"reports\"\noverlap = \"allow\""),
                  probe.runner(150ms));
    s->start();
    ASSERT_TRUE(eventually([&] { return probe.calls >= 5; }));
    s->stop();
    EXPECT_EQ(probe.max_running.load(), 1);
}

TEST(SchedulerService, PressureDefersInsideTheFreshnessWindowThenRuns) {
    Probe probe;
    std::atomic<bool> busy{true};
    std::atomic<int> asked{0};
    auto s = make(job("fresh", "max_staleness = \"1h\""), probe.runner(0ms),
                  [&](const std::string& database, const std::string& user) {
                      EXPECT_EQ(database, "app");
                      EXPECT_EQ(user, "app");
                      ++asked;
                      return Pressure{busy ? 0.9 : 0.1, false};
                  });
    s->start();
    ASSERT_TRUE(eventually([&] { return find(*s, "fresh").deferrals >= 3; }));
    EXPECT_EQ(probe.calls.load(), 0);
    busy = false;
    ASSERT_TRUE(eventually([&] { return probe.calls >= 1; }));
    s->stop();
    EXPECT_GT(asked.load(), 0);
    // The run that waited started late: its lag is the time it was deferred.
    EXPECT_GT(find(*s, "fresh").deferrals, 0u);
}

TEST(SchedulerService, HigherPriorityClientsWaitingIsPressureToo) {
    Probe probe;
    auto s = make(job("fresh", "max_staleness = \"1h\""), probe.runner(0ms),
                  [](const std::string&, const std::string&) {
                      return Pressure{0.0, true};
                  });
    s->start();
    ASSERT_TRUE(eventually([&] { return find(*s, "fresh").deferrals >= 2; }));
    s->stop();
    EXPECT_EQ(probe.calls.load(), 0);
}

TEST(SchedulerService, PressureCannotHoldARunPastItsWindowOrOneWithoutAWindow) {
    Probe probe;
    auto s = make(job("window", "max_staleness = \"200ms\"") + job("nowindow", ""),
                  probe.runner(0ms), [](const std::string&, const std::string&) {
                      return Pressure{1.0, false};
                  });
    s->start();
    ASSERT_TRUE(eventually([&] {
        return find(*s, "window").runs_succeeded >= 2 && find(*s, "nowindow").runs_succeeded >= 2;
    }));
    s->stop();
    EXPECT_GT(find(*s, "window").deferrals, 0u);
    EXPECT_EQ(find(*s, "nowindow").deferrals, 0u);
    EXPECT_GT(find(*s, "window").last_lag_seconds, 0.05);
}

TEST(SchedulerService, FailedRunsAreRetriedThenSucceed) {
    Probe probe;
    auto t = make(
        "[jobs.flaky]\nschedule = \"* * * * * *\"\ndatabase = \"app\"\n"
        "sql = \"SELECT 1\"\noverlap = \"skip\"\nretries = 3\nretry_backoff = \"10ms\"\n",
        probe.runner(0ms, [](int call) {
            return call <= 2 ? RunReport{RunOutcome::Failed, false, "boom", {}} : RunReport{};
        }));
    t->start();
    ASSERT_TRUE(eventually([&] { return find(*t, "flaky").runs_succeeded >= 1; }));
    t->stop();
    const JobSnapshot f = find(*t, "flaky");
    EXPECT_EQ(f.runs_failed, 2u);
    EXPECT_EQ(f.last_outcome, "succeeded");
}

TEST(SchedulerService, SnapshotIsSafeFromOtherThreadsWhileRunning) {
    Probe probe;
    auto s = make(job("a", "") + job("b", "overlap = \"allow\""), probe.runner(20ms));
    s->start();
    std::atomic<bool> done{false};
    std::thread reader([&] {
        while (!done) {
            auto snap = s->snapshot();
            EXPECT_EQ(snap.size(), 2u);
        }
    });
    ASSERT_TRUE(eventually([&] { return probe.calls >= 6; }));
    done = true;
    reader.join();
    s->stop();
}

TEST(SchedulerService, DisabledJobsNeverRun) {
    Probe probe;
    auto s = make(job("off", "enabled = false"), probe.runner(0ms));
    s->start();
    std::this_thread::sleep_for(300ms);
    s->stop();
    EXPECT_EQ(probe.calls.load(), 0);
    EXPECT_FALSE(find(*s, "off").enabled);
}

TEST(SchedulerService, StopCancelsRunningRuns) {
    Probe probe;
    auto s = make(job("long", ""), probe.runner(60s));
    s->start();
    ASSERT_TRUE(eventually([&] { return probe.running >= 1; }));
    const auto before = std::chrono::steady_clock::now();
    s->stop();
    EXPECT_LT(std::chrono::steady_clock::now() - before, 10s);
    EXPECT_EQ(find(*s, "long").runs_cancelled, 1u);
    EXPECT_EQ(probe.running.load(), 0);
}

// A coordinator that records claims and answers as told, with a history to start from.
class FakeCoordinator final : public Coordinator {
public:
    struct Shared {
        std::mutex mu;
        std::vector<SlotKey> claims;
        std::vector<FinishRecord> finished;
        ClaimResult answer = ClaimResult::Claimed;
        bool down = false;  // every call fails, as with an unreachable database
        std::map<std::string, cron::WallTime> last;
    };
    explicit FakeCoordinator(std::shared_ptr<Shared> shared) : shared_(std::move(shared)) {}
    common::Status prepare() override {
        std::lock_guard lock(shared_->mu);
        if (shared_->down) {
            return common::make_error("state", "connection refused");
        }
        return common::ok_status();
    }
    common::Result<ClaimResult> claim(const SlotKey& key, int, bool) override {
        std::lock_guard lock(shared_->mu);
        if (shared_->down) {
            return common::make_error("state", "connection refused");
        }
        shared_->claims.push_back(key);
        return shared_->answer;
    }
    common::Status renew(const std::vector<SlotKey>&) override { return common::ok_status(); }
    common::Status finish(const FinishRecord& record) override {
        std::lock_guard lock(shared_->mu);
        shared_->finished.push_back(record);
        return common::ok_status();
    }
    common::Result<SweepResult> sweep() override { return SweepResult{}; }
    common::Result<std::map<std::string, cron::WallTime>> last_slots() override {
        std::lock_guard lock(shared_->mu);
        return shared_->last;
    }
    common::Status purge(std::chrono::milliseconds) override { return common::ok_status(); }

private:
    std::shared_ptr<Shared> shared_;
};

std::unique_ptr<SchedulerService> make_with(const std::string& jobs, RunFn runner,
                                            std::shared_ptr<FakeCoordinator::Shared> shared) {
    ServiceOptions o;
    o.runner = std::move(runner);
    o.coordinator = std::make_unique<FakeCoordinator>(std::move(shared));
    o.state_retry = 100ms;
    o.tick = 20ms;
    o.sweep_interval = 50ms;
    auto s = SchedulerService::create(load(jobs), std::move(o));
    if (!s) {
        ADD_FAILURE() << s.error().message;
        std::abort();
    }
    return std::move(*s);
}

cron::WallTime wall_now() {
    return std::chrono::time_point_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now());
}

TEST(SchedulerService, AfterDowntimeMisfireRunOnceCatchesUpOnceWithTheMissedSlot) {
    Probe probe;
    auto shared = std::make_shared<FakeCoordinator::Shared>();
    const cron::WallTime last = std::chrono::floor<std::chrono::seconds>(wall_now()) - 1h;
    shared->last["hourly"] = last;
    auto s = make_with(
        "[jobs.hourly]\nevery = \"10m\"\ndatabase = \"app\"\n"
        "sql = \"SELECT 1\"\nmisfire = \"run_once\"\n",
        probe.runner(0ms), shared);
    s->start();
    ASSERT_TRUE(eventually([&] { return probe.calls >= 1; }));
    std::this_thread::sleep_for(200ms);
    s->stop();
    EXPECT_EQ(probe.calls.load(), 1);  // one catch-up run for six missed fires
    const JobSnapshot j = find(*s, "hourly");
    EXPECT_EQ(j.misfires, 1u);
    EXPECT_GT(j.last_lag_seconds, 60.0);
    std::lock_guard lock(shared->mu);
    ASSERT_EQ(shared->claims.size(), 1u);
    // The catch-up run claims the first missed slot: the one every instance computes alike.
    EXPECT_GT(shared->claims[0].slot, last);
    EXPECT_LE(shared->claims[0].slot, last + 10min);
    ASSERT_EQ(shared->finished.size(), 1u);
    EXPECT_EQ(shared->finished[0].outcome, "succeeded");
}

TEST(SchedulerService, AfterDowntimeMisfireSkipWaitsForTheNextFire) {
    Probe probe;
    auto shared = std::make_shared<FakeCoordinator::Shared>();
    shared->last["hourly"] = wall_now() - 1h;
    auto s = make_with(
        "[jobs.hourly]\nevery = \"10m\"\ndatabase = \"app\"\n"
        "sql = \"SELECT 1\"\nmisfire = \"skip\"\n",
        probe.runner(0ms), shared);
    s->start();
    ASSERT_TRUE(eventually([&] { return find(*s, "hourly").misfires == 1; }));
    std::this_thread::sleep_for(200ms);
    s->stop();
    EXPECT_EQ(probe.calls.load(), 0);
}

TEST(SchedulerService, ASlotTakenElsewhereIsNotRun) {
    Probe probe;
    auto shared = std::make_shared<FakeCoordinator::Shared>();
    shared->answer = ClaimResult::Taken;
    auto s = make_with(job("a", ""), probe.runner(0ms), shared);
    s->start();
    ASSERT_TRUE(eventually([&] { return find(*s, "a").skipped_elsewhere >= 3; }));
    s->stop();
    EXPECT_EQ(probe.calls.load(), 0);
    std::lock_guard lock(shared->mu);
    for (std::size_t i = 1; i < shared->claims.size(); ++i) {
        EXPECT_LT(shared->claims[i - 1].slot, shared->claims[i].slot);  // one claim per slot
    }
}

TEST(SchedulerService, BusyElsewhereSkipsUnderOverlapSkip) {
    Probe probe;
    auto shared = std::make_shared<FakeCoordinator::Shared>();
    shared->answer = ClaimResult::Busy;
    auto s = make_with(job("a", "overlap = \"skip\""), probe.runner(0ms), shared);
    s->start();
    ASSERT_TRUE(eventually([&] { return find(*s, "a").skipped_overlaps >= 2; }));
    s->stop();
    EXPECT_EQ(probe.calls.load(), 0);
}

TEST(SchedulerService, WithoutTheStateDatabaseRunsWaitInsteadOfRiskingDuplicates) {
    Probe probe;
    auto shared = std::make_shared<FakeCoordinator::Shared>();
    shared->down = true;
    auto s = make_with(job("a", ""), probe.runner(0ms), shared);
    s->start();
    std::this_thread::sleep_for(400ms);
    EXPECT_EQ(probe.calls.load(), 0);
    EXPECT_TRUE(find(*s, "a").pending);
    {
        std::lock_guard lock(shared->mu);
        shared->down = false;
    }
    // The scheduler re-checks the database (every 5 s; 100 ms here); then the run goes ahead.
    EXPECT_TRUE(eventually([&] { return probe.calls >= 1; }, 15s));
    s->stop();
}

}  // namespace
}  // namespace pgwarden::scheduler
