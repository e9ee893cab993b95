#pragma once

#include "observe/alerts.hpp"
#include "observe/metrics.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

// The proxy's metrics: state gauges rendered at scrape time from a snapshot of the pools, and
// event metrics (histograms, totals) updated by sessions as things happen. observe does not
// link the pool module; the proxy fills these plain structs from PoolManager::stats().
namespace pgwarden::observe {

// One workload class inside one pool, at one moment.
struct ClassSnapshot {
    std::string name;              // workload class ("default" until classes exist)
    int server_connections = 0;    // server connections this class holds now
    int max_connections = 0;       // the class cap; 0 = the pool size
    int reserved_connections = 0;  // capacity reserved for the class
    int clients_active = 0;        // clients holding a server connection
    int clients_waiting = 0;       // clients queued for admission
    int clients_idle = 0;          // logged-in clients between transactions
    double oldest_wait_seconds = 0;
    int suspected_leaks = 0;  // checkouts the leak detector currently suspects
};

// One pool (database, user), at one moment. Server states follow PgBouncer's SHOW POOLS.
struct PoolSnapshot {
    std::string database;
    std::string user;
    int pool_size = 0;
    int server_active = 0;  // leased to a client
    int server_idle = 0;    // ready for reuse
    int server_used = 0;    // released, awaiting the reset/check before reuse
    int server_tested = 0;  // being checked or reset
    int server_login = 0;   // being opened (connect, authentication)
    std::vector<ClassSnapshot> classes;
};

// In-use share of a pool: (active + login) / pool_size, 0 for an empty pool. Opening
// connections count because they are demand that already took a slot.
double utilization(const PoolSnapshot& pool);
// A class's share of its cap (max_connections, or the pool size when it has none).
double class_utilization(const PoolSnapshot& pool, const ClassSnapshot& cls);

// Writes every state family for these pools (one scrape). Families are written even when
// there are no pools, so dashboards see them from the first scrape.
void write_pool_snapshot(ScrapeBuilder& out, const std::vector<PoolSnapshot>& pools);

// What the alert rules look at: per-pool utilization, per-class leaks and oldest wait.
std::vector<Observation> observations_from(const std::vector<PoolSnapshot>& pools);

enum class TimeoutKind {
    AdmissionWait,      // query_wait_timeout: no connection in time (53300)
    Query,              // query_timeout (57014)
    IdleInTransaction,  // idle_transaction_timeout
    ClientIdle,         // client_idle_timeout
    ServerConnect,      // server_connect_timeout
    ServerLogin,        // server_login_retry window exhausted
};
std::string_view timeout_kind_name(TimeoutKind kind);

// Hot-path handles for one (database, user, class). Obtain once per session (or cache per
// class) from ProxyMetrics::for_class(); every update is one or two relaxed atomics, safe from
// any event loop. Owned by ProxyMetrics; valid for its lifetime.
struct ClassMetrics {
    Histogram& admission_wait;        // seconds from asking for a connection to getting one
    Histogram& transaction_duration;  // seconds from BEGIN (or first query) to ReadyForQuery I
    Histogram& query_duration;        // seconds per query (Query or Sync round trip)
    Counter& transactions;
    Counter& queries;
    Counter& received_bytes;   // from clients
    Counter& sent_bytes;       // to clients
    Counter& suspected_leaks;  // leak suspicions raised, ever

    // Counts an error sent to the client, by SQLSTATE. Takes a family lock on the first
    // occurrence of a code for this class (errors are not the hot path).
    void error(std::string_view sqlstate);
    void timeout(TimeoutKind kind);

    // Internal: set by ProxyMetrics.
    CounterFamily* errors_family = nullptr;
    CounterFamily* timeouts_family = nullptr;
    std::string database;
    std::string user;
    std::string workload_class;
};

// Running totals of one (database, user, class), read from its handles (SHOW STATS).
struct ClassTotals {
    std::string database;
    std::string user;
    std::string workload_class;
    uint64_t transactions = 0;
    uint64_t queries = 0;
    uint64_t received_bytes = 0;
    uint64_t sent_bytes = 0;
    double transaction_seconds = 0;  // sum of transaction durations
    double query_seconds = 0;        // sum of query durations
    double wait_seconds = 0;         // sum of admission waits
    uint64_t waits = 0;              // admissions counted in wait_seconds
};

// The proxy's event-metric families, registered in a Registry. Thread-safe.
class ProxyMetrics {
public:
    explicit ProxyMetrics(Registry& registry);

    // The handles for (database, user, class), created on first use; the reference stays
    // valid for the ProxyMetrics' lifetime. Takes a mutex: call at session start, not per
    // message.
    ClassMetrics& for_class(const std::string& database, const std::string& user,
                            const std::string& workload_class);

    // Every class's totals so far (takes the mutex; for the admin console, not per message).
    std::vector<ClassTotals> totals();

    // Process-wide events without a pool (before classification).
    Counter& login_failures;
    Counter& protocol_errors;
    Counter& clients_accepted;
    // A client connection ended, by why (snake_case, e.g. "client_terminate"). Takes the
    // family's lock: once per connection, not per message.
    void disconnected(std::string_view reason) { disconnects_.with({reason}).inc(); }

private:
    CounterFamily& disconnects_;
    HistogramFamily& admission_wait_;
    HistogramFamily& transaction_duration_;
    HistogramFamily& query_duration_;
    CounterFamily& transactions_;
    CounterFamily& queries_;
    CounterFamily& received_bytes_;
    CounterFamily& sent_bytes_;
    CounterFamily& suspected_leaks_;
    CounterFamily& errors_;
    CounterFamily& timeouts_;
    std::mutex mu_;
    std::map<std::tuple<std::string, std::string, std::string>, std::unique_ptr<ClassMetrics>>
        classes_;
};

}  // namespace pgwarden::observe
