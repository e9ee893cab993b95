// The admin console through psql: every command, PgBouncer's column names, and refusals.
#include "observe_util.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <fstream>
#include <future>
#include <thread>

namespace pgwarden::itest {
namespace {

using namespace std::chrono_literals;

constexpr const char* kNobody = "nobody";  // in the auth file, in neither admin list
constexpr const char* kNobodyPassword = "nobody_pw";

class AdminTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_EQ(pgwarden_problem(), "");
        PgwardenOptions options;
        options.pool_size = 3;
        options.extra_settings =
            fmt::format("admin_users = [\"{}\"]\nstats_users = [\"{}\"]\n", kAppUser, kMd5User);
        auto p = PgwardenProcess::start_with([&](const PgwardenLayout& layout) {
            const std::string users = layout.dir + "/admin-users.txt";
            std::ofstream(users) << fmt::format("\"{}\" \"{}\"\n\"{}\" \"{}\"\n\"{}\" \"{}\"\n",
                                                kAppUser, kAppPassword, kMd5User, kMd5Password,
                                                kNobody, kNobodyPassword);
            auto text = default_config_text(layout, options);
            const auto at = text.find(layout.auth_file);
            text.replace(at, layout.auth_file.size(), users);
            return text;
        });
        ASSERT_TRUE(p.ok()) << p.error().message;
        proxy_.emplace(std::move(*p));
    }
    embedded::RunResult admin(const std::string& sql, bool tuples_only = true) {
        return psql(*proxy_, "pgbouncer", kAppUser, kAppPassword, sql, tuples_only);
    }
    PgConn connect(const std::string& app) {
        auto c = PgConn::connect(proxy_->dsn(kAppDb, kAppUser, kAppPassword) +
                                 " application_name=" + app);
        if (!c.ok()) {
            throw std::runtime_error(c.error().message + "\n" + proxy_->log_text());
        }
        return std::move(*c);
    }
    // The header line of a SHOW (psql without -t prints it first).
    std::string header(const std::string& what) {
        auto r = admin("SHOW " + what, false);
        EXPECT_EQ(r.exit_code, 0) << describe(r);
        return r.out.substr(0, r.out.find('\n'));
    }
    // Rows whose first fields match `prefix` ("appdb|app|").
    std::vector<std::string> rows(const std::string& what, const std::string& prefix) {
        auto r = admin("SHOW " + what);
        EXPECT_EQ(r.exit_code, 0) << describe(r);
        std::vector<std::string> out;
        size_t pos = 0;
        while (pos < r.out.size()) {
            auto eol = r.out.find('\n', pos);
            auto line = r.out.substr(pos, eol - pos);
            if (line.rfind(prefix, 0) == 0) {
                out.push_back(line);
            }
            pos = eol == std::string::npos ? r.out.size() : eol + 1;
        }
        return out;
    }
    std::optional<PgwardenProcess> proxy_;
};

std::vector<std::string> split(const std::string& line) {
    std::vector<std::string> out;
    size_t pos = 0;
    for (;;) {
        auto bar = line.find('|', pos);
        out.push_back(line.substr(pos, bar - pos));
        if (bar == std::string::npos) {
            return out;
        }
        pos = bar + 1;
    }
}

TEST_F(AdminTest, ShowCommandsUsePgBouncerColumns) {
    EXPECT_EQ(header("POOLS"),
              "database|user|cl_active|cl_waiting|cl_active_cancel_req|cl_waiting_cancel_req|"
              "sv_active|sv_active_cancel|sv_being_canceled|sv_idle|sv_used|sv_tested|sv_login|"
              "maxwait|maxwait_us|pool_mode");
    EXPECT_EQ(header("STATS"),
              "database|total_xact_count|total_query_count|total_received|total_sent|"
              "total_xact_time|total_query_time|total_wait_time|avg_xact_count|avg_query_count|"
              "avg_recv|avg_sent|avg_xact_time|avg_query_time|avg_wait_time");
    EXPECT_EQ(header("STATS_TOTALS"),
              "database|xact_count|query_count|bytes_received|"
              "bytes_sent|xact_time|query_time|wait_time");
    EXPECT_EQ(header("STATS_AVERAGES"),
              "database|xact_count|query_count|bytes_received|"
              "bytes_sent|xact_time|query_time|wait_time");
    EXPECT_EQ(header("TOTALS"), "name|value");
    EXPECT_EQ(header("USERS"), "name|pool_mode|current_connections");
    EXPECT_EQ(header("JOBS").rfind("job|kind|schedule|queue|state|", 0), 0u) << header("JOBS");
    const std::string conn_cols =
        "type|user|database|state|addr|port|local_addr|local_port|connect_time|request_time|"
        "wait|wait_us|close_needed|ptr|link|remote_pid|tls|application_name|"
        "prepared_statements|age_us|last_statement";
    EXPECT_EQ(header("CLIENTS"), conn_cols);
    EXPECT_EQ(header("SERVERS"), conn_cols);
    EXPECT_EQ(header("DATABASES"),
              "name|host|port|database|force_user|pool_size|min_pool_size|reserve_pool|"
              "pool_mode|max_connections|current_connections|paused|disabled");
    EXPECT_EQ(header("LISTS"), "list|items");
    EXPECT_EQ(header("CONFIG"), "key|value|default|changeable");
    EXPECT_EQ(header("VERSION"), "version");
    EXPECT_EQ(header("CLASSES"),
              "database|user|class|sv_active|max_connections|"
              "reserved_connections|cl_active|cl_waiting|maxwait_us|"
              "priority|checkouts|wait_timeouts|wait_p99_us");
    EXPECT_EQ(header("LEAKS"),
              "detected|kind|database|user|class|client|application_name|"
              "held_us|idle_us|transaction_state|action|last_statement");
    EXPECT_EQ(header("ALERTS"),
              "alertname|severity|state|database|user|class|value|threshold|"
              "starts_at|summary");

    auto holder = connect("holder-app");
    ASSERT_TRUE(holder.exec("BEGIN").ok);
    ASSERT_TRUE(holder.exec("SELECT 'secret' AS held_by_holder").ok);
    auto pools = rows("POOLS", "appdb|app|");
    ASSERT_EQ(pools.size(), 1u);
    auto f = split(pools[0]);
    EXPECT_EQ(f[2], "1");  // cl_active
    EXPECT_EQ(f[3], "0");  // cl_waiting
    EXPECT_EQ(f[6], "1");  // sv_active
    EXPECT_EQ(f[15], "transaction");
    auto clients = rows("CLIENTS", "C|app|appdb|");
    ASSERT_EQ(clients.size(), 1u);
    auto c = split(clients[0]);
    EXPECT_EQ(c[3], "active");
    EXPECT_EQ(c[4], "127.0.0.1");
    EXPECT_EQ(c[17], "holder-app");
    // The default class masks literals: no user data on the console.
    EXPECT_EQ(c[20], "SELECT ? AS held_by_holder");
    auto servers = rows("SERVERS", "S|app|appdb|active|");
    ASSERT_EQ(servers.size(), 1u);
    EXPECT_EQ(split(servers[0])[15],
              std::to_string(std::stoi(PostgresEnvironment::pg()
                                           .run_sql("SELECT pid FROM pg_stat_activity WHERE "
                                                    "application_name = 'holder-app'",
                                                    "postgres")
                                           .value())));
    ASSERT_TRUE(holder.exec("COMMIT").ok);
    auto stats = rows("STATS", "appdb|");
    ASSERT_EQ(stats.size(), 1u);
    EXPECT_GE(std::stoi(split(stats[0])[1]), 1);  // total_xact_count
    EXPECT_GE(std::stoi(split(stats[0])[2]), 2);  // total_query_count
    auto totals = rows("STATS_TOTALS", "appdb|");
    ASSERT_EQ(totals.size(), 1u);
    EXPECT_EQ(split(totals[0])[1], split(stats[0])[1]);  // xact_count = total_xact_count
    EXPECT_EQ(rows("TOTALS", "xact_count|").size(), 1u);
    EXPECT_EQ(rows("USERS", "app|transaction|").size(), 1u);
    auto dbs = rows("DATABASES", "appdb|");
    ASSERT_EQ(dbs.size(), 1u);
    EXPECT_EQ(split(dbs[0])[5], "3");  // pool_size
    EXPECT_EQ(rows("LISTS", "pools|").size(), 1u);
    EXPECT_EQ(rows("CONFIG", "default_pool_size|3|20|").size(), 1u);
    EXPECT_EQ(rows("VERSION", "pgwarden ").size(), 1u);
    EXPECT_EQ(rows("CLASSES", "appdb|app|default|").size(), 1u);
    // The second admin database name works too, and SHOW is case-insensitive with a semicolon.
    auto r = psql(*proxy_, "pgwarden", kAppUser, kAppPassword, "show version;");
    EXPECT_EQ(r.exit_code, 0) << describe(r);
}

TEST_F(AdminTest, RefusalsAndUnknownCommands) {
    auto stats_show = psql(*proxy_, "pgbouncer", kMd5User, kMd5Password, "SHOW POOLS");
    EXPECT_EQ(stats_show.exit_code, 0) << describe(stats_show);
    for (const char* cmd : {"PAUSE", "RESUME", "RELOAD", "KILL appdb", "SHUTDOWN"}) {
        auto r = psql(*proxy_, "pgbouncer", kMd5User, kMd5Password, cmd);
        EXPECT_NE(r.exit_code, 0) << cmd;
        EXPECT_NE(r.err.find("42501"), std::string::npos) << cmd << ": " << describe(r);
    }
    // libpq shows no SQLSTATE for a refused login, so the code (42501) is checked through
    // pgwarden's log line and the message through psql.
    auto nobody = psql(*proxy_, "pgbouncer", kNobody, kNobodyPassword, "SHOW POOLS");
    EXPECT_NE(nobody.exit_code, 0);
    EXPECT_NE(nobody.err.find("is not allowed on the admin console"), std::string::npos)
        << describe(nobody);
    EXPECT_NE(proxy_->log_text().find("user=nobody refused on the admin console"),
              std::string::npos);
    auto wrong = psql(*proxy_, "pgbouncer", kAppUser, "wrong", "SHOW POOLS");
    EXPECT_NE(wrong.exit_code, 0);
    EXPECT_NE(wrong.err.find("password authentication failed"), std::string::npos)
        << describe(wrong);
    auto unknown = admin("FROBNICATE");
    EXPECT_NE(unknown.exit_code, 0);
    EXPECT_NE(unknown.err.find("42601"), std::string::npos) << describe(unknown);
    auto unknown_show = admin("SHOW NOTHING");
    EXPECT_NE(unknown_show.err.find("42601"), std::string::npos) << describe(unknown_show);
    auto no_db = admin("PAUSE nosuchdb");
    EXPECT_NE(no_db.err.find("3D000"), std::string::npos) << describe(no_db);
    // The proxy still serves after all of that.
    EXPECT_TRUE(connect("after-refusals").exec("SELECT 1").ok);
}

TEST_F(AdminTest, PauseMakesTransactionsWaitUntilResume) {
    auto client = connect("paused-app");
    ASSERT_TRUE(client.exec("SELECT 1").ok);
    auto pause = admin("PAUSE appdb");
    ASSERT_EQ(pause.exit_code, 0) << describe(pause);
    EXPECT_EQ(rows("DATABASES", "appdb|").size(), 1u);
    EXPECT_EQ(split(rows("DATABASES", "appdb|")[0])[11], "1");  // paused
    auto pending = std::async(std::launch::async, [&] { return client.exec("SELECT 42"); });
    // The query waits (it does not fail): the session shows up as waiting.
    EXPECT_TRUE(eventually([&] {
        auto c = rows("CLIENTS", "C|app|appdb|waiting|");
        return c.size() == 1;
    }));
    EXPECT_EQ(pending.wait_for(0ms), std::future_status::timeout);
    auto resume = admin("RESUME appdb");
    ASSERT_EQ(resume.exit_code, 0) << describe(resume);
    auto result = pending.get();
    EXPECT_TRUE(result.ok) << result.error;
    EXPECT_EQ(result.scalar(), "42");
}

TEST_F(AdminTest, KillDropsTheDatabasesClients) {
    auto victim = connect("victim");
    ASSERT_TRUE(victim.exec("BEGIN").ok);
    ASSERT_TRUE(victim.exec("SELECT 1").ok);
    auto kill = admin("KILL appdb");
    ASSERT_EQ(kill.exit_code, 0) << describe(kill);
    EXPECT_FALSE(victim.exec("SELECT 2").ok);
    EXPECT_TRUE(eventually([&] {
        auto out = PostgresEnvironment::pg().run_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'victim'", "postgres");
        return out.ok() && *out == "0";
    }));
    ASSERT_EQ(admin("RESUME").exit_code, 0);
    EXPECT_TRUE(connect("after-kill").exec("SELECT 1").ok);
}

TEST_F(AdminTest, ReloadAppliesTheNewConfigAndShutdownStops) {
    {
        std::ifstream in(proxy_->config_path());
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        const auto at = text.find("default_pool_size = 3");
        ASSERT_NE(at, std::string::npos);
        text.replace(at, 21, "default_pool_size = 5");
        std::ofstream(proxy_->config_path()) << text;
    }
    auto reload = admin("RELOAD");
    ASSERT_EQ(reload.exit_code, 0) << describe(reload);
    EXPECT_TRUE(eventually([&] { return rows("CONFIG", "default_pool_size|5|").size() == 1; }));
    admin("SHUTDOWN");
    EXPECT_TRUE(eventually([&] { return !proxy_->running(); })) << proxy_->log_text();
}

}  // namespace
}  // namespace pgwarden::itest
