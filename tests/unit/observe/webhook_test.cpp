#include "observe/webhook.hpp"

#include "http_test_util.hpp"
#include "observe/beast.hpp"
#include "observe/observability.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <mutex>
#include <thread>
#include <vector>

namespace pgwarden::observe {
namespace {

namespace asio = net::asio;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// A loopback webhook receiver: answers each POST with the next scripted status (the last one
// repeats) and records the bodies. Blocking Beast on its own thread.
class Receiver {
public:
    explicit Receiver(std::vector<unsigned> statuses)
        : statuses_(std::move(statuses)), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
        thread_ = std::thread([this] { serve(); });
    }
    ~Receiver() {
        stop_ = true;
        net::error_code ignored;
        // Wake the blocking accept with one last connection.
        tcp::socket poke(io_);
        poke.connect(acceptor_.local_endpoint(), ignored);
        thread_.join();
    }
    uint16_t port() const { return acceptor_.local_endpoint().port(); }
    std::vector<std::string> bodies() {
        std::lock_guard lock(mu_);
        return bodies_;
    }
    std::vector<std::string> targets() {
        std::lock_guard lock(mu_);
        return targets_;
    }

private:
    void serve() {
        size_t n = 0;
        while (!stop_) {
            tcp::socket s(io_);
            net::error_code ec;
            acceptor_.accept(s, ec);
            if (ec || stop_) {
                break;
            }
            beast::flat_buffer buf;
            http::request<http::string_body> req;
            http::read(s, buf, req, ec);
            if (ec) {
                continue;
            }
            unsigned status = statuses_[std::min(n, statuses_.size() - 1)];
            ++n;
            {
                std::lock_guard lock(mu_);
                bodies_.push_back(req.body());
                targets_.push_back(std::string(req.target()));
            }
            http::response<http::string_body> res{static_cast<http::status>(status), 11};
            if (status != 204) {
                res.body() = "ok";
            }
            res.prepare_payload();
            http::write(s, res, ec);
            s.shutdown(tcp::socket::shutdown_both, ec);
        }
    }

    std::vector<unsigned> statuses_;
    asio::io_context io_;
    tcp::acceptor acceptor_;
    std::thread thread_;
    std::atomic<bool> stop_{false};
    std::mutex mu_;
    std::vector<std::string> bodies_;
    std::vector<std::string> targets_;
};

WebhookConfig fast_config(uint16_t port) {
    WebhookConfig cfg;
    cfg.url = "http://127.0.0.1:" + std::to_string(port) + "/hook?x=1";
    cfg.timeout = 1s;
    cfg.initial_backoff = 50ms;
    cfg.max_backoff = 200ms;
    cfg.max_attempts = 3;
    return cfg;
}

template <typename F>
bool wait_for(F done, std::chrono::milliseconds limit = 5s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (done()) {
            return true;
        }
        std::this_thread::sleep_for(10ms);
    }
    return done();
}

TEST(HttpUrl, ParsesAndRejects) {
    auto u = parse_http_url("http://127.0.0.1:9093/api/v2/alerts");
    ASSERT_TRUE(u.ok());
    EXPECT_EQ(u->host, "127.0.0.1");
    EXPECT_EQ(u->port, "9093");
    EXPECT_EQ(u->target, "/api/v2/alerts");
    auto d = parse_http_url("http://alerts.local");
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->port, "80");
    EXPECT_EQ(d->target, "/");
    auto v6 = parse_http_url("http://[::1]:8080/x");
    ASSERT_TRUE(v6.ok());
    EXPECT_EQ(v6->host, "::1");
    EXPECT_FALSE(parse_http_url("https://x/").ok());
    EXPECT_FALSE(parse_http_url("http://:80/").ok());
    EXPECT_FALSE(parse_http_url("http://x:0/").ok());
    EXPECT_FALSE(parse_http_url("http://x:abc/").ok());
    EXPECT_FALSE(parse_http_url("http://user:pw@x/").ok());
}

TEST(WebhookSender, RetriesAfterA500ThenDelivers) {
    std::signal(SIGPIPE, SIG_IGN);
    Receiver receiver({500, 200});
    asio::io_context io;
    auto guard = asio::make_work_guard(io);
    auto sender = WebhookSender::create(io.get_executor(), fast_config(receiver.port()));
    ASSERT_TRUE(sender.ok());
    (*sender)->start();
    std::thread t([&io] { io.run(); });
    EXPECT_TRUE((*sender)->enqueue(R"({"version":"4"})"));
    EXPECT_TRUE(wait_for([&] { return (*sender)->stats().sent == 1; }));
    auto stats = (*sender)->stats();
    EXPECT_EQ(stats.retries, 1u);
    EXPECT_EQ(stats.failed, 0u);
    EXPECT_EQ(stats.queued, 0u);
    auto bodies = receiver.bodies();
    ASSERT_EQ(bodies.size(), 2u);
    EXPECT_EQ(bodies[0], R"({"version":"4"})");
    EXPECT_EQ(bodies[1], bodies[0]);
    EXPECT_EQ(receiver.targets()[0], "/hook?x=1");
    (*sender)->stop();
    guard.reset();
    io.stop();
    t.join();
}

TEST(WebhookSender, GivesUpAfterMaxAttemptsAndKeepsGoing) {
    Receiver receiver({500, 500, 500, 204});
    asio::io_context io;
    auto guard = asio::make_work_guard(io);
    auto sender = WebhookSender::create(io.get_executor(), fast_config(receiver.port()));
    ASSERT_TRUE(sender.ok());
    (*sender)->start();
    std::thread t([&io] { io.run(); });
    (*sender)->enqueue("first");
    (*sender)->enqueue("second");
    EXPECT_TRUE(wait_for([&] { return (*sender)->stats().sent == 1; }));
    auto stats = (*sender)->stats();
    EXPECT_EQ(stats.failed, 1u);
    EXPECT_EQ(stats.retries, 2u);
    auto bodies = receiver.bodies();
    ASSERT_EQ(bodies.size(), 4u);
    EXPECT_EQ(bodies[3], "second");
    (*sender)->stop();
    guard.reset();
    io.stop();
    t.join();
}

TEST(WebhookSender, UnreachableReceiverIsRetriedThenCounted) {
    // A port nobody listens on: connect is refused at once.
    uint16_t dead_port = 0;
    {
        asio::io_context tmp;
        tcp::acceptor a(tmp, {asio::ip::make_address("127.0.0.1"), 0});
        dead_port = a.local_endpoint().port();
    }
    asio::io_context io;
    auto guard = asio::make_work_guard(io);
    auto cfg = fast_config(dead_port);
    cfg.max_attempts = 2;
    auto sender = WebhookSender::create(io.get_executor(), cfg);
    ASSERT_TRUE(sender.ok());
    (*sender)->start();
    std::thread t([&io] { io.run(); });
    (*sender)->enqueue("x");
    EXPECT_TRUE(wait_for([&] { return (*sender)->stats().failed == 1; }));
    (*sender)->stop();
    guard.reset();
    io.stop();
    t.join();
}

TEST(WebhookSender, FullQueueDropsWithoutBlocking) {
    asio::io_context io;  // never run: nothing is delivered
    auto cfg = fast_config(9);
    cfg.queue_capacity = 2;
    auto sender = WebhookSender::create(io.get_executor(), cfg);
    ASSERT_TRUE(sender.ok());
    EXPECT_TRUE((*sender)->enqueue("1"));
    EXPECT_TRUE((*sender)->enqueue("2"));
    auto t0 = std::chrono::steady_clock::now();
    EXPECT_FALSE((*sender)->enqueue("3"));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 10ms);
    EXPECT_EQ((*sender)->stats().dropped, 1u);
    EXPECT_EQ((*sender)->stats().queued, 2u);
}

TEST(WebhookSender, BadUrlIsAnError) {
    asio::io_context io;
    WebhookConfig cfg;
    cfg.url = "ftp://x/";
    EXPECT_FALSE(WebhookSender::create(io.get_executor(), cfg).ok());
}

// The whole face: endpoints, alert evaluation feeding the webhook, readiness.
TEST(Observability, EndToEndOnLoopback) {
    std::signal(SIGPIPE, SIG_IGN);
    Receiver receiver({200});
    asio::io_context io;
    ObserveConfig cfg;
    cfg.http.listen = "127.0.0.1:0";
    cfg.alerts.webhook = fast_config(receiver.port());
    cfg.alerts.evaluation_interval = 50ms;
    std::atomic<int> leaks{0};
    std::atomic<bool> ready{true};
    ObserveCallbacks callbacks;
    callbacks.pools = [&leaks] {
        PoolSnapshot p;
        p.database = "app";
        p.user = "svc";
        p.pool_size = 10;
        p.server_active = 3;
        ClassSnapshot c;
        c.name = "api";
        c.suspected_leaks = leaks.load();
        p.classes.push_back(c);
        return std::vector<PoolSnapshot>{p};
    };
    callbacks.readiness = [&ready] {
        return ready ? Readiness{} : Readiness{false, "upstream unreachable: connection refused"};
    };
    Observability obs(io.get_executor(), cfg, callbacks);
    obs.metrics().for_class("app", "svc", "api").queries.inc(7);
    auto st = obs.start();
    ASSERT_TRUE(st.ok()) << st.error().message;
    const uint16_t port = obs.port();
    std::thread t([&io] { io.run(); });

    std::string metrics = testing::get(port, "/metrics");
    EXPECT_EQ(testing::status_of(metrics), 200);
    std::string body = testing::body_of(metrics);
    auto valid = check_exposition(body);
    EXPECT_TRUE(valid.ok()) << valid.error().message;
    EXPECT_NE(body.find("pgwarden_pool_utilization_ratio{database=\"app\",user=\"svc\"} 0.3\n"),
              std::string::npos);
    EXPECT_NE(body.find("pgwarden_queries_total{database=\"app\",user=\"svc\",class=\"api\"} 7\n"),
              std::string::npos);
    EXPECT_NE(body.find("process_open_fds "), std::string::npos);

    EXPECT_EQ(testing::status_of(testing::get(port, "/healthz")), 200);
    EXPECT_EQ(testing::status_of(testing::get(port, "/readyz")), 200);
    ready = false;
    std::string not_ready = testing::get(port, "/readyz");
    EXPECT_EQ(testing::status_of(not_ready), 503);
    auto reason = nlohmann::json::parse(testing::body_of(not_ready));
    EXPECT_EQ(reason["reason"], "upstream unreachable: connection refused");

    // A leak fires an alert at the next evaluation: /alerts, the gauge and the webhook see it.
    leaks = 1;
    EXPECT_TRUE(wait_for([&] { return !receiver.bodies().empty(); }));
    auto hook = nlohmann::json::parse(receiver.bodies().at(0));
    EXPECT_EQ(hook["status"], "firing");
    EXPECT_EQ(hook["alerts"][0]["labels"]["alertname"], "PgwardenSuspectedLeak");
    auto alerts = nlohmann::json::parse(testing::body_of(testing::get(port, "/alerts")));
    EXPECT_EQ(alerts["firing"].size(), 1u);
    std::string after = testing::body_of(testing::get(port, "/metrics"));
    EXPECT_NE(after.find("pgwarden_alerts_firing{alertname=\"PgwardenSuspectedLeak\","
                         "severity=\"warning\"} 1\n"),
              std::string::npos);

    asio::post(io, [&obs] { obs.stop(); });
    std::this_thread::sleep_for(50ms);
    io.stop();
    t.join();
}

}  // namespace
}  // namespace pgwarden::observe
