// Real clients, each run directly against PostgreSQL (proving the client program itself) and
// through pgwarden in transaction pooling mode.
#include "client_fixture.hpp"
#include "harness.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <regex>
#include <string>

namespace pgwarden::itest {
namespace {

using namespace std::chrono_literals;

class PsqlTest : public TargetTest {};

TEST_P(PsqlTest, ScriptWithTransactionsAndErrors) {
    const std::string script = R"(
\set ON_ERROR_STOP 0
DROP TABLE IF EXISTS psql_t;
CREATE TABLE psql_t (id int PRIMARY KEY, v text);
BEGIN;
INSERT INTO psql_t SELECT g, 'v' || g FROM generate_series(1, 100) g;
COMMIT;
BEGIN;
INSERT INTO psql_t VALUES (1, 'dup');
SELECT 'not reached';
ROLLBACK;
\copy psql_t (id, v) from program 'seq 101 150 | sed s/$/\\tcopied/'
SELECT count(*) AS n FROM psql_t \gset
\echo rows=:n
PREPARE q(int) AS SELECT v FROM psql_t WHERE id = $1;
SELECT 'done';
DROP TABLE psql_t;
)";
    auto r = run_command({"psql", "-X", "-At", "-d", url(), "-c", "SELECT current_user"},
                         {"PGCONNECT_TIMEOUT=10"}, 60s);
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.out, "app\n");
    embedded::SpawnOptions spawn;
    spawn.argv = {"psql", "-X", "-At", "-d", url(), "-f", "-"};
    spawn.env = {"PGCONNECT_TIMEOUT=10"};
    auto s = embedded::run_process(spawn, 60s, script);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->exit_code, 0) << describe(*s);
    EXPECT_NE(s->out.find("rows=150"), std::string::npos) << describe(*s);
    EXPECT_NE(s->out.find("done"), std::string::npos) << describe(*s);
    EXPECT_EQ(s->out.find("not reached"), std::string::npos) << describe(*s);
    EXPECT_NE(s->err.find("duplicate key"), std::string::npos) << describe(*s);
}

TEST_P(PsqlTest, Md5StoredUser) {
    auto r = run_command(
        {"psql", "-X", "-At", "-d", url(kMd5User, kMd5Password), "-c", "SELECT current_user"},
        {"PGCONNECT_TIMEOUT=10"}, 60s);
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.out, "md5user\n");
}

TEST_P(PsqlTest, WrongPasswordIsRejected) {
    auto r = run_command({"psql", "-X", "-At", "-d", url(kAppUser, "wrong"), "-c", "SELECT 1"},
                         {"PGCONNECT_TIMEOUT=10"}, 60s);
    EXPECT_NE(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.err.find("password authentication failed"), std::string::npos) << describe(r);
}

INSTANTIATE_TEST_SUITE_P(Targets, PsqlTest, ::testing::Values(Target::Direct, Target::Pgwarden),
                         TargetName());

// pgbench in each query mode: -M prepared uses named statements across transactions.
class PgbenchTest : public ::testing::TestWithParam<std::tuple<Target, std::string>> {};

TEST_P(PgbenchTest, RunsWithoutFailures) {
    auto [target, mode] = GetParam();
    auto& pg = PostgresEnvironment::pg();
    std::optional<PgwardenProcess> proxy;
    if (target == Target::Pgwarden) {
        ASSERT_EQ(pgwarden_problem(), "");
        auto p = PgwardenProcess::start();
        ASSERT_TRUE(p.ok()) << p.error().message;
        proxy.emplace(std::move(*p));
    }
    Endpoint direct{"127.0.0.1", pg.port()};
    Endpoint ep = proxy ? Endpoint{"127.0.0.1", proxy->port()} : direct;
    std::vector<std::string> env = {"PGPASSWORD=" + std::string(kAppPassword),
                                    "PGCONNECT_TIMEOUT=10"};
    auto init = run_command({"pgbench", "-i", "-s", "1", "-q", "-h", "127.0.0.1", "-p",
                             std::to_string(pg.port()), "-U", kAppUser, kAppDb},
                            env, 120s);
    ASSERT_EQ(init.exit_code, 0) << describe(init);
    // More clients than pool_size (4), so the pool is shared; bounded by transaction count.
    // One pgbench thread per client: in -M prepared pgbench prepares with a blocking
    // PQprepare, which stalls every other client on the same thread -- including ones that
    // hold a server mid-transaction -- so with -j 2 the run can deadlock against any pool
    // smaller than the client count (PgBouncer's too).
    auto run = run_command({"pgbench", "-M", mode, "-c", "8", "-j", "8", "-t", "100", "-n", "-h",
                            "127.0.0.1", "-p", std::to_string(ep.port), "-U", kAppUser, kAppDb},
                           env, 180s);
    EXPECT_EQ(run.exit_code, 0) << describe(run);
    EXPECT_NE(run.out.find("number of transactions actually processed: 800/800"), std::string::npos)
        << describe(run);
    EXPECT_NE(run.out.find("number of failed transactions: 0 "), std::string::npos)
        << describe(run);
    if (proxy && HasFailure()) {
        std::cerr << "--- pgwarden log ---\n" << embedded::tail_file(proxy->log_path(), 60);
    }
}

INSTANTIATE_TEST_SUITE_P(Modes, PgbenchTest,
                         ::testing::Combine(::testing::Values(Target::Direct, Target::Pgwarden),
                                            ::testing::Values("simple", "extended", "prepared")),
                         [](const ::testing::TestParamInfo<std::tuple<Target, std::string>>& info) {
                             return to_string(std::get<0>(info.param)) + "_" +
                                    std::get<1>(info.param);
                         });

class PythonTest : public TargetTest {};

TEST_P(PythonTest, Psycopg3PreparedCopyCancelErrors) {
    // Directly PostgreSQL is a "session"; through the transaction pooler LISTEN is not valid.
    std::string mode = GetParam() == Target::Direct ? "session" : "transaction";
    auto r = run_command({system_python(), client_path("python/psycopg3_client.py"), url(), mode},
                         {}, 120s);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find("all checks passed"), std::string::npos) << describe(r);
}

TEST_P(PythonTest, Psycopg2TransactionsCopyErrors) {
    auto r =
        run_command({system_python(), client_path("python/psycopg2_client.py"), url()}, {}, 120s);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find("all checks passed"), std::string::npos) << describe(r);
}

INSTANTIATE_TEST_SUITE_P(Targets, PythonTest, ::testing::Values(Target::Direct, Target::Pgwarden),
                         TargetName());

// psycopg 3 through pgwarden in session pooling mode, where LISTEN/NOTIFY must work.
class PythonSessionModeTest : public TargetTest {
protected:
    PythonSessionModeTest() { proxy_options_.pool_mode = "session"; }
};

TEST_P(PythonSessionModeTest, Psycopg3WithListenNotify) {
    auto r = run_command(
        {system_python(), client_path("python/psycopg3_client.py"), url(), "session"}, {}, 120s);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find("LISTEN/NOTIFY delivered"), std::string::npos) << describe(r);
}

INSTANTIATE_TEST_SUITE_P(Session, PythonSessionModeTest, ::testing::Values(Target::Pgwarden),
                         TargetName());

}  // namespace
}  // namespace pgwarden::itest
