// The job scheduler inside `pgwarden serve`, against a real PostgreSQL: sql jobs through the
// proxy, overlap, failures that stay contained in their run, `pgwarden jobs`, deferral under
// pool pressure, and cross-instance de-duplication with an instance killed mid-run.
#include "harness.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace pgwarden::itest {
namespace {

using namespace std::chrono_literals;

// Polls `done` every 100 ms until it holds or `limit` passes.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (done()) {
            return true;
        }
        std::this_thread::sleep_for(100ms);
    }
    return done();
}

PgConn direct() {
    auto c = PgConn::connect(PostgresEnvironment::pg().dsn(kAppDb, kAppUser, kAppPassword));
    if (!c) {
        ADD_FAILURE() << c.error().message;
        std::abort();
    }
    return std::move(*c);
}

long count(PgConn& c, const std::string& sql) {
    auto r = c.exec(sql);
    if (!r.ok) {
        return -1;  // the table does not exist yet
    }
    return std::stol(r.scalar());
}

// The [scheduler] table and jobs appended to the harness's default config.
std::string scheduler_tables(const std::string& instance, const std::string& jobs) {
    return fmt::format(
        "[scheduler]\nlease = \"2s\"\ninstance_id = \"{}\"\n"
        "history_retention = \"1h\"\n\n{}",
        instance, jobs);
}

embedded::RunResult jobs_cli(const PgwardenProcess& p, std::vector<std::string> args) {
    std::vector<std::string> argv{pgwarden_binary(), "jobs"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("-c");
    argv.push_back(p.config_path());
    return run_command(argv, {}, 30s);
}

class SchedulerTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_EQ(pgwarden_problem(), "");
        auto c = direct();
        ASSERT_TRUE(c.exec("CREATE TABLE IF NOT EXISTS sched_ticks (job text, at timestamptz "
                           "DEFAULT clock_timestamp(), app text DEFAULT current_setting("
                           "'application_name'))")
                        .ok);
    }
};

// One instance, several jobs at once: a 1 s job that inserts a row per run, a slow job with
// overlap = skip, a job whose SQL fails, a command that does not exist and a command that
// reports its environment. Each failure stays in its run; serve keeps serving.
TEST_F(SchedulerTest, SqlAndCommandJobsOverlapAndContainedFailures) {
    const std::string jobs = R"toml(
[jobs.tick]
every = "1s"
database = "appdb"
user = "app"
sql = "INSERT INTO sched_ticks (job) VALUES ('tick')"

[jobs.slow]
every = "1s"
database = "appdb"
user = "app"
overlap = "skip"
sql = ["INSERT INTO sched_ticks (job) VALUES ('slow-start')", "SELECT pg_sleep(2.5)"]

[jobs.broken_sql]
every = "1s"
database = "appdb"
user = "app"
sql = "SELECT 1/0"

[jobs.no_such_program]
every = "1s"
database = "appdb"
user = "app"
kind = "command"
command = ["/nonexistent/pgwarden-test-program"]

[jobs.stuck]
every = "1s"
database = "appdb"
user = "app"
sql = "SELECT pg_sleep(30)"
timeout = "500ms"

[jobs.env]
every = "1s"
database = "appdb"
user = "app"
kind = "command"
command = "echo \"$PGAPPNAME $PGDATABASE $PGUSER $PGPORT\"; psql \"$DATABASE_URL\" -Atc \"INSERT INTO sched_ticks (job) VALUES ('env') RETURNING app\""
timeout = "5s"
)toml";
    auto p = PgwardenProcess::start_with([&](const PgwardenLayout& l) {
        PgwardenOptions o;
        return default_config_text(l, o) + scheduler_tables("solo", jobs);
    });
    ASSERT_TRUE(p.ok()) << p.error().message;
    auto c = direct();
    ASSERT_TRUE(eventually(
        [&] {
            return count(c,
                         "SELECT count(*) FROM sched_ticks WHERE job = "
                         "'tick'") >= 3;
        },
        15s))
        << p->log_text();
    // The job's connection went through pgwarden with application_name = the job's name.
    EXPECT_EQ(c.exec("SELECT DISTINCT app FROM sched_ticks WHERE job = 'tick'").scalar(), "tick");
    ASSERT_TRUE(eventually(
        [&] {
            return count(c,
                         "SELECT count(*) FROM sched_ticks WHERE job = "
                         "'env'") >= 1;
        },
        10s))
        << p->log_text();
    EXPECT_EQ(c.exec("SELECT DISTINCT app FROM sched_ticks WHERE job = 'env'").scalar(), "env");
    ASSERT_TRUE(eventually(
        [&] {
            return count(c,
                         "SELECT count(*) FROM pgwarden_job_runs WHERE job = 'slow' AND "
                         "state = 'finished'") >= 1;
        },
        10s))
        << p->log_text();
    ASSERT_TRUE(p->running()) << p->log_text();

    // Every run recorded, each failure with a clear error.
    auto sql_error = c.exec(
        "SELECT outcome, error FROM pgwarden_job_runs WHERE job = "
        "'broken_sql' AND state = 'finished' LIMIT 1");
    ASSERT_TRUE(sql_error.ok && !sql_error.rows.empty()) << p->log_text();
    EXPECT_EQ(sql_error.rows[0][0], "failed");
    EXPECT_NE(sql_error.rows[0][1].find("22012"), std::string::npos) << sql_error.rows[0][1];
    auto missing = c.exec(
        "SELECT outcome, error FROM pgwarden_job_runs WHERE job = "
        "'no_such_program' AND state = 'finished' LIMIT 1");
    ASSERT_TRUE(missing.ok && !missing.rows.empty()) << p->log_text();
    EXPECT_EQ(missing.rows[0][0], "failed");
    EXPECT_NE(missing.rows[0][1].find("command not found or not executable: "
                                      "/nonexistent/pgwarden-test-program"),
              std::string::npos)
        << missing.rows[0][1];
    // The per-run timeout cancels the statement (through pgwarden's cancel path).
    ASSERT_TRUE(eventually(
        [&] {
            return count(c,
                         "SELECT count(*) FROM pgwarden_job_runs WHERE job = 'stuck' AND "
                         "outcome = 'timeout'") >= 1;
        },
        10s))
        << p->log_text();
    EXPECT_NE(c.exec("SELECT error FROM pgwarden_job_runs WHERE job = 'stuck' AND outcome = "
                     "'timeout' LIMIT 1")
                  .scalar()
                  .find("timed out after 500 ms; statement cancelled"),
              std::string::npos);
    EXPECT_LT(std::stod(c.exec("SELECT max(extract(epoch from finished_at - started_at)) FROM "
                               "pgwarden_job_runs WHERE job = 'stuck' AND outcome = 'timeout'")
                            .scalar()),
              10.0);
    auto env = c.exec(
        "SELECT output FROM pgwarden_job_runs WHERE job = 'env' AND outcome = "
        "'succeeded' LIMIT 1");
    ASSERT_TRUE(env.ok && !env.rows.empty()) << p->log_text();
    EXPECT_NE(env.rows[0][0].find(fmt::format("env appdb app {}", p->port())), std::string::npos)
        << env.rows[0][0];

    // overlap = skip: runs of the slow job never overlap, and skipped slots are logged.
    auto slow = c.exec(
        "SELECT count(*) FROM pgwarden_job_runs a JOIN pgwarden_job_runs b ON "
        "a.job = b.job AND a.slot < b.slot AND a.started_at < b.finished_at AND "
        "b.started_at < a.finished_at WHERE a.job = 'slow'");
    EXPECT_EQ(slow.scalar(), "0");
    EXPECT_NE(p->log_text().find("job slow: due while still running; skipped (overlap = skip)"),
              std::string::npos);

    // The proxy itself still serves.
    auto client = PgConn::connect(p->dsn(kAppDb, kAppUser, kAppPassword));
    ASSERT_TRUE(client.ok()) << client.error().message;
    EXPECT_EQ(client->exec("SELECT 42").scalar(), "42");

    // pgwarden jobs list / pause / resume / history / run.
    auto list = jobs_cli(*p, {"list"});
    ASSERT_TRUE(list.ok()) << describe(list);
    EXPECT_NE(list.out.find("tick"), std::string::npos) << list.out;
    EXPECT_NE(list.out.find("every 1s"), std::string::npos) << list.out;
    EXPECT_NE(list.out.find("active"), std::string::npos) << list.out;

    auto pause = jobs_cli(*p, {"pause", "tick"});
    ASSERT_TRUE(pause.ok()) << describe(pause);
    EXPECT_NE(pause.out.find("job tick paused"), std::string::npos) << pause.out;
    ASSERT_TRUE(eventually(
        [&] { return p->log_text().find("job tick: paused") != std::string::npos; }, 5s));
    std::this_thread::sleep_for(1500ms);  // a run that had started may finish
    const long paused_at = count(c, "SELECT count(*) FROM sched_ticks WHERE job = 'tick'");
    std::this_thread::sleep_for(2500ms);
    EXPECT_EQ(count(c, "SELECT count(*) FROM sched_ticks WHERE job = 'tick'"), paused_at);
    auto listed = jobs_cli(*p, {"list"});
    EXPECT_NE(listed.out.find("paused"), std::string::npos) << listed.out;

    auto resume = jobs_cli(*p, {"resume", "tick"});
    ASSERT_TRUE(resume.ok()) << describe(resume);
    EXPECT_TRUE(eventually(
        [&] { return count(c, "SELECT count(*) FROM sched_ticks WHERE job = 'tick'") > paused_at; },
        5s));

    auto history = jobs_cli(*p, {"history", "broken_sql", "--limit", "3"});
    ASSERT_TRUE(history.ok()) << describe(history);
    EXPECT_NE(history.out.find("broken_sql"), std::string::npos) << history.out;
    EXPECT_NE(history.out.find("failed"), std::string::npos) << history.out;
    EXPECT_NE(history.out.find("division by zero"), std::string::npos) << history.out;

    auto unknown = jobs_cli(*p, {"pause", "nope"});
    EXPECT_EQ(unknown.exit_code, 1) << describe(unknown);
    EXPECT_NE(unknown.err.find("no job \"nope\""), std::string::npos) << unknown.err;

    EXPECT_EQ(p->stop(), 0) << p->log_text();
}

// `pgwarden jobs run` requests a run of a job whose schedule would not fire for months.
TEST_F(SchedulerTest, JobsRunRequestsAnImmediateRun) {
    const std::string jobs = R"toml(
[jobs.yearly]
schedule = "0 0 1 1 *"
database = "appdb"
user = "app"
sql = "INSERT INTO sched_ticks (job) VALUES ('yearly')"
)toml";
    auto p = PgwardenProcess::start_with([&](const PgwardenLayout& l) {
        return default_config_text(l, PgwardenOptions{}) + scheduler_tables("solo", jobs);
    });
    ASSERT_TRUE(p.ok()) << p.error().message;
    auto run = jobs_cli(*p, {"run", "yearly"});
    ASSERT_TRUE(run.ok()) << describe(run);
    EXPECT_NE(run.out.find("run of job yearly requested"), std::string::npos) << run.out;
    auto c = direct();
    EXPECT_TRUE(eventually(
        [&] { return count(c, "SELECT count(*) FROM sched_ticks WHERE job = 'yearly'") == 1; },
        10s))
        << p->log_text();
    std::this_thread::sleep_for(1500ms);
    EXPECT_EQ(count(c, "SELECT count(*) FROM sched_ticks WHERE job = 'yearly'"), 1);
    EXPECT_EQ(c.exec("SELECT outcome FROM pgwarden_job_runs WHERE job = 'yearly'").scalar(),
              "succeeded");

    // A reload keeps the running jobs and says that job changes need a restart.
    std::string text;
    {
        std::ifstream in(p->config_path());
        std::stringstream ss;
        ss << in.rdbuf();
        text = ss.str();
    }
    const auto at = text.find("0 0 1 1 *");
    ASSERT_NE(at, std::string::npos);
    text.replace(at, 9, "0 0 2 1 *");
    std::ofstream(p->config_path()) << text;
    p->send_signal(SIGHUP);
    EXPECT_TRUE(eventually(
        [&] {
            return p->log_text().find(
                       "reload: [jobs.*] and [scheduler] changes take effect "
                       "only after a restart") != std::string::npos;
        },
        5s))
        << p->log_text();

    // History is bounded: a finished run older than history_retention (1h here) is deleted
    // by the next purge, which an instance runs when it starts and then every minute.
    ASSERT_TRUE(c.exec("INSERT INTO pgwarden_job_runs (job, slot, instance, state, attempt, "
                       "started_at, finished_at, outcome) VALUES ('yearly', now() - interval "
                       "'3 hours', 'old', 'finished', 1, now() - interval '3 hours', now() - "
                       "interval '2 hours', 'succeeded')")
                    .ok);
    auto second = PgwardenProcess::start_with([&](const PgwardenLayout& l) {
        return default_config_text(l, PgwardenOptions{}) + scheduler_tables("second", jobs);
    });
    ASSERT_TRUE(second.ok()) << second.error().message;
    EXPECT_TRUE(eventually(
        [&] {
            return count(c, "SELECT count(*) FROM pgwarden_job_runs WHERE instance = 'old'") == 0;
        },
        10s));
    EXPECT_EQ(count(c, "SELECT count(*) FROM pgwarden_job_runs WHERE job = 'yearly'"), 1);
}

// Three instances with the same config share one PostgreSQL: every slot runs once between
// them, and when the instance running a long job is killed, another takes over after the lease.
TEST_F(SchedulerTest, ThreeInstancesDeduplicateAndSurviveAKilledOne) {
    const std::string jobs = R"toml(
[jobs.dedup]
every = "1s"
database = "appdb"
user = "app"
sql = "INSERT INTO sched_ticks (job) VALUES ('dedup')"

[jobs.long]
every = "1s"
database = "appdb"
user = "app"
overlap = "skip"
sql = ["INSERT INTO sched_ticks (job) VALUES ('long')", "SELECT pg_sleep(4)"]
)toml";
    std::vector<PgwardenProcess> instances;
    for (const char* id : {"i1", "i2", "i3"}) {
        auto p = PgwardenProcess::start_with([&](const PgwardenLayout& l) {
            return default_config_text(l, PgwardenOptions{}) + scheduler_tables(id, jobs);
        });
        ASSERT_TRUE(p.ok()) << p.error().message;
        instances.push_back(std::move(*p));
    }
    auto c = direct();
    ASSERT_TRUE(eventually(
        [&] {
            return count(c,
                         "SELECT count(*) FROM pgwarden_job_runs WHERE job = 'dedup' AND "
                         "outcome = 'succeeded'") >= 5;
        },
        20s))
        << instances[0].log_text();

    // Find the instance running the long job and kill it.
    std::string victim;
    ASSERT_TRUE(eventually(
        [&] {
            victim = c.exec(
                          "SELECT instance FROM pgwarden_job_runs WHERE job = 'long' AND "
                          "state = 'running' AND lease_until > now() LIMIT 1")
                         .scalar();
            return !victim.empty();
        },
        10s));
    const std::string killed_slot =
        c.exec(fmt::format("SELECT slot::text FROM pgwarden_job_runs WHERE job = 'long' AND "
                           "state = 'running' AND instance = '{}'",
                           victim))
            .scalar();
    const int index = victim[1] - '1';
    ASSERT_GE(index, 0);
    ASSERT_LT(index, 3);
    instances[static_cast<std::size_t>(index)].send_signal(SIGKILL);
    const std::string killed_at = c.exec("SELECT now()::text").scalar();

    // Another instance takes the long job over once the 2 s lease has expired: the killed
    // slot is adopted, or a later slot runs elsewhere.
    EXPECT_TRUE(eventually(
        [&] {
            return count(c, fmt::format("SELECT count(*) FROM pgwarden_job_runs WHERE job = "
                                        "'long' AND instance <> '{}' AND started_at > '{}'",
                                        victim, killed_at)) >= 1;
        },
        15s))
        << c.exec(
                "SELECT string_agg(slot::text || ' ' || instance || ' ' || state, E'\\n') "
                "FROM pgwarden_job_runs WHERE job = 'long'")
               .scalar();
    // The killed run's row does not stay open: another instance adopted it, or, as a later
    // slot already ran, it was closed as lost.
    EXPECT_TRUE(eventually(
        [&] {
            return count(c, fmt::format("SELECT count(*) FROM pgwarden_job_runs WHERE job = "
                                        "'long' AND slot = '{}' AND (instance <> '{}' OR "
                                        "outcome = 'lost')",
                                        killed_slot, victim)) == 1;
        },
        15s))
        << "the killed instance's slot stayed open";

    // Let the survivors run a little more, then compare: no run executed twice. Slots are
    // unique by construction (the primary key), so more inserts than slots would mean a slot
    // ran twice. A survivor still in `long`'s 4 s sleep when stopped may outlast the grace
    // period and be killed with a `dedup` run's insert committed but its outcome unwritten,
    // so that run counts between succeeded and started.
    std::this_thread::sleep_for(2s);
    for (std::size_t i = 0; i < instances.size(); ++i) {
        if (static_cast<int>(i) != index) {
            instances[i].stop(10s);
        }
    }
    const long runs = count(c,
                            "SELECT count(*) FROM pgwarden_job_runs WHERE job = 'dedup' "
                            "AND outcome = 'succeeded'");
    const long slots = count(c, "SELECT count(*) FROM pgwarden_job_runs WHERE job = 'dedup'");
    const long inserts = count(c, "SELECT count(*) FROM sched_ticks WHERE job = 'dedup'");
    EXPECT_GE(inserts, runs);
    EXPECT_LE(inserts, slots) << "a dedup slot ran more than once";
    EXPECT_GE(runs, 5);
    // Never two live runs of `long` at once (overlap = skip holds across instances). A run
    // closed as lost has no real end time (its finished_at is when it was closed), so it is
    // left out; the takeover waited for its lease, checked above.
    EXPECT_EQ(c.exec("SELECT count(*) FROM pgwarden_job_runs a JOIN pgwarden_job_runs b ON "
                     "a.job = b.job AND a.slot < b.slot AND a.started_at < b.finished_at AND "
                     "b.started_at < a.finished_at "
                     "WHERE a.job = 'long' AND a.outcome <> 'lost' AND b.outcome <> 'lost'")
                  .scalar(),
              "0")
        << c.exec(
                "SELECT string_agg(slot::text || ' ' || instance || ' ' || state || ' ' || "
                "coalesce(outcome, '') || ' ' || started_at::text || ' ' || "
                "coalesce(finished_at::text, ''), E'\\n' ORDER BY slot) FROM "
                "pgwarden_job_runs WHERE job = 'long'")
               .scalar();
    // Which instance wins a slot is a race decided in PostgreSQL; nothing is asserted about
    // the spread, only that the long job moved off the killed instance (above).
}

// A run whose instance dies with no later slot to supersede it is adopted and run again by
// another instance once the lease expires.
TEST_F(SchedulerTest, AKilledInstancesRunIsAdoptedAfterTheLease) {
    const std::string jobs = R"toml(
[jobs.rare]
schedule = "0 0 1 1 *"
database = "appdb"
user = "app"
sql = ["SELECT pg_sleep(3)", "INSERT INTO sched_ticks (job) VALUES ('rare')"]
)toml";
    std::vector<PgwardenProcess> instances;
    for (const char* id : {"i1", "i2"}) {
        auto p = PgwardenProcess::start_with([&](const PgwardenLayout& l) {
            return default_config_text(l, PgwardenOptions{}) + scheduler_tables(id, jobs);
        });
        ASSERT_TRUE(p.ok()) << p.error().message;
        instances.push_back(std::move(*p));
    }
    auto run = jobs_cli(instances[0], {"run", "rare"});
    ASSERT_TRUE(run.ok()) << describe(run);
    auto c = direct();
    std::string victim;
    ASSERT_TRUE(eventually(
        [&] {
            victim = c.exec(
                          "SELECT instance FROM pgwarden_job_runs WHERE job = 'rare' AND "
                          "state = 'running'")
                         .scalar();
            return !victim.empty();
        },
        10s));
    const std::size_t index = victim == "i1" ? 0 : 1;
    instances[index].send_signal(SIGKILL);
    const std::string survivor = index == 0 ? "i2" : "i1";
    EXPECT_TRUE(eventually(
        [&] {
            return c.exec(
                        "SELECT instance || ' ' || coalesce(outcome, '') FROM "
                        "pgwarden_job_runs WHERE job = 'rare'")
                       .scalar() == survivor + " succeeded";
        },
        15s))
        << instances[1 - index].log_text();
    EXPECT_NE(instances[1 - index].log_text().find("job rare: lease expired; taking over slot"),
              std::string::npos);
    // The killed instance's statement was rolled back with its connection: one insert only.
    EXPECT_EQ(count(c, "SELECT count(*) FROM sched_ticks WHERE job = 'rare'"), 1);
}

// When the job's pool is busy (here: all of its server connections held in open
// transactions), due runs with a freshness window are deferred and logged, then run once the
// pressure is gone.
TEST_F(SchedulerTest, DeferralUnderPressure) {
    const std::string jobs = R"toml(
[jobs.fresh]
every = "1s"
database = "appdb"
user = "app"
max_staleness = "30s"
transaction = false
sql = "INSERT INTO sched_ticks (job) VALUES ('fresh')"
)toml";
    auto p = PgwardenProcess::start_with([&](const PgwardenLayout& l) {
        PgwardenOptions o;
        o.pool_size = 2;
        return default_config_text(l, o) + scheduler_tables("solo", jobs);
    });
    ASSERT_TRUE(p.ok()) << p.error().message;
    auto c = direct();
    ASSERT_TRUE(eventually(
        [&] { return count(c, "SELECT count(*) FROM sched_ticks WHERE job = 'fresh'") >= 1; }, 10s))
        << p->log_text();

    // The flood: two clients hold both server connections of the pool in open transactions.
    std::vector<PgConn> flood;
    for (int i = 0; i < 2; ++i) {
        auto f = PgConn::connect(p->dsn(kAppDb, kAppUser, kAppPassword));
        ASSERT_TRUE(f.ok()) << f.error().message;
        ASSERT_TRUE(f->exec("BEGIN").ok);
        ASSERT_TRUE(f->exec("SELECT 1").ok);
        flood.push_back(std::move(*f));
    }
    std::this_thread::sleep_for(1500ms);  // a run that started before the flood finishes
    const long before = count(c, "SELECT count(*) FROM sched_ticks WHERE job = 'fresh'");
    ASSERT_TRUE(eventually(
        [&] {
            return p->log_text().find("deferred (deferred_under_pressure") != std::string::npos;
        },
        5s))
        << p->log_text();
    std::this_thread::sleep_for(2s);
    EXPECT_EQ(count(c, "SELECT count(*) FROM sched_ticks WHERE job = 'fresh'"), before)
        << "runs went ahead under pressure";
    for (auto& f : flood) {
        ASSERT_TRUE(f.exec("COMMIT").ok);
    }
    flood.clear();
    EXPECT_TRUE(eventually(
        [&] { return count(c, "SELECT count(*) FROM sched_ticks WHERE job = 'fresh'") > before; },
        10s))
        << p->log_text();
    EXPECT_NE(p->log_text().find("job fresh: starting (started_after_deferral)"), std::string::npos)
        << p->log_text();
}

}  // namespace
}  // namespace pgwarden::itest
