// Connection governance against a real PostgreSQL with max_connections = 30: the
// post-mortem's flood (background jobs swamping the server) and leak (a handler that leaves
// its transaction open), through pgwarden and, as a control, straight to PostgreSQL.
#include "harness.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

namespace pgwarden::itest {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kSuperPassword = "super_pw";

// Seconds the flood runs: the issue asks for 30; PGWARDEN_FLOOD_SECONDS may shorten it when
// iterating locally.
int flood_seconds() {
    if (const char* env = std::getenv("PGWARDEN_FLOOD_SECONDS")) {
        return std::max(3, std::atoi(env));
    }
    return 30;
}

class GovernanceTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_EQ(pgwarden_problem(), "");
        embedded::EmbeddedPostgres::Options opts;
        opts.max_connections = 30;  // superuser_reserved_connections stays at its default 3
        opts.auth_method = "md5";
        opts.superuser_password = kSuperPassword;
        opts.users = {{kAppUser, kAppPassword, "scram-sha-256"}};
        opts.databases = {{kAppDb, kAppUser}};
        auto pg = embedded::EmbeddedPostgres::start(opts);
        ASSERT_TRUE(pg) << pg.error().message;
        pg_ = std::make_unique<embedded::EmbeddedPostgres>(std::move(*pg));
    }

    // The config: one appdb pool of `pool_size`, plus `tables` ([classes.*]).
    void start_pgwarden(int pool_size, const std::string& tables,
                        const std::string& query_wait_timeout = "30s") {
        const uint16_t port = pg_->port();
        auto proc = PgwardenProcess::start_with([&](const PgwardenLayout& layout) {
            std::string text = "[pgwarden]\n";
            text += "listen_addr = [\"127.0.0.1\"]\n";
            text += fmt::format("listen_port = {}\n", layout.listen_port);
            text += fmt::format("auth_file = \"{}\"\n", layout.auth_file);
            text += "auth_type = \"scram-sha-256\"\n";
            text += fmt::format("default_pool_size = {}\n", pool_size);
            text += "max_client_conn = 400\n";
            text += "workers = 2\n";
            text += fmt::format("query_wait_timeout = \"{}\"\n", query_wait_timeout);
            text += "server_connect_timeout = \"5s\"\n";
            text += "shutdown_timeout = \"2s\"\n";
            text += "log_level = \"info\"\n";
            text += fmt::format("admin_users = [\"{}\"]\n", kAppUser);
            text += "log_connections = false\nlog_disconnections = false\n";
            text += fmt::format("stats_listen = \"127.0.0.1:{}\"\n", layout.stats_port);
            text +=
                fmt::format("\n[databases.{}]\nhost = \"127.0.0.1\"\nport = {}\n\n", kAppDb, port);
            text += tables;
            return text;
        });
        ASSERT_TRUE(proc) << proc.error().message;
        proxy_ = std::make_unique<PgwardenProcess>(std::move(*proc));
    }

    std::string via_pgwarden(const std::string& app) const {
        return proxy_->dsn(kAppDb, kAppUser, kAppPassword) + " application_name=" + app;
    }
    std::string direct(const std::string& app) const {
        return pg_->dsn(kAppDb, kAppUser, kAppPassword) + " application_name=" + app;
    }
    PgConn superuser() const {
        auto c = PgConn::connect(pg_->dsn("postgres", "postgres", kSuperPassword));
        EXPECT_TRUE(c) << c.error().message;
        return std::move(*c);
    }

    // Waits until `pred(log)` holds or `limit` passes; returns the time it took.
    std::optional<SteadyClock::duration> wait_for_log(
        const std::function<bool(const std::string&)>& pred, std::chrono::milliseconds limit) {
        const auto start = SteadyClock::now();
        while (SteadyClock::now() - start < limit) {
            if (pred(proxy_->log_text())) {
                return SteadyClock::now() - start;
            }
            std::this_thread::sleep_for(50ms);
        }
        return std::nullopt;
    }

    std::unique_ptr<embedded::EmbeddedPostgres> pg_;
    std::unique_ptr<PgwardenProcess> proxy_;
};

const char* kFloodClasses = R"(
[classes.api]
application_name = "api*"
reserve = 5
priority = 10
query_wait_timeout = "5s"

[classes.background]
application_name = "bg*"
max = 8
query_wait_timeout = "120s"
)";

double percentile(std::vector<double> v, double p) {
    if (v.empty()) {
        return 0;
    }
    std::sort(v.begin(), v.end());
    const auto i = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
    return v[i];
}

TEST_F(GovernanceTest, FloodKeepsApiServedAndBackgroundCapped) {
    ASSERT_NO_FATAL_FAILURE(start_pgwarden(20, kFloodClasses));
    const auto run_for = std::chrono::seconds(flood_seconds());
    std::atomic<bool> stop{false};
    std::atomic<int> bg_connected{0};
    std::atomic<int> bg_queries{0};
    std::atomic<int> bg_errors{0};
    std::mutex mu;
    std::vector<double> api_ms;
    std::vector<std::string> api_failures;

    std::vector<std::thread> threads;
    for (int i = 0; i < 60; ++i) {
        threads.emplace_back([&, i] {
            auto c = PgConn::connect(via_pgwarden(fmt::format("bg-worker-{}", i)));
            if (!c) {
                bg_errors.fetch_add(1);
                return;
            }
            bg_connected.fetch_add(1);
            for (int n = 0; n < 100 && !stop.load(); ++n) {
                auto r = c->exec("SELECT pg_sleep(2)");
                (r.ok ? bg_queries : bg_errors).fetch_add(1);
            }
        });
    }
    // Let the flood build up before the API clients arrive, as in the incident.
    std::this_thread::sleep_for(3s);
    for (int i = 0; i < 20; ++i) {
        threads.emplace_back([&, i] {
            auto c = PgConn::connect(via_pgwarden(fmt::format("api-{}", i)));
            if (!c) {
                std::lock_guard lock(mu);
                api_failures.push_back("connect: " + c.error().message);
                return;
            }
            std::vector<double> mine;
            for (int n = 0; n < 100000 && !stop.load(); ++n) {
                const auto t0 = SteadyClock::now();
                auto r = c->exec("SELECT count(*) FROM pg_class");
                const auto t1 = SteadyClock::now();
                if (!r.ok) {
                    std::lock_guard lock(mu);
                    api_failures.push_back(r.sqlstate + " " + r.error);
                    continue;
                }
                mine.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
                std::this_thread::sleep_for(10ms);
            }
            std::lock_guard lock(mu);
            api_ms.insert(api_ms.end(), mine.begin(), mine.end());
        });
    }

    // The server's own view: background's share never passes its cap, the total never
    // passes the budget (max_connections 30 - 3 superuser-reserved - margin 2 = 25).
    auto su = superuser();
    int max_bg_busy = 0;
    int max_backends = 0;
    const auto start = SteadyClock::now();
    while (SteadyClock::now() - start < run_for) {
        auto bg = su.exec(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'bg-%' "
            "AND state <> 'idle'");
        auto all = su.exec(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
            "AND usename = 'app'");
        ASSERT_TRUE(bg.ok && all.ok) << bg.error << all.error;
        max_bg_busy = std::max(max_bg_busy, std::stoi(bg.scalar()));
        max_backends = std::max(max_backends, std::stoi(all.scalar()));
        std::this_thread::sleep_for(200ms);
    }
    stop.store(true);
    for (auto& t : threads) {
        t.join();
    }

    const double p50 = percentile(api_ms, 0.50);
    const double p99 = percentile(api_ms, 0.99);
    std::printf(
        "flood: api queries=%zu p50=%.2f ms p99=%.2f ms max=%.2f ms; bg connected=%d "
        "queries=%d errors=%d; max bg busy=%d max app backends=%d\n",
        api_ms.size(), p50, p99, percentile(api_ms, 1.0), bg_connected.load(), bg_queries.load(),
        bg_errors.load(), max_bg_busy, max_backends);
    EXPECT_TRUE(api_failures.empty())
        << api_failures.size()
        << " api failures, first: " << (api_failures.empty() ? "" : api_failures.front());
    EXPECT_GT(api_ms.size(), 200u);
    // Admission is immediate for the API's reserve; what remains is query time on a busy
    // 2-core machine. The bound is loose on purpose (no timing assertions on shared CI);
    // the figures are printed above.
    EXPECT_LT(p99, 1000.0);
    EXPECT_EQ(bg_connected.load(), 60);
    EXPECT_EQ(bg_errors.load(), 0);
    EXPECT_GT(bg_queries.load(), 8);
    EXPECT_LE(max_bg_busy, 8) << "background exceeded its cap on the server";
    EXPECT_GE(max_bg_busy, 6) << "the flood did not fill background's share";
    EXPECT_LE(max_backends, 25) << "pgwarden went past the server-wide budget";

    // pgwarden's own admission-wait histogram for the api class (SHOW CLASSES): the reserve
    // means api requests do not queue behind the flood. The bound is a bucket edge, so the
    // assertion is about queueing, not about this machine's speed.
    auto admin = PgConn::connect(proxy_->dsn("pgwarden", kAppUser, kAppPassword));
    ASSERT_TRUE(admin) << admin.error().message;
    auto classes = admin->exec("SHOW CLASSES");
    ASSERT_TRUE(classes.ok) << classes.error;
    bool saw_api = false;
    for (const auto& row : classes.rows) {
        // database, user, class, sv_active, max, reserved, cl_active, cl_waiting, maxwait_us,
        // priority, checkouts, wait_timeouts, wait_p99_us
        ASSERT_EQ(row.size(), 13u);
        if (row[2] == "api") {
            saw_api = true;
            std::printf("api admission: %s checkouts, p99 wait <= %s us, %s wait timeouts\n",
                        row[10].c_str(), row[12].c_str(), row[11].c_str());
            EXPECT_GT(std::stoll(row[10]), 200);
            EXPECT_EQ(row[11], "0");
            EXPECT_GE(std::stoll(row[12]), 0);
            EXPECT_LE(std::stoll(row[12]), 50000) << "api p99 admission wait above 50 ms";
        }
        if (row[2] == "background") {
            EXPECT_LE(std::stoll(row[3]), 8);
        }
    }
    EXPECT_TRUE(saw_api);

    // Control: the same mix straight at PostgreSQL runs out of connections.
    std::vector<PgConn> direct_conns;
    int refused = 0;
    std::string refusal;
    for (int i = 0; i < 80; ++i) {
        auto c = PgConn::connect(
            direct(i < 60 ? fmt::format("bg-direct-{}", i) : fmt::format("api-direct-{}", i)));
        if (!c) {
            ++refused;
            refusal = c.error().message;
            continue;
        }
        direct_conns.push_back(std::move(*c));
    }
    std::printf("control: %zu direct connections accepted, %d refused (%s)\n", direct_conns.size(),
                refused, refusal.c_str());
    EXPECT_GT(refused, 0);
    // PostgreSQL says "too many clients already", or, once only superuser slots remain,
    // "remaining connection slots are reserved": both are SQLSTATE 53300.
    EXPECT_TRUE(refusal.find("too many clients") != std::string::npos ||
                refusal.find("remaining connection slots are reserved") != std::string::npos)
        << refusal;
}

const char* kLeakClasses = R"(
[classes.api]
application_name = "api*"
reserve = 4
priority = 10
idle_transaction_timeout = "2s"
leak_action = "terminate"

[classes.reports]
application_name = "report*"
query_timeout = "1s"
idle_transaction_timeout = "1s"
leak_action = "report"
)";

TEST_F(GovernanceTest, LeakIsDetectedAttributedAndReclaimed) {
    ASSERT_NO_FATAL_FAILURE(start_pgwarden(10, kLeakClasses));
    std::atomic<bool> stop{false};
    std::atomic<int> api_ok{0};
    std::vector<std::string> api_failures;
    std::mutex mu;
    std::vector<std::thread> traffic;
    for (int i = 0; i < 4; ++i) {
        traffic.emplace_back([&, i] {
            auto c = PgConn::connect(via_pgwarden(fmt::format("api-good-{}", i)));
            if (!c) {
                std::lock_guard lock(mu);
                api_failures.push_back(c.error().message);
                return;
            }
            for (int n = 0; n < 100000 && !stop.load(); ++n) {
                auto r = c->exec("SELECT 1");
                if (r.ok) {
                    api_ok.fetch_add(1);
                } else {
                    std::lock_guard lock(mu);
                    api_failures.push_back(r.error);
                }
                std::this_thread::sleep_for(5ms);
            }
        });
    }

    // Three handlers that forget their rows inside a transaction.
    std::vector<PgConn> leaks;
    std::vector<std::string> leak_pids;
    for (int i = 0; i < 3; ++i) {
        auto c = PgConn::connect(via_pgwarden("api-leaky-endpoint"));
        ASSERT_TRUE(c) << c.error().message;
        ASSERT_TRUE(c->exec("BEGIN").ok);
        auto r = c->exec("SELECT pg_backend_pid(), 'card-4111-1111' AS secret");
        ASSERT_TRUE(r.ok) << r.error;
        leak_pids.push_back(r.scalar());
        leaks.push_back(std::move(*c));
    }
    const auto idle_from = SteadyClock::now();

    auto detected = wait_for_log(
        [](const std::string& log) {
            size_t n = 0;
            for (size_t at = log.find("suspected leak"); at != std::string::npos;
                 at = log.find("suspected leak", at + 1)) {
                ++n;
            }
            return n >= 3;
        },
        10s);
    ASSERT_TRUE(detected) << proxy_->log_text();
    const double after = std::chrono::duration<double>(SteadyClock::now() - idle_from).count();
    std::printf("leak: 3 reports %.2f s after the transactions went idle (threshold 2 s)\n", after);
    EXPECT_LE(after, 3.0 + 0.5) << "detected later than the threshold plus 1 s";
    const std::string log = proxy_->log_text();
    EXPECT_NE(log.find("app=api-leaky-endpoint"), std::string::npos) << log;
    EXPECT_NE(log.find("class=api"), std::string::npos) << log;
    EXPECT_NE(log.find("SELECT pg_backend_pid(), ? AS secret"), std::string::npos) << log;
    EXPECT_EQ(log.find("card-4111"), std::string::npos) << "literals must be masked";
    EXPECT_NE(log.find("action=terminate"), std::string::npos) << log;

    // Reclaimed: the backends are back in the pool, idle (rolled back, not closed).
    auto su = superuser();
    bool reclaimed = false;
    for (int i = 0; i < 40 && !reclaimed; ++i) {
        auto r = su.exec(fmt::format(
            "SELECT count(*) FROM pg_stat_activity WHERE pid IN ({}) AND state = 'idle'",
            fmt::format("{},{},{}", leak_pids[0], leak_pids[1], leak_pids[2])));
        reclaimed = r.ok && r.scalar() == "3";
        std::this_thread::sleep_for(100ms);
    }
    EXPECT_TRUE(reclaimed) << "leaked server connections were not returned clean";
    auto in_txn = su.exec("SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in%'");
    EXPECT_EQ(in_txn.scalar(), "0");

    // The leaking client learns why: the FATAL arrives while it is idle, which libpq hands
    // to the notice processor when it next reads.
    std::string notice;
    PQsetNoticeProcessor(
        leaks[0].raw(),
        [](void* arg, const char* message) { *static_cast<std::string*>(arg) += message; },
        &notice);
    for (int i = 0; i < 20 && notice.empty(); ++i) {
        PQconsumeInput(leaks[0].raw());
        (void)PQisBusy(leaks[0].raw());  // parses what arrived
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_NE(notice.find("idle in transaction"), std::string::npos) << notice;
    EXPECT_NE(notice.find("class \"api\""), std::string::npos) << notice;
    EXPECT_FALSE(leaks[0].exec("SELECT 1").ok);

    stop.store(true);
    for (auto& t : traffic) {
        t.join();
    }
    EXPECT_TRUE(api_failures.empty()) << api_failures.front();
    EXPECT_GT(api_ok.load(), 100);
}

TEST_F(GovernanceTest, ReportOnlyLeakKeepsTheSessionAndQueryTimeoutCancels) {
    ASSERT_NO_FATAL_FAILURE(start_pgwarden(8, kLeakClasses));
    auto c = PgConn::connect(via_pgwarden("report-nightly"));
    ASSERT_TRUE(c) << c.error().message;
    ASSERT_TRUE(c->exec("BEGIN").ok);
    ASSERT_TRUE(c->exec("SELECT 42").ok);
    auto detected = wait_for_log(
        [](const std::string& log) {
            return log.find("suspected leak") != std::string::npos &&
                   log.find("action=report") != std::string::npos;
        },
        5s);
    ASSERT_TRUE(detected) << proxy_->log_text();
    // Reported only: the transaction is still there and commits.
    EXPECT_TRUE(c->exec("SELECT 1").ok);
    EXPECT_TRUE(c->exec("COMMIT").ok);

    // query_timeout = 1s: a 30 s query is cancelled, the session survives.
    const auto t0 = SteadyClock::now();
    auto slow = c->exec("SELECT pg_sleep(30)");
    const double took = std::chrono::duration<double>(SteadyClock::now() - t0).count();
    EXPECT_FALSE(slow.ok);
    EXPECT_EQ(slow.sqlstate, "57014") << slow.error;
    EXPECT_LT(took, 10.0);
    EXPECT_TRUE(c->exec("SELECT 1").ok);
    EXPECT_NE(proxy_->log_text().find("query_timeout (1s) exceeded"), std::string::npos);
}

TEST_F(GovernanceTest, CappedClassTimesOutWithItsNameAndClientLimit) {
    const std::string classes = R"(
[classes.background]
application_name = "bg*"
max = 1
query_wait_timeout = "1s"
max_client_conn = 2
)";
    ASSERT_NO_FATAL_FAILURE(start_pgwarden(10, classes));
    auto holder = PgConn::connect(via_pgwarden("bg-holder"));
    ASSERT_TRUE(holder) << holder.error().message;
    ASSERT_TRUE(holder->exec("BEGIN").ok);
    ASSERT_TRUE(holder->exec("SELECT 1").ok);
    auto second = PgConn::connect(via_pgwarden("bg-second"));
    ASSERT_TRUE(second) << second.error().message;
    // The pool has 9 free connections, but the class is at its cap.
    auto r = second->exec("SELECT 1");
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.sqlstate, "53300");
    EXPECT_NE(r.error.find("class \"background\""), std::string::npos) << r.error;
    EXPECT_NE(r.error.find("appdb/app"), std::string::npos) << r.error;
    // Other classes are unaffected.
    auto other = PgConn::connect(via_pgwarden("web"));
    ASSERT_TRUE(other) << other.error().message;
    EXPECT_TRUE(other->exec("SELECT 1").ok);
    // The class's own client limit.
    auto third = PgConn::connect(via_pgwarden("bg-third"));
    ASSERT_FALSE(third);
    EXPECT_NE(third.error().message.find("class \"background\""), std::string::npos)
        << third.error().message;
    ASSERT_TRUE(holder->exec("COMMIT").ok);
    EXPECT_TRUE(second->exec("SELECT 1").ok);  // the wait timeout cost one query, not the session
}

TEST_F(GovernanceTest, ServerBudgetComesFromMaxConnections) {
    // A pool larger than the server can take: pgwarden reads max_connections and stays
    // within 30 - 3 - 2 = 25 however many clients ask.
    ASSERT_NO_FATAL_FAILURE(start_pgwarden(40, "", "3s"));
    std::atomic<int> waited_out{0};
    std::atomic<int> held{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 30; ++i) {
        threads.emplace_back([&, i] {
            auto c = PgConn::connect(via_pgwarden(fmt::format("worker-{}", i)));
            if (!c) {
                return;
            }
            // BEGIN borrows a server until COMMIT (transaction mode): 25 get one, 5 wait
            // out their query_wait_timeout.
            if (!c->exec("BEGIN").ok) {
                waited_out.fetch_add(1);
                return;
            }
            held.fetch_add(1);
            std::this_thread::sleep_for(5s);
            c->exec("COMMIT");
        });
    }
    std::this_thread::sleep_for(4s);
    auto su = superuser();
    auto backends = su.exec(
        "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND "
        "usename = 'app'");
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_LE(std::stoi(backends.scalar()), 25);
    EXPECT_EQ(held.load(), 25);
    EXPECT_NE(proxy_->log_text().find("budget of 25 server connections"), std::string::npos)
        << proxy_->log_text();
    EXPECT_EQ(waited_out, 5);
}

}  // namespace
}  // namespace pgwarden::itest
