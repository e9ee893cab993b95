#include "observe/observability.hpp"

#include "observe/process_metrics.hpp"
#include "observe/webhook.hpp"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <chrono>

namespace pgwarden::observe {

namespace asio = net::asio;

struct Observability::Impl {
    Impl(net::Executor exec, ObserveConfig cfg, ObserveCallbacks cbs)
        : executor(exec),
          config(std::move(cfg)),
          callbacks(std::move(cbs)),
          metrics(registry),
          alerts(config.alerts),
          http(std::make_shared<HttpServer>(exec, config.http)),
          timer(exec) {}

    std::vector<PoolSnapshot> pools() const {
        return callbacks.pools ? callbacks.pools() : std::vector<PoolSnapshot>{};
    }
    std::vector<AlertEvent> evaluate(SteadyTime now, WallTime wall);
    std::string scrape();

    net::Executor executor;
    ObserveConfig config;
    ObserveCallbacks callbacks;
    Registry registry;
    ProxyMetrics metrics;
    AlertManager alerts;
    std::shared_ptr<HttpServer> http;
    std::shared_ptr<WebhookSender> webhook;
    net::SteadyTimer timer;
    bool stopped = false;
    size_t last_scrape_size = 0;
    double last_scrape_seconds = 0;
};

namespace {

std::string json_response(const nlohmann::json& j) {
    return j.dump() + "\n";
}

}  // namespace

// Holds the Impl alive while parked on the timer; stop() cancels the timer and the loop
// exits without touching the proxy's callbacks again.
net::awaitable<void> evaluation_loop(std::shared_ptr<Observability::Impl> impl) {
    while (!impl->stopped) {
        impl->timer.expires_after(impl->config.alerts.evaluation_interval);
        co_await impl->timer.async_wait(net::as_result);
        if (impl->stopped) {
            break;
        }
        impl->evaluate(std::chrono::steady_clock::now(), std::chrono::system_clock::now());
    }
}

Observability::Observability(net::Executor executor, ObserveConfig config,
                             ObserveCallbacks callbacks)
    : impl_(std::make_shared<Impl>(executor, std::move(config), std::move(callbacks))) {
    Impl* impl = impl_.get();
    impl->registry.add_collector([impl](ScrapeBuilder& out) {
        write_pool_snapshot(out, impl->pools());
        impl->alerts.write_metrics(out);
        const LabelSet none;
        if (impl->webhook) {
            auto s = impl->webhook->stats();
            auto& n = out.family("pgwarden_alert_webhook_notifications_total", MetricType::Counter,
                                 "Alert webhook notifications by outcome.");
            n.sample(none, "result", "sent", static_cast<double>(s.sent));
            n.sample(none, "result", "failed", static_cast<double>(s.failed));
            n.sample(none, "result", "dropped", static_cast<double>(s.dropped));
            out.family("pgwarden_alert_webhook_retries_total", MetricType::Counter,
                       "Alert webhook delivery attempts after the first.")
                .sample(none, static_cast<double>(s.retries));
            out.family("pgwarden_alert_webhook_queue_length", MetricType::Gauge,
                       "Alert webhook notifications waiting for delivery.")
                .sample(none, static_cast<double>(s.queued));
        }
        auto h = impl->http->stats();
        out.family("pgwarden_http_requests_total", MetricType::Counter,
                   "Requests served by the stats HTTP endpoint.")
            .sample(none, static_cast<double>(h.requests));
        out.family("pgwarden_http_rejected_requests_total", MetricType::Counter,
                   "Stats HTTP requests refused as malformed, oversized or not GET/HEAD.")
            .sample(none, static_cast<double>(h.rejected));
        out.family("pgwarden_http_refused_connections_total", MetricType::Counter,
                   "Stats HTTP connections closed at once for exceeding the connection limit.")
            .sample(none, static_cast<double>(h.refused_connections));
        out.family("pgwarden_http_timeouts_total", MetricType::Counter,
                   "Stats HTTP connections closed for missing the read deadline.")
            .sample(none, static_cast<double>(h.timeouts));
        out.family("pgwarden_http_connections", MetricType::Gauge, "Open stats HTTP connections.")
            .sample(none, static_cast<double>(h.connections));
        out.family("pgwarden_scrape_duration_seconds", MetricType::Gauge,
                   "Proxy time spent rendering the previous /metrics scrape.")
            .sample(none, impl->last_scrape_seconds);
        write_process_metrics(out, read_process_stats());
    });

    std::weak_ptr<Impl> weak = impl_;
    impl->http->route("/metrics", [weak](const HttpRequest&) {
        HttpResponse r;
        if (auto impl = weak.lock()) {
            r.content_type = std::string(kExpositionContentType);
            r.body = impl->scrape();
        }
        return r;
    });
    impl->http->route("/healthz", [](const HttpRequest&) {
        // Liveness: answering at all proves loop 0 is running.
        HttpResponse r;
        r.content_type = "application/json";
        r.body = json_response({{"status", "ok"}});
        return r;
    });
    impl->http->route("/readyz", [weak](const HttpRequest&) {
        HttpResponse r;
        r.content_type = "application/json";
        auto impl = weak.lock();
        Readiness ready;
        if (impl && impl->callbacks.readiness) {
            ready = impl->callbacks.readiness();
        }
        if (ready.ready) {
            r.body = json_response({{"status", "ready"}});
        } else {
            r.status = 503;
            r.body = json_response({{"status", "not ready"}, {"reason", ready.reason}});
        }
        return r;
    });
    impl->http->route("/alerts", [weak](const HttpRequest&) {
        HttpResponse r;
        r.content_type = "application/json";
        if (auto impl = weak.lock()) {
            r.body = impl->alerts.alerts_json(std::chrono::system_clock::now()) + "\n";
        }
        return r;
    });
}

Observability::~Observability() {
    stop();
}

common::Status Observability::start() {
    Impl& impl = *impl_;
    if (!impl.config.alerts.webhook.url.empty()) {
        auto sender = WebhookSender::create(impl.executor, impl.config.alerts.webhook);
        if (!sender) {
            return sender.error();
        }
        impl.webhook = std::move(*sender);
    }
    if (auto st = impl.http->listen(); !st) {
        return st;
    }
    if (impl.config.instance.empty()) {
        impl.config.instance = impl.config.http.listen;
    }
    impl.http->start();
    if (impl.webhook) {
        impl.webhook->start();
    }
    if (impl.config.alerts.enabled) {
        asio::co_spawn(impl.executor, evaluation_loop(impl_), asio::detached);
    }
    spdlog::info("stats: listening on {} (/metrics /healthz /readyz /alerts)",
                 impl.config.http.listen);
    return common::ok_status();
}

void Observability::stop() {
    if (!impl_ || impl_->stopped) {
        return;
    }
    impl_->stopped = true;
    impl_->timer.cancel();
    impl_->http->stop();
    if (impl_->webhook) {
        impl_->webhook->stop();
    }
}

Registry& Observability::registry() {
    return impl_->registry;
}
ProxyMetrics& Observability::metrics() {
    return impl_->metrics;
}
AlertManager& Observability::alerts() {
    return impl_->alerts;
}
HttpServer& Observability::http() {
    return *impl_->http;
}
uint16_t Observability::port() const {
    return impl_->http->port();
}

std::vector<AlertEvent> Observability::evaluate(SteadyTime now, WallTime wall) {
    return impl_->evaluate(now, wall);
}

std::string Observability::scrape() {
    return impl_->scrape();
}

std::vector<AlertEvent> Observability::Impl::evaluate(SteadyTime now, WallTime wall) {
    Impl& impl = *this;
    auto events = impl.alerts.evaluate(now, wall, observations_from(impl.pools()));
    for (const auto& e : events) {
        const Alert& a = e.alert;
        const std::string where =
            a.database + "/" + a.user + (a.workload_class.empty() ? "" : "/" + a.workload_class);
        if (a.state == AlertState::Resolved) {
            spdlog::info("alert resolved: {} severity={} pool={}", a.name,
                         severity_name(a.severity), where);
        } else {
            spdlog::warn("alert firing: {} severity={} pool={}: {}", a.name,
                         severity_name(a.severity), where, a.summary);
        }
    }
    if (!events.empty() && impl.webhook) {
        impl.webhook->enqueue(
            webhook_payload(events, impl.config.instance, "http://" + impl.config.http.listen));
    }
    return events;
}

std::string Observability::Impl::scrape() {
    Impl& impl = *this;
    auto start = std::chrono::steady_clock::now();
    std::string out;
    out.reserve(impl.last_scrape_size + impl.last_scrape_size / 8);
    impl.registry.render(out);
    impl.last_scrape_size = out.size();
    impl.last_scrape_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return out;
}

}  // namespace pgwarden::observe
