// The real PoolManager, tested through its public API only (acquire and the step API, Lease,
// stats, janitor, prewarm, shutdown), so that a rewrite of its bookkeeping keeps these
// behaviours. Server connections are real: each test runs a hand-written PostgreSQL peer
// (FakeServer) on a loopback listening socket, which speaks just enough of the protocol for
// connect_server's login and the budget probe. Everything runs on one io_context driven by
// the test thread, so each step happens in a known order; every wait is bounded.
//
// Time: the manager reads steady_clock itself (no injectable clock). The tests steer it
// through what the API already takes: acquire's and begin_checkout's `now` (a waiter's
// arrival time) and `deadline`, janitor(now), and the `created` field of a leased
// ServerConn. A deadline in the past makes a waiter time out on its first wake-up, without
// the test sleeping.
#include "pool/pool.hpp"

#include "pgwire/frame.hpp"
#include "pgwire/messages.hpp"
#include "pgwire/sqlstate.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pgwarden::pool {
namespace {

using namespace std::chrono_literals;
namespace asio = net::asio;
using tcp = asio::ip::tcp;

// A PostgreSQL stand-in on 127.0.0.1: logs anyone in (AuthenticationOk, ParameterStatus,
// BackendKeyData, ReadyForQuery), answers the max_connections probe with a DataRow and any
// other query with CommandComplete + ReadyForQuery, and counts what it saw, so tests can
// check what the pool did to its server connections (opened, reused, closed with Terminate).
class FakeServer {
public:
    explicit FakeServer(asio::io_context& io)
        : acceptor_(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)), gate_(io) {
        port_ = acceptor_.local_endpoint().port();
        accepting_ = true;
        asio::co_spawn(io, accept_loop(), asio::detached);
    }

    uint16_t port() const { return port_; }

    // Knobs.
    int probe_value = 20;   // the probe's answer: usable connections of the "server"
    int refuse_logins = 0;  // the next this many logins get ErrorResponse 28P01
    void hold_probe() { holding_probe_ = true; }
    void release_probe() {
        holding_probe_ = false;
        gate_.cancel();
    }

    // What it saw.
    int logins = 0;      // successful logins (= server connections opened)
    int refused = 0;     // logins answered with an error
    int terminates = 0;  // Terminate ('X') received: the pool closed a connection
    int eofs = 0;        // a logged-in connection closed without Terminate
    int probes = 0;      // budget probes received
    std::vector<std::string> queries;
    int live() const { return static_cast<int>(sessions_.size()); }  // logged in, still open
    bool quiet() const { return running_ == 0 && !accepting_; }

    // Ends the session with backend `pid` as PostgreSQL does on pg_terminate_backend: a FATAL
    // 57P01 and a close. Loopback delivers both before close() returns.
    void kill(int32_t pid) {
        auto it = sessions_.find(pid);
        ASSERT_NE(it, sessions_.end()) << "no session with pid " << pid;
        std::string out;
        pgwire::encode_error(out, "57P01", "terminating connection due to administrator command");
        net::error_code ec;
        asio::write(it->second->sock, asio::buffer(out), ec);
        it->second->sock.close(ec);
    }

    void stop() {
        net::error_code ec;
        acceptor_.close(ec);
        for (auto& [pid, s] : sessions_) {
            s->sock.close(ec);
        }
        release_probe();
    }

private:
    struct Session {
        explicit Session(tcp::socket s) : sock(std::move(s)) {}
        tcp::socket sock;
        int32_t pid = 0;
        bool terminated = false;
    };

    asio::awaitable<void> accept_loop() {
        for (;;) {
            auto [ec, sock] = co_await acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
            if (ec) {
                break;
            }
            ++running_;
            asio::co_spawn(acceptor_.get_executor(),
                           serve(std::make_shared<Session>(std::move(sock))), asio::detached);
        }
        accepting_ = false;
    }

    static asio::awaitable<bool> read_exact(tcp::socket& sock, void* data, size_t n) {
        auto [ec, got] = co_await asio::async_read(sock, asio::buffer(data, n),
                                                   asio::as_tuple(asio::use_awaitable));
        co_return !ec;
    }

    static asio::awaitable<bool> write(tcp::socket& sock, const std::string& out) {
        auto [ec, n] = co_await asio::async_write(sock, asio::buffer(out),
                                                  asio::as_tuple(asio::use_awaitable));
        co_return !ec;
    }

    asio::awaitable<void> serve(std::shared_ptr<Session> s) {
        co_await session(*s);
        if (s->pid != 0) {
            sessions_.erase(s->pid);
            if (!s->terminated) {
                ++eofs;
            }
        }
        net::error_code ec;
        s->sock.close(ec);
        --running_;
    }

    asio::awaitable<void> session(Session& s) {
        std::array<uint8_t, 8> start{};
        if (!co_await read_exact(s.sock, start.data(), 4)) {
            co_return;
        }
        std::string startup(pgwire::read_be32(start.data()) - 4, '\0');
        if (!co_await read_exact(s.sock, startup.data(), startup.size())) {
            co_return;
        }
        std::string out;
        if (refuse_logins > 0) {
            --refuse_logins;
            ++refused;
            pgwire::encode_error(out, "28P01", "password authentication failed for user \"u\"");
            co_await write(s.sock, out);
            co_return;
        }
        s.pid = next_pid_++;
        pgwire::encode_auth_ok(out);
        pgwire::encode_parameter_status(out, "server_version", "16.4");
        pgwire::encode_parameter_status(out, "client_encoding", "UTF8");
        pgwire::encode_backend_key_data(out, s.pid, 1000 + s.pid);
        pgwire::encode_ready_for_query(out, 'I');
        if (!co_await write(s.sock, out)) {
            co_return;
        }
        ++logins;
        sessions_[s.pid] = &s;
        for (;;) {
            std::array<uint8_t, 5> header{};
            if (!co_await read_exact(s.sock, header.data(), header.size())) {
                co_return;
            }
            std::string body(pgwire::read_be32(header.data() + 1) - 4, '\0');
            if (!co_await read_exact(s.sock, body.data(), body.size())) {
                co_return;
            }
            if (header[0] == 'X') {
                ++terminates;
                s.terminated = true;
                co_return;
            }
            if (header[0] != 'Q') {
                continue;  // the pool itself sends nothing else
            }
            const std::string sql(body.c_str());
            queries.push_back(sql);
            out.clear();
            if (sql.find("max_connections") != std::string::npos) {
                ++probes;
                while (holding_probe_) {
                    gate_.expires_at(Clock::time_point::max());
                    co_await gate_.async_wait(asio::as_tuple(asio::use_awaitable));
                }
                pgwire::encode_row_description(out, {"usable"});
                pgwire::encode_data_row(out, {std::to_string(probe_value)});
                pgwire::encode_command_complete(out, "SELECT 1");
            } else {
                pgwire::encode_command_complete(out, sql);
            }
            pgwire::encode_ready_for_query(out, 'I');
            if (!co_await write(s.sock, out)) {
                co_return;
            }
        }
    }

    tcp::acceptor acceptor_;
    asio::steady_timer gate_;  // cancelled to let held probe answers go
    uint16_t port_ = 0;
    bool holding_probe_ = false;
    bool accepting_ = false;
    int running_ = 0;
    int32_t next_pid_ = 4001;
    std::map<int32_t, Session*> sessions_;  // logged-in sessions by backend pid
};

// One checkout in flight: acquire's waiter and, once it finished, its result.
struct Checkout {
    std::shared_ptr<Waiter> waiter;
    std::optional<common::Result<Lease>> result;
    bool done() const { return result.has_value(); }
    bool ok() const { return result && result->ok(); }
    Lease& lease() { return result->value(); }
    const common::Error& error() const { return result->error(); }
};

ClassSpec klass(std::string name, int reserve = 0, int max = INT_MAX, int priority = 0) {
    return ClassSpec{std::move(name), admission::Limits{reserve, max, priority}};
}

class PoolManagerTest : public ::testing::Test {
protected:
    static constexpr int kWorkers = 2;

    // Declared in this order so that the manager (and every socket it owns) goes before the
    // fake server, and both before the io_context their sockets are registered with.
    asio::io_context io_;
    asio::executor_work_guard<asio::io_context::executor_type> work_ = asio::make_work_guard(io_);
    FakeServer server_{io_};
    PoolManager mgr_{kWorkers};
    std::vector<std::weak_ptr<Checkout>> started_;

    void TearDown() override {
        for (const auto& weak : started_) {
            if (auto c = weak.lock(); c && !c->done()) {
                ADD_FAILURE() << "a checkout was still waiting at the end of the test";
            }
        }
        mgr_.begin_shutdown();
        server_.stop();
        EXPECT_TRUE(run_until([&] { return server_.quiet(); }));
        work_.reset();
        io_.run_for(2s);
    }

    PoolSettings settings(int pool_size, std::vector<ClassSpec> classes = {}) {
        PoolSettings s;
        s.endpoint = ServerEndpoint{"127.0.0.1", server_.port(), "db"};
        s.credentials.user = "u";
        s.pool_size = pool_size;
        // A configured server budget is known from the start: no probe query, no
        // one-at-a-time opening. The tests of the probe clear it.
        s.max_server_connections = 100;
        s.server_connect_timeout = 5s;
        s.classes = std::move(classes);
        return s;
    }

    // Runs the event loop until `done` holds; false after `limit` (a hang, not a slow run).
    bool run_until(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
        const auto give_up = Clock::now() + limit;
        while (!done()) {
            if (Clock::now() >= give_up) {
                return false;
            }
            io_.run_one_for(10ms);
        }
        return true;
    }

    static net::awaitable<void> run_acquire(PoolManager& mgr, std::shared_ptr<Pool> pool,
                                            size_t cls, int worker, Clock::time_point now,
                                            Clock::time_point deadline,
                                            std::shared_ptr<Checkout> c) {
        auto r = co_await mgr.acquire(pool, cls, worker, now, deadline, c->waiter);
        c->result.emplace(std::move(r));
    }

    static net::awaitable<void> run_open_lease(PoolManager& mgr, std::shared_ptr<Pool> pool,
                                               size_t cls, int worker,
                                               std::shared_ptr<Checkout> c) {
        auto r = co_await mgr.open_lease(pool, cls, worker);
        c->result.emplace(std::move(r));
    }

    // Starts acquire() on the loop; it runs as far as it can when the loop next runs.
    std::shared_ptr<Checkout> start(const std::shared_ptr<Pool>& pool, size_t cls = 0,
                                    int worker = 0,
                                    std::optional<Clock::time_point> deadline = std::nullopt,
                                    std::optional<Clock::time_point> now = std::nullopt) {
        auto c = std::make_shared<Checkout>();
        started_.push_back(c);
        asio::co_spawn(io_.get_executor(),
                       run_acquire(mgr_, pool, cls, worker, now.value_or(Clock::now()),
                                   deadline.value_or(Clock::now() + 30s), c),
                       asio::detached);
        return c;
    }

    // A checkout that must succeed without waiting for anyone else.
    Lease take(const std::shared_ptr<Pool>& pool, size_t cls = 0, int worker = 0) {
        auto c = start(pool, cls, worker);
        if (!run_until([&] { return c->done(); })) {
            ADD_FAILURE() << "checkout did not finish";
            return {};
        }
        if (!c->ok()) {
            ADD_FAILURE() << "checkout failed: " << c->error().code << " " << c->error().message;
            return {};
        }
        return std::move(c->lease());
    }

    PoolStats stats_of(const Pool& pool) {
        for (auto& s : mgr_.stats()) {
            if (s.database == pool.database() && s.user == pool.user()) {
                return s;
            }
        }
        ADD_FAILURE() << "no stats for pool " << pool.database() << "/" << pool.user();
        return {};
    }

    ClassStats class_stats(const Pool& pool, const std::string& name) {
        for (auto& c : stats_of(pool).classes) {
            if (c.name == name) {
                return c;
            }
        }
        ADD_FAILURE() << "no class " << name;
        return {};
    }

    int waiting(const Pool& pool) { return stats_of(pool).waiting; }

    BudgetStats budget() {
        const auto key = "127.0.0.1:" + std::to_string(server_.port());
        for (auto& b : mgr_.budgets()) {
            if (b.endpoint == key) {
                return b;
            }
        }
        ADD_FAILURE() << "no budget for " << key;
        return {};
    }
};

// ---- checkout, reuse, Lease ------------------------------------------------------------

// Guards: a released clean connection not parked (or parked twice), or not reused by the
// next checkout (a new login per transaction); active/idle counts off by one.
TEST_F(PoolManagerTest, OpensOnFirstCheckoutAndReusesTheParkedConnection) {
    auto pool = mgr_.get_pool("db", "u", settings(4));
    EXPECT_TRUE(mgr_.server_params(*pool).empty());
    Lease lease = take(pool);
    ASSERT_TRUE(lease);
    const int32_t pid = lease->backend_pid;
    EXPECT_EQ(server_.logins, 1);
    EXPECT_EQ(stats_of(*pool).server_active, 1);
    EXPECT_EQ(stats_of(*pool).server_idle, 0);
    EXPECT_EQ(mgr_.total_server_connections(), 1);
    // The first login's ParameterStatus values are what the pool's clients are shown.
    auto params = mgr_.server_params(*pool);
    EXPECT_NE(std::find(params.begin(), params.end(),
                        std::pair<std::string, std::string>("server_version", "16.4")),
              params.end());

    lease.reset();
    EXPECT_FALSE(lease);
    EXPECT_EQ(stats_of(*pool).server_active, 0);
    EXPECT_EQ(stats_of(*pool).server_idle, 1);
    EXPECT_EQ(class_stats(*pool, "default").held, 0);

    Lease again = take(pool);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->backend_pid, pid);
    EXPECT_EQ(server_.logins, 1);
    EXPECT_EQ(stats_of(*pool).server_active, 1);
    EXPECT_EQ(stats_of(*pool).server_idle, 0);
    EXPECT_EQ(mgr_.total_server_connections(), 1);
}

// Guards: a moved-from Lease still releasing (a double release: active_ negative, the
// connection parked twice), move-assignment leaking the target's connection, self-move
// dropping the connection, the dirty flag lost in a move, reset() not idempotent.
TEST_F(PoolManagerTest, LeaseIsMoveOnlyAndReleasesExactlyOnce) {
    auto pool = mgr_.get_pool("db", "u", settings(4));
    Lease empty;
    EXPECT_FALSE(empty);
    empty.reset();  // nothing to release

    Lease a = take(pool);
    ASSERT_TRUE(a);
    EXPECT_EQ(&a.pool(), pool.get());
    Lease b(std::move(a));
    EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): the moved-from state is the point
    ASSERT_TRUE(b);
    EXPECT_EQ(stats_of(*pool).server_active, 1);

    Lease c = take(pool);
    ASSERT_TRUE(c);
    const int32_t b_pid = b->backend_pid;
    EXPECT_NE(c->backend_pid, b_pid);
    c = std::move(b);  // c's own connection goes back to the pool first
    EXPECT_FALSE(b);   // NOLINT(bugprone-use-after-move)
    ASSERT_TRUE(c);
    EXPECT_EQ(c->backend_pid, b_pid);
    EXPECT_EQ(stats_of(*pool).server_active, 1);
    EXPECT_EQ(stats_of(*pool).server_idle, 1);

    Lease& alias = c;
    c = std::move(alias);  // self-move keeps the connection
    ASSERT_TRUE(c);
    EXPECT_EQ(stats_of(*pool).server_active, 1);

    c.mark_dirty();
    Lease d(std::move(c));
    d.reset();  // the dirty mark travelled with the connection: closed, not parked
    d.reset();
    c.reset();
    EXPECT_EQ(stats_of(*pool).server_active, 0);
    EXPECT_EQ(stats_of(*pool).server_idle, 1);
    EXPECT_EQ(mgr_.total_server_connections(), 1);
    EXPECT_TRUE(run_until([&] { return server_.terminates == 1; }));

    // A moved-from lease can take a connection again.
    c = take(pool);
    ASSERT_TRUE(c);
    c.reset();
    EXPECT_EQ(stats_of(*pool).server_idle, 1);
    EXPECT_EQ(server_.terminates, 1);
}

// Guards: a connection in an unknown state (dirty, or with unread server bytes) parked and
// handed to the next client; its count not given back (per-db, per-user, server budget).
TEST_F(PoolManagerTest, DirtyOrUnreadConnectionsAreClosedNotReused) {
    auto pool = mgr_.get_pool("db", "u", settings(4));
    Lease lease = take(pool);
    ASSERT_TRUE(lease);
    const int32_t first = lease->backend_pid;
    lease.mark_dirty();
    lease.reset();
    EXPECT_EQ(stats_of(*pool).server_idle, 0);
    EXPECT_EQ(mgr_.total_server_connections(), 0);
    EXPECT_EQ(budget().open, 0);
    EXPECT_TRUE(run_until([&] { return server_.terminates == 1 && server_.live() == 0; }));

    lease = take(pool);
    ASSERT_TRUE(lease);
    const int32_t second = lease->backend_pid;
    EXPECT_NE(second, first);
    lease->in.push_back('D');  // mid-response: a DataRow byte nobody read
    lease.reset();
    EXPECT_EQ(stats_of(*pool).server_idle, 0);
    EXPECT_EQ(mgr_.total_server_connections(), 0);
    EXPECT_TRUE(run_until([&] { return server_.terminates == 2; }));

    lease = take(pool);
    ASSERT_TRUE(lease);
    EXPECT_NE(lease->backend_pid, second);
    EXPECT_EQ(server_.logins, 3);
}

// ---- pool size, hand-off, queue order ----------------------------------------------------

// Guards: pool_size exceeded; a waiter not handed the released connection (left waiting
// next to an idle connection) or handed a freshly opened one instead.
TEST_F(PoolManagerTest, PoolSizeCapsCheckoutsAndAReleaseHandsOffToTheWaiter) {
    auto pool = mgr_.get_pool("db", "u", settings(2));
    Lease a = take(pool);
    Lease b = take(pool);
    ASSERT_TRUE(a && b);
    auto third = start(pool);
    ASSERT_TRUE(run_until([&] { return waiting(*pool) == 1; }));
    EXPECT_FALSE(third->done());
    EXPECT_EQ(stats_of(*pool).server_active, 2);
    EXPECT_EQ(class_stats(*pool, "default").waiting, 1);

    const int32_t pid = a->backend_pid;
    a.reset();
    // The hand-off happens inside release: nothing idle, nobody waiting, in between.
    EXPECT_EQ(waiting(*pool), 0);
    EXPECT_EQ(stats_of(*pool).server_idle, 0);
    EXPECT_EQ(stats_of(*pool).server_active, 2);
    ASSERT_TRUE(run_until([&] { return third->done(); }));
    ASSERT_TRUE(third->ok());
    EXPECT_EQ(third->lease()->backend_pid, pid);
    EXPECT_EQ(server_.logins, 2);
}

// Guards: a class queue served LIFO or out of order.
TEST_F(PoolManagerTest, WaitersOfOneClassAreServedFirstComeFirstServed) {
    auto pool = mgr_.get_pool("db", "u", settings(1));
    Lease held = take(pool);
    ASSERT_TRUE(held);
    const auto base = Clock::now();
    std::vector<std::shared_ptr<Checkout>> w;
    for (int i = 0; i < 3; ++i) {
        w.push_back(start(pool, 0, 0, std::nullopt, base + std::chrono::milliseconds(i)));
        ASSERT_TRUE(run_until([&] { return waiting(*pool) == i + 1; }));
    }
    held.reset();
    for (size_t i = 0; i < w.size(); ++i) {
        ASSERT_TRUE(run_until([&] { return w[i]->done(); })) << "waiter " << i;
        ASSERT_TRUE(w[i]->ok());
        for (size_t j = i + 1; j < w.size(); ++j) {
            EXPECT_FALSE(w[j]->done()) << "waiter " << j << " overtook waiter " << i;
        }
        w[i]->lease().reset();
    }
    EXPECT_EQ(server_.logins, 1);
}

// Guards: a timed-out waiter left in the queue (a later release granted to nobody, the
// connection lost with it), the wrong waiter erased, counts not given back; the 53300 error
// not naming the class and pool.
TEST_F(PoolManagerTest, QueryWaitTimeoutRemovesOnlyThatWaiter) {
    auto pool = mgr_.get_pool("db", "u", settings(1));
    Lease held = take(pool);
    ASSERT_TRUE(held);
    auto first = start(pool);
    ASSERT_TRUE(run_until([&] { return waiting(*pool) == 1; }));
    auto late = start(pool, 0, 0, Clock::now());  // its deadline has passed: times out at once
    ASSERT_TRUE(run_until([&] { return late->done(); }));
    auto last = start(pool);
    ASSERT_TRUE(run_until([&] { return waiting(*pool) == 2; }));

    ASSERT_FALSE(late->ok());
    EXPECT_EQ(late->error().code, pgwire::sqlstate::kTooManyConnections);
    EXPECT_NE(late->error().message.find("query_wait_timeout"), std::string::npos);
    EXPECT_NE(late->error().message.find("\"default\""), std::string::npos);
    EXPECT_NE(late->error().message.find("db/u"), std::string::npos);
    EXPECT_EQ(class_stats(*pool, "default").wait_timeouts, 1);
    EXPECT_EQ(class_stats(*pool, "default").waiting, 2);

    held.reset();
    ASSERT_TRUE(run_until([&] { return first->done(); }));
    ASSERT_TRUE(first->ok());
    EXPECT_FALSE(last->done());
    first->lease().reset();
    ASSERT_TRUE(run_until([&] { return last->done(); }));
    ASSERT_TRUE(last->ok());
    last->lease().reset();
    EXPECT_EQ(waiting(*pool), 0);
    EXPECT_EQ(stats_of(*pool).server_idle, 1);
    EXPECT_EQ(stats_of(*pool).server_active, 0);
}

// Guards: end_wait deciding "timed out" before looking at a grant that landed after the
// timer fired (the connection, or the slot to open one, leaked: the pool shrinks by one for
// good); an early wake-up taken for a timeout; a waiter object not reset for its next wait.
TEST_F(PoolManagerTest, AGrantThatBeatsTheTimeoutCheckIsHonoured) {
    auto pool = mgr_.get_pool("db", "u", settings(1));
    const auto exec = io_.get_executor();
    Lease held = take(pool);
    ASSERT_TRUE(held);
    const int32_t pid = held->backend_pid;

    std::shared_ptr<Waiter> waiter;
    std::optional<Lease> out;
    ASSERT_EQ(mgr_.begin_checkout(pool, 0, 0, exec, Clock::now(), waiter, out),
              PoolManager::CheckoutStep::Queued);
    ASSERT_TRUE(waiter);
    // Woken early (no grant, deadline ahead): wait on, still queued.
    auto early = mgr_.end_wait(pool, 0, 0, exec, Clock::now() + 30s, *waiter, out);
    ASSERT_TRUE(early);
    EXPECT_EQ(*early, PoolManager::CheckoutStep::Queued);
    EXPECT_EQ(waiting(*pool), 1);

    // The timer fired (deadline passed), but the release's grant came before end_wait ran.
    const auto deadline = Clock::now();
    held.reset();
    auto granted = mgr_.end_wait(pool, 0, 0, exec, deadline, *waiter, out);
    ASSERT_TRUE(granted);
    EXPECT_EQ(*granted, PoolManager::CheckoutStep::Leased);
    ASSERT_TRUE(out && *out);
    EXPECT_EQ((*out)->backend_pid, pid);
    EXPECT_EQ(class_stats(*pool, "default").wait_timeouts, 0);
    EXPECT_EQ(stats_of(*pool).server_active, 1);

    // The same with a grant to open (the held connection was closed, not handed over).
    out->mark_dirty();
    Lease blocker = std::move(*out);
    out.reset();
    ASSERT_EQ(mgr_.begin_checkout(pool, 0, 0, exec, Clock::now(), waiter, out),
              PoolManager::CheckoutStep::Queued);
    const auto deadline2 = Clock::now();
    blocker.reset();
    auto may_open = mgr_.end_wait(pool, 0, 0, exec, deadline2, *waiter, out);
    ASSERT_TRUE(may_open);
    ASSERT_EQ(*may_open, PoolManager::CheckoutStep::Open);
    EXPECT_EQ(stats_of(*pool).server_login, 1);
    auto opened = std::make_shared<Checkout>();
    asio::co_spawn(exec, run_open_lease(mgr_, pool, 0, 0, opened), asio::detached);
    ASSERT_TRUE(run_until([&] { return opened->done(); }));
    ASSERT_TRUE(opened->ok());
    EXPECT_EQ(stats_of(*pool).server_login, 0);
    EXPECT_EQ(stats_of(*pool).server_active, 1);
    opened->lease().reset();

    // A wait that really timed out: removed and counted.
    Lease again = take(pool);
    ASSERT_TRUE(again);
    ASSERT_EQ(mgr_.begin_checkout(pool, 0, 0, exec, Clock::now(), waiter, out),
              PoolManager::CheckoutStep::Queued);
    auto timed_out = mgr_.end_wait(pool, 0, 0, exec, Clock::now(), *waiter, out);
    ASSERT_FALSE(timed_out);
    EXPECT_EQ(timed_out.error().code, pgwire::sqlstate::kTooManyConnections);
    EXPECT_EQ(waiting(*pool), 0);
    EXPECT_EQ(class_stats(*pool, "default").wait_timeouts, 1);
    again.reset();
    EXPECT_EQ(stats_of(*pool).server_idle, 1);  // nobody to hand it to: parked
    // The waiter object is reused by the session's next checkout.
    EXPECT_EQ(mgr_.begin_checkout(pool, 0, 0, exec, Clock::now(), waiter, out),
              PoolManager::CheckoutStep::Leased);
    ASSERT_TRUE(out && *out);
}

// ---- classes: priority, age, reserve, max --------------------------------------------------

// Guards: a waiter of a higher-priority class served after a lower one that came first.
TEST_F(PoolManagerTest, HigherPriorityClassIsServedFirst) {
    auto pool = mgr_.get_pool("db", "u",
                              settings(1, {klass("low", 0, INT_MAX, 0),
                                           klass("high", 0, INT_MAX, 10), klass("default")}));
    const size_t low = mgr_.class_index(*pool, "low");
    const size_t high = mgr_.class_index(*pool, "high");
    const size_t dflt = mgr_.class_index(*pool, "default");
    Lease held = take(pool, dflt);
    ASSERT_TRUE(held);
    const auto base = Clock::now();
    auto l = start(pool, low, 0, std::nullopt, base - 5s);  // waited much longer
    ASSERT_TRUE(run_until([&] { return waiting(*pool) == 1; }));
    auto h = start(pool, high, 0, std::nullopt, base);
    ASSERT_TRUE(run_until([&] { return waiting(*pool) == 2; }));

    held.reset();
    ASSERT_TRUE(run_until([&] { return h->done(); }));
    ASSERT_TRUE(h->ok());
    EXPECT_FALSE(l->done());
    EXPECT_EQ(class_stats(*pool, "high").held, 1);
    EXPECT_EQ(class_stats(*pool, "low").held, 0);
    h->lease().reset();
    ASSERT_TRUE(run_until([&] { return l->done(); }));
    ASSERT_TRUE(l->ok());
}

// Guards: among classes of equal priority, the next connection going by class order rather
// than to the class whose oldest waiter came first.
TEST_F(PoolManagerTest, EqualPriorityClassesAreServedByTheirOldestWaiter) {
    auto pool = mgr_.get_pool("db", "u", settings(1, {klass("a"), klass("b"), klass("default")}));
    const size_t a = mgr_.class_index(*pool, "a");
    const size_t b = mgr_.class_index(*pool, "b");
    Lease held = take(pool, mgr_.class_index(*pool, "default"));
    ASSERT_TRUE(held);
    const auto base = Clock::now();
    auto wb = start(pool, b, 0, std::nullopt, base);
    ASSERT_TRUE(run_until([&] { return waiting(*pool) == 1; }));
    auto wa = start(pool, a, 0, std::nullopt, base + 1ms);
    ASSERT_TRUE(run_until([&] { return waiting(*pool) == 2; }));

    held.reset();
    ASSERT_TRUE(run_until([&] { return wb->done(); }));
    EXPECT_FALSE(wa->done());
    wb->lease().reset();
    ASSERT_TRUE(run_until([&] { return wa->done(); }));
    ASSERT_TRUE(wa->ok());
}

// Guards: a class's reserve taken by another class flooding the pool (admission at arrival
// or at hand-off ignoring the unmet reserve of others).
TEST_F(PoolManagerTest, ReserveIsKeptFreeWhileAnotherClassFloods) {
    auto pool = mgr_.get_pool("db", "u", settings(3, {klass("oltp", 1), klass("default")}));
    const size_t oltp = mgr_.class_index(*pool, "oltp");
    const size_t batch = mgr_.class_index(*pool, "default");
    Lease b1 = take(pool, batch);
    Lease b2 = take(pool, batch);
    ASSERT_TRUE(b1 && b2);
    auto b3 = start(pool, batch);
    ASSERT_TRUE(run_until([&] { return waiting(*pool) == 1; }));
    EXPECT_EQ(stats_of(*pool).server_active, 2);  // one slot free, but it is oltp's

    Lease o = take(pool, oltp);  // no wait: the reserve was there
    ASSERT_TRUE(o);
    EXPECT_EQ(class_stats(*pool, "oltp").held, 1);
    EXPECT_EQ(class_stats(*pool, "default").held, 2);

    // With oltp's reserve met, a freed batch connection goes to the batch waiter.
    b1.reset();
    ASSERT_TRUE(run_until([&] { return b3->done(); }));
    ASSERT_TRUE(b3->ok());
    // And when oltp lets go, its reserve is free again rather than given to batch.
    o.reset();
    auto b4 = start(pool, batch);
    ASSERT_TRUE(run_until([&] { return waiting(*pool) == 1; }));
    EXPECT_EQ(stats_of(*pool).server_idle, 1);
    Lease o2 = take(pool, oltp);
    ASSERT_TRUE(o2);
    EXPECT_EQ(server_.logins, 3);
    b2.reset();
    ASSERT_TRUE(run_until([&] { return b4->done(); }));
}

// Guards: a class exceeding its max; the queue of a capped class blocking other classes
// while the pool has room.
TEST_F(PoolManagerTest, ClassMaxCapsThatClassOnly) {
    auto pool = mgr_.get_pool("db", "u", settings(3, {klass("report", 0, 1), klass("default")}));
    const size_t report = mgr_.class_index(*pool, "report");
    const size_t dflt = mgr_.class_index(*pool, "default");
    Lease r1 = take(pool, report);
    ASSERT_TRUE(r1);
    auto r2 = start(pool, report);
    ASSERT_TRUE(run_until([&] { return waiting(*pool) == 1; }));
    EXPECT_EQ(class_stats(*pool, "report").held, 1);
    EXPECT_EQ(class_stats(*pool, "report").effective_max(3), 1);
    EXPECT_EQ(class_stats(*pool, "default").effective_max(3), 3);

    Lease d = take(pool, dflt);  // the pool has room: not stuck behind report's queue
    ASSERT_TRUE(d);
    EXPECT_FALSE(r2->done());
    d.reset();
    EXPECT_FALSE(r2->done());  // a freed default connection does not lift report's cap
    EXPECT_EQ(waiting(*pool), 1);

    r1.reset();
    ASSERT_TRUE(run_until([&] { return r2->done(); }));
    ASSERT_TRUE(r2->ok());
    EXPECT_EQ(class_stats(*pool, "report").held, 1);
}

// ---- the waiter a released connection goes to (two event loops) --------------------------

// Guards: the loop-local hand-off passing over the oldest waiter without bound (the
// kHandoffFairness cap lost), or the connection not moved to its new waiter's loop. The
// arrival times are passed in (`now`), so no real time has to elapse: one waiter's arrival
// is set in the future so that it counts as having just arrived however slow the run is.
TEST_F(PoolManagerTest, HandOffPrefersTheReleasingLoopButNotForLong) {
    auto pool = mgr_.get_pool("db", "u", settings(1));
    Lease held = take(pool, 0, 0);
    ASSERT_TRUE(held);
    EXPECT_EQ(held->worker, 0);
    const int32_t pid = held->backend_pid;

    // The oldest waiter (loop 1) has just arrived: the one on the releasing loop 0 gets it.
    auto fresh_remote = start(pool, 0, 1, std::nullopt, Clock::now() + 1h);
    ASSERT_TRUE(run_until([&] { return waiting(*pool) == 1; }));
    auto local = start(pool, 0, 0);
    ASSERT_TRUE(run_until([&] { return waiting(*pool) == 2; }));
    held.reset();
    ASSERT_TRUE(run_until([&] { return local->done(); }));
    ASSERT_TRUE(local->ok());
    EXPECT_FALSE(fresh_remote->done());
    EXPECT_EQ(local->lease()->worker, 0);
    local->lease().reset();
    ASSERT_TRUE(run_until([&] { return fresh_remote->done(); }));
    ASSERT_TRUE(fresh_remote->ok());
    // It moved to loop 1's side with its new waiter.
    EXPECT_EQ(fresh_remote->lease()->worker, 1);
    EXPECT_EQ(fresh_remote->lease()->backend_pid, pid);

    // The oldest waiter (loop 0) has waited a second: it gets the connection released on
    // loop 1 ahead of a newer waiter on loop 1.
    auto old_remote = start(pool, 0, 0, std::nullopt, Clock::now() - 1s);
    ASSERT_TRUE(run_until([&] { return waiting(*pool) == 1; }));
    auto local1 = start(pool, 0, 1);
    ASSERT_TRUE(run_until([&] { return waiting(*pool) == 2; }));
    fresh_remote->lease().reset();
    ASSERT_TRUE(run_until([&] { return old_remote->done(); }));
    ASSERT_TRUE(old_remote->ok());
    EXPECT_FALSE(local1->done());
    EXPECT_EQ(old_remote->lease()->worker, 0);
    old_remote->lease().reset();
    ASSERT_TRUE(run_until([&] { return local1->done(); }));
    EXPECT_EQ(server_.logins, 1);
}

// ---- shared limits: database, user, server budget ------------------------------------------

// Guards: max_db_connections not shared by the pools of one database, or its count not given
// back when a connection closes (the other pool's waiter then hangs to its timeout).
TEST_F(PoolManagerTest, MaxDbConnectionsIsSharedByThePoolsOfADatabase) {
    auto s = settings(4);
    s.max_db_connections = 1;
    auto p1 = mgr_.get_pool("db", "u1", s);
    auto p2 = mgr_.get_pool("db", "u2", s);
    Lease l1 = take(p1);
    ASSERT_TRUE(l1);
    auto w2 = start(p2);
    ASSERT_TRUE(run_until([&] { return waiting(*p2) == 1; }));
    EXPECT_EQ(stats_of(*p2).server_login, 0);

    l1.mark_dirty();
    l1.reset();  // closed: the database's one slot goes to the other pool's waiter
    ASSERT_TRUE(run_until([&] { return w2->done(); }));
    ASSERT_TRUE(w2->ok());
    EXPECT_EQ(mgr_.total_server_connections(), 1);
    // And back: p1 now waits for p2's connection.
    auto w1 = start(p1);
    ASSERT_TRUE(run_until([&] { return waiting(*p1) == 1; }));
    w2->lease().mark_dirty();
    w2->lease().reset();
    ASSERT_TRUE(run_until([&] { return w1->done(); }));
    ASSERT_TRUE(w1->ok());
    EXPECT_EQ(mgr_.total_server_connections(), 1);
    EXPECT_EQ(server_.logins, 3);
}

// Guards: the janitor's closing of an expired idle connection not waking a waiter of another
// pool that the freed database slot lets in.
TEST_F(PoolManagerTest, JanitorClosingAnIdleConnectionLetsAnotherPoolIn) {
    auto s = settings(4);
    s.max_db_connections = 1;
    s.server_idle_timeout = 10s;
    auto p1 = mgr_.get_pool("db", "u1", s);
    auto p2 = mgr_.get_pool("db", "u2", s);
    Lease l1 = take(p1);
    ASSERT_TRUE(l1);
    l1.reset();  // parked idle in p1, still holding the database's one slot
    auto w2 = start(p2);
    ASSERT_TRUE(run_until([&] { return waiting(*p2) == 1; }));
    mgr_.janitor(Clock::now() + 11s);
    ASSERT_TRUE(run_until([&] { return w2->done(); }));
    ASSERT_TRUE(w2->ok());
    EXPECT_EQ(stats_of(*p1).server_idle, 0);
    EXPECT_EQ(mgr_.total_server_connections(), 1);
}

// Disabled: shows what looks like a real bug (see the report in the commit message). With
// max_db_connections reached only by an *idle* connection of another pool of the same
// database, a waiter is not served: nothing evicts that idle connection (only the server
// budget does), so the waiter waits until query_wait_timeout or server_idle_timeout.
// PgBouncer closes an idle connection of the database in this case.
TEST_F(PoolManagerTest, DISABLED_IdleConnectionOfAnotherPoolDoesNotBlockMaxDbConnections) {
    auto s = settings(4);
    s.max_db_connections = 1;
    auto p1 = mgr_.get_pool("db", "u1", s);
    auto p2 = mgr_.get_pool("db", "u2", s);
    Lease l1 = take(p1);
    ASSERT_TRUE(l1);
    l1.reset();
    auto w2 = start(p2, 0, 0, Clock::now() + 5s);
    ASSERT_TRUE(run_until([&] { return w2->done(); }));
    EXPECT_TRUE(w2->ok()) << w2->error().message;
}

// Guards: max_user_connections not shared by one user's pools across databases, or not
// given back on close.
TEST_F(PoolManagerTest, MaxUserConnectionsIsSharedByThePoolsOfAUser) {
    auto s = settings(4);
    s.max_user_connections = 1;
    auto p1 = mgr_.get_pool("db1", "u", s);
    auto p2 = mgr_.get_pool("db2", "u", s);
    Lease l1 = take(p1);
    ASSERT_TRUE(l1);
    auto w2 = start(p2);
    ASSERT_TRUE(run_until([&] { return waiting(*p2) == 1; }));
    l1.mark_dirty();
    l1.reset();
    ASSERT_TRUE(run_until([&] { return w2->done(); }));
    ASSERT_TRUE(w2->ok());
    EXPECT_EQ(mgr_.total_server_connections(), 1);
    // An unrelated user is not limited by u's count.
    auto other = mgr_.get_pool("db1", "v", s);
    Lease v = take(other);
    ASSERT_TRUE(v);
    EXPECT_EQ(mgr_.total_server_connections(), 2);
}

// Guards: the server-wide budget exceeded, or not made room for by closing another pool's
// idle connection to the same server; the evicted connection's counts kept.
TEST_F(PoolManagerTest, ServerBudgetEvictsAnotherPoolsIdleConnection) {
    auto s = settings(4);
    s.max_server_connections = 1;
    auto pa = mgr_.get_pool("a", "u", s);
    auto pb = mgr_.get_pool("b", "u", s);
    Lease la = take(pa);
    ASSERT_TRUE(la);
    la.reset();
    EXPECT_EQ(stats_of(*pa).server_idle, 1);
    EXPECT_EQ(budget().limit, 1);
    EXPECT_TRUE(budget().known);

    Lease lb = take(pb);
    ASSERT_TRUE(lb);
    EXPECT_EQ(stats_of(*pa).server_idle, 0);
    EXPECT_EQ(budget().open, 1);
    EXPECT_EQ(mgr_.total_server_connections(), 1);
    EXPECT_TRUE(run_until([&] { return server_.terminates == 1; }));

    // While b holds the only connection, a has to wait; parking b's makes room for it.
    auto wa = start(pa);
    ASSERT_TRUE(run_until([&] { return waiting(*pa) == 1; }));
    lb.reset();
    ASSERT_TRUE(run_until([&] { return wa->done(); }));
    ASSERT_TRUE(wa->ok());
    EXPECT_EQ(stats_of(*pb).server_idle, 0);
    EXPECT_EQ(budget().open, 1);
    EXPECT_EQ(server_.logins, 3);
}

// Guards: a burst at start-up opening more connections than the server accepts before its
// limit is known; the probe's answer not applied (max_connections minus the margin); a
// waiter left hanging once the limit is known.
TEST_F(PoolManagerTest, UnknownServerBudgetIsProbedWithOneConnectionAtATime) {
    auto s = settings(4);
    s.max_server_connections = 0;
    s.server_connections_margin = 2;
    server_.probe_value = 7;
    server_.hold_probe();
    auto pool = mgr_.get_pool("db", "u", s);
    EXPECT_FALSE(budget().known);
    auto first = start(pool);
    auto second = start(pool);
    ASSERT_TRUE(run_until([&] { return server_.probes == 1; }));
    ASSERT_TRUE(run_until([&] { return waiting(*pool) == 1; }));
    EXPECT_EQ(stats_of(*pool).server_login, 1);
    EXPECT_EQ(server_.logins, 1);

    server_.release_probe();
    ASSERT_TRUE(run_until([&] { return first->done() && second->done(); }));
    ASSERT_TRUE(first->ok());
    ASSERT_TRUE(second->ok());
    EXPECT_TRUE(budget().known);
    EXPECT_EQ(budget().limit, 5);
    EXPECT_EQ(budget().open, 2);
    EXPECT_EQ(server_.probes, 1);
    // The probe left its connection usable: both logins became leases.
    EXPECT_EQ(server_.logins, 2);
}

// ---- failed logins ------------------------------------------------------------------------

// Guards: counts leaked after a failed connect (server_login, class held, per-db, budget:
// the pool shrinks for good), the server's SQLSTATE lost, and the next waiter left to hang
// until its timeout instead of trying itself.
TEST_F(PoolManagerTest, FailedLoginGivesBackItsSlotAndLetsTheNextWaiterTry) {
    auto pool = mgr_.get_pool("db", "u", settings(1));
    server_.refuse_logins = 1;
    auto first = start(pool);
    auto second = start(pool);
    ASSERT_TRUE(run_until([&] { return first->done(); }));
    ASSERT_FALSE(first->ok());
    EXPECT_EQ(first->error().code, "28P01");
    ASSERT_TRUE(run_until([&] { return second->done(); }));
    ASSERT_TRUE(second->ok()) << second->error().message;
    EXPECT_EQ(server_.refused, 1);
    EXPECT_EQ(stats_of(*pool).server_login, 0);
    EXPECT_EQ(stats_of(*pool).server_active, 1);
    EXPECT_EQ(class_stats(*pool, "default").held, 1);
    EXPECT_EQ(mgr_.total_server_connections(), 1);
    EXPECT_EQ(budget().open, 1);
    second->lease().reset();

    // Once more with nobody else waiting: the counts all go back to zero.
    server_.refuse_logins = 1;
    mgr_.close_idle();
    auto third = start(pool);
    ASSERT_TRUE(run_until([&] { return third->done(); }));
    ASSERT_FALSE(third->ok());
    EXPECT_EQ(stats_of(*pool).server_login, 0);
    EXPECT_EQ(class_stats(*pool, "default").held, 0);
    EXPECT_EQ(mgr_.total_server_connections(), 0);
    EXPECT_EQ(budget().open, 0);
}

// ---- housekeeping -------------------------------------------------------------------------

// Guards: server_lifetime not enforced when a connection comes back (an old connection
// parked and reused forever).
TEST_F(PoolManagerTest, ConnectionPastServerLifetimeIsClosedAtRelease) {
    auto s = settings(2);
    s.server_lifetime = 1h;
    auto pool = mgr_.get_pool("db", "u", s);
    Lease lease = take(pool);
    ASSERT_TRUE(lease);
    lease->created = Clock::now() - 1h - 1s;
    lease.reset();
    EXPECT_EQ(stats_of(*pool).server_idle, 0);
    EXPECT_EQ(mgr_.total_server_connections(), 0);
    EXPECT_TRUE(run_until([&] { return server_.terminates == 1; }));
}

// Guards: an idle connection past server_lifetime (or server_idle_timeout) handed out by a
// checkout instead of closed and replaced; its count kept.
TEST_F(PoolManagerTest, ExpiredIdleConnectionIsReplacedAtCheckout) {
    auto s = settings(2);
    s.server_lifetime = 1h;
    auto pool = mgr_.get_pool("db", "u", s);
    Lease lease = take(pool);
    ASSERT_TRUE(lease);
    const int32_t old_pid = lease->backend_pid;
    lease.reset();
    auto c = start(pool, 0, 0, std::nullopt, Clock::now() + 2h);  // asks two hours later
    ASSERT_TRUE(run_until([&] { return c->done(); }));
    ASSERT_TRUE(c->ok());
    EXPECT_NE(c->lease()->backend_pid, old_pid);
    EXPECT_EQ(mgr_.total_server_connections(), 1);
    EXPECT_EQ(stats_of(*pool).server_idle, 0);
    EXPECT_TRUE(run_until([&] { return server_.terminates == 1; }));
}

// Guards: a parked connection the server closed handed to a client; the discarded
// connection's counts kept (pool shrinks) or its class slot not given back.
TEST_F(PoolManagerTest, IdleConnectionKilledByTheServerIsDiscardedAtCheckout) {
    auto s = settings(2);
    s.server_check_delay = 0ms;  // always peek before handing out
    auto pool = mgr_.get_pool("db", "u", s);
    Lease lease = take(pool);
    ASSERT_TRUE(lease);
    const int32_t old_pid = lease->backend_pid;
    lease.reset();
    server_.kill(old_pid);

    Lease fresh = take(pool);
    ASSERT_TRUE(fresh);
    EXPECT_NE(fresh->backend_pid, old_pid);
    EXPECT_EQ(stats_of(*pool).server_active, 1);
    EXPECT_EQ(stats_of(*pool).server_idle, 0);
    EXPECT_EQ(class_stats(*pool, "default").held, 1);
    EXPECT_EQ(mgr_.total_server_connections(), 1);
    EXPECT_EQ(budget().open, 1);
}

// Guards: the janitor closing connections that are not yet due, or missing ones past
// server_idle_timeout or server_lifetime; counts kept for what it closed.
TEST_F(PoolManagerTest, JanitorClosesIdleConnectionsPastIdleTimeoutOrLifetime) {
    auto s = settings(4);
    s.server_idle_timeout = 10s;
    s.server_lifetime = 1h;
    auto pool = mgr_.get_pool("db", "u", s);
    Lease a = take(pool);
    Lease b = take(pool);
    ASSERT_TRUE(a && b);
    a.reset();
    b.reset();
    EXPECT_TRUE(mgr_.janitor(Clock::now()).empty());
    EXPECT_EQ(stats_of(*pool).server_idle, 2);
    mgr_.janitor(Clock::now() + 11s);
    EXPECT_EQ(stats_of(*pool).server_idle, 0);
    EXPECT_EQ(mgr_.total_server_connections(), 0);
    EXPECT_TRUE(run_until([&] { return server_.terminates == 2; }));

    s.server_idle_timeout = 0ms;  // off: only the lifetime applies (a reload)
    pool = mgr_.get_pool("db", "u", s);
    Lease c = take(pool);
    ASSERT_TRUE(c);
    c.reset();
    mgr_.janitor(Clock::now() + 30min);
    EXPECT_EQ(stats_of(*pool).server_idle, 1);
    mgr_.janitor(Clock::now() + 1h + 1s);
    EXPECT_EQ(stats_of(*pool).server_idle, 0);
    EXPECT_TRUE(run_until([&] { return server_.terminates == 3; }));
}

// Guards: min_pool_size deficits miscounted, prewarmed connections not parked, or counted
// against a class (kNoClass leaking into a class's held).
TEST_F(PoolManagerTest, JanitorReportsMinPoolSizeDeficitAndPrewarmParks) {
    auto s = settings(4);
    s.min_pool_size = 2;
    auto pool = mgr_.get_pool("db", "u", s);
    auto deficits = mgr_.janitor(Clock::now());
    ASSERT_EQ(deficits.size(), 1u);
    EXPECT_EQ(deficits[0].first, pool);
    EXPECT_EQ(deficits[0].second, 2);
    for (int i = 0; i < deficits[0].second; ++i) {
        asio::co_spawn(io_.get_executor(), mgr_.prewarm(pool, i % kWorkers), asio::detached);
    }
    ASSERT_TRUE(run_until([&] { return stats_of(*pool).server_idle == 2; }));
    EXPECT_EQ(stats_of(*pool).server_active, 0);
    EXPECT_EQ(stats_of(*pool).server_login, 0);
    EXPECT_EQ(class_stats(*pool, "default").held, 0);
    EXPECT_EQ(mgr_.total_server_connections(), 2);
    EXPECT_EQ(mgr_.idle_servers().size(), 2u);
    EXPECT_TRUE(mgr_.janitor(Clock::now()).empty());
    Lease lease = take(pool);
    ASSERT_TRUE(lease);
    EXPECT_EQ(server_.logins, 2);
}

// ---- stats, reload, shutdown, admin ----------------------------------------------------------

// Guards: SHOW POOLS / SHOW CLASSES columns wired to the wrong counters, or not kept.
TEST_F(PoolManagerTest, StatsReportPoolsAndClasses) {
    auto pool = mgr_.get_pool("db", "u", settings(2, {klass("oltp", 1, 2, 5), klass("default")}));
    const size_t oltp = mgr_.class_index(*pool, "oltp");
    const size_t dflt = mgr_.class_index(*pool, "default");
    mgr_.count_client(*pool, 1);
    mgr_.count_client(*pool, 1);
    mgr_.count_client(*pool, -1);
    Lease o = take(pool, oltp);
    Lease d = take(pool, dflt);
    ASSERT_TRUE(o && d);
    auto w = start(pool, dflt, 0, std::nullopt, Clock::now() - 3s);
    ASSERT_TRUE(run_until([&] { return waiting(*pool) == 1; }));

    auto ps = stats_of(*pool);
    EXPECT_EQ(ps.database, "db");
    EXPECT_EQ(ps.user, "u");
    EXPECT_EQ(ps.mode, config::PoolMode::Transaction);
    EXPECT_EQ(ps.pool_size, 2);
    EXPECT_EQ(ps.clients, 1);
    EXPECT_EQ(ps.server_active, 2);
    EXPECT_EQ(ps.server_idle, 0);
    EXPECT_EQ(ps.server_login, 0);
    EXPECT_EQ(ps.waiting, 1);
    EXPECT_GE(ps.max_wait_seconds, 3.0);
    ASSERT_EQ(ps.classes.size(), 2u);
    const auto& oc = ps.classes[oltp];
    EXPECT_EQ(oc.name, "oltp");
    EXPECT_EQ(oc.limits.reserve, 1);
    EXPECT_EQ(oc.limits.max, 2);
    EXPECT_EQ(oc.limits.priority, 5);
    EXPECT_EQ(oc.held, 1);
    EXPECT_EQ(oc.waiting, 0);
    EXPECT_EQ(oc.granted, 1);
    EXPECT_EQ(oc.admission_wait.count, 1);
    EXPECT_EQ(oc.max_wait_seconds, 0);
    const auto& dc = ps.classes[dflt];
    EXPECT_EQ(dc.name, "default");
    EXPECT_EQ(dc.held, 1);
    EXPECT_EQ(dc.waiting, 1);
    EXPECT_EQ(dc.granted, 1);
    EXPECT_GE(dc.max_wait_seconds, 3.0);

    d.reset();
    ASSERT_TRUE(run_until([&] { return w->done(); }));
    ASSERT_TRUE(w->ok());
    auto after = class_stats(*pool, "default");
    EXPECT_EQ(after.granted, 2);
    EXPECT_EQ(after.held, 1);
    EXPECT_EQ(after.waiting, 0);
    EXPECT_EQ(after.admission_wait.count, 2);
    EXPECT_GE(after.admission_wait.sum_seconds, 3.0);  // measured from its arrival
    EXPECT_EQ(stats_of(*pool).max_wait_seconds, 0);
    EXPECT_EQ(stats_of(*pool).waiting, 0);
    EXPECT_EQ(class_stats(*pool, "oltp").held, 1);
}

// Guards: a reload that raises a limit not admitting who was waiting; class indices moving
// across a reload; a class dropped from the config keeping its cap; unknown names not
// falling back to the default class.
TEST_F(PoolManagerTest, ReloadKeepsClassIndicesAndAdmitsWaiters) {
    auto pool = mgr_.get_pool("db", "u", settings(1, {klass("report", 0, 1), klass("default")}));
    const size_t report = mgr_.class_index(*pool, "report");
    const size_t dflt = mgr_.class_index(*pool, "default");
    EXPECT_EQ(mgr_.class_index(*pool, "no such class"), dflt);
    Lease held = take(pool, report);
    ASSERT_TRUE(held);
    auto w = start(pool, dflt);
    ASSERT_TRUE(run_until([&] { return waiting(*pool) == 1; }));

    auto same = mgr_.get_pool("db", "u", settings(2, {klass("default")}));
    EXPECT_EQ(same, pool);
    ASSERT_TRUE(run_until([&] { return w->done(); }));
    ASSERT_TRUE(w->ok());
    EXPECT_EQ(mgr_.class_index(*pool, "report"), report);
    EXPECT_EQ(mgr_.class_index(*pool, "default"), dflt);
    EXPECT_EQ(stats_of(*pool).pool_size, 2);
    EXPECT_EQ(class_stats(*pool, "report").limits.max, INT_MAX);
}

// Guards: shutdown leaving idle sockets open, or parking connections released after it.
TEST_F(PoolManagerTest, ShutdownClosesIdleAndReleasedConnections) {
    auto pool = mgr_.get_pool("db", "u", settings(2));
    Lease a = take(pool);
    Lease b = take(pool);
    ASSERT_TRUE(a && b);
    a.reset();
    mgr_.begin_shutdown();
    EXPECT_EQ(stats_of(*pool).server_idle, 0);
    b.reset();
    EXPECT_EQ(stats_of(*pool).server_idle, 0);
    EXPECT_EQ(mgr_.total_server_connections(), 0);
    EXPECT_TRUE(run_until([&] { return server_.terminates == 2 && server_.live() == 0; }));
}

// Guards: admin KILL closing another database's idle connections; SHOW SERVERS missing one.
TEST_F(PoolManagerTest, CloseIdleOfOneDatabaseAndIdleServers) {
    auto pa = mgr_.get_pool("a", "u", settings(2));
    auto pb = mgr_.get_pool("b", "u", settings(2));
    Lease la = take(pa);
    Lease lb = take(pb);
    ASSERT_TRUE(la && lb);
    const int32_t b_pid = lb->backend_pid;
    la.reset();
    lb.reset();
    EXPECT_EQ(mgr_.idle_servers().size(), 2u);
    mgr_.close_idle_of("a");
    auto idle = mgr_.idle_servers();
    ASSERT_EQ(idle.size(), 1u);
    EXPECT_EQ(idle[0].database, "b");
    EXPECT_EQ(idle[0].user, "u");
    EXPECT_EQ(idle[0].backend_pid, b_pid);
    EXPECT_EQ(stats_of(*pa).server_idle, 0);
    EXPECT_EQ(mgr_.total_server_connections(), 1);
    EXPECT_TRUE(run_until([&] { return server_.terminates == 1; }));
}

}  // namespace
}  // namespace pgwarden::pool
