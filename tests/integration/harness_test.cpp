// Tests of the harness itself, and the smallest end-to-end check of `pgwarden serve`.
#include "harness.hpp"

#include <gtest/gtest.h>

#include <signal.h>

#include <chrono>
#include <thread>

namespace pgwarden::itest {
namespace {

using namespace std::chrono_literals;

TEST(Harness, SharedPostgresHasUsersAndDatabase) {
    auto& pg = PostgresEnvironment::pg();
    auto conn = PgConn::connect(pg.dsn(kAppDb, kAppUser, kAppPassword));
    ASSERT_TRUE(conn.ok()) << conn.error().message;
    EXPECT_EQ(conn->exec("SELECT current_user").scalar(), "app");
    EXPECT_EQ(conn->exec("SHOW max_connections").scalar(), "40");
    auto err = conn->exec("SELECT 1/0");
    EXPECT_FALSE(err.ok);
    EXPECT_EQ(err.sqlstate, "22012");
    auto params = conn->exec_params("SELECT $1::int + $2::int", {"2", "3"});
    EXPECT_EQ(params.scalar(), "5");
    auto md5 = PgConn::connect(pg.dsn(kAppDb, kMd5User, kMd5Password));
    ASSERT_TRUE(md5.ok()) << md5.error().message;
    auto bad = PgConn::connect(pg.dsn(kAppDb, kAppUser, "nope"));
    EXPECT_FALSE(bad.ok());
}

TEST(Harness, RunCommandTimesOut) {
    auto start = std::chrono::steady_clock::now();
    auto r = run_command({"sh", "-c", "echo started; sleep 60"}, {}, 500ms);
    EXPECT_TRUE(r.timed_out);
    EXPECT_EQ(r.out, "started\n");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
}

TEST(Harness, RunCommandPassesEnvironment) {
    auto r = run_command({"sh", "-c", "echo $PGWARDEN_X"}, {"PGWARDEN_X=42"}, 10s);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out, "42\n");
}

class ServeTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_EQ(pgwarden_problem(), ""); }
};

TEST_F(ServeTest, ForwardsQueriesAndStopsOnSigterm) {
    auto proxy = PgwardenProcess::start();
    ASSERT_TRUE(proxy.ok()) << proxy.error().message;
    {
        auto conn = PgConn::connect(proxy->dsn(kAppDb, kAppUser, kAppPassword));
        ASSERT_TRUE(conn.ok()) << conn.error().message << "\n" << proxy->log_text();
        EXPECT_EQ(conn->exec("SELECT current_user || '@' || current_database()").scalar(),
                  "app@appdb");
        auto err = conn->exec("SELECT 1/0");
        EXPECT_EQ(err.sqlstate, "22012");
        EXPECT_EQ(conn->exec("SELECT 2").scalar(), "2");
    }
    proxy->send_signal(SIGTERM);
    int status = proxy->stop(10s);
    EXPECT_EQ(status, 0) << proxy->log_text();
}

TEST_F(ServeTest, BadConfigFailsToStartWithAMessage) {
    auto proxy = PgwardenProcess::start_with([](const PgwardenLayout& layout) {
        return "[pgwarden]\nlisten_port = " + std::to_string(layout.listen_port) +
               "\npool_mode = \"nonsense\"\n";
    });
    ASSERT_FALSE(proxy.ok());
    EXPECT_NE(proxy.error().message.find("pool_mode"), std::string::npos) << proxy.error().message;
}

TEST_F(ServeTest, SurvivesPostgresRestart) {
    auto proxy = PgwardenProcess::start();
    ASSERT_TRUE(proxy.ok()) << proxy.error().message;
    auto conn = PgConn::connect(proxy->dsn(kAppDb, kAppUser, kAppPassword));
    ASSERT_TRUE(conn.ok()) << conn.error().message;
    EXPECT_EQ(conn->exec("SELECT 1").scalar(), "1");
    ASSERT_TRUE(PostgresEnvironment::pg().restart().ok());
    // The old server connection is gone; pgwarden must notice and give a clean answer, and
    // new clients must work again within a bounded time.
    (void)conn->exec("SELECT 1");
    bool recovered = false;
    for (int i = 0; i < 50 && !recovered; ++i) {
        auto fresh = PgConn::connect(proxy->dsn(kAppDb, kAppUser, kAppPassword));
        if (fresh.ok() && fresh->exec("SELECT 3").scalar() == "3") {
            recovered = true;
        } else {
            std::this_thread::sleep_for(200ms);
        }
    }
    EXPECT_TRUE(recovered) << proxy->log_text();
    EXPECT_TRUE(proxy->running());
}

}  // namespace
}  // namespace pgwarden::itest
