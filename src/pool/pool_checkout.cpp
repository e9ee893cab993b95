// PoolManager's checkout: the steps a session runs inline (begin_checkout), the wait
// (end_wait, finish_checkout), opening a reserved connection, and acquire() over all three.
#include "pgwire/sqlstate.hpp"
#include "pool/pool.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

namespace pgwarden::pool {

namespace sqlstate = pgwire::sqlstate;

std::unique_ptr<ServerConn> PoolManager::checkout_idle_locked(
    Pool& pool, size_t cls, int worker, Clock::time_point now,
    std::vector<std::unique_ptr<ServerConn>>& to_close) {
    auto conn = take_idle_locked(pool, worker);
    if (!conn) {
        return nullptr;
    }
    if (expired(pool, *conn, now)) {
        count_open_locked(pool, -1);
        to_close.push_back(std::move(conn));
        return nullptr;
    }
    ++pool.active_;
    pool.classes_[cls].count_grant(0);
    return conn;
}

void PoolManager::discard_dead(Pool& pool, size_t cls, std::unique_ptr<ServerConn> conn) {
    // Killed backend, restarted server: PostgreSQL's goodbye (or EOF) sits unread on an idle
    // connection. Never hand that to a client.
    spdlog::info("server conn={} {} died while idle; discarding", conn->id, conn->remote);
    WakeList woken;
    std::vector<std::unique_ptr<ServerConn>> evicted;
    {
        std::lock_guard lock(mu_);
        --pool.active_;
        unhold_locked(pool, cls);
        count_open_locked(pool, -1);
        grant_waiters_locked(woken, evicted);
    }
    close_server(std::move(conn));
    close_all(evicted);
    wake(woken);
}

PoolManager::CheckoutStep PoolManager::begin_checkout(const std::shared_ptr<Pool>& pool, size_t cls,
                                                      int worker, const net::Executor& exec,
                                                      Clock::time_point now,
                                                      std::shared_ptr<Waiter>& waiter,
                                                      std::optional<Lease>& out) {
    for (;;) {
        std::unique_ptr<ServerConn> conn;
        std::vector<std::unique_ptr<ServerConn>> to_close;
        auto step = CheckoutStep::Busy;
        bool check = true;
        {
            std::lock_guard lock(mu_);
            auto& slot = pool->classes_[cls];
            if (admission::may_enter(pool->classes_, cls, pool->settings_.pool_size,
                                     pool->active_ + pool->connecting_)) {
                conn = checkout_idle_locked(*pool, cls, worker, now, to_close);
                if (conn) {
                    step = CheckoutStep::Leased;
                    check = now - conn->last_used >= pool->settings_.server_check_delay;
                } else if (to_close.empty() && try_open_locked(*pool, to_close)) {
                    slot.count_grant(0);
                    step = CheckoutStep::Open;
                }
            }
            if (step == CheckoutStep::Busy && to_close.empty()) {
                if (!waiter) {
                    waiter = std::make_shared<Waiter>(exec, worker);
                }
                auto& w = *waiter;
                w.cls = cls;
                w.conn.reset();
                w.may_open = false;
                w.queued = true;
                w.since = now;
                slot.waiters.push_back(waiter);
                ++pool->waiting_;
                ++total_waiting_;
                step = CheckoutStep::Queued;
            }
        }
        close_all(to_close);
        if (step == CheckoutStep::Leased) {
            if (check && !server_alive(*conn)) {
                discard_dead(*pool, cls, std::move(conn));
                now = Clock::now();
                continue;
            }
            rehome(*conn, exec, worker);
            out = Lease(this, pool, std::move(conn), cls);
            return step;
        }
        if (step == CheckoutStep::Busy && !to_close.empty()) {
            now = Clock::now();  // an expired idle connection was closed: look again
            continue;
        }
        return step;
    }
}

common::Result<PoolManager::CheckoutStep> PoolManager::end_wait(
    const std::shared_ptr<Pool>& pool, size_t cls, int worker, const net::Executor& exec,
    Clock::time_point deadline, Waiter& waiter, std::optional<Lease>& out) {
    std::unique_ptr<ServerConn> conn;
    {
        std::lock_guard lock(mu_);
        if (waiter.queued) {
            if (Clock::now() < deadline) {
                // Woken but not granted: a hand-off to this waiter's previous wait that
                // raced with its timeout (another loop's cancel landed late). Wait on.
                return CheckoutStep::Queued;
            }
            auto& slot = pool->classes_[cls];
            const auto it = std::find_if(slot.waiters.begin(), slot.waiters.end(),
                                         [&](const auto& w) { return w.get() == &waiter; });
            dequeue_locked(*pool, slot, it);
            ++slot.wait_timeouts;
            return common::make_error(
                sqlstate::kTooManyConnections,
                fmt::format("query_wait_timeout: no server connection for class \"{}\" in "
                            "pool {}/{} in time ({} of {} server connections in use, {} "
                            "held by this class)",
                            slot.name, pool->database_, pool->user_,
                            pool->active_ + pool->connecting_, pool->settings_.pool_size,
                            slot.held));
        }
        if (waiter.may_open) {
            return CheckoutStep::Open;
        }
        conn = std::move(waiter.conn);
    }
    if (!conn) {
        return CheckoutStep::Busy;  // woken without a grant (shutdown, reload): start over
    }
    rehome(*conn, exec, worker);
    out = Lease(this, pool, std::move(conn), cls);
    return CheckoutStep::Leased;
}

net::awaitable<common::Result<Lease>> PoolManager::open_lease(std::shared_ptr<Pool> pool,
                                                              size_t cls, int worker) {
    auto opened = co_await open(pool, cls, worker);
    if (!opened) {
        co_return std::move(opened).error();
    }
    {
        std::lock_guard lock(mu_);
        ++pool->active_;
    }
    rehome(**opened, co_await net::asio::this_coro::executor, worker);
    co_return Lease(this, pool, std::move(*opened), cls);
}

net::awaitable<common::Result<Lease>> PoolManager::finish_checkout(
    std::shared_ptr<Pool> pool, size_t cls, int worker, CheckoutStep step,
    Clock::time_point deadline, std::shared_ptr<Waiter>& waiter, std::optional<Lease>& out) {
    const auto exec = co_await net::asio::this_coro::executor;
    for (;;) {
        switch (step) {
        case CheckoutStep::Leased:
            co_return std::move(*out);
        case CheckoutStep::Open:
            co_return co_await open_lease(pool, cls, worker);
        case CheckoutStep::Busy:  // woken without a grant: look again
            step = begin_checkout(pool, cls, worker, exec, Clock::now(), waiter, out);
            break;
        case CheckoutStep::Queued: {
            waiter->timer.expires_at(deadline);
            co_await waiter->timer.async_wait(net::as_result_direct);
            auto waited = end_wait(pool, cls, worker, exec, deadline, *waiter, out);
            if (!waited) {
                co_return std::move(waited).error();
            }
            step = *waited;
            break;
        }
        }
    }
}

net::awaitable<common::Result<Lease>> PoolManager::acquire(std::shared_ptr<Pool> pool, size_t cls,
                                                           int worker, Clock::time_point now,
                                                           Clock::time_point deadline,
                                                           std::shared_ptr<Waiter>& waiter) {
    const auto exec = co_await net::asio::this_coro::executor;
    std::optional<Lease> out;
    const auto step = begin_checkout(pool, cls, worker, exec, now, waiter, out);
    co_return co_await finish_checkout(std::move(pool), cls, worker, step, deadline, waiter, out);
}

}  // namespace pgwarden::pool
