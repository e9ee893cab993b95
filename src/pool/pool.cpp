#include "pool/pool.hpp"

#include "pgwire/sqlstate.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <cerrno>

namespace pgwarden::pool {

namespace sqlstate = pgwire::sqlstate;

namespace {
// How long the oldest waiter may be passed over in favour of one on the releasing loop.
constexpr auto kHandoffFairness = std::chrono::milliseconds(2);
}  // namespace

Pool::Pool(std::string database, std::string user, PoolSettings settings, int workers)
    : database_(std::move(database)),
      user_(std::move(user)),
      settings_(std::move(settings)),
      idle_(static_cast<size_t>(workers)) {}

Lease::Lease(Lease&& other) noexcept
    : manager_(other.manager_),
      pool_(std::move(other.pool_)),
      conn_(std::move(other.conn_)),
      dirty_(other.dirty_) {
    other.dirty_ = false;
}

Lease& Lease::operator=(Lease&& other) noexcept {
    if (this != &other) {
        reset();
        manager_ = other.manager_;
        pool_ = std::move(other.pool_);
        conn_ = std::move(other.conn_);
        dirty_ = other.dirty_;
        other.dirty_ = false;
    }
    return *this;
}

void Lease::reset() noexcept {
    if (conn_) {
        // A connection still holding unread bytes is mid-response: never reuse it.
        const bool reusable = !dirty_ && conn_->in.empty();
        manager_->release(*pool_, std::move(conn_), reusable);
    }
    pool_.reset();
    dirty_ = false;
}

void close_server(std::unique_ptr<ServerConn> conn) {
    if (!conn || !conn->socket.is_open()) {
        return;
    }
    static const char terminate[5] = {'X', 0, 0, 0, 4};
    // Best effort: tells PostgreSQL this is an orderly goodbye, never blocks.
    (void)::send(conn->socket.native_handle(), terminate, sizeof terminate,
                 MSG_DONTWAIT | MSG_NOSIGNAL);
    net::error_code ec;
    conn->socket.close(ec);
}

bool server_alive(ServerConn& conn) {
    char byte = 0;
    const ssize_t n = ::recv(conn.socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void rehome(ServerConn& conn, net::Executor exec, int worker) {
    if (conn.worker == worker) {
        return;
    }
    const auto protocol = conn.socket.local_endpoint().protocol();
    net::error_code ec;
    const int fd = conn.socket.release(ec);
    if (ec) {
        // The socket cannot move; a fresh close is the safe answer.
        conn.socket.close(ec);
        return;
    }
    conn.socket = net::StreamSocket(std::move(exec), protocol, fd);
    conn.worker = worker;
}

std::shared_ptr<Pool> PoolManager::get_pool(const std::string& database, const std::string& user,
                                            const PoolSettings& settings) {
    std::lock_guard lock(mu_);
    auto& slot = pools_[{database, user}];
    if (!slot) {
        slot = std::make_shared<Pool>(database, user, settings, workers_);
    } else {
        // Keep SCRAM keys learnt from client logins across a reload.
        auto keep_client = slot->settings_.credentials.scram_client_key;
        auto keep_server = slot->settings_.credentials.scram_server_key;
        slot->settings_ = settings;
        if (!slot->settings_.credentials.scram_client_key) {
            slot->settings_.credentials.scram_client_key = keep_client;
            slot->settings_.credentials.scram_server_key = keep_server;
        }
    }
    return slot;
}

bool PoolManager::can_open_locked(const Pool& pool) const {
    const auto& s = pool.settings_;
    int in_pool = pool.active_ + pool.idle_count_ + pool.connecting_;
    if (in_pool >= s.pool_size) {
        return false;
    }
    if (s.max_db_connections > 0) {
        auto it = per_db_.find(pool.database_);
        if (it != per_db_.end() && it->second >= s.max_db_connections) {
            return false;
        }
    }
    if (s.max_user_connections > 0) {
        auto it = per_user_.find(pool.user_);
        if (it != per_user_.end() && it->second >= s.max_user_connections) {
            return false;
        }
    }
    return true;
}

void PoolManager::count_open_locked(const Pool& pool, int delta) {
    per_db_[pool.database_] += delta;
    per_user_[pool.user_] += delta;
}

std::unique_ptr<ServerConn> PoolManager::take_idle_locked(Pool& pool, int worker) {
    if (pool.idle_count_ == 0) {
        return nullptr;
    }
    // Prefer a connection already registered with the caller's event loop: no re-homing.
    auto take_from = [&](std::vector<std::unique_ptr<ServerConn>>& list) {
        auto conn = std::move(list.back());
        list.pop_back();
        --pool.idle_count_;
        return conn;
    };
    if (!pool.idle_[static_cast<size_t>(worker)].empty()) {
        return take_from(pool.idle_[static_cast<size_t>(worker)]);
    }
    for (auto& list : pool.idle_) {
        if (!list.empty()) {
            return take_from(list);
        }
    }
    return nullptr;
}

bool PoolManager::expired(const Pool& pool, const ServerConn& conn, Clock::time_point now) const {
    const auto& s = pool.settings_;
    if (s.server_lifetime.count() > 0 && now - conn.created >= s.server_lifetime) {
        return true;
    }
    return s.server_idle_timeout.count() > 0 && now - conn.last_used >= s.server_idle_timeout;
}

bool PoolManager::grant_one_locked(Pool& pool, std::vector<std::shared_ptr<Waiter>>& woken) {
    if (pool.waiters_.empty()) {
        return false;
    }
    auto waiter = pool.waiters_.front();
    if (pool.idle_count_ > 0) {
        waiter->conn = take_idle_locked(pool, 0);
        ++pool.active_;
    } else if (can_open_locked(pool)) {
        waiter->may_open = true;
        ++pool.connecting_;
        count_open_locked(pool, 1);
    } else {
        return false;
    }
    pool.waiters_.pop_front();
    waiter->queued = false;
    woken.push_back(std::move(waiter));
    return true;
}

void PoolManager::grant_waiters_locked(std::vector<std::shared_ptr<Waiter>>& woken) {
    // A freed slot in a shared limit (database, user) may unblock another pool's waiters.
    for (auto& [key, pool] : pools_) {
        while (grant_one_locked(*pool, woken)) {
        }
    }
}

void PoolManager::wake(std::vector<std::shared_ptr<Waiter>>& woken) {
    for (auto& w : woken) {
        net::asio::post(w->timer.get_executor(), [w] { w->timer.cancel(); });
    }
}

std::deque<std::shared_ptr<Waiter>>::iterator PoolManager::pick_waiter_locked(
    Pool& pool, int worker, Clock::time_point now) {
    auto oldest = pool.waiters_.begin();
    if (now - (*oldest)->since > kHandoffFairness) {
        return oldest;
    }
    // Look a few places deep only: the hand-off stays O(1) however long the queue is.
    int looked = 0;
    for (auto it = oldest; it != pool.waiters_.end() && looked < 16; ++it, ++looked) {
        if ((*it)->worker == worker) {
            return it;
        }
    }
    return oldest;
}

void PoolManager::release(Pool& pool, std::unique_ptr<ServerConn> conn, bool reusable) {
    std::vector<std::shared_ptr<Waiter>> woken;
    std::unique_ptr<ServerConn> to_close;
    {
        std::lock_guard lock(mu_);
        --pool.active_;
        const auto now = Clock::now();
        conn->last_used = now;
        if (!reusable || shutting_down_ ||
            (pool.settings_.server_lifetime.count() > 0 &&
             now - conn->created >= pool.settings_.server_lifetime)) {
            count_open_locked(pool, -1);
            to_close = std::move(conn);
            if (!shutting_down_) {
                grant_waiters_locked(woken);
            }
        } else if (!pool.waiters_.empty()) {
            auto it = pick_waiter_locked(pool, conn->worker, now);
            auto waiter = *it;
            pool.waiters_.erase(it);
            waiter->queued = false;
            waiter->conn = std::move(conn);
            ++pool.active_;
            woken.push_back(std::move(waiter));
        } else {
            auto& list = pool.idle_[static_cast<size_t>(conn->worker)];
            list.push_back(std::move(conn));
            ++pool.idle_count_;
        }
    }
    close_server(std::move(to_close));
    wake(woken);
}

net::awaitable<common::Result<std::unique_ptr<ServerConn>>> PoolManager::open(
    std::shared_ptr<Pool> pool, int worker) {
    PoolSettings settings;
    {
        std::lock_guard lock(mu_);
        settings = pool->settings_;
    }
    auto conn = co_await connect_server(settings.endpoint, settings.credentials, {},
                                        settings.server_connect_timeout);
    std::vector<std::shared_ptr<Waiter>> woken;
    {
        std::lock_guard lock(mu_);
        --pool->connecting_;
        if (!conn) {
            count_open_locked(*pool, -1);
            // Let the next waiter try (or fail) by itself rather than hang until its timeout.
            grant_waiters_locked(woken);
        } else {
            (*conn)->worker = worker;
            if (pool->server_params_.empty()) {
                for (const auto& kv : (*conn)->params) {
                    pool->server_params_.push_back(kv);
                }
            }
        }
    }
    wake(woken);
    co_return conn;
}

net::awaitable<common::Result<Lease>> PoolManager::acquire(std::shared_ptr<Pool> pool, int worker,
                                                           Clock::time_point deadline) {
    auto exec = co_await net::asio::this_coro::executor;
    for (;;) {
        std::unique_ptr<ServerConn> conn;
        std::unique_ptr<ServerConn> stale;
        bool may_open = false;
        std::shared_ptr<Waiter> waiter;
        {
            std::lock_guard lock(mu_);
            conn = take_idle_locked(*pool, worker);
            if (conn) {
                if (expired(*pool, *conn, Clock::now())) {
                    count_open_locked(*pool, -1);
                    stale = std::move(conn);
                } else {
                    ++pool->active_;
                }
            } else if (pool->waiters_.empty() && can_open_locked(*pool)) {
                may_open = true;
                ++pool->connecting_;
                count_open_locked(*pool, 1);
            } else {
                waiter = std::make_shared<Waiter>(exec, worker);
                pool->waiters_.push_back(waiter);
            }
        }
        if (stale) {
            close_server(std::move(stale));
            continue;
        }
        if (conn && !server_alive(*conn)) {
            // Killed backend, restarted server: PostgreSQL's goodbye (or EOF) sits unread on
            // an idle connection. Never hand that to a client.
            spdlog::info("server conn={} {} died while idle; discarding", conn->id, conn->remote);
            std::vector<std::shared_ptr<Waiter>> woken;
            {
                std::lock_guard lock(mu_);
                --pool->active_;
                count_open_locked(*pool, -1);
                grant_waiters_locked(woken);
            }
            close_server(std::move(conn));
            wake(woken);
            continue;
        }
        if (waiter) {
            waiter->timer.expires_at(deadline);
            co_await waiter->timer.async_wait(net::as_result);
            std::lock_guard lock(mu_);
            if (waiter->queued) {
                std::erase(pool->waiters_, waiter);
                co_return common::make_error(
                    sqlstate::kTooManyConnections,
                    fmt::format("query_wait_timeout: no server connection available in pool "
                                "{}/{} in time",
                                pool->database_, pool->user_));
            }
            conn = std::move(waiter->conn);
            may_open = waiter->may_open;
        }
        if (may_open) {
            auto opened = co_await open(pool, worker);
            if (!opened) {
                co_return std::move(opened).error();
            }
            conn = std::move(*opened);
            std::lock_guard lock(mu_);
            ++pool->active_;
        }
        if (conn) {
            rehome(*conn, exec, worker);
            co_return Lease(this, pool, std::move(conn));
        }
    }
}

std::vector<std::pair<std::string, std::string>> PoolManager::server_params(const Pool& pool) {
    std::lock_guard lock(mu_);
    return pool.server_params_;
}

void PoolManager::set_scram_keys(Pool& pool, const pgwire::scram::Key& client_key,
                                 const pgwire::scram::Key& server_key) {
    std::lock_guard lock(mu_);
    pool.settings_.credentials.scram_client_key = client_key;
    pool.settings_.credentials.scram_server_key = server_key;
}

void PoolManager::set_password(Pool& pool, const std::string& password) {
    std::lock_guard lock(mu_);
    if (pool.settings_.credentials.password.empty()) {
        pool.settings_.credentials.password = password;
    }
}

std::vector<std::pair<std::shared_ptr<Pool>, int>> PoolManager::janitor(Clock::time_point now) {
    std::vector<std::unique_ptr<ServerConn>> to_close;
    std::vector<std::pair<std::shared_ptr<Pool>, int>> deficits;
    std::vector<std::shared_ptr<Waiter>> woken;
    {
        std::lock_guard lock(mu_);
        for (auto& [key, pool] : pools_) {
            for (auto& list : pool->idle_) {
                for (auto it = list.begin(); it != list.end();) {
                    if (expired(*pool, **it, now)) {
                        to_close.push_back(std::move(*it));
                        it = list.erase(it);
                        --pool->idle_count_;
                        count_open_locked(*pool, -1);
                    } else {
                        ++it;
                    }
                }
            }
            const int have = pool->active_ + pool->idle_count_ + pool->connecting_;
            if (have < pool->settings_.min_pool_size && can_open_locked(*pool)) {
                deficits.emplace_back(pool, pool->settings_.min_pool_size - have);
            }
        }
        if (!to_close.empty()) {
            grant_waiters_locked(woken);
        }
    }
    for (auto& c : to_close) {
        close_server(std::move(c));
    }
    wake(woken);
    return deficits;
}

net::awaitable<void> PoolManager::prewarm(std::shared_ptr<Pool> pool, int worker) {
    {
        std::lock_guard lock(mu_);
        if (!can_open_locked(*pool)) {
            co_return;
        }
        ++pool->connecting_;
        count_open_locked(*pool, 1);
    }
    auto conn = co_await open(pool, worker);
    if (!conn) {
        spdlog::warn("min_pool_size warm-up for {}/{} failed: {}", pool->database_, pool->user_,
                     conn.error().message);
        co_return;
    }
    {
        std::lock_guard lock(mu_);
        ++pool->active_;
    }
    Lease lease(this, pool, std::move(*conn));  // released idle (or to a waiter) right away
}

std::vector<PoolStats> PoolManager::stats() {
    std::vector<PoolStats> out;
    std::lock_guard lock(mu_);
    const auto now = Clock::now();
    for (const auto& [key, pool] : pools_) {
        PoolStats s;
        s.database = pool->database_;
        s.user = pool->user_;
        s.mode = pool->settings_.mode;
        s.pool_size = pool->settings_.pool_size;
        s.server_active = pool->active_;
        s.server_idle = pool->idle_count_;
        s.server_login = pool->connecting_;
        s.clients = pool->clients_;
        s.waiting = static_cast<int>(pool->waiters_.size());
        if (!pool->waiters_.empty()) {
            s.max_wait_seconds =
                std::chrono::duration<double>(now - pool->waiters_.front()->since).count();
        }
        out.push_back(std::move(s));
    }
    return out;
}

int PoolManager::total_server_connections() {
    std::lock_guard lock(mu_);
    int total = 0;
    for (const auto& [db, n] : per_db_) {
        total += n;
    }
    return total;
}

void PoolManager::begin_shutdown() {
    {
        std::lock_guard lock(mu_);
        shutting_down_ = true;
    }
    close_idle();
}

void PoolManager::close_idle() {
    std::vector<std::unique_ptr<ServerConn>> to_close;
    {
        std::lock_guard lock(mu_);
        for (auto& [key, pool] : pools_) {
            for (auto& list : pool->idle_) {
                for (auto& c : list) {
                    to_close.push_back(std::move(c));
                    count_open_locked(*pool, -1);
                }
                list.clear();
            }
            pool->idle_count_ = 0;
        }
    }
    for (auto& c : to_close) {
        close_server(std::move(c));
    }
}

}  // namespace pgwarden::pool
