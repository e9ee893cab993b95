#include "observe/dashboard.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

namespace pgwarden::observe {

namespace {

int64_t epoch_ms(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::string series_key(const PoolSnapshot& p, const ClassSnapshot& c) {
    return p.database + "/" + p.user + "/" + c.name;
}

}  // namespace

Dashboard::Dashboard(net::Executor executor, DashboardInputs inputs)
    : inputs_(std::move(inputs)),
      timer_(std::move(executor)),
      capacity_(static_cast<size_t>(std::max<int64_t>(
          1, inputs_.history.count() / std::max<int64_t>(1, inputs_.sample_interval.count())))) {}

void Dashboard::install(HttpServer& http) {
    std::weak_ptr<Dashboard> weak = shared_from_this();
    http.route("/", [](const HttpRequest&) {
        HttpResponse r;
        r.content_type = "text/html; charset=utf-8";
        r.body = std::string(kDashboardPage);
        return r;
    });
    http.route("/api/state", [weak](const HttpRequest&) {
        HttpResponse r;
        r.content_type = "application/json";
        r.headers.emplace_back("Cache-Control", "no-store");
        if (auto self = weak.lock()) {
            r.body = self->state_json(std::chrono::system_clock::now());
        }
        return r;
    });
}

void Dashboard::start() {
    sample(std::chrono::system_clock::now());
    net::asio::co_spawn(timer_.get_executor(), loop(shared_from_this()), net::asio::detached);
}

void Dashboard::stop() {
    stopped_ = true;
    timer_.cancel();
}

net::awaitable<void> Dashboard::loop(std::shared_ptr<Dashboard> self) {
    while (!self->stopped_) {
        self->timer_.expires_after(self->inputs_.sample_interval);
        co_await self->timer_.async_wait(net::as_result);
        if (self->stopped_) {
            break;
        }
        self->sample(std::chrono::system_clock::now());
    }
}

void Dashboard::sample(std::chrono::system_clock::time_point now) {
    Point p;
    p.at_ms = epoch_ms(now);
    if (inputs_.pools) {
        for (const auto& pool : inputs_.pools()) {
            for (const auto& c : pool.classes) {
                p.values.emplace_back(
                    series_key(pool, c),
                    std::make_pair(class_utilization(pool, c), c.clients_waiting));
            }
        }
    }
    history_.push_back(std::move(p));
    while (history_.size() > capacity_) {
        history_.pop_front();
    }
}

std::string Dashboard::state_json(std::chrono::system_clock::time_point now) const {
    using nlohmann::json;
    json doc;
    doc["now"] = epoch_ms(now);
    doc["interval_ms"] = inputs_.sample_interval.count();
    doc["history_ms"] = inputs_.history.count();
    doc["threshold"] = 0.70;
    doc["highlight_after_seconds"] = std::chrono::duration<double>(inputs_.highlight_after).count();

    // Series in first-seen order, each a list of [t, utilization, waiting].
    std::map<std::string, size_t> index;
    json series = json::array();
    for (const auto& point : history_) {
        for (const auto& [key, v] : point.values) {
            auto [it, fresh] = index.emplace(key, series.size());
            if (fresh) {
                series.push_back({{"key", key}, {"points", json::array()}});
            }
            series[it->second]["points"].push_back({point.at_ms, v.first, v.second});
        }
    }
    doc["series"] = std::move(series);

    json pools = json::array();
    if (inputs_.pools) {
        for (const auto& p : inputs_.pools()) {
            for (const auto& c : p.classes) {
                pools.push_back({{"database", p.database},
                                 {"user", p.user},
                                 {"class", c.name},
                                 {"pool_size", p.pool_size},
                                 {"cap", c.max_connections > 0 ? c.max_connections : p.pool_size},
                                 {"held", c.server_connections},
                                 {"pool_active", p.server_active},
                                 {"pool_idle", p.server_idle},
                                 {"login", p.server_login},
                                 {"clients_active", c.clients_active},
                                 {"clients_waiting", c.clients_waiting},
                                 {"clients_idle", c.clients_idle},
                                 {"oldest_wait_seconds", c.oldest_wait_seconds},
                                 {"utilization", class_utilization(p, c)}});
            }
        }
    }
    doc["pools"] = std::move(pools);

    std::vector<Checkout> checkouts =
        inputs_.checkouts ? inputs_.checkouts() : std::vector<Checkout>{};
    std::sort(checkouts.begin(), checkouts.end(),
              [](const Checkout& a, const Checkout& b) { return a.age_seconds > b.age_seconds; });
    const double highlight = std::chrono::duration<double>(inputs_.highlight_after).count();
    json rows = json::array();
    for (const auto& c : checkouts) {
        const bool suspect = c.suspected_leak || (highlight > 0 && c.age_seconds >= highlight);
        rows.push_back({{"client", c.client},
                        {"application_name", c.application_name},
                        {"database", c.database},
                        {"user", c.user},
                        {"class", c.workload_class},
                        {"age_seconds", c.age_seconds},
                        {"last_statement", c.last_statement},
                        {"suspected_leak", suspect}});
    }
    doc["checkouts"] = std::move(rows);

    json alerts = json::array();
    if (inputs_.alerts != nullptr) {
        for (const auto& a : inputs_.alerts->active()) {
            alerts.push_back({{"name", a.name},
                              {"severity", severity_name(a.severity)},
                              {"state", state_name(a.state)},
                              {"firing", a.firing()},
                              {"database", a.database},
                              {"user", a.user},
                              {"class", a.workload_class},
                              {"value", a.value},
                              {"summary", a.summary}});
        }
    }
    doc["alerts"] = std::move(alerts);
    // Invalid UTF-8 from a client's statement must not break the page: replace it.
    return doc.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace pgwarden::observe
