#pragma once

#include "net/asio.hpp"
#include "observe/alerts.hpp"
#include "observe/http_server.hpp"
#include "observe/proxy_metrics.hpp"

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace pgwarden::observe {

// A session holding a server connection right now.
struct Checkout {
    std::string client;  // "addr:port"
    std::string application_name;
    std::string database;
    std::string user;
    std::string workload_class;
    double age_seconds = 0;  // since the server connection was checked out
    std::string last_statement;
    bool suspected_leak = false;  // flagged by the leak detector
};

struct DashboardInputs {
    std::function<std::vector<PoolSnapshot>()> pools;
    std::function<std::vector<Checkout>()> checkouts;
    AlertManager* alerts = nullptr;
    // Checkouts older than this are highlighted as suspected leaks even when the leak
    // detector has not flagged them; 0 disables.
    std::chrono::milliseconds highlight_after{std::chrono::seconds(30)};
    std::chrono::milliseconds sample_interval{std::chrono::seconds(2)};
    std::chrono::milliseconds history{std::chrono::minutes(15)};
};

// The live dashboard: a self-contained page at / (HTML, CSS and JS embedded in the binary)
// polling /api/state, which reports per-class utilization history (a ring buffer sampled on
// a timer), pool states, current checkouts oldest first, and active alerts.
//
// Threads: everything runs on the executor given (loop 0); the inputs are called there.
class Dashboard : public std::enable_shared_from_this<Dashboard> {
public:
    Dashboard(net::Executor executor, DashboardInputs inputs);
    // Adds the routes; call before the server starts.
    void install(HttpServer& http);
    void start();
    void stop();
    // One sample now (the timer calls it); public so tests drive it without waiting.
    void sample(std::chrono::system_clock::time_point now);
    std::string state_json(std::chrono::system_clock::time_point now) const;

private:
    struct Point {
        int64_t at_ms;
        std::vector<std::pair<std::string, std::pair<double, int>>> values;  // key -> util, waiting
    };
    static net::awaitable<void> loop(std::shared_ptr<Dashboard> self);

    DashboardInputs inputs_;
    net::SteadyTimer timer_;
    std::deque<Point> history_;
    size_t capacity_;
    bool stopped_ = false;
};

// The page served at / (dashboard_page.cpp).
extern const std::string_view kDashboardPage;

}  // namespace pgwarden::observe
