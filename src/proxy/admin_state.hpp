#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace pgwarden::proxy {

// PAUSE/RESUME (and KILL, which pauses the database it empties). A paused database hands
// out no new server connections: sessions wait before asking the pool, and continue after
// RESUME. Thread-safe; paused() costs one relaxed load while nothing is paused.
class PauseState {
public:
    bool paused(const std::string& database) const {
        if (!any_.load(std::memory_order_relaxed)) {
            return false;
        }
        std::lock_guard lock(mu_);
        return all_ || databases_.count(database) > 0;
    }
    // Empty `database`: every database.
    void pause(const std::string& database) {
        std::lock_guard lock(mu_);
        if (database.empty()) {
            all_ = true;
        } else {
            databases_.insert(database);
        }
        any_.store(true);
    }
    // One relaxed load: whether any database is paused.
    bool any() const { return any_.load(std::memory_order_relaxed); }
    // Empty `database`: every database, including those paused one by one.
    void resume(const std::string& database) {
        std::lock_guard lock(mu_);
        if (database.empty()) {
            all_ = false;
            databases_.clear();
        } else {
            databases_.erase(database);
        }
        any_.store(all_ || !databases_.empty());
    }

private:
    mutable std::mutex mu_;
    std::atomic<bool> any_{false};
    bool all_ = false;
    std::set<std::string> databases_;
};

// A text table another part of serve hands the admin console (SHOW JOBS): column names and
// one row of text values per entry.
struct TextTable {
    std::vector<std::string> columns;
    std::vector<std::vector<std::string>> rows;
};

// Server-level actions the admin console triggers. Set by Server before sessions start;
// each posts its work to loop 0 and returns at once (callable from any loop).
struct AdminHooks {
    std::function<void()> reload;
    std::function<void()> shutdown;
    // SHOW JOBS: the scheduler's table (columns only when no job runs here). Thread-safe.
    // Unset outside serve, where there is no scheduler: SHOW JOBS is then refused.
    std::function<TextTable()> jobs;
};

}  // namespace pgwarden::proxy
