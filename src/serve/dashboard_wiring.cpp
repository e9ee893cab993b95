// The dashboard's view of the proxy: pool snapshots as for /metrics, and the sessions that
// hold a server connection (from their `info()` snapshots).
#include "proxy/client_session.hpp"
#include "serve/server.hpp"

namespace pgwarden::serve {

void Server::add_dashboard() {
    observe::DashboardInputs in;
    in.pools = [this] { return pool_snapshots(); };
    in.checkouts = [this] {
        std::vector<observe::Checkout> out;
        const auto now = std::chrono::steady_clock::now();
        for (const auto& s : runtime_.sessions.all()) {
            const auto i = s->info();
            if (i.state != proxy::ClientState::Active || i.admin) {
                continue;
            }
            observe::Checkout c;
            c.client = i.peer;
            c.application_name = i.application_name;
            c.database = i.database;
            c.user = i.user;
            c.workload_class = i.workload_class;
            c.suspected_leak = i.suspected_leak;
            c.age_seconds = std::chrono::duration<double>(now - i.checkout_since).count();
            c.last_statement = i.last_statement;
            out.push_back(std::move(c));
        }
        return out;
    };
    in.alerts = &observe_->alerts();
    in.highlight_after = runtime_.config()->alerts.long_checkout;
    dashboard_ = std::make_shared<observe::Dashboard>(loops_[0]->get_executor(), std::move(in));
    dashboard_->install(observe_->http());
}

}  // namespace pgwarden::serve
