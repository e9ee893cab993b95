// PoolManager's housekeeping and read-outs: credentials learnt at login, the janitor and
// prewarming, stats for SHOW and metrics, closing idle connections and shutdown. The checkout
// is in pool_checkout.cpp, the grant and release bookkeeping in pool.cpp.
#include "pool/pool.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace pgwarden::pool {

void PoolManager::count_client(Pool& pool, int delta) {
    std::lock_guard lock(mu_);
    pool.clients_ += delta;
}

void PoolManager::close_idle_of(const std::string& database) {
    close_idle_matching(&database);
}

void PoolManager::close_idle_matching(const std::string* database) {
    std::vector<std::unique_ptr<ServerConn>> to_close;
    {
        std::lock_guard lock(mu_);
        for (auto& [key, pool] : pools_) {
            if (database != nullptr && pool->database_ != *database) {
                continue;
            }
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
    // Closing does no waiting (Terminate is sent without blocking), but stays outside the lock.
    for (auto& c : to_close) {
        close_server(std::move(c));
    }
}

std::vector<IdleServer> PoolManager::idle_servers() {
    std::vector<IdleServer> out;
    std::lock_guard lock(mu_);
    for (const auto& [key, pool] : pools_) {
        for (const auto& list : pool->idle_) {
            for (const auto& c : list) {
                out.push_back({pool->database_, pool->user_, c->id, c->backend_pid, c->remote});
            }
        }
    }
    return out;
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
