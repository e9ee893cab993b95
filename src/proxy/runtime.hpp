#pragma once

#include "config/config.hpp"
#include "net/asio.hpp"
#include "net/gate.hpp"
#include "observe/alerts.hpp"
#include "observe/proxy_metrics.hpp"
#include "pool/pool.hpp"
#include "proxy/admin_state.hpp"
#include "proxy/governance.hpp"
#include "proxy/session_params.hpp"
#include "proxy/stats_period.hpp"

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace pgwarden::proxy {

class ClientSession;

// Where a client's running query can be cancelled: its current server backend.
struct CancelTarget {
    std::string host;
    uint16_t port = 0;
    int32_t pid = 0;
    int32_t key = 0;
};

// Asks PostgreSQL to cancel whatever `target`'s backend is running (a CancelRequest on a
// fresh connection), waiting until the server closes that connection or 5 s pass.
// Runs on the caller's executor; failures are logged, never thrown.
net::awaitable<void> send_cancel(CancelTarget target);

// Every live client session, keyed by the (pid, key) pair pgwarden hands the client as its
// BackendKeyData: what CancelRequests, the governor, the admin console and the dashboard
// look sessions up in. Thread-safe.
class SessionRegistry {
public:
    // Issues a fresh (pid, key) pair for `session`.
    std::pair<int32_t, int32_t> add(const std::shared_ptr<ClientSession>& session);
    void remove(int32_t pid);
    std::shared_ptr<ClientSession> find(int32_t pid, int32_t key);
    std::vector<std::shared_ptr<ClientSession>> all();

private:
    std::mutex mu_;
    int32_t next_pid_ = 1;
    std::map<int32_t, std::pair<int32_t, std::weak_ptr<ClientSession>>> sessions_;
};

// State shared by every session and loop. The config snapshot is immutable; a reload
// swaps the pointer and each session keeps the snapshot it logged in with.
class Runtime {
public:
    explicit Runtime(std::shared_ptr<const config::Config> cfg, int workers)
        : pools(workers),
          leaks(static_cast<size_t>(cfg->settings.leak_history)),
          config_(std::move(cfg)),
          workers_(workers) {}

    std::shared_ptr<const config::Config> config() const { return std::atomic_load(&config_); }
    void set_config(std::shared_ptr<const config::Config> cfg) {
        std::atomic_store(&config_, std::move(cfg));
    }
    int workers() const { return workers_; }

    // Process-wide events, counted in /metrics (when it is collected).
    void count_login_failure() {
        if (metrics != nullptr) {
            metrics->login_failures.inc();
        }
    }
    void count_protocol_error() {
        if (metrics != nullptr) {
            metrics->protocol_errors.inc();
        }
    }
    void count_client_accepted() {
        if (metrics != nullptr) {
            metrics->clients_accepted.inc();
        }
    }

    // Resolves the pool settings for a client's (database, user) from a config snapshot.
    static pool::PoolSettings pool_settings(const config::Config& cfg,
                                            const config::DatabaseConfig& db,
                                            const std::string& client_database,
                                            const std::string& client_user);

    pool::PoolManager pools;
    SessionRegistry sessions;
    ParamSetCache param_sets;
    // Logged-in client connections, for max_client_conn and the SIGTERM drain.
    std::atomic<int64_t> clients_active{0};
    LeakLog leaks;
    ClassClients class_clients;
    std::atomic<bool> draining{false};  // SIGTERM: finish transactions, take no new ones
    // Notified whenever what PAUSE, KILL and the drain wait for may have changed: a database
    // resumed, a session killed, the drain begun, a server connection released while a pause
    // is on, a client gone while draining. Waiters check their own condition again.
    net::Gate changes;
    // Event metrics; set by Server before the first session starts (null: not collected).
    observe::ProxyMetrics* metrics = nullptr;
    observe::AlertManager* alerts = nullptr;  // same lifetime as `metrics`
    PauseState pause;
    StatsPeriods stats_periods;  // SHOW STATS averages: rolled every 60 s on loop 0
    AdminHooks admin;
    std::chrono::system_clock::time_point started = std::chrono::system_clock::now();

private:
    std::shared_ptr<const config::Config> config_;
    int workers_;
};

}  // namespace pgwarden::proxy
