#include "serve/server.hpp"

#include "scheduler/state_store.hpp"

#include <spdlog/spdlog.h>

#include <memory>
#include <string>

// Server's side of the job scheduler (issue #6), kept apart from the event-loop code in
// server.cpp.
namespace pgwarden::serve {

// The job scheduler runs on its own threads; it reaches the proxy only through the listen
// address (job connections are ordinary clients) and this pressure callback.
void Server::start_scheduler() {
    const auto cfg = runtime_.config();
    if (cfg->jobs.empty() || !cfg->scheduler.enabled) {
        return;
    }
    scheduler::ServiceOptions options;
    options.instance_id = cfg->scheduler.instance_id.empty() ? scheduler::default_instance_id()
                                                             : cfg->scheduler.instance_id;
    if (auto state = scheduler::state_connection(*cfg)) {
        options.coordinator = std::make_unique<scheduler::StateStore>(*state, options.instance_id,
                                                                      cfg->scheduler.lease);
        spdlog::info("scheduler: job state in {}", state->describe());
    } else {
        spdlog::warn("scheduler: {}; runs are not de-duplicated across instances",
                     state.error().message);
    }
    const auto& s = cfg->settings;
    std::string host = s.listen_addr.empty() ? std::string() : s.listen_addr.front();
    if (host == "*" || host == "0.0.0.0") {
        host = "127.0.0.1";
    } else if (host == "::") {
        host = "::1";
    } else if (host.empty()) {
        host = s.unix_socket_dir;
    }
    options.proxy.host = host;
    options.proxy.port = s.listen_port;
    // For now utilization is the pool's own (server_active / pool_size); class-aware pressure
    // comes with workload classes.
    options.pressure = [this](const std::string& database, const std::string& user) {
        scheduler::Pressure p;
        for (const auto& st : runtime_.pools.stats()) {
            if (st.database == database && st.user == user && st.pool_size > 0) {
                p.utilization = static_cast<double>(st.server_active) / st.pool_size;
                p.higher_priority_waiting = st.waiting > 0;
            }
        }
        return p;
    };
    auto service = scheduler::SchedulerService::create(cfg, std::move(options));
    if (!service) {
        spdlog::error("scheduler not started: {}", service.error().message);
        return;
    }
    scheduler_ = std::move(*service);
    scheduler_->start();
}

// The scheduler keeps the jobs it started with: rebuilding it means waiting for running jobs,
// which must not happen on the event loop that handles SIGHUP.
void Server::warn_if_jobs_changed(const config::Config& running, const config::Config& next) {
    if (running.jobs != next.jobs || running.scheduler != next.scheduler) {
        spdlog::warn("reload: [jobs.*] and [scheduler] changes take effect only after a restart");
    }
}

}  // namespace pgwarden::serve
