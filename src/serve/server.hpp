#pragma once

#include "config/config.hpp"
#include "net/asio.hpp"
#include "observe/dashboard.hpp"
#include "observe/observability.hpp"
#include "proxy/governor.hpp"
#include "proxy/runtime.hpp"
#include "scheduler/scheduler_service.hpp"
#include "serve/upstream_probe.hpp"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace pgwarden::serve {

// The serve face: event loops (one thread and io_context each; sessions stay on the loop
// that accepted them), listeners, signal handling and the janitor.
//
// Threads: `run()` blocks the calling thread, which becomes loop 0 (signals, janitor, Unix
// socket); loops 1..N-1 get their own threads. A pool is shared by all loops, so pool
// limits are global; a server connection moves to the loop of the session borrowing it.
class Server {
public:
    Server(std::string config_path, const std::shared_ptr<const config::Config>& config);
    ~Server();
    // Binds the listeners (exit code 1 on failure), then serves until SIGINT or until a
    // SIGTERM drain completes. Returns the process exit code.
    int run();

private:
    bool listen();
    net::awaitable<void> accept_loop(size_t index);
    net::awaitable<void> accept_unix();
    void watch_signals();
    void on_signal(int sig);
    net::awaitable<void> janitor();
    net::awaitable<void> govern();
    net::awaitable<void> drain();
    void reload();
    void start_session(int worker, net::StreamSocket socket, std::string peer);
    void stop_all();
    // The stats endpoint, alerts and dashboard on loop 0 (observe_wiring.cpp); false when the
    // stats listener cannot be bound.
    bool start_observe();
    std::vector<observe::PoolSnapshot> pool_snapshots();
    observe::Readiness readiness();
    // Routes / and /api/state on the stats endpoint (dashboard.cpp).
    void add_dashboard();
    // Closes a SHOW STATS period every StatsPeriods::kPeriod (observe_wiring.cpp).
    net::awaitable<void> roll_stats_periods();
    void start_scheduler();
    static void warn_if_jobs_changed(const config::Config& running, const config::Config& next);

    std::string config_path_;
    proxy::Runtime runtime_;
    proxy::Governor governor_{runtime_};
    std::vector<std::unique_ptr<net::asio::io_context>> loops_;
    // After loops_: its sockets and timers live on loop 0, and ~Server resets it first.
    std::unique_ptr<observe::Observability> observe_;
    std::shared_ptr<UpstreamProbe> probe_;
    std::shared_ptr<observe::Dashboard> dashboard_;
    std::vector<net::asio::executor_work_guard<net::asio::io_context::executor_type>> guards_;
    std::vector<std::thread> threads_;
    std::thread signal_thread_;
    std::atomic<bool> stop_signals_{false};
    bool fast_stop_ = false;  // loop 0 only
    std::vector<net::asio::ip::tcp::acceptor> tcp_acceptors_;
    std::vector<int> tcp_acceptor_worker_;
    std::unique_ptr<net::asio::local::stream_protocol::acceptor> unix_acceptor_;
    std::string unix_path_;
    int next_unix_worker_ = 0;
    // Declared last: destroyed first, while the pools its pressure callback reads still exist.
    std::unique_ptr<scheduler::SchedulerService> scheduler_;
};

}  // namespace pgwarden::serve
