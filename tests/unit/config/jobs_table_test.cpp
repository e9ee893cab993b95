#include "config/config.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace pgwarden::config {
namespace {

using namespace std::chrono_literals;

std::string dump(const LoadResult& r) {
    std::string out;
    for (const auto& e : r.errors) {
        out += e.to_string() + "\n";
    }
    return out;
}

// A valid base: trust auth and one database with a user, so job tables can be tested alone.
// Its [databases.app] table ends on line 7; job tables start on line 8.
std::string base() {
    return "[pgwarden]\n"
           "auth_type = \"trust\"\n"
           "[databases.app]\n"
           "host = \"127.0.0.1\"\n"
           "port = 5432\n"
           "user = \"app\"\n"
           "\n";
}

LoadResult load(const std::string& tables) {
    return load_string(base() + tables, "p.toml");
}

TEST(JobsTable, MinimalSqlJobGetsTheDefaults) {
    auto r = load("[jobs.cleanup]\nevery = \"10m\"\ndatabase = \"app\"\nsql = \"SELECT 1\"\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    ASSERT_EQ(r.config->jobs.size(), 1u);
    const JobConfig& j = r.config->jobs.at("cleanup");
    EXPECT_EQ(j.name, "cleanup");
    EXPECT_EQ(j.every, std::optional<Duration>(10min));
    EXPECT_TRUE(j.schedule.empty());
    EXPECT_EQ(j.kind, JobKind::Sql);
    EXPECT_EQ(j.sql, std::vector<std::string>{"SELECT 1"});
    EXPECT_EQ(j.database, "app");
    EXPECT_EQ(j.connections, 1);
    EXPECT_EQ(j.queue, "default");
    EXPECT_EQ(j.overlap, JobOverlap::Skip);
    EXPECT_EQ(j.misfire, JobMisfire::RunOnce);
    EXPECT_FALSE(j.max_staleness);
    EXPECT_TRUE(j.transaction);
    EXPECT_TRUE(j.enabled);
    EXPECT_EQ(j.timezone, "UTC");
    EXPECT_EQ(j.config_line, 8);
    const SchedulerConfig defaults;
    EXPECT_EQ(r.config->scheduler.max_concurrency, defaults.max_concurrency);
    EXPECT_DOUBLE_EQ(r.config->scheduler.pressure_utilization, 0.7);
    EXPECT_EQ(r.config->scheduler.lease, 60s);
}

TEST(JobsTable, EveryKey) {
    auto r = load(
        "[classes.batch]\n"
        "max = 2\n"
        "[jobs.report]\n"
        "schedule = \"30 2 * * MON-FRI\"\n"
        "timezone = \"Europe/Berlin\"\n"
        "jitter = \"30s\"\n"
        "kind = \"command\"\n"
        "command = [\"/usr/bin/report\", \"--daily\"]\n"
        "database = \"app\"\n"
        "user = \"reporter\"\n"
        "class = \"batch\"\n"
        "connections = 2\n"
        "queue = \"reports\"\n"
        "overlap = \"queue_one\"\n"
        "max_staleness = \"30m\"\n"
        "priority = -5\n"
        "misfire = \"skip\"\n"
        "retries = 3\n"
        "retry_backoff = \"5s\"\n"
        "retry_backoff_max = \"1m\"\n"
        "timeout = \"15m\"\n"
        "transaction = false\n"
        "enabled = false\n"
        "output_limit = 1024\n"
        "[scheduler]\n"
        "enabled = true\n"
        "max_concurrency = 6\n"
        "pressure_utilization = 0.8\n"
        "history_retention = \"2d\"\n"
        "lease = \"30s\"\n"
        "instance_id = \"node-a\"\n"
        "database = \"app\"\n"
        "user = \"state\"\n"
        "[scheduler.queues]\n"
        "reports = 2\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    const JobConfig& j = r.config->jobs.at("report");
    EXPECT_EQ(j.schedule, "30 2 * * MON-FRI");
    EXPECT_FALSE(j.every);
    EXPECT_EQ(j.timezone, "Europe/Berlin");
    EXPECT_EQ(j.jitter, 30s);
    EXPECT_EQ(j.kind, JobKind::Command);
    EXPECT_EQ(j.command, (std::vector<std::string>{"/usr/bin/report", "--daily"}));
    EXPECT_FALSE(j.command_shell);
    EXPECT_EQ(j.user, "reporter");
    EXPECT_EQ(j.workload_class, "batch");
    EXPECT_EQ(j.connections, 2);
    EXPECT_EQ(j.queue, "reports");
    EXPECT_EQ(j.overlap, JobOverlap::QueueOne);
    EXPECT_EQ(j.max_staleness, std::optional<Duration>(30min));
    EXPECT_EQ(j.priority, -5);
    EXPECT_EQ(j.misfire, JobMisfire::Skip);
    EXPECT_EQ(j.retries, 3);
    EXPECT_EQ(j.retry_backoff, 5s);
    EXPECT_EQ(j.retry_backoff_max, 1min);
    EXPECT_EQ(j.timeout, 15min);
    EXPECT_FALSE(j.transaction);
    EXPECT_FALSE(j.enabled);
    EXPECT_EQ(j.output_limit, 1024);
    const SchedulerConfig& s = r.config->scheduler;
    EXPECT_EQ(s.max_concurrency, 6);
    EXPECT_DOUBLE_EQ(s.pressure_utilization, 0.8);
    EXPECT_EQ(s.history_retention, 48h);
    EXPECT_EQ(s.lease, 30s);
    EXPECT_EQ(s.instance_id, "node-a");
    EXPECT_EQ(s.database, "app");
    EXPECT_EQ(s.user, "state");
    EXPECT_EQ(s.queues, (std::map<std::string, int>{{"reports", 2}}));
}

TEST(JobsTable, CommandStringRunsThroughTheShellAndHttpNeedsAUrl) {
    auto r = load(
        "[jobs.a]\nevery = \"1m\"\ndatabase = \"app\"\nkind = \"command\"\n"
        "command = \"echo hi | wc -c\"\n"
        "[jobs.b]\nevery = \"1m\"\ndatabase = \"app\"\nkind = \"http\"\n"
        "url = \"http://127.0.0.1:8080/x\"\nmethod = \"post\"\n"
        "[jobs.c]\nevery = \"1m\"\ndatabase = \"app\"\nsql = [\"SELECT 1\", \"SELECT 2\"]\n");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_TRUE(r.config->jobs.at("a").command_shell);
    EXPECT_EQ(r.config->jobs.at("a").command, std::vector<std::string>{"echo hi | wc -c"});
    EXPECT_EQ(r.config->jobs.at("b").method, "POST");
    EXPECT_EQ(r.config->jobs.at("b").url, "http://127.0.0.1:8080/x");
    EXPECT_EQ(r.config->jobs.at("c").sql.size(), 2u);
}

TEST(JobsTable, BadCronIsAnErrorWithLineKeyAndHint) {
    auto r = load(
        "[jobs.cleanup]\nschedule = \"61 * * * *\"\ndatabase = \"app\"\n"
        "sql = \"SELECT 1\"\n");
    ASSERT_EQ(r.errors.size(), 1u) << dump(r);
    const Diagnostic& d = r.errors[0];
    EXPECT_EQ(d.file, "p.toml");
    EXPECT_EQ(d.line, 9);
    EXPECT_EQ(d.key, "jobs.cleanup.schedule");
    EXPECT_NE(d.message.find("invalid cron expression \"61 * * * *\""), std::string::npos)
        << d.message;
    EXPECT_NE(d.message.find("out of range"), std::string::npos) << d.message;
    EXPECT_NE(d.hint.find("5 fields"), std::string::npos) << d.hint;
}

TEST(JobsTable, UnknownKeyGetsANearestOrAliasHint) {
    auto r = load(
        "[jobs.cleanup]\nevery = \"1m\"\ndatabase = \"app\"\nsql = \"SELECT 1\"\n"
        "overlapp = \"skip\"\ncron = \"* * * * *\"\n");
    ASSERT_EQ(r.errors.size(), 2u) << dump(r);
    EXPECT_EQ(r.errors[0].to_string(),
              "p.toml:12:1: jobs.cleanup.overlapp: unknown key (did you mean `overlap`?)");
    EXPECT_EQ(r.errors[1].to_string(),
              "p.toml:13:1: jobs.cleanup.cron: unknown key (did you mean `schedule`?)");
}

TEST(JobsTable, MissingRequiredKeys) {
    auto r = load("[jobs.cleanup]\nkind = \"sql\"\n");
    ASSERT_EQ(r.errors.size(), 3u) << dump(r);
    for (const auto& d : r.errors) {
        EXPECT_EQ(d.line, 8) << d.to_string();
        EXPECT_EQ(d.key, "jobs.cleanup");
    }
    EXPECT_NE(dump(r).find("missing required key `schedule` or `every`"), std::string::npos);
    EXPECT_NE(dump(r).find("missing required key `database`"), std::string::npos);
    EXPECT_NE(dump(r).find("kind = \"sql\" needs `sql`"), std::string::npos);
}

TEST(JobsTable, CrossChecks) {
    auto r = load(
        "[jobs.a]\nevery = \"1m\"\nschedule = \"* * * * *\"\ndatabase = \"ap\"\n"
        "sql = \"SELECT 1\"\nurl = \"http://x/\"\n"
        "[jobs.b]\nevery = \"10s\"\njitter = \"10s\"\ndatabase = \"app\"\nsql = \"SELECT 1\"\n"
        "connections = 9\n"
        "[jobs.c]\nevery = \"1m\"\ndatabase = \"app\"\nsql = \"SELECT 1\"\n"
        "timezone = \"Mars/Olympus\"\nkind = \"ftp\"\n");
    const std::string all = dump(r);
    EXPECT_FALSE(r.ok());
    EXPECT_NE(all.find("jobs.a: has both `schedule` and `every`"), std::string::npos) << all;
    EXPECT_NE(all.find("jobs.a.database: no [databases.ap] table (did you mean `app`?)"),
              std::string::npos)
        << all;
    EXPECT_NE(all.find("jobs.a.url: `url` is for kind = \"http\""), std::string::npos) << all;
    EXPECT_NE(all.find("jobs.b.jitter: jitter 10s must be shorter than the interval 10s"),
              std::string::npos)
        << all;
    EXPECT_NE(all.find("jobs.b.connections: the job needs 9 connections but [scheduler] "
                       "max_concurrency is 4"),
              std::string::npos)
        << all;
    EXPECT_NE(all.find("jobs.c.timezone: unknown time zone \"Mars/Olympus\""), std::string::npos)
        << all;
    EXPECT_NE(all.find("jobs.c.kind:"), std::string::npos) << all;
}

TEST(JobsTable, JobNeedsAUserFromItselfOrItsDatabase) {
    auto r = load_string(
        "[pgwarden]\nauth_type = \"trust\"\n[databases.app]\nhost = \"h\"\n"
        "[jobs.a]\nevery = \"1m\"\ndatabase = \"app\"\nsql = \"SELECT 1\"\n",
        "p.toml");
    ASSERT_EQ(r.errors.size(), 1u) << dump(r);
    EXPECT_EQ(r.errors[0].to_string(),
              "p.toml:5:1: jobs.a: no user to run as (set user = \"...\" here or in "
              "[databases.app])");
}

TEST(JobsTable, SchedulerTableErrors) {
    auto r = load(
        "[scheduler]\npressure_utilization = 1.5\nlease = \"100ms\"\nmax_running = 3\n"
        "database = \"nope\"\n[scheduler.queues]\nreports = 0\n");
    const std::string all = dump(r);
    ASSERT_EQ(r.errors.size(), 5u) << all;
    EXPECT_NE(all.find("scheduler.pressure_utilization: must be a number above 0 and at most 1"),
              std::string::npos)
        << all;
    EXPECT_NE(all.find("scheduler.lease: must be at least 1s"), std::string::npos) << all;
    EXPECT_NE(all.find("scheduler.max_running: unknown key (did you mean `max_concurrency`?)"),
              std::string::npos)
        << all;
    EXPECT_NE(all.find("scheduler.database: no [databases.nope] table"), std::string::npos) << all;
    EXPECT_NE(all.find("scheduler.queues.reports:"), std::string::npos) << all;
}

TEST(JobsTable, JobKeyInTheWrongTableSaysWhereItBelongs) {
    auto s = load_string("[pgwarden]\nauth_type = \"trust\"\nmax_staleness = \"5m\"\n", "p.toml");
    const std::string all = dump(s);
    EXPECT_NE(all.find("pgwarden.max_staleness: unknown key (`max_staleness` belongs in a "
                       "[jobs.NAME] table)"),
              std::string::npos)
        << all;
}

TEST(JobsTable, KindNamesRoundTrip) {
    EXPECT_EQ(to_string(JobKind::Command), "command");
    EXPECT_EQ(to_string(JobOverlap::CancelPrevious), "cancel_previous");
    EXPECT_EQ(to_string(JobMisfire::RunOnce), "run_once");
}

}  // namespace
}  // namespace pgwarden::config
