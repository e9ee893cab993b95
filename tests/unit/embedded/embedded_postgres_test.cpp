#include "embedded/embedded_postgres.hpp"
#include "embedded/port.hpp"
#include "embedded/process.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>

namespace pgwarden::embedded {
namespace {

using namespace std::chrono_literals;

RunResult psql(const EmbeddedPostgres& pg, const std::string& user, const std::string& password,
               const std::string& sql) {
    SpawnOptions o;
    o.argv = {"psql", "-X", "-At", "-v", "ON_ERROR_STOP=1", "-d", pg.dsn("appdb", user), "-c", sql};
    o.env = {"PGPASSWORD=" + password, "PGCONNECT_TIMEOUT=10"};
    auto r = run_process(o, 30s);
    EXPECT_TRUE(r.ok());
    return r.ok() ? *r : RunResult{};
}

TEST(EmbeddedPostgres, StartConnectRestartStop) {
    EmbeddedPostgres::Options opts;
    opts.auth_method = "md5";
    opts.max_connections = 20;
    opts.users = {{"app", "app pw'1", "scram-sha-256"}, {"old", "old_pw", "md5"}};
    opts.databases = {{"appdb", "app"}};
    opts.settings = {{"application_name", "embedded-test"}};
    auto started = EmbeddedPostgres::start(opts);
    ASSERT_TRUE(started.ok()) << started.error().message;
    std::string dir;
    {
        EmbeddedPostgres pg = std::move(*started);
        dir = pg.socket_dir();
        EXPECT_TRUE(std::filesystem::exists(pg.data_dir() + "/PG_VERSION"));
        EXPECT_NE(pg.port(), 0);
        EXPECT_TRUE(port_accepts("127.0.0.1", pg.port()));

        auto version = pg.run_sql("SHOW server_version_num");
        ASSERT_TRUE(version.ok()) << version.error().message;
        EXPECT_EQ(version->substr(0, 2), "15");
        EXPECT_EQ(*pg.run_sql("SHOW max_connections"), "20");
        EXPECT_EQ(*pg.run_sql("SHOW fsync"), "off");

        // SCRAM-stored and md5-stored passwords both work over TCP.
        auto r = psql(pg, "app", "app pw'1", "SELECT current_user, current_database()");
        EXPECT_EQ(r.exit_code, 0) << r.err;
        EXPECT_EQ(r.out, "app|appdb\n");
        r = psql(pg, "old", "old_pw", "SELECT 1");
        EXPECT_EQ(r.exit_code, 0) << r.err;
        r = psql(pg, "app", "wrong", "SELECT 1");
        EXPECT_NE(r.exit_code, 0);
        EXPECT_NE(r.err.find("password authentication failed"), std::string::npos) << r.err;
        auto stored = pg.run_sql(
            "SELECT rolname, left(rolpassword, 3) FROM pg_authid "
            "WHERE rolname IN ('app','old') ORDER BY 1");
        ASSERT_TRUE(stored.ok());
        EXPECT_EQ(*stored, "app|SCR\nold|md5");

        auto bad = pg.run_sql("SELECT * FROM no_such_table");
        ASSERT_FALSE(bad.ok());
        EXPECT_NE(bad.error().message.find("no_such_table"), std::string::npos);

        auto pid_before = pg.run_sql("SELECT pg_postmaster_start_time()");
        auto restarted = pg.restart();
        ASSERT_TRUE(restarted.ok()) << restarted.error().message;
        EXPECT_TRUE(pg.running());
        auto pid_after = pg.run_sql("SELECT pg_postmaster_start_time()");
        ASSERT_TRUE(pid_after.ok());
        EXPECT_NE(*pid_before, *pid_after);
        r = psql(pg, "app", "app pw'1", "SELECT 2");
        EXPECT_EQ(r.out, "2\n");
        EXPECT_NE(pg.log_tail().find("database system is ready"), std::string::npos);

        auto stopped = pg.stop();
        ASSERT_TRUE(stopped.ok()) << stopped.error().message;
        EXPECT_FALSE(pg.running());
        EXPECT_FALSE(port_accepts("127.0.0.1", pg.port()));
        EXPECT_TRUE(pg.stop().ok());
    }
    EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(EmbeddedPostgres, DestructorStopsARunningServerAndRemovesTheDirectory) {
    EmbeddedPostgres::Options opts;
    opts.superuser_password = "su_pw";
    opts.auth_method = "scram-sha-256";
    auto pg = EmbeddedPostgres::start(opts);
    ASSERT_TRUE(pg.ok()) << pg.error().message;
    std::string dir = pg->socket_dir();
    uint16_t port = pg->port();
    SpawnOptions o;
    o.argv = {"psql", "-X",      "-At", "-d", pg->dsn("postgres", "postgres", "su_pw"),
              "-c",   "SELECT 1"};
    auto r = run_process(o, 30s);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->out, "1\n") << r->err;
    pg = common::make_error("test", "dropped");
    EXPECT_FALSE(std::filesystem::exists(dir));
    EXPECT_FALSE(port_accepts("127.0.0.1", port));
}

TEST(EmbeddedPostgres, KeepDirLeavesTheDirectory) {
    EmbeddedPostgres::Options opts;
    opts.keep_dir = true;
    std::string dir;
    {
        auto pg = EmbeddedPostgres::start(opts);
        ASSERT_TRUE(pg.ok()) << pg.error().message;
        dir = pg->socket_dir();
    }
    EXPECT_TRUE(std::filesystem::exists(dir + "/postgres.log"));
    std::filesystem::remove_all(dir);
}

TEST(Quoting, LiteralsAndIdentifiers) {
    EXPECT_EQ(quote_literal("it's"), "'it''s'");
    EXPECT_EQ(quote_ident("a\"b"), "\"a\"\"b\"");
}

}  // namespace
}  // namespace pgwarden::embedded
