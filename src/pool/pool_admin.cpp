// PoolManager operations for observability and the admin console, apart from the checkout
// path in pool.cpp.
#include "pool/pool.hpp"

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

}  // namespace pgwarden::pool
