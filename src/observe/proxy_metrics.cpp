#include "observe/proxy_metrics.hpp"

#include <algorithm>

namespace pgwarden::observe {

double utilization(const PoolSnapshot& pool) {
    if (pool.pool_size <= 0) {
        return 0;
    }
    return static_cast<double>(pool.server_active + pool.server_login) / pool.pool_size;
}

double class_utilization(const PoolSnapshot& pool, const ClassSnapshot& cls) {
    int cap = cls.max_connections > 0 ? cls.max_connections : pool.pool_size;
    if (cap <= 0) {
        return 0;
    }
    return static_cast<double>(cls.server_connections) / cap;
}

void write_pool_snapshot(ScrapeBuilder& out, const std::vector<PoolSnapshot>& pools) {
    // Families first, pools inner: a family's samples must be contiguous in the output.
    auto& pool_size = out.family("pgwarden_pool_size", MetricType::Gauge,
                                 "Configured maximum server connections of the pool.");
    auto& servers = out.family("pgwarden_server_connections", MetricType::Gauge,
                               "Server connections of the pool by state.");
    auto& pool_util =
        out.family("pgwarden_pool_utilization_ratio", MetricType::Gauge,
                   "Server connections in use or being opened, as a fraction of pool_size.");
    auto& class_servers = out.family("pgwarden_class_server_connections", MetricType::Gauge,
                                     "Server connections held by the workload class.");
    auto& class_max = out.family("pgwarden_class_max_connections", MetricType::Gauge,
                                 "Cap on the workload class's server connections.");
    auto& class_reserved = out.family("pgwarden_class_reserved_connections", MetricType::Gauge,
                                      "Server connections reserved for the workload class.");
    auto& class_util = out.family("pgwarden_class_utilization_ratio", MetricType::Gauge,
                                  "Server connections held by the class as a fraction of its cap.");
    auto& clients = out.family("pgwarden_client_connections", MetricType::Gauge,
                               "Client connections of the workload class by state.");
    auto& waiting = out.family("pgwarden_waiting_clients", MetricType::Gauge,
                               "Clients of the workload class waiting for a server connection.");
    auto& oldest = out.family("pgwarden_oldest_wait_seconds", MetricType::Gauge,
                              "How long the longest-waiting client of the class has waited.");
    auto& leaks = out.family("pgwarden_suspected_leaks", MetricType::Gauge,
                             "Checkouts of the workload class currently suspected of leaking.");

    std::vector<LabelSet> pool_labels;
    pool_labels.reserve(pools.size());
    for (const auto& p : pools) {
        pool_labels.push_back(LabelSet{{"database", p.database}, {"user", p.user}});
    }
    for (size_t i = 0; i < pools.size(); ++i) {
        pool_size.sample(pool_labels[i], pools[i].pool_size);
    }
    for (size_t i = 0; i < pools.size(); ++i) {
        const auto& p = pools[i];
        servers.sample(pool_labels[i], "state", "active", p.server_active);
        servers.sample(pool_labels[i], "state", "idle", p.server_idle);
        servers.sample(pool_labels[i], "state", "used", p.server_used);
        servers.sample(pool_labels[i], "state", "tested", p.server_tested);
        servers.sample(pool_labels[i], "state", "login", p.server_login);
    }
    for (size_t i = 0; i < pools.size(); ++i) {
        pool_util.sample(pool_labels[i], utilization(pools[i]));
    }
    std::vector<LabelSet> class_labels;
    std::vector<std::pair<const PoolSnapshot*, const ClassSnapshot*>> class_refs;
    for (size_t i = 0; i < pools.size(); ++i) {
        for (const auto& c : pools[i].classes) {
            class_labels.push_back(pool_labels[i].with("class", c.name));
            class_refs.emplace_back(&pools[i], &c);
        }
    }
    const size_t n = class_refs.size();
    for (size_t i = 0; i < n; ++i) {
        class_servers.sample(class_labels[i], class_refs[i].second->server_connections);
    }
    for (size_t i = 0; i < n; ++i) {
        const auto& [p, c] = class_refs[i];
        class_max.sample(class_labels[i],
                         c->max_connections > 0 ? c->max_connections : p->pool_size);
    }
    for (size_t i = 0; i < n; ++i) {
        class_reserved.sample(class_labels[i], class_refs[i].second->reserved_connections);
    }
    for (size_t i = 0; i < n; ++i) {
        class_util.sample(class_labels[i],
                          class_utilization(*class_refs[i].first, *class_refs[i].second));
    }
    for (size_t i = 0; i < n; ++i) {
        const auto* c = class_refs[i].second;
        clients.sample(class_labels[i], "state", "active", c->clients_active);
        clients.sample(class_labels[i], "state", "waiting", c->clients_waiting);
        clients.sample(class_labels[i], "state", "idle", c->clients_idle);
    }
    for (size_t i = 0; i < n; ++i) {
        waiting.sample(class_labels[i], class_refs[i].second->clients_waiting);
    }
    for (size_t i = 0; i < n; ++i) {
        oldest.sample(class_labels[i], class_refs[i].second->oldest_wait_seconds);
    }
    for (size_t i = 0; i < n; ++i) {
        leaks.sample(class_labels[i], class_refs[i].second->suspected_leaks);
    }
}

std::vector<Observation> observations_from(const std::vector<PoolSnapshot>& pools) {
    std::vector<Observation> out;
    for (const auto& p : pools) {
        out.push_back({AlertKind::Utilization, p.database, p.user, {}, utilization(p)});
        for (const auto& c : p.classes) {
            out.push_back({AlertKind::SuspectedLeak, p.database, p.user, c.name,
                           static_cast<double>(c.suspected_leaks)});
            out.push_back(
                {AlertKind::ClassWait, p.database, p.user, c.name, c.oldest_wait_seconds});
        }
    }
    return out;
}

std::string_view timeout_kind_name(TimeoutKind kind) {
    switch (kind) {
    case TimeoutKind::AdmissionWait:
        return "admission_wait";
    case TimeoutKind::Query:
        return "query";
    case TimeoutKind::IdleInTransaction:
        return "idle_in_transaction";
    case TimeoutKind::ClientIdle:
        return "client_idle";
    case TimeoutKind::ServerConnect:
        return "server_connect";
    case TimeoutKind::ServerLogin:
        return "server_login";
    }
    return "unknown";
}

void ClassMetrics::error(std::string_view sqlstate) {
    errors_family->with({database, user, workload_class, sqlstate}).inc();
}

void ClassMetrics::timeout(TimeoutKind kind) {
    timeouts_family->with({database, user, workload_class, timeout_kind_name(kind)}).inc();
}

namespace {

const std::vector<std::string> kClassLabels{"database", "user", "class"};

}  // namespace

ProxyMetrics::ProxyMetrics(Registry& registry)
    : login_failures(registry
                         .counter("pgwarden_login_failures_total",
                                  "Client logins refused (authentication or unknown database).")
                         .with({})),
      protocol_errors(registry
                          .counter("pgwarden_protocol_errors_total",
                                   "Client connections closed for a protocol violation.")
                          .with({})),
      clients_accepted(
          registry
              .counter("pgwarden_client_connections_accepted_total", "Client connections accepted.")
              .with({})),
      disconnects_(registry.counter("pgwarden_client_disconnects_total",
                                    "Client connections ended, by reason.", {"reason"})),
      admission_wait_(
          registry.histogram("pgwarden_admission_wait_seconds",
                             "Time a client waited for a server connection, by workload class.",
                             kClassLabels, duration_buckets())),
      transaction_duration_(registry.histogram(
          "pgwarden_transaction_duration_seconds",
          "Duration of transactions (server connection held), by workload class.", kClassLabels,
          duration_buckets())),
      query_duration_(registry.histogram("pgwarden_query_duration_seconds",
                                         "Duration of queries, by workload class.", kClassLabels,
                                         duration_buckets())),
      transactions_(registry.counter("pgwarden_transactions_total",
                                     "Transactions completed, by workload class.", kClassLabels)),
      queries_(registry.counter("pgwarden_queries_total", "Queries completed, by workload class.",
                                kClassLabels)),
      received_bytes_(registry.counter("pgwarden_received_bytes_total",
                                       "Bytes received from clients.", kClassLabels)),
      sent_bytes_(
          registry.counter("pgwarden_sent_bytes_total", "Bytes sent to clients.", kClassLabels)),
      suspected_leaks_(registry.counter("pgwarden_suspected_leaks_total",
                                        "Checkouts flagged as suspected leaks, ever.",
                                        kClassLabels)),
      errors_(registry.counter("pgwarden_errors_total", "Errors sent to clients, by SQLSTATE.",
                               {"database", "user", "class", "sqlstate"})),
      timeouts_(registry.counter("pgwarden_timeouts_total", "Timeouts, by kind.",
                                 {"database", "user", "class", "kind"})) {}

ClassMetrics& ProxyMetrics::for_class(const std::string& database, const std::string& user,
                                      const std::string& workload_class) {
    std::lock_guard lock(mu_);
    auto key = std::make_tuple(database, user, workload_class);
    if (auto it = classes_.find(key); it != classes_.end()) {
        return *it->second;
    }
    std::initializer_list<std::string_view> v{database, user, workload_class};
    auto m = std::make_unique<ClassMetrics>(ClassMetrics{
        admission_wait_.with(v), transaction_duration_.with(v), query_duration_.with(v),
        transactions_.with(v), queries_.with(v), received_bytes_.with(v), sent_bytes_.with(v),
        suspected_leaks_.with(v), &errors_, &timeouts_, database, user, workload_class});
    ClassMetrics& ref = *m;
    classes_.emplace(std::move(key), std::move(m));
    return ref;
}

}  // namespace pgwarden::observe

namespace pgwarden::observe {

std::vector<ClassTotals> ProxyMetrics::totals() {
    std::vector<ClassTotals> out;
    std::lock_guard lock(mu_);
    out.reserve(classes_.size());
    for (const auto& [key, m] : classes_) {
        ClassTotals t;
        t.database = m->database;
        t.user = m->user;
        t.workload_class = m->workload_class;
        t.transactions = m->transactions.value();
        t.queries = m->queries.value();
        t.received_bytes = m->received_bytes.value();
        t.sent_bytes = m->sent_bytes.value();
        const auto txn = m->transaction_duration.snapshot();
        const auto query = m->query_duration.snapshot();
        const auto wait = m->admission_wait.snapshot();
        t.transaction_seconds = txn.sum;
        t.query_seconds = query.sum;
        t.wait_seconds = wait.sum;
        t.waits = wait.count;
        out.push_back(std::move(t));
    }
    return out;
}

}  // namespace pgwarden::observe
