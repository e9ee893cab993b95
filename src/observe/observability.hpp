#pragma once

#include "common/result.hpp"
#include "net/asio.hpp"
#include "observe/alert_config.hpp"
#include "observe/alerts.hpp"
#include "observe/http_server.hpp"
#include "observe/metrics.hpp"
#include "observe/proxy_metrics.hpp"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace pgwarden::observe {

struct ObserveConfig {
    HttpConfig http;
    AlertsConfig alerts = default_alerts_config();
    std::string instance;  // `instance` label on webhook alerts; empty: the listen address
};

// /readyz's answer. `reason` is shown to the caller when not ready.
struct Readiness {
    bool ready = true;
    std::string reason;
};

// What observe asks the proxy for. Both run on the observe executor (loop 0) and must return
// quickly without I/O: take counters under the pool lock, read cached health flags.
struct ObserveCallbacks {
    // At every scrape and every alert evaluation (once a second by default).
    std::function<std::vector<PoolSnapshot>()> pools;
    // At every /readyz. Absent: always ready.
    std::function<Readiness()> readiness;
};

// The observe face in one object: the metrics registry with the proxy's families, the alert
// manager evaluated on a timer, the optional webhook, and the stats HTTP endpoint
// (/metrics, /healthz, /readyz, /alerts; more routes through http()).
//
// Threads: everything runs on the executor given (the proxy's loop 0), except metrics(),
// whose handles are updated from every loop. Call stop() (or destroy) on that executor's
// thread or after it stopped running.
class Observability {
public:
    Observability(net::Executor executor, ObserveConfig config, ObserveCallbacks callbacks);
    ~Observability();
    Observability(const Observability&) = delete;
    Observability& operator=(const Observability&) = delete;

    // Binds the HTTP listener (errors: bad address, port in use, bad webhook_url), then
    // starts serving, the alert evaluation timer and the webhook sender.
    common::Status start();
    void stop();

    Registry& registry();
    ProxyMetrics& metrics();
    AlertManager& alerts();
    HttpServer& http();     // add routes (dashboard, /api/*) before start()
    uint16_t port() const;  // bound HTTP port, after start()

    // One alert evaluation with explicit times (the timer calls it with the clocks); logs
    // and delivers the notifications, and returns them.
    std::vector<AlertEvent> evaluate(SteadyTime now, WallTime wall);
    // The /metrics body.
    std::string scrape();

    struct Impl;  // public only so the evaluation coroutine (a free function) can name it

private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace pgwarden::observe
