#include "pool/pool.hpp"

#include "pgwire/sqlstate.hpp"
#include "pool/server_query.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <sys/socket.h>

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
    auto waiter = slot.waiters.front();
    if (pool.idle_count_ > 0) {
        waiter->conn = take_idle_locked(pool, waiter->worker);
        ++pool.active_;
    } else if (try_open_locked(pool, evicted)) {
        waiter->may_open = true;
    } else {
        return false;
    }
    ++slot.held;
    ++slot.granted;
    slot.admission_wait.observe(
        std::chrono::duration<double>(Clock::now() - waiter->since).count());
    slot.waiters.pop_front();
    --pool.waiting_;
    --total_waiting_;
    waiter->queued = false;
    woken.push_back(std::move(waiter));
    return true;
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

std::deque<std::shared_ptr<Waiter>>::iterator PoolManager::pick_waiter_locked(
    std::deque<std::shared_ptr<Waiter>>& queue, int worker, Clock::time_point now) {
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
            auto it = pick_waiter_locked(slot.waiters, conn->worker, now);
            auto waiter = std::move(*it);
            // The oldest waiter nearly always: deque::erase(begin()) costs ~60 instructions
            // more than pop_front (callgrind).
            if (it == slot.waiters.begin()) {
                slot.waiters.pop_front();
            } else {
                slot.waiters.erase(it);
            }
            --pool.waiting_;
            --total_waiting_;
            ++slot.held;
            ++slot.granted;
            slot.admission_wait.observe(std::chrono::duration<double>(now - waiter->since).count());
            waiter->queued = false;
            waiter->conn = std::move(conn);
            ++pool.active_;
            woken.push_back(std::move(waiter));
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
    auto& slot = pool.classes_[cls];
    ++pool.active_;
    ++slot.held;
    ++slot.granted;
    slot.admission_wait.observe(0);
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
                    ++slot.held;
                    ++slot.granted;
                    slot.admission_wait.observe(0);
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
            std::erase_if(slot.waiters, [&](const auto& w) { return w.get() == &waiter; });
            --pool->waiting_;
            --total_waiting_;
            ++slot.wait_timeouts;
            waiter.queued = false;
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

net::awaitable<common::Result<Lease>> PoolManager::acquire(std::shared_ptr<Pool> pool, size_t cls,
                                                           int worker, Clock::time_point now,
                                                           Clock::time_point deadline,
                                                           std::shared_ptr<Waiter>& waiter) {
    const auto exec = co_await net::asio::this_coro::executor;
    std::optional<Lease> out;
    for (;;) {
        auto step = begin_checkout(pool, cls, worker, exec, now, waiter, out);
        while (step == CheckoutStep::Queued) {
            waiter->timer.expires_at(deadline);
            co_await waiter->timer.async_wait(net::as_result_direct);
            auto waited = end_wait(pool, cls, worker, exec, deadline, *waiter, out);
            if (!waited) {
                co_return std::move(waited).error();
            }
            step = *waited;
        }
        if (step == CheckoutStep::Leased) {
            co_return std::move(*out);
        }
        if (step == CheckoutStep::Open) {
            co_return co_await open_lease(pool, cls, worker);
        }
        now = Clock::now();  // woken without a grant: look again
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
    WakeList woken;
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
            grant_waiters_locked(woken, to_close);
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
        std::vector<std::unique_ptr<ServerConn>> evicted;
        std::lock_guard lock(mu_);
        // Warm-up never evicts another pool's idle connection for the budget.
        auto& budget = budgets_[pool->endpoint_key_];
        if (budget.limit > 0 && budget.open >= budget.limit) {
            co_return;
        }
        if (!try_open_locked(*pool, evicted)) {
            co_return;
        }
    }
    auto conn = co_await open(pool, kNoClass, worker);
    if (!conn) {
        spdlog::warn("min_pool_size warm-up for {}/{} failed: {}", pool->database_, pool->user_,
                     conn.error().message);
        co_return;
    }
    {
        std::lock_guard lock(mu_);
        ++pool->active_;
    }
    Lease lease(this, pool, std::move(*conn), kNoClass);  // parked idle (or given to a waiter)
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
        s.waiting = pool->waiting_;
        for (const auto& slot : pool->classes_) {
            ClassStats c;
            c.name = slot.name;
            c.limits = slot.limits;
            c.held = slot.held;
            c.waiting = static_cast<int>(slot.waiters.size());
            c.granted = slot.granted;
            c.wait_timeouts = slot.wait_timeouts;
            c.admission_wait = slot.admission_wait;
            if (!slot.waiters.empty()) {
                c.max_wait_seconds =
                    std::chrono::duration<double>(now - slot.waiters.front()->since).count();
                s.max_wait_seconds = std::max(s.max_wait_seconds, c.max_wait_seconds);
            }
            s.classes.push_back(std::move(c));
        }
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<BudgetStats> PoolManager::budgets() {
    std::vector<BudgetStats> out;
    std::lock_guard lock(mu_);
    for (const auto& [key, b] : budgets_) {
        out.push_back(BudgetStats{key, b.limit, b.open, b.known});
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
    close_idle_matching(nullptr);
}

}  // namespace pgwarden::pool
