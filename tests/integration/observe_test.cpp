// The observe face of `pgwarden serve` end to end: /metrics against pg_stat_activity, health
// endpoints, alerts that fire and resolve with a webhook to a loopback receiver, and an HTTP
// port under abuse while proxy traffic carries on.
#include "observe_util.hpp"

#include "embedded/port.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <future>
#include <regex>
#include <set>
#include <thread>

namespace pgwarden::itest {
namespace {

using namespace std::chrono_literals;

class ObserveTest : public ::testing::Test {
protected:
    void SetUp() override { ASSERT_EQ(pgwarden_problem(), ""); }
    void start(const PgwardenOptions& options) {
        auto p = PgwardenProcess::start(options);
        ASSERT_TRUE(p.ok()) << p.error().message;
        proxy_.emplace(std::move(*p));
    }
    uint16_t stats_port() const { return proxy_->layout().stats_port; }
    PgConn connect(const std::string& app) {
        auto c = PgConn::connect(proxy_->dsn(kAppDb, kAppUser, kAppPassword) +
                                 " application_name=" + app);
        if (!c.ok()) {
            throw std::runtime_error(c.error().message + "\n" + proxy_->log_text());
        }
        return std::move(*c);
    }
    std::string metrics() { return http_get(stats_port(), "/metrics").body; }
    int pg_activity(const std::string& app, const std::string& state) {
        auto out = PostgresEnvironment::pg().run_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app' AND application_name = '" +
                app + "' AND state = '" + state + "'",
            "postgres");
        return out.ok() ? std::stoi(*out) : -1;
    }
    std::optional<PgwardenProcess> proxy_;
};

TEST_F(ObserveTest, EndpointsAnswerAndCountTraffic) {
    start({});
    auto c = connect("counter");
    for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(c.exec("SELECT 1").ok);
    }
    EXPECT_FALSE(c.exec("SELECT * FROM no_such_table").ok);
    ASSERT_TRUE(c.exec("BEGIN").ok);
    ASSERT_TRUE(c.exec("SELECT 2").ok);
    ASSERT_TRUE(c.exec("COMMIT").ok);

    auto health = http_get(stats_port(), "/healthz");
    EXPECT_EQ(health.status, 200);
    EXPECT_NE(health.body.find("ok"), std::string::npos);
    EXPECT_TRUE(eventually([&] { return http_get(stats_port(), "/readyz").status == 200; }));
    auto alerts = http_get(stats_port(), "/alerts");
    EXPECT_EQ(alerts.status, 200);
    EXPECT_NE(alerts.body.find("\"firing\""), std::string::npos) << alerts.body;

    auto reply = http_get(stats_port(), "/metrics");
    ASSERT_EQ(reply.status, 200);
    const auto& m = reply.body;
    EXPECT_NE(m.find("# TYPE pgwarden_transactions_total counter"), std::string::npos);
    EXPECT_NE(m.find("# HELP pgwarden_server_connections"), std::string::npos);
    const std::vector<std::string> pool = {"database=\"appdb\"", "user=\"app\""};
    // 5 SELECTs, the failed one, and the BEGIN..COMMIT block: 7 transactions, 9 queries.
    EXPECT_EQ(metric_value(m, "pgwarden_transactions_total", pool), 7) << m;
    EXPECT_EQ(metric_value(m, "pgwarden_queries_total", pool), 9) << m;
    EXPECT_GT(metric_value(m, "pgwarden_received_bytes_total", pool).value_or(0), 0);
    EXPECT_GT(metric_value(m, "pgwarden_sent_bytes_total", pool).value_or(0), 0);
    auto errors = pool;
    errors.push_back("sqlstate=\"42P01\"");
    EXPECT_EQ(metric_value(m, "pgwarden_errors_total", errors), 1) << m;
    auto txn_count = metric_value(m, "pgwarden_transaction_duration_seconds_count", pool);
    EXPECT_EQ(txn_count, 7) << m;
    EXPECT_GE(metric_value(m, "pgwarden_admission_wait_seconds_count", pool).value_or(0), 7);
    EXPECT_GT(metric_value(m, "process_resident_memory_bytes", {}).value_or(0), 0) << m;
    EXPECT_GT(metric_value(m, "process_open_fds", {}).value_or(0), 0) << m;
    EXPECT_TRUE(metric_value(m, "pgwarden_alerts_firing", {}).has_value()) << m;
    // The server-wide budget, read from PostgreSQL's max_connections after the first login.
    const std::vector<std::string> server = {
        "server=\"127.0.0.1:" + std::to_string(PostgresEnvironment::pg().port()) + "\""};
    EXPECT_GE(metric_value(m, "pgwarden_backend_connections", server).value_or(-1), 1) << m;
    EXPECT_TRUE(eventually([&] {
        return metric_value(metrics(), "pgwarden_backend_connections_limit", server).value_or(0) >
               0;
    }));
}

// Every ended client connection is counted once, by the reason it ended: an orderly
// Terminate in one series, a wrong password and an unknown database in another. (The
// harness's readiness probe, a bare TCP connect, counts as client_gone.)
TEST_F(ObserveTest, DisconnectsAreCountedByReason) {
    start({});
    const auto reason = [](const char* r) {
        return std::vector<std::string>{std::string("reason=\"") + r + "\""};
    };
    {
        auto c = connect("leaver");
        ASSERT_TRUE(c.exec("SELECT 1").ok);
    }  // PQfinish sends Terminate
    EXPECT_FALSE(PgConn::connect(proxy_->dsn(kAppDb, kAppUser, "wrong-password")).ok());
    EXPECT_FALSE(PgConn::connect(proxy_->dsn("no_such_db", kAppUser, kAppPassword)).ok());
    EXPECT_TRUE(eventually([&] {
        const auto m = metrics();
        return metric_value(m, "pgwarden_client_disconnects_total", reason("client_terminate")) ==
                   1 &&
               metric_value(m, "pgwarden_client_disconnects_total", reason("login_failed")) == 2;
    })) << metrics();
}

TEST_F(ObserveTest, ServerGaugesMatchPgStatActivityUnderLoad) {
    start({.pool_size = 6});
    constexpr int kHolders = 4;
    std::vector<PgConn> holders;
    for (int i = 0; i < kHolders; ++i) {
        holders.push_back(connect("holder"));
        ASSERT_TRUE(holders.back().exec("BEGIN").ok);
        ASSERT_TRUE(holders.back().exec("SELECT 1").ok);
    }
    // Short transactions from other clients keep the pool busy around the holders.
    std::atomic<bool> stop{false};
    std::atomic<int> done{0};
    std::thread load([&] {
        auto c = connect("loader");
        for (int i = 0; i < 2000 && !stop; ++i) {
            if (c.exec("SELECT 1").ok) {
                ++done;
            }
        }
    });
    ASSERT_TRUE(eventually([&] { return done.load() >= 20; }));  // the load is running
    const std::vector<std::string> pool = {"database=\"appdb\"", "user=\"app\""};
    auto active = pool;
    active.push_back("state=\"active\"");
    const int in_pg = pg_activity("holder", "idle in transaction");
    EXPECT_EQ(in_pg, kHolders);
    // The loader's transaction may or may not hold a server at the scrape: holders <= n <= +1.
    const auto m = metrics();
    const auto sv_active = metric_value(m, "pgwarden_server_connections", active);
    ASSERT_TRUE(sv_active.has_value()) << m;
    EXPECT_GE(*sv_active, in_pg);
    EXPECT_LE(*sv_active, in_pg + 1);
    auto cls = pool;
    cls.push_back("state=\"active\"");
    EXPECT_GE(metric_value(m, "pgwarden_client_connections", cls).value_or(-1), kHolders) << m;
    stop = true;
    load.join();
    EXPECT_GT(done.load(), 0);
    // Quiet again: the gauge equals pg_stat_activity exactly. (The loader's last lease is
    // released just after its reply was flushed, so give it a moment.)
    std::optional<double> quiet;
    EXPECT_TRUE(eventually([&] {
        quiet = metric_value(metrics(), "pgwarden_server_connections", active);
        return quiet == kHolders;
    })) << quiet.value_or(-1);
    EXPECT_EQ(quiet, pg_activity("holder", "idle in transaction"));
    for (auto& h : holders) {
        ASSERT_TRUE(h.exec("COMMIT").ok);
    }
    EXPECT_TRUE(eventually(
        [&] { return metric_value(metrics(), "pgwarden_server_connections", active) == 0; }));
}

TEST_F(ObserveTest, SuspectedLeakIsCountedListedAndAlerted) {
    PgwardenOptions options;
    options.extra_settings = "admin_users = [\"app\"]\n";
    options.extra_tables =
        "[classes.jobs]\napplication_name = \"leaky*\"\n"
        "max_checkout_time = \"1s\"\n\n"
        "[alerts]\nevaluation_interval = \"200ms\"\n";
    start(options);
    auto leaker = connect("leaky-job");
    ASSERT_TRUE(leaker.exec("BEGIN").ok);
    ASSERT_TRUE(leaker.exec("SELECT 1").ok);
    const std::vector<std::string> jobs = {"database=\"appdb\"", "user=\"app\"", "class=\"jobs\""};
    EXPECT_TRUE(eventually([&] {
        return metric_value(metrics(), "pgwarden_suspected_leaks", jobs) == 1;
    })) << metrics();
    // The total counts the governor's reports, made on its own pass (every 250 ms).
    EXPECT_TRUE(eventually([&] {
        return metric_value(metrics(), "pgwarden_suspected_leaks_total", jobs).value_or(0) >= 1;
    }));
    std::string alerts;
    EXPECT_TRUE(eventually([&] {
        alerts = http_get(stats_port(), "/alerts").body;
        return alerts.find("PgwardenSuspectedLeak") != std::string::npos &&
               alerts.find("\"firing\":[]") == std::string::npos;
    })) << alerts;
    auto leaks = psql(*proxy_, "pgbouncer", kAppUser, kAppPassword, "SHOW LEAKS");
    ASSERT_EQ(leaks.exit_code, 0) << describe(leaks);
    EXPECT_NE(leaks.out.find("|max_checkout_time|appdb|app|jobs|127.0.0.1:"), std::string::npos)
        << leaks.out;
    EXPECT_NE(leaks.out.find("leaky-job"), std::string::npos) << leaks.out;
    ASSERT_TRUE(leaker.exec("COMMIT").ok);
    EXPECT_TRUE(
        eventually([&] { return metric_value(metrics(), "pgwarden_suspected_leaks", jobs) == 0; }));
}

// Measures (does not assert) the proxy time of a scrape with 100 pools, as the previous
// scrape's pgwarden_scrape_duration_seconds reports it; the figure is printed for the record.
TEST_F(ObserveTest, ScrapeOfAHundredPoolsIsMeasured) {
    PgwardenOptions options;
    options.extra_tables = "[databases.\"*\"]\nhost = \"127.0.0.1\"\nport = " +
                           std::to_string(PostgresEnvironment::pg().port()) + "\n";
    start(options);
    // Each login to a database PostgreSQL does not have fails, but leaves its pool behind.
    for (int i = 0; i < 100; ++i) {
        (void)PgConn::connect(proxy_->dsn("nodb" + std::to_string(i), kAppUser, kAppPassword));
    }
    const auto first = metrics();
    EXPECT_EQ(metric_value(first, "pgwarden_pool_size", {"database=\"nodb99\""}), 4) << first;
    double worst = 0;
    double total = 0;
    constexpr int kScrapes = 20;
    for (int i = 0; i < kScrapes; ++i) {
        const double d =
            metric_value(metrics(), "pgwarden_scrape_duration_seconds", {}).value_or(-1);
        ASSERT_GE(d, 0);
        worst = std::max(worst, d);
        total += d;
    }
    std::printf("[ measure  ] scrape of 100 pools: mean %.3f ms, worst %.3f ms of proxy time\n",
                total / kScrapes * 1e3, worst * 1e3);
}

// The scheduler's jobs (#6) on /metrics and on the admin console.
TEST_F(ObserveTest, ScheduledJobsShowOnMetricsAndShowJobs) {
    PgwardenOptions options;
    options.extra_settings = "admin_users = [\"app\"]\n";
    options.extra_tables =
        "[jobs.observe_tick]\nevery = \"1s\"\ndatabase = \"appdb\"\n"
        "user = \"app\"\nsql = \"SELECT 1\"\n";
    start(options);
    const std::vector<std::string> ok = {"job=\"observe_tick\"", "outcome=\"succeeded\""};
    std::string m;
    EXPECT_TRUE(eventually(
        [&] {
            m = metrics();
            return metric_value(m, "pgwarden_job_runs_total", ok).value_or(0) >= 1;
        },
        20s))
        << m;
    EXPECT_NE(m.find("# TYPE pgwarden_job_duration_seconds histogram"), std::string::npos);
    auto jobs = psql(*proxy_, "pgbouncer", kAppUser, kAppPassword, "SHOW JOBS");
    ASSERT_EQ(jobs.exit_code, 0) << describe(jobs);
    EXPECT_NE(jobs.out.find("observe_tick|sql|every 1s|"), std::string::npos) << jobs.out;
    // Every family the scheduler adds is documented too.
    std::ifstream in(std::string(PGWARDEN_SOURCE_DIR) + "/docs/metrics.md");
    const std::string docs((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (size_t at = m.find("# TYPE pgwarden_job_"); at != std::string::npos;
         at = m.find("# TYPE pgwarden_job_", at + 1)) {
        const auto name = m.substr(at + 7, m.find(' ', at + 7) - at - 7);
        EXPECT_NE(docs.find("`" + name + "`"), std::string::npos) << name;
    }
}

TEST_F(ObserveTest, ReadyzReportsAnUnreachableUpstream) {
    auto dead = embedded::pick_free_port();
    ASSERT_TRUE(dead.ok());
    PgwardenOptions options;
    options.extra_tables =
        "[databases.dead]\nhost = \"127.0.0.1\"\nport = " + std::to_string(*dead) + "\n";
    start(options);
    HttpReply r;
    EXPECT_TRUE(eventually([&] {
        r = http_get(stats_port(), "/readyz");
        return r.status == 503;
    })) << r.status
        << " " << r.body;
    EXPECT_NE(r.body.find("\"reason\""), std::string::npos) << r.body;
    EXPECT_NE(r.body.find(std::to_string(*dead)), std::string::npos) << r.body;
    EXPECT_EQ(http_get(stats_port(), "/healthz").status, 200);
}

TEST_F(ObserveTest, AdmissionTimeoutIsCountedByKindAndSqlstate) {
    PgwardenOptions options;
    options.pool_size = 1;
    options.extra_tables =
        "[classes.impatient]\napplication_name = \"impatient\"\n"
        "query_wait_timeout = \"300ms\"\n";
    start(options);
    auto holder = connect("holder");
    ASSERT_TRUE(holder.exec("BEGIN").ok);
    ASSERT_TRUE(holder.exec("SELECT 1").ok);
    auto impatient = connect("impatient");
    auto r = impatient.exec("SELECT 2");
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.sqlstate, "53300") << r.error;
    const std::vector<std::string> cls = {"database=\"appdb\"", "class=\"impatient\"",
                                          "kind=\"admission_wait\""};
    const auto m = metrics();
    EXPECT_EQ(metric_value(m, "pgwarden_timeouts_total", cls), 1) << m;
    EXPECT_EQ(
        metric_value(m, "pgwarden_errors_total", {"class=\"impatient\"", "sqlstate=\"53300\""}), 1)
        << m;
    ASSERT_TRUE(holder.exec("COMMIT").ok);
    EXPECT_TRUE(impatient.exec("SELECT 3").ok);  // the connection survived its timeout
}

TEST_F(ObserveTest, ReadyzFailsWhileTheTopClassWaits) {
    PgwardenOptions options;
    options.pool_size = 1;
    start(options);
    auto holder = connect("holder");
    ASSERT_TRUE(holder.exec("BEGIN").ok);
    ASSERT_TRUE(holder.exec("SELECT 1").ok);
    auto waiter = connect("waiter");
    auto pending = std::async(std::launch::async, [&] { return waiter.exec("SELECT 2"); });
    HttpReply r;
    EXPECT_TRUE(eventually([&] {
        r = http_get(stats_port(), "/readyz");
        return r.status == 503;
    })) << r.body;
    EXPECT_NE(r.body.find("has waited"), std::string::npos) << r.body;
    ASSERT_TRUE(holder.exec("COMMIT").ok);
    EXPECT_TRUE(pending.get().ok);
    EXPECT_TRUE(eventually([&] { return http_get(stats_port(), "/readyz").status == 200; }));
}

TEST_F(ObserveTest, UtilizationAlertFiresResolvesAndReachesTheWebhook) {
    WebhookReceiver receiver;
    PgwardenOptions options;
    options.pool_size = 2;
    options.extra_tables =
        "[alerts]\n"
        "evaluation_interval = \"200ms\"\n"
        "utilization_warning = 0.5\n"
        "utilization_warning_for = \"1s\"\n"
        "utilization_warning_resolve = 0.4\n"
        "utilization_critical_for = \"1s\"\n"
        "utilization_resolve_for = \"1s\"\n"
        "webhook_url = \"http://127.0.0.1:" +
        std::to_string(receiver.port()) +
        "/hook\"\n"
        "webhook_backoff = \"100ms\"\n";
    start(options);
    std::vector<PgConn> holders;
    for (int i = 0; i < 2; ++i) {
        holders.push_back(connect("alerting"));
        ASSERT_TRUE(holders.back().exec("BEGIN").ok);
        ASSERT_TRUE(holders.back().exec("SELECT 1").ok);
    }
    std::string body;
    EXPECT_TRUE(eventually([&] {
        body = http_get(stats_port(), "/alerts").body;
        const auto firing = body.find("\"firing\":[");
        return firing != std::string::npos &&
               body.find("PgwardenPoolUtilizationHigh", firing) != std::string::npos &&
               body.find("\"firing\":[]") == std::string::npos;
    })) << body;
    const std::vector<std::string> warning = {"alertname=\"PgwardenPoolUtilizationHigh\"",
                                              "severity=\"warning\""};
    EXPECT_EQ(metric_value(metrics(), "pgwarden_alerts_firing", warning), 1);
    for (auto& h : holders) {
        ASSERT_TRUE(h.exec("COMMIT").ok);
    }
    EXPECT_TRUE(eventually(
        [&] { return metric_value(metrics(), "pgwarden_alerts_firing", warning) == 0; }));
    EXPECT_TRUE(eventually([&] {
        bool firing = false;
        bool resolved = false;
        for (const auto& b : receiver.bodies()) {
            firing = firing || b.find("\"status\":\"firing\"") != std::string::npos;
            resolved = resolved || b.find("\"status\":\"resolved\"") != std::string::npos;
        }
        return firing && resolved;
    })) << receiver.bodies().size()
        << " webhook bodies";
    const auto log = proxy_->log_text();
    EXPECT_NE(log.find("alert firing: PgwardenPoolUtilizationHigh"), std::string::npos);
    EXPECT_NE(log.find("alert resolved: PgwardenPoolUtilizationHigh"), std::string::npos);
}

// Opens a TCP connection to the stats port and sends `bytes` without closing.
int open_partial(uint16_t port, const std::string& bytes) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    (void)::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    return fd;
}

TEST_F(ObserveTest, HttpAbuseLeavesProxyTrafficAlone) {
    start({});
    const uint16_t port = stats_port();
    // Slow clients: a request line and half a header, then nothing.
    std::vector<int> slow;
    for (int i = 0; i < 10; ++i) {
        slow.push_back(open_partial(port, "GET /metrics HTTP/1.1\r\nHost: x"));
    }
    std::atomic<bool> stop{false};
    std::atomic<int> abuse_answers{0};
    std::atomic<int> wrong_answers{0};
    std::thread abuser([&] {
        const std::string big(32 * 1024, 'a');
        for (int i = 0; i < 40 && !stop; ++i) {
            auto bad = http_raw(port, "BLAH\r\n\r\n");
            auto huge = http_raw(port, "GET /metrics HTTP/1.1\r\nX-Big: " + big + "\r\n\r\n");
            auto post = http_raw(port, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
            auto bin = http_raw(port, std::string("\x16\x03\x01\x00\xff\x00\x00", 7));
            abuse_answers += 1;
            if (bad.status != 400 || huge.status != 431 || post.status != 405 ||
                (bin.status != 0 && bin.status != 400)) {
                ++wrong_answers;
            }
        }
    });
    auto c = connect("under-abuse");
    int ok = 0;
    for (int i = 0; i < 300; ++i) {
        auto r = c.exec("SELECT " + std::to_string(i));
        ok += r.ok && r.scalar() == std::to_string(i) ? 1 : 0;
    }
    stop = true;
    abuser.join();
    EXPECT_EQ(ok, 300);
    EXPECT_GT(abuse_answers.load(), 0);
    EXPECT_EQ(wrong_answers.load(), 0);
    // The slow clients are cut off by the header read timeout (5 s).
    for (int fd : slow) {
        ASSERT_GE(fd, 0);
        timeval tv{15, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char buf[512];
        ssize_t n = 0;
        do {
            n = ::recv(fd, buf, sizeof buf, 0);
        } while (n > 0);
        EXPECT_EQ(n, 0) << "slow HTTP client not closed by the server";
        ::close(fd);
    }
    const auto m = metrics();
    EXPECT_GE(metric_value(m, "pgwarden_http_timeouts_total", {}).value_or(0), 10) << m;
    EXPECT_GE(metric_value(m, "pgwarden_http_rejected_requests_total", {}).value_or(0), 3) << m;
    EXPECT_EQ(http_get(port, "/healthz").status, 200);
    EXPECT_TRUE(c.exec("SELECT 1").ok);
}

}  // namespace
}  // namespace pgwarden::itest

namespace pgwarden::itest {
namespace {

// Every family a live scrape exposes is documented, and every metric the Grafana dashboard
// queries exists: renaming a metric without its docs or dashboard fails here.
TEST(ObserveDocs, ScrapeFamiliesAreDocumentedAndGrafanaQueriesExist) {
    ASSERT_EQ(pgwarden_problem(), "");
    auto p = PgwardenProcess::start({});
    ASSERT_TRUE(p.ok()) << p.error().message;
    {
        auto c = PgConn::connect(p->dsn(kAppDb, kAppUser, kAppPassword));
        ASSERT_TRUE(c.ok());
        ASSERT_TRUE(c->exec("SELECT 1").ok);
    }
    const auto scrape = http_get(p->layout().stats_port, "/metrics").body;
    std::set<std::string> families;
    for (size_t at = scrape.find("# TYPE "); at != std::string::npos;
         at = scrape.find("# TYPE ", at + 1)) {
        const auto start = at + 7;
        families.insert(scrape.substr(start, scrape.find(' ', start) - start));
    }
    ASSERT_GT(families.size(), 30u) << scrape;
    auto read = [](const std::string& rel) {
        std::ifstream in(std::string(PGWARDEN_SOURCE_DIR) + "/" + rel);
        return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    };
    const auto docs = read("docs/metrics.md");
    for (const auto& f : families) {
        EXPECT_NE(docs.find("`" + f + "`"), std::string::npos) << f << " is not in docs/metrics.md";
    }
    const auto grafana = read("deploy/grafana-dashboard.json");
    ASSERT_FALSE(grafana.empty());
    const std::regex name(R"((pgwarden|process)_[a-z_]+)");
    for (auto it = std::sregex_iterator(grafana.begin(), grafana.end(), name);
         it != std::sregex_iterator(); ++it) {
        std::string metric = it->str();
        if (metric == "pgwarden_overview") {
            continue;  // the dashboard's uid
        }
        for (const char* suffix : {"_bucket", "_sum", "_count"}) {
            if (metric.size() > std::strlen(suffix) && metric.ends_with(suffix) &&
                families.count(metric.substr(0, metric.size() - std::strlen(suffix)))) {
                metric.resize(metric.size() - std::strlen(suffix));
            }
        }
        EXPECT_TRUE(families.count(metric)) << metric << " (Grafana) is not exposed";
    }
}

}  // namespace
}  // namespace pgwarden::itest
