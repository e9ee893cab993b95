// Wiring of the observe face into serve: the stats endpoint and alert evaluation run on
// loop 0 next to the janitor; the pools are read through PoolManager::stats() (one short
// lock), readiness from cached flags.
#include "observe/observability.hpp"
#include "proxy/client_session.hpp"
#include "scheduler/job_metrics.hpp"
#include "scheduler/show_jobs.hpp"
#include "serve/server.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <climits>
#include <csignal>
#include <map>
#include <tuple>

namespace pgwarden::serve {

std::vector<observe::PoolSnapshot> Server::pool_snapshots() {
    // Client states and suspected leaks per class come from the sessions' own snapshots;
    // connection counts and queues from the pools.
    struct ClassClients {
        int active = 0;
        int idle = 0;
        int leaks = 0;
    };
    std::map<std::tuple<std::string, std::string, std::string>, ClassClients> clients;
    for (const auto& session : runtime_.sessions.all()) {
        const auto i = session->info();
        if (i.admin) {
            continue;
        }
        auto& c = clients[{i.database, i.user, i.workload_class}];
        c.active += i.state == proxy::ClientState::Active ? 1 : 0;
        c.idle += i.state == proxy::ClientState::Idle ? 1 : 0;
        c.leaks += i.suspected_leak ? 1 : 0;
    }
    const auto stats = runtime_.pools.stats();
    std::vector<observe::PoolSnapshot> out;
    out.reserve(stats.size());
    for (const auto& p : stats) {
        observe::PoolSnapshot s;
        s.database = p.database;
        s.user = p.user;
        s.pool_size = p.pool_size;
        s.server_active = p.server_active;
        s.server_idle = p.server_idle;
        s.server_used = p.server_used;
        s.server_tested = p.server_tested;
        s.server_login = p.server_login;
        for (const auto& cls : p.classes) {
            const auto& seen = clients[{p.database, p.user, cls.name}];
            observe::ClassSnapshot c;
            c.name = cls.name;
            c.server_connections = cls.held;
            c.max_connections = cls.effective_max(p.pool_size);
            c.reserved_connections = cls.limits.reserve;
            c.clients_waiting = cls.waiting;
            c.clients_active = seen.active;
            c.clients_idle = seen.idle;
            c.oldest_wait_seconds = cls.max_wait_seconds;
            c.suspected_leaks = seen.leaks;
            s.classes.push_back(std::move(c));
        }
        out.push_back(std::move(s));
    }
    return out;
}

observe::Readiness Server::readiness() {
    if (runtime_.draining.load()) {
        return {false, "draining: pgwarden is shutting down"};
    }
    if (probe_) {
        auto st = probe_->state();
        if (!st.reachable) {
            return {false, st.reason};
        }
    }
    // The highest-priority class of each pool must be able to get a connection: its clients
    // waiting longer than the class_wait alert threshold means it cannot.
    const auto limit = std::chrono::duration<double>(runtime_.config()->alerts.class_wait).count();
    if (limit > 0) {
        for (const auto& p : runtime_.pools.stats()) {
            const pool::ClassStats* top = nullptr;
            for (const auto& c : p.classes) {
                if (top == nullptr || c.limits.priority > top->limits.priority) {
                    top = &c;
                }
            }
            if (top != nullptr && top->waiting > 0 && top->max_wait_seconds >= limit) {
                return {false, fmt::format("class {} of pool {}/{} (its highest priority) has "
                                           "waited {:.1f} s for a server connection",
                                           top->name, p.database, p.user, top->max_wait_seconds)};
            }
        }
    }
    return {};
}

net::awaitable<void> Server::roll_stats_periods() {
    net::SteadyTimer t(co_await net::asio::this_coro::executor);
    for (;;) {
        if (runtime_.metrics != nullptr) {
            runtime_.stats_periods.roll(proxy::totals_by_database(*runtime_.metrics),
                                        std::chrono::steady_clock::now());
        }
        t.expires_after(proxy::StatsPeriods::kPeriod);
        auto [ec] = co_await t.async_wait(net::as_result);
        if (ec) {
            co_return;
        }
    }
}

bool Server::start_observe() {
    const auto cfg = runtime_.config();
    observe::ObserveConfig oc;
    oc.http.listen = cfg->settings.stats_listen;
    oc.alerts = observe::alerts_from_settings(cfg->alerts);
    observe::ObserveCallbacks callbacks;
    callbacks.pools = [this] { return pool_snapshots(); };
    callbacks.readiness = [this] { return readiness(); };
    observe_ = std::make_unique<observe::Observability>(loops_[0]->get_executor(), std::move(oc),
                                                        std::move(callbacks));
    // The server-wide budget per PostgreSQL server: the limit the post-mortem's outage hit.
    observe_->registry().add_collector([this](observe::ScrapeBuilder& out) {
        auto& open = out.family("pgwarden_backend_connections", observe::MetricType::Gauge,
                                "Server connections pgwarden holds to the PostgreSQL server, "
                                "across every pool.");
        auto& limit = out.family("pgwarden_backend_connections_limit", observe::MetricType::Gauge,
                                 "pgwarden's budget of server connections to the PostgreSQL "
                                 "server (max_connections minus reserved slots and margin; "
                                 "0 while unknown or unlimited).");
        for (const auto& b : runtime_.pools.budgets()) {
            const observe::LabelSet labels{{"server", b.endpoint}};
            open.sample(labels, b.open);
            limit.sample(labels, b.known ? b.limit : 0);
        }
    });
    // Scheduled jobs (#6): scheduler_ is set before the loops run and reset after they stop,
    // so reading it here (loop 0) and from the admin console needs no lock.
    observe_->registry().add_collector([this](observe::ScrapeBuilder& out) {
        if (scheduler_) {
            scheduler::collect_job_metrics(scheduler_->snapshot(), out);
        }
    });
    runtime_.admin.jobs = [this] {
        auto table = scheduler::show_jobs(scheduler_ ? scheduler_->snapshot()
                                                     : std::vector<scheduler::JobSnapshot>{});
        return proxy::TextTable{std::move(table.columns), std::move(table.rows)};
    };
    add_dashboard();
    if (auto st = observe_->start(); !st) {
        spdlog::error("stats_listen {}: {}", cfg->settings.stats_listen, st.error().message);
        observe_.reset();
        return false;
    }
    runtime_.metrics = &observe_->metrics();
    runtime_.alerts = &observe_->alerts();
    probe_ = std::make_shared<UpstreamProbe>(runtime_);
    probe_->start(loops_[0]->get_executor(), std::chrono::seconds(2));
    net::asio::co_spawn(*loops_[0], roll_stats_periods(), net::asio::detached);
    dashboard_->start();
    // As SIGHUP and SIGINT: the same code path on loop 0.
    runtime_.admin.reload = [this] { net::asio::post(*loops_[0], [this] { on_signal(SIGHUP); }); };
    runtime_.admin.shutdown = [this] {
        net::asio::post(*loops_[0], [this] { on_signal(SIGINT); });
    };
    return true;
}

}  // namespace pgwarden::serve
