#include "observe/http_server.hpp"

#include "http_test_util.hpp"
#include "observe/metrics.hpp"

#include <gtest/gtest.h>

#include <csignal>
#include <thread>

namespace pgwarden::observe {
namespace {

namespace asio = net::asio;
using namespace std::chrono_literals;
using testing::body_of;
using testing::get;
using testing::send_raw;
using testing::status_of;

class HttpServerTest : public ::testing::Test {
protected:
    void start(HttpConfig cfg = {}) {
        std::signal(SIGPIPE, SIG_IGN);
        cfg.listen = "127.0.0.1:0";
        server_ = std::make_shared<HttpServer>(io_.get_executor(), cfg);
        server_->route("/metrics", [](const HttpRequest&) {
            HttpResponse r;
            r.content_type = std::string(kExpositionContentType);
            r.body = "# TYPE up gauge\nup 1\n";
            return r;
        });
        server_->route("/boom", [](const HttpRequest&) -> HttpResponse {
            throw std::runtime_error("handler bug");
        });
        server_->route_prefix("/api/", [](const HttpRequest& req) {
            HttpResponse r;
            r.body = std::string(req.path) + "?" + std::string(req.query);
            return r;
        });
        auto st = server_->listen();
        ASSERT_TRUE(st.ok()) << st.error().message;
        port_ = server_->port();
        server_->start();
        thread_ = std::thread([this] { io_.run(); });
    }
    void TearDown() override {
        if (server_) {
            server_->stop();
        }
        io_.stop();
        if (thread_.joinable()) {
            thread_.join();
        }
    }

    asio::io_context io_;
    std::shared_ptr<HttpServer> server_;
    std::thread thread_;
    uint16_t port_ = 0;
};

TEST_F(HttpServerTest, MetricsWithPrometheusContentType) {
    start();
    std::string res = get(port_, "/metrics");
    EXPECT_EQ(status_of(res), 200) << res;
    EXPECT_NE(res.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
              std::string::npos)
        << res;
    EXPECT_EQ(body_of(res), "# TYPE up gauge\nup 1\n");
}

TEST_F(HttpServerTest, UnknownPathIs404AndPrefixRoutesSeeTheQuery) {
    start();
    EXPECT_EQ(status_of(get(port_, "/nope")), 404);
    std::string res = get(port_, "/api/pools?db=app");
    EXPECT_EQ(status_of(res), 200);
    EXPECT_EQ(body_of(res), "/api/pools?db=app");
}

TEST_F(HttpServerTest, OtherMethodsAre405WithAllow) {
    start();
    std::string res = send_raw(port_,
                               "POST /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n"
                               "Connection: close\r\n\r\nhi");
    EXPECT_EQ(status_of(res), 405) << res;
    EXPECT_NE(res.find("Allow: GET, HEAD\r\n"), std::string::npos);
}

TEST_F(HttpServerTest, HeadHasLengthButNoBody) {
    start();
    std::string res =
        send_raw(port_, "HEAD /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(status_of(res), 200);
    EXPECT_NE(res.find("Content-Length: 21\r\n"), std::string::npos) << res;
    EXPECT_EQ(body_of(res), "");
}

TEST_F(HttpServerTest, OversizedHeadersAre431) {
    HttpConfig cfg;
    cfg.header_limit = 8 * 1024;
    start(cfg);
    std::string req =
        "GET /metrics HTTP/1.1\r\nHost: t\r\nX-Big: " + std::string(10000, 'a') + "\r\n\r\n";
    std::string res = send_raw(port_, req);
    EXPECT_EQ(status_of(res), 431) << res.substr(0, 200);
    EXPECT_NE(res.find("Connection: close\r\n"), std::string::npos);
    // Headers just under the limit are fine.
    std::string ok = "GET /metrics HTTP/1.1\r\nHost: t\r\nConnection: close\r\nX-Big: " +
                     std::string(7000, 'a') + "\r\n\r\n";
    EXPECT_EQ(status_of(send_raw(port_, ok)), 200);
}

TEST_F(HttpServerTest, OversizedBodyIs413) {
    HttpConfig cfg;
    cfg.body_limit = 1024;
    start(cfg);
    std::string req =
        "GET /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'x');
    EXPECT_EQ(status_of(send_raw(port_, req)), 413);
}

TEST_F(HttpServerTest, GarbageIs400) {
    start();
    EXPECT_EQ(status_of(send_raw(port_, "HELLO THERE\r\n\r\n")), 400);
    EXPECT_EQ(status_of(send_raw(
                  port_, std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc", 9) + "\r\n\r\n")),
              400);  // a TLS ClientHello sent to the plain-text port
    EXPECT_EQ(status_of(send_raw(port_, "GET /metrics HTTP/1.1\r\nBad Header\r\n\r\n")), 400);
    EXPECT_EQ(status_of(send_raw(port_, "GET metrics HTTP/1.1\r\nHost: t\r\n\r\n")), 400);
    // The server is still fine afterwards.
    EXPECT_EQ(status_of(get(port_, "/metrics")), 200);
}

TEST_F(HttpServerTest, HandlerExceptionIs500) {
    start();
    EXPECT_EQ(status_of(get(port_, "/boom")), 500);
}

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
    start();
    std::string two =
        "GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /api/x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    std::string res = send_raw(port_, two);
    EXPECT_EQ(status_of(res), 200);
    EXPECT_NE(res.find("HTTP/1.1 200", 10), std::string::npos) << res;
    EXPECT_NE(res.find("/api/x?"), std::string::npos);
    EXPECT_EQ(server_->stats().requests, 2u);
}

TEST_F(HttpServerTest, SlowClientIsClosedAfterTheDeadlineAndOthersAreServed) {
    HttpConfig cfg;
    cfg.read_timeout = 300ms;
    start(cfg);
    asio::io_context io;
    auto slow = testing::connect_to(io, port_);
    slow.non_blocking(true);
    const std::string header = "GET /metrics HTTP/1.1\r\nX-Slow: " + std::string(4000, 'z');
    auto begin = std::chrono::steady_clock::now();
    bool closed = false;
    // Trickle one byte every 20 ms: the deadline covers the whole request, so trickling
    // does not extend it.
    for (size_t i = 0; i < header.size() && !closed; ++i) {
        net::error_code ec;
        asio::write(slow, asio::buffer(&header[i], 1), ec);
        if (i == 3) {
            // Meanwhile a normal client is served at once.
            auto t0 = std::chrono::steady_clock::now();
            EXPECT_EQ(status_of(get(port_, "/metrics")), 200);
            EXPECT_LT(std::chrono::steady_clock::now() - t0, 200ms);
        }
        std::this_thread::sleep_for(20ms);
        char c;
        slow.read_some(asio::buffer(&c, 1), ec);
        closed = ec && ec != asio::error::would_block;
        if (std::chrono::steady_clock::now() - begin > 3s) {
            break;
        }
    }
    auto elapsed = std::chrono::steady_clock::now() - begin;
    EXPECT_TRUE(closed);
    EXPECT_GE(elapsed, 250ms);
    EXPECT_LT(elapsed, 1500ms);
    EXPECT_EQ(server_->stats().timeouts, 1u);
}

TEST_F(HttpServerTest, ConnectionsBeyondTheLimitAreClosedAtOnce) {
    HttpConfig cfg;
    cfg.max_connections = 2;
    start(cfg);
    asio::io_context io;
    auto a = testing::connect_to(io, port_);
    auto b = testing::connect_to(io, port_);
    // Let the server accept both.
    for (int i = 0; i < 100 && server_->stats().connections < 2; ++i) {
        std::this_thread::sleep_for(5ms);
    }
    ASSERT_EQ(server_->stats().connections, 2u);
    auto t0 = std::chrono::steady_clock::now();
    std::string res = get(port_, "/metrics");
    EXPECT_EQ(res, "");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
    EXPECT_EQ(server_->stats().refused_connections, 1u);
    a.close();
    b.close();
    for (int i = 0; i < 100 && server_->stats().connections > 0; ++i) {
        std::this_thread::sleep_for(5ms);
    }
    EXPECT_EQ(status_of(get(port_, "/metrics")), 200);
}

TEST(ListenAddress, Parses) {
    auto a = parse_listen_address("127.0.0.1:9127");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->first, "127.0.0.1");
    EXPECT_EQ(a->second, 9127);
    auto b = parse_listen_address("[::1]:80");
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->first, "::1");
    EXPECT_FALSE(parse_listen_address("9127").ok());
    EXPECT_FALSE(parse_listen_address("host:99999").ok());
    EXPECT_FALSE(parse_listen_address("[::1]9127").ok());
}

TEST(HttpServerListen, PortInUseIsAnError) {
    asio::io_context io;
    HttpConfig cfg;
    cfg.listen = "127.0.0.1:0";
    auto first = std::make_shared<HttpServer>(io.get_executor(), cfg);
    ASSERT_TRUE(first->listen().ok());
    cfg.listen = "127.0.0.1:" + std::to_string(first->port());
    auto second = std::make_shared<HttpServer>(io.get_executor(), cfg);
    auto st = second->listen();
    EXPECT_FALSE(st.ok());
}

}  // namespace
}  // namespace pgwarden::observe
