#include "pool/pool.hpp"

#include "pgwire/sqlstate.hpp"
#include "pool/server_query.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <limits>
#include <utility>

namespace pgwarden::pool {

namespace sqlstate = pgwire::sqlstate;

namespace {
// How long the oldest waiter may be passed over in favour of one on the releasing loop.
constexpr auto kHandoffFairness = std::chrono::milliseconds(2);
}  // namespace

void WaitHistogram::observe(double seconds) {
    size_t i = 0;
    while (i < std::size(kAdmissionWaitBounds) && seconds > kAdmissionWaitBounds[i]) {
        ++i;
    }
    ++buckets[i];
    sum_seconds += seconds;
    ++count;
}

double WaitHistogram::quantile(double q) const {
    if (count == 0) {
        return 0;
    }
    const auto wanted = static_cast<int64_t>(q * static_cast<double>(count) + 0.999999);
    int64_t seen = 0;
    for (size_t i = 0; i < std::size(kAdmissionWaitBounds); ++i) {
        seen += buckets[i];
        if (seen >= wanted) {
            return kAdmissionWaitBounds[i];
        }
    }
    return std::numeric_limits<double>::infinity();
}

Pool::Pool(std::string database, std::string user, PoolSettings settings, int workers)
    : database_(std::move(database)),
      user_(std::move(user)),
      settings_(std::move(settings)),
      idle_(static_cast<size_t>(workers)) {}

Lease::Lease(Lease&& other) noexcept
    : manager_(other.manager_),
      pool_(std::move(other.pool_)),
      conn_(std::move(other.conn_)),
      cls_(other.cls_),
      dirty_(other.dirty_) {
    other.dirty_ = false;
}

Lease& Lease::operator=(Lease&& other) noexcept {
    if (this != &other) {
        reset();
        manager_ = other.manager_;
        pool_ = std::move(other.pool_);
        conn_ = std::move(other.conn_);
        cls_ = other.cls_;
        dirty_ = other.dirty_;
        other.dirty_ = false;
    }
    return *this;
}

void Lease::reset() noexcept {
    if (conn_) {
        // A connection still holding unread bytes is mid-response: never reuse it.
        const bool reusable = !dirty_ && conn_->in.empty();
        try {
            manager_->release(*pool_, cls_, std::move(conn_), reusable);
        } catch (...) {
            // release() throws only when an allocation fails (its wake and close lists, a
            // posted wake-up), part-way through the pool's bookkeeping: no count after that
            // can be trusted, so the process ends, as it would for any out-of-memory here.
            std::terminate();
        }
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

void rehome(ServerConn& conn, const net::Executor& exec, int worker) {
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
    conn.socket = net::StreamSocket(exec, protocol, fd);
    conn.worker = worker;
}

std::shared_ptr<Pool> PoolManager::get_pool(const std::string& database, const std::string& user,
                                            const PoolSettings& settings) {
    std::lock_guard lock(mu_);
    auto& slot = pools_[{database, user}];
    if (!slot) {
        slot = std::make_shared<Pool>(database, user, settings, workers_);
        slot->endpoint_key_ = fmt::format("{}:{}", settings.endpoint.host, settings.endpoint.port);
        apply_classes_locked(*slot, settings);
    } else {
        // Keep SCRAM keys learnt from client logins across a reload.
        auto keep_client = slot->settings_.credentials.scram_client_key;
        auto keep_server = slot->settings_.credentials.scram_server_key;
        slot->settings_ = settings;
        if (!slot->settings_.credentials.scram_client_key) {
            slot->settings_.credentials.scram_client_key = keep_client;
            slot->settings_.credentials.scram_server_key = keep_server;
        }
        apply_classes_locked(*slot, settings);
        // New limits may admit someone who was waiting.
        WakeList woken;
        std::vector<std::unique_ptr<ServerConn>> evicted;
        while (grant_one_locked(*slot, woken, evicted)) {
        }
        wake(woken);
        close_all(evicted);
    }
    auto& budget = budgets_[slot->endpoint_key_];
    if (settings.max_server_connections > 0) {
        budget.limit = settings.max_server_connections;
        budget.known = true;
    }
    return slot;
}

void PoolManager::apply_classes_locked(Pool& pool, const PoolSettings& settings) {
    // Slots are matched by name and never removed, so a session's class index stays valid
    // across reloads; a class dropped from the config keeps no reserve and no cap.
    for (auto& slot : pool.classes_) {
        slot.limits = admission::Limits{};
    }
    auto find = [&](const std::string& name) -> Pool::ClassSlot& {
        for (auto& slot : pool.classes_) {
            if (slot.name == name) {
                return slot;
            }
        }
        pool.classes_.push_back(Pool::ClassSlot{});
        pool.classes_.back().name = name;
        return pool.classes_.back();
    };
    if (settings.classes.empty()) {
        find(std::string(config::kDefaultClass));
        return;
    }
    for (const auto& spec : settings.classes) {
        find(spec.name).limits = spec.limits;
    }
}

size_t PoolManager::class_index(Pool& pool, const std::string& name) {
    std::lock_guard lock(mu_);
    size_t fallback = 0;
    for (size_t i = 0; i < pool.classes_.size(); ++i) {
        if (pool.classes_[i].name == name) {
            return i;
        }
        if (pool.classes_[i].name == config::kDefaultClass) {
            fallback = i;
        }
    }
    return fallback;
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

bool PoolManager::try_open_locked(Pool& pool, std::vector<std::unique_ptr<ServerConn>>& evicted) {
    if (!can_open_locked(pool)) {
        return false;
    }
    auto& budget = budgets_[pool.endpoint_key_];
    if (!budget.known && budget.open > 0) {
        // Until the server's limit is known, one connection at a time: a burst of clients
        // at start-up must not open more connections than PostgreSQL accepts.
        return false;
    }
    if (budget.limit > 0 && budget.open >= budget.limit) {
        // Idle connections of another pool to the same server are the cheapest room.
        Pool* victim = nullptr;
        for (auto& [key, other] : pools_) {
            if (other.get() != &pool && other->endpoint_key_ == pool.endpoint_key_ &&
                other->idle_count_ > 0) {
                victim = other.get();
                break;
            }
        }
        if (victim == nullptr) {
            return false;
        }
        evicted.push_back(take_idle_locked(*victim, 0));
        count_open_locked(*victim, -1);
    }
    ++pool.connecting_;
    count_open_locked(pool, 1);
    return true;
}

void PoolManager::count_open_locked(const Pool& pool, int delta) {
    per_db_[pool.database_] += delta;
    per_user_[pool.user_] += delta;
    budgets_[pool.endpoint_key_].open += delta;
}

void PoolManager::unhold_locked(Pool& pool, size_t cls) {
    if (cls < pool.classes_.size()) {
        --pool.classes_[cls].held;
    }
}

void PoolManager::close_all(std::vector<std::unique_ptr<ServerConn>>& conns) {
    for (auto& c : conns) {
        close_server(std::move(c));
    }
    conns.clear();
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

bool PoolManager::grant_one_locked(Pool& pool, WakeList& woken,
                                   std::vector<std::unique_ptr<ServerConn>>& evicted) {
    if (pool.waiting_ == 0) {
        return false;
    }
    const auto cls = admission::next_class(pool.classes_, pool.settings_.pool_size,
                                           pool.active_ + pool.connecting_);
    if (!cls) {
        return false;
    }
    auto& slot = pool.classes_[*cls];
    std::unique_ptr<ServerConn> conn;
    if (pool.idle_count_ > 0) {
        conn = take_idle_locked(pool, slot.waiters.front()->worker);
    } else if (!try_open_locked(pool, evicted)) {
        return false;
    }
    grant_locked(pool, slot, slot.waiters.begin(), std::move(conn), Clock::now(), woken);
    return true;
}

std::shared_ptr<Waiter> PoolManager::dequeue_locked(Pool& pool, Pool::ClassSlot& slot,
                                                    WaiterQueue::iterator it) {
    auto waiter = std::move(*it);
    // The oldest waiter nearly always: deque::erase(begin()) does more work than pop_front.
    if (it == slot.waiters.begin()) {
        slot.waiters.pop_front();
    } else {
        slot.waiters.erase(it);
    }
    --pool.waiting_;
    --total_waiting_;
    waiter->queued = false;
    return waiter;
}

void PoolManager::grant_locked(Pool& pool, Pool::ClassSlot& slot, WaiterQueue::iterator it,
                               std::unique_ptr<ServerConn> conn, Clock::time_point now,
                               WakeList& woken) {
    auto waiter = dequeue_locked(pool, slot, it);
    if (conn) {
        waiter->conn = std::move(conn);
        ++pool.active_;
    } else {
        waiter->may_open = true;
    }
    slot.count_grant(std::chrono::duration<double>(now - waiter->since).count());
    woken.push_back(std::move(waiter));
}

void PoolManager::grant_waiters_locked(WakeList& woken,
                                       std::vector<std::unique_ptr<ServerConn>>& evicted) {
    // A freed slot in a shared limit (database, user, server budget) may unblock another
    // pool's waiters.
    if (total_waiting_ == 0) {
        return;
    }
    for (auto& [key, pool] : pools_) {
        while (grant_one_locked(*pool, woken, evicted)) {
        }
    }
}

void PoolManager::wake(WakeList& woken) {
    for (auto& w : woken) {
        // Inline when the waiter lives on the releasing loop (always with one loop): a timer
        // may only be touched from its own loop. Posted otherwise.
        if (w->timer.get_executor().running_in_this_thread()) {
            w->timer.cancel();
        } else {
            net::asio::post(w->timer.get_executor(), [w] { w->timer.cancel(); });
        }
    }
}

WaiterQueue::iterator PoolManager::pick_waiter_locked(WaiterQueue& queue, int worker,
                                                      Clock::time_point now) {
    auto oldest = queue.begin();
    if (now - (*oldest)->since > kHandoffFairness) {
        return oldest;
    }
    // Look a few places deep only: the hand-off stays O(1) however long the queue is.
    int looked = 0;
    for (auto it = oldest; it != queue.end() && looked < 16; ++it, ++looked) {
        if ((*it)->worker == worker) {
            return it;
        }
    }
    return oldest;
}

void PoolManager::release(Pool& pool, size_t cls, std::unique_ptr<ServerConn> conn, bool reusable) {
    WakeList woken;
    std::vector<std::unique_ptr<ServerConn>> to_close;
    {
        std::lock_guard lock(mu_);
        --pool.active_;
        unhold_locked(pool, cls);
        const auto now = Clock::now();
        conn->last_used = now;
        std::optional<size_t> next;
        if (pool.waiting_ > 0) {
            next = admission::next_class(pool.classes_, pool.settings_.pool_size,
                                         pool.active_ + pool.connecting_);
        }
        if (!reusable || shutting_down_ ||
            (pool.settings_.server_lifetime.count() > 0 &&
             now - conn->created >= pool.settings_.server_lifetime)) {
            count_open_locked(pool, -1);
            to_close.push_back(std::move(conn));
            if (!shutting_down_) {
                grant_waiters_locked(woken, to_close);
            }
        } else if (next) {
            auto& slot = pool.classes_[*next];
            const auto it = pick_waiter_locked(slot.waiters, conn->worker, now);
            grant_locked(pool, slot, it, std::move(conn), now, woken);
        } else {
            auto& list = pool.idle_[static_cast<size_t>(conn->worker)];
            list.push_back(std::move(conn));
            ++pool.idle_count_;
            if (total_waiting_ > pool.waiting_) {
                // Another pool on the same server may be waiting for budget this idle
                // connection can free.
                grant_waiters_locked(woken, to_close);
            }
        }
    }
    close_all(to_close);
    wake(woken);
}

net::awaitable<bool> PoolManager::probe_budget(std::shared_ptr<Pool> pool, ServerConn& conn,
                                               int margin) {
    // PostgreSQL 16 added reserved_connections; on 15 the lookup is NULL (missing_ok).
    auto value = co_await query_first_value(
        conn,
        "SELECT current_setting('max_connections')::int"
        " - current_setting('superuser_reserved_connections')::int"
        " - coalesce(current_setting('reserved_connections', true)::int, 0)",
        Clock::now() + std::chrono::seconds(5));
    WakeList woken;
    std::vector<std::unique_ptr<ServerConn>> evicted;
    {
        std::lock_guard lock(mu_);
        auto& budget = budgets_[pool->endpoint_key_];
        budget.probing = false;
        budget.known = true;
        int usable = 0;
        if (value && *value) {
            try {
                usable = std::stoi(**value);
            } catch (const std::exception&) {
                usable = 0;
            }
        }
        if (usable > 0) {
            budget.limit = std::max(1, usable - margin);
            spdlog::info(
                "server {}: budget of {} server connections (max_connections minus "
                "reserved, minus server_connections_margin {})",
                pool->endpoint_key_, budget.limit, margin);
        } else {
            budget.limit = 0;
            spdlog::warn(
                "server {}: could not read max_connections ({}); no server-wide "
                "budget, set max_server_connections",
                pool->endpoint_key_, value ? "no value" : value.error().message);
        }
        grant_waiters_locked(woken, evicted);
    }
    close_all(evicted);
    wake(woken);
    // A server-side error leaves the connection idle; a broken stream does not.
    co_return value || (value.error().code != sqlstate::kConnectionFailure &&
                        value.error().code != sqlstate::kProtocolViolation);
}

net::awaitable<common::Result<std::unique_ptr<ServerConn>>> PoolManager::open(
    std::shared_ptr<Pool> pool, size_t cls, int worker) {
    PoolSettings settings;
    {
        std::lock_guard lock(mu_);
        settings = pool->settings_;
    }
    auto conn = co_await connect_server(settings.endpoint, settings.credentials, {},
                                        settings.server_connect_timeout);
    bool probe = false;
    if (conn) {
        std::lock_guard lock(mu_);
        auto& budget = budgets_[pool->endpoint_key_];
        if (!budget.known && !budget.probing) {
            budget.probing = true;
            probe = true;
        }
    }
    if (probe && !co_await probe_budget(pool, **conn, settings.server_connections_margin)) {
        close_server(std::move(*conn));
        conn = common::make_error(sqlstate::kConnectionFailure,
                                  "server connection broke while reading max_connections");
    }
    WakeList woken;
    std::vector<std::unique_ptr<ServerConn>> evicted;
    {
        std::lock_guard lock(mu_);
        --pool->connecting_;
        if (!conn) {
            count_open_locked(*pool, -1);
            unhold_locked(*pool, cls);
            // Let the next waiter try (or fail) by itself rather than hang until its timeout.
            grant_waiters_locked(woken, evicted);
        } else {
            (*conn)->worker = worker;
            if (pool->server_params_.empty()) {
                for (const auto& kv : (*conn)->params) {
                    pool->server_params_.push_back(kv);
                }
            }
        }
    }
    close_all(evicted);
    wake(woken);
    co_return conn;
}

}  // namespace pgwarden::pool
