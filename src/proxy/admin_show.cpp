// The admin console's SHOW commands, with PgBouncer's column names and meanings so existing
// pgbouncer exporters and habits work (https://www.pgbouncer.org/usage.html).
#include "proxy/admin_commands.hpp"

#include "pgwire/messages.hpp"
#include "pgwire/sqlstate.hpp"
#include "proxy/admin_result.hpp"
#include "proxy/client_session.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <map>
#include <set>
#include <tuple>

namespace pgwarden::proxy {

namespace sqlstate = pgwire::sqlstate;
using SystemClock = std::chrono::system_clock;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr const char* kVersion = "pgwarden 0.1.0";

std::string num(int64_t v) {
    return std::to_string(v);
}
std::string num(uint64_t v) {
    return std::to_string(v);
}
std::string num(int v) {
    return std::to_string(v);
}
int64_t micros(double seconds) {
    return static_cast<int64_t>(seconds * 1e6);
}

std::string timestamp(SystemClock::time_point t) {
    if (t.time_since_epoch().count() == 0) {
        return {};
    }
    const auto secs = SystemClock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
    return buf;
}

std::vector<SessionInfo> sessions(Runtime& rt) {
    std::vector<SessionInfo> out;
    for (const auto& s : rt.sessions.all()) {
        out.push_back(s->info());
    }
    std::sort(out.begin(), out.end(),
              [](const SessionInfo& a, const SessionInfo& b) { return a.id < b.id; });
    return out;
}

void error(std::string& out, const char* code, std::string_view message) {
    encode_admin_error(out, code, message);
}

void show_pools(Runtime& rt, std::string& out) {
    ResultSet rs({{"database"},
                  {"user"},
                  {"cl_active", ColumnType::Int8},
                  {"cl_waiting", ColumnType::Int8},
                  {"cl_active_cancel_req", ColumnType::Int8},
                  {"cl_waiting_cancel_req", ColumnType::Int8},
                  {"sv_active", ColumnType::Int8},
                  {"sv_active_cancel", ColumnType::Int8},
                  {"sv_being_canceled", ColumnType::Int8},
                  {"sv_idle", ColumnType::Int8},
                  {"sv_used", ColumnType::Int8},
                  {"sv_tested", ColumnType::Int8},
                  {"sv_login", ColumnType::Int8},
                  {"maxwait", ColumnType::Int8},
                  {"maxwait_us", ColumnType::Int8},
                  {"pool_mode"}});
    // Client states come from the sessions themselves: the pool knows leases, not clients.
    std::map<std::pair<std::string, std::string>, std::pair<int, int>> clients;
    for (const auto& s : sessions(rt)) {
        if (s.admin) {
            continue;
        }
        auto& c = clients[{s.database, s.user}];
        c.first += s.state == ClientState::Active ? 1 : 0;
        c.second += s.state == ClientState::Waiting ? 1 : 0;
    }
    for (const auto& p : rt.pools.stats()) {
        const auto c = clients[{p.database, p.user}];
        const auto whole = static_cast<int64_t>(p.max_wait_seconds);
        rs.row({p.database, p.user, num(c.first), num(c.second), "0", "0", num(p.server_active),
                "0", "0", num(p.server_idle), num(p.server_used), num(p.server_tested),
                num(p.server_login), num(whole),
                num(micros(p.max_wait_seconds - static_cast<double>(whole))),
                std::string(config::to_string(p.mode))});
    }
    rs.encode(out);
}

// Per-database totals from the metrics handles, and what the averages are computed over: the
// last completed stats period (as PgBouncer), or the time since start until one completed.
struct DatabaseStats {
    StatsPeriods::Totals by_db;
    StatsPeriods::Totals period;
    double period_seconds = 1;
};

DatabaseStats database_stats(Runtime& rt) {
    DatabaseStats st;
    if (rt.metrics != nullptr) {
        st.by_db = totals_by_database(*rt.metrics);
    }
    if (auto last = rt.stats_periods.last_period()) {
        st.period = std::move(last->first);
        st.period_seconds = last->second;
    } else {
        st.period = st.by_db;
        st.period_seconds =
            std::max(1.0, std::chrono::duration<double>(SystemClock::now() - rt.started).count());
    }
    return st;
}

// The seven values behind SHOW STATS: totals (counts, bytes, microseconds), or averages over
// a period: per-second rates, and mean microseconds per transaction/query/wait.
std::vector<std::optional<std::string>> stat_values(const observe::ClassTotals& d, double up,
                                                    bool averages) {
    if (!averages) {
        return {num(d.transactions),
                num(d.queries),
                num(d.received_bytes),
                num(d.sent_bytes),
                num(micros(d.transaction_seconds)),
                num(micros(d.query_seconds)),
                num(micros(d.wait_seconds))};
    }
    const auto per_sec = [&](uint64_t v) {
        return num(static_cast<int64_t>(static_cast<double>(v) / up));
    };
    const auto mean = [](double total, uint64_t n) {
        return num(n == 0 ? int64_t{0} : micros(total / static_cast<double>(n)));
    };
    return {per_sec(d.transactions),
            per_sec(d.queries),
            per_sec(d.received_bytes),
            per_sec(d.sent_bytes),
            mean(d.transaction_seconds, d.transactions),
            mean(d.query_seconds, d.queries),
            mean(d.wait_seconds, d.waits)};
}

constexpr const char* kTotalNames[] = {"total_xact_count", "total_query_count", "total_received",
                                       "total_sent",       "total_xact_time",   "total_query_time",
                                       "total_wait_time"};
constexpr const char* kAvgNames[] = {"avg_xact_count", "avg_query_count", "avg_recv",
                                     "avg_sent",       "avg_xact_time",   "avg_query_time",
                                     "avg_wait_time"};
constexpr const char* kBareNames[] = {"xact_count", "query_count", "bytes_received", "bytes_sent",
                                      "xact_time",  "query_time",  "wait_time"};

// SHOW STATS (totals and averages), SHOW STATS_TOTALS, SHOW STATS_AVERAGES.
void show_stats_table(Runtime& rt, std::string& out, bool totals, bool averages) {
    const bool both = totals && averages;
    std::vector<Column> cols{{"database"}};
    for (size_t i = 0; i < 7; ++i) {
        if (totals) {
            cols.push_back({both ? kTotalNames[i] : kBareNames[i], ColumnType::Int8});
        }
    }
    for (size_t i = 0; i < 7; ++i) {
        if (averages) {
            cols.push_back({both ? kAvgNames[i] : kBareNames[i], ColumnType::Int8});
        }
    }
    ResultSet rs(std::move(cols));
    const auto st = database_stats(rt);
    for (const auto& [db, d] : st.by_db) {
        std::vector<std::optional<std::string>> row{db};
        if (totals) {
            auto v = stat_values(d, 1, false);
            row.insert(row.end(), v.begin(), v.end());
        }
        if (averages) {
            const auto it = st.period.find(db);
            auto v = stat_values(it == st.period.end() ? observe::ClassTotals{} : it->second,
                                 st.period_seconds, true);
            row.insert(row.end(), v.begin(), v.end());
        }
        rs.row(std::move(row));
    }
    rs.encode(out);
}

void show_stats(Runtime& rt, std::string& out) {
    show_stats_table(rt, out, true, true);
}
void show_stats_totals(Runtime& rt, std::string& out) {
    show_stats_table(rt, out, true, false);
}
void show_stats_averages(Runtime& rt, std::string& out) {
    show_stats_table(rt, out, false, true);
}

// SHOW TOTALS: SHOW STATS summed over every database, one name/value row each.
void show_totals(Runtime& rt, std::string& out) {
    ResultSet rs({{"name"}, {"value", ColumnType::Int8}});
    const auto st = database_stats(rt);
    const auto sum = [](const StatsPeriods::Totals& by_db) {
        observe::ClassTotals all;
        for (const auto& [db, d] : by_db) {
            add_totals(all, d);
        }
        return all;
    };
    const auto totals = stat_values(sum(st.by_db), 1, false);
    const auto avgs = stat_values(sum(st.period), st.period_seconds, true);
    for (size_t i = 0; i < 7; ++i) {
        rs.row({kBareNames[i], totals[i]});
    }
    for (size_t i = 0; i < 7; ++i) {
        rs.row({std::string("avg_") + kBareNames[i], avgs[i]});
    }
    rs.encode(out);
}

// SHOW USERS: the users pools exist for, with their pool mode.
void show_users(Runtime& rt, std::string& out) {
    ResultSet rs({{"name"}, {"pool_mode"}, {"current_connections", ColumnType::Int8}});
    std::map<std::string, std::pair<std::string, int>> users;
    for (const auto& p : rt.pools.stats()) {
        auto& u = users[p.user];
        u.first = std::string(config::to_string(p.mode));
        u.second += p.server_active + p.server_idle + p.server_login;
    }
    for (const auto& [name, u] : users) {
        rs.row({name, u.first, num(u.second)});
    }
    rs.encode(out);
}

std::vector<Column> connection_columns() {
    return {{"type"},
            {"user"},
            {"database"},
            {"state"},
            {"addr"},
            {"port", ColumnType::Int8},
            {"local_addr"},
            {"local_port", ColumnType::Int8},
            {"connect_time"},
            {"request_time"},
            {"wait", ColumnType::Int8},
            {"wait_us", ColumnType::Int8},
            {"close_needed", ColumnType::Int8},
            {"ptr"},
            {"link"},
            {"remote_pid", ColumnType::Int8},
            {"tls"},
            {"application_name"},
            {"prepared_statements", ColumnType::Int8},
            // pgwarden's additions, after PgBouncer's columns so positional readers still work
            {"age_us", ColumnType::Int8},
            {"last_statement"}};
}

void show_clients(Runtime& rt, std::string& out) {
    ResultSet rs(connection_columns());
    const auto now = SteadyClock::now();
    const auto wall = SystemClock::now();
    const auto& s = rt.config()->settings;
    for (const auto& c : sessions(rt)) {
        const auto [addr, port] = split_peer(c.peer);
        std::string state = c.state == ClientState::Active    ? "active"
                            : c.state == ClientState::Waiting ? "waiting"
                            : c.state == ClientState::Login   ? "login"
                                                              : "idle";
        int64_t wait_us = 0;
        if (c.state == ClientState::Waiting) {
            wait_us =
                std::chrono::duration_cast<std::chrono::microseconds>(wall - c.state_since).count();
        }
        const int64_t age =
            c.state == ClientState::Active
                ? std::chrono::duration_cast<std::chrono::microseconds>(now - c.checkout_since)
                      .count()
                : 0;
        rs.row({"C",
                c.user,
                c.database,
                state,
                addr,
                num(int{port}),
                s.listen_addr.empty() ? "" : s.listen_addr.front(),
                num(int{s.listen_port}),
                timestamp(c.connect_time),
                timestamp(c.state_since),
                num(wait_us / 1000000),
                num(wait_us % 1000000),
                "0",
                fmt::format("{:x}", c.id),
                c.server_id ? fmt::format("s{:x}", c.server_id) : "",
                "0",
                "",
                c.application_name,
                "0",
                num(age),
                c.last_statement});
    }
    rs.encode(out);
}

void show_servers(Runtime& rt, std::string& out) {
    ResultSet rs(connection_columns());
    const auto now = SteadyClock::now();
    for (const auto& c : sessions(rt)) {
        if (c.state != ClientState::Active || c.server_id == 0) {
            continue;
        }
        const auto [addr, port] = split_peer(c.server_addr);
        const int64_t age =
            std::chrono::duration_cast<std::chrono::microseconds>(now - c.checkout_since).count();
        rs.row({"S",
                c.user,
                c.database,
                "active",
                addr,
                num(int{port}),
                "",
                "0",
                timestamp(c.connect_time),
                timestamp(c.state_since),
                "0",
                "0",
                "0",
                fmt::format("s{:x}", c.server_id),
                fmt::format("{:x}", c.id),
                num(c.server_pid),
                "",
                c.application_name,
                "0",
                num(age),
                c.last_statement});
    }
    for (const auto& srv : rt.pools.idle_servers()) {
        const auto [addr, port] = split_peer(srv.remote);
        rs.row({"S",
                srv.user,
                srv.database,
                "idle",
                addr,
                num(int{port}),
                "",
                "0",
                "",
                "",
                "0",
                "0",
                "0",
                fmt::format("s{:x}", srv.id),
                "",
                num(srv.backend_pid),
                "",
                "",
                "0",
                "0",
                ""});
    }
    rs.encode(out);
}

void show_databases(Runtime& rt, std::string& out) {
    ResultSet rs({{"name"},
                  {"host"},
                  {"port", ColumnType::Int8},
                  {"database"},
                  {"force_user"},
                  {"pool_size", ColumnType::Int8},
                  {"min_pool_size", ColumnType::Int8},
                  {"reserve_pool", ColumnType::Int8},
                  {"pool_mode"},
                  {"max_connections", ColumnType::Int8},
                  {"current_connections", ColumnType::Int8},
                  {"paused", ColumnType::Int8},
                  {"disabled", ColumnType::Int8}});
    const auto cfg = rt.config();
    const auto& s = cfg->settings;
    std::map<std::string, int> current;
    for (const auto& p : rt.pools.stats()) {
        current[p.database] += p.server_active + p.server_idle + p.server_login;
    }
    for (const auto& [name, db] : cfg->databases) {
        rs.row({name, db.host, num(int{db.port}), db.dbname.empty() ? name : db.dbname,
                db.user.empty() ? std::optional<std::string>() : db.user,
                num(db.pool_size.value_or(s.default_pool_size)),
                num(db.min_pool_size.value_or(s.min_pool_size)), "0",
                std::string(config::to_string(db.pool_mode.value_or(s.pool_mode))),
                num(db.max_db_connections.value_or(s.max_db_connections)), num(current[name]),
                rt.pause.paused(name) ? "1" : "0", "0"});
    }
    rs.encode(out);
}

void show_lists(Runtime& rt, std::string& out) {
    ResultSet rs({{"list"}, {"items", ColumnType::Int8}});
    const auto cfg = rt.config();
    const auto pools = rt.pools.stats();
    std::set<std::string> users;
    int used_servers = 0;
    int free_servers = 0;
    for (const auto& p : pools) {
        users.insert(p.user);
        used_servers += p.server_active + p.server_login;
        free_servers += p.server_idle;
    }
    int login = 0;
    int used = 0;
    for (const auto& c : sessions(rt)) {
        (c.state == ClientState::Login ? login : used) += 1;
    }
    rs.row({"databases", num(static_cast<int64_t>(cfg->databases.size()))});
    rs.row({"users", num(static_cast<int64_t>(users.size()))});
    rs.row({"pools", num(static_cast<int64_t>(pools.size()))});
    rs.row({"free_clients", "0"});
    rs.row({"used_clients", num(used)});
    rs.row({"login_clients", num(login)});
    rs.row({"free_servers", num(free_servers)});
    rs.row({"used_servers", num(used_servers)});
    rs.row({"dns_names", "0"});
    rs.row({"dns_zones", "0"});
    rs.row({"dns_queries", "0"});
    rs.row({"dns_pending", "0"});
    rs.encode(out);
}

void show_config(Runtime& rt, std::string& out) {
    ResultSet rs({{"key"}, {"value"}, {"default"}, {"changeable"}});
    const auto& s = rt.config()->settings;
    const config::Settings d;
    auto join = [](const std::vector<std::string>& v) {
        std::string r;
        for (const auto& x : v) {
            r += r.empty() ? "" : ",";
            r += x;
        }
        return r;
    };
    auto dur = [](config::Duration v) { return config::format_duration(v); };
    auto yes = [](bool b) { return std::string(b ? "1" : "0"); };
    // changeable: whether RELOAD applies it (listen and workers need a restart).
    const std::vector<std::array<std::string, 4>> rows = {
        {"listen_addr", join(s.listen_addr), join(d.listen_addr), "no"},
        {"listen_port", num(int{s.listen_port}), num(int{d.listen_port}), "no"},
        {"unix_socket_dir", s.unix_socket_dir, d.unix_socket_dir, "no"},
        {"auth_type", std::string(config::to_string(s.auth_type)),
         std::string(config::to_string(d.auth_type)), "yes"},
        {"auth_file", s.auth_file, d.auth_file, "yes"},
        {"auth_user", s.auth_user, d.auth_user, "yes"},
        {"auth_query", s.auth_query, d.auth_query, "yes"},
        {"pool_mode", std::string(config::to_string(s.pool_mode)),
         std::string(config::to_string(d.pool_mode)), "yes"},
        {"default_pool_size", num(s.default_pool_size), num(d.default_pool_size), "yes"},
        {"min_pool_size", num(s.min_pool_size), num(d.min_pool_size), "yes"},
        {"max_client_conn", num(s.max_client_conn), num(d.max_client_conn), "yes"},
        {"max_db_connections", num(s.max_db_connections), num(d.max_db_connections), "yes"},
        {"max_user_connections", num(s.max_user_connections), num(d.max_user_connections), "yes"},
        {"max_prepared_statements", num(s.max_prepared_statements), num(d.max_prepared_statements),
         "yes"},
        {"server_lifetime", dur(s.server_lifetime), dur(d.server_lifetime), "yes"},
        {"server_idle_timeout", dur(s.server_idle_timeout), dur(d.server_idle_timeout), "yes"},
        {"server_check_delay", dur(s.server_check_delay), dur(d.server_check_delay), "yes"},
        {"server_connect_timeout", dur(s.server_connect_timeout), dur(d.server_connect_timeout),
         "yes"},
        {"server_login_retry", dur(s.server_login_retry), dur(d.server_login_retry), "yes"},
        {"query_wait_timeout", dur(s.query_wait_timeout), dur(d.query_wait_timeout), "yes"},
        {"client_idle_timeout", dur(s.client_idle_timeout), dur(d.client_idle_timeout), "yes"},
        {"client_login_timeout", dur(s.client_login_timeout), dur(d.client_login_timeout), "yes"},
        {"shutdown_timeout", dur(s.shutdown_timeout), dur(d.shutdown_timeout), "yes"},
        {"server_reset_query", s.server_reset_query, d.server_reset_query, "yes"},
        {"server_reset_query_always", yes(s.server_reset_query_always),
         yes(d.server_reset_query_always), "yes"},
        {"max_packet_size", num(s.max_packet_size), num(d.max_packet_size), "yes"},
        {"admin_users", join(s.admin_users), join(d.admin_users), "yes"},
        {"stats_users", join(s.stats_users), join(d.stats_users), "yes"},
        {"workers", num(s.workers), num(d.workers), "no"},
        {"log_format", s.log_format, d.log_format, "yes"},
        {"log_level", s.log_level, d.log_level, "yes"},
        {"log_connections", yes(s.log_connections), yes(d.log_connections), "yes"},
        {"log_disconnections", yes(s.log_disconnections), yes(d.log_disconnections), "yes"},
        {"stats_listen", s.stats_listen, d.stats_listen, "no"},
    };
    for (const auto& r : rows) {
        rs.row({r[0], r[1], r[2], r[3]});
    }
    rs.encode(out);
}

// -1 when the 99th percentile lies beyond the histogram's last bound (30 s).
int64_t p99_micros(const pool::WaitHistogram& h) {
    const double q = h.quantile(0.99);
    return std::isinf(q) ? -1 : micros(q);
}

void show_classes(Runtime& rt, std::string& out) {
    ResultSet rs({{"database"},
                  {"user"},
                  {"class"},
                  {"sv_active", ColumnType::Int8},
                  {"max_connections", ColumnType::Int8},
                  {"reserved_connections", ColumnType::Int8},
                  {"cl_active", ColumnType::Int8},
                  {"cl_waiting", ColumnType::Int8},
                  {"maxwait_us", ColumnType::Int8},
                  {"priority", ColumnType::Int8},
                  {"checkouts", ColumnType::Int8},
                  {"wait_timeouts", ColumnType::Int8},
                  {"wait_p99_us", ColumnType::Int8}});
    // Client states per class come from the sessions; connection counts from the pools.
    // wait_p99_us is the admission-wait histogram's bucket bound (an upper estimate).
    std::map<std::tuple<std::string, std::string, std::string>, int> active;
    for (const auto& c : sessions(rt)) {
        if (!c.admin && c.state == ClientState::Active) {
            ++active[{c.database, c.user, c.workload_class}];
        }
    }
    for (const auto& p : rt.pools.stats()) {
        for (const auto& c : p.classes) {
            const int max = c.effective_max(p.pool_size);
            rs.row({p.database, p.user, c.name, num(c.held), num(max), num(c.limits.reserve),
                    num(active[{p.database, p.user, c.name}]), num(c.waiting),
                    num(micros(c.max_wait_seconds)), num(c.limits.priority), num(c.granted),
                    num(c.wait_timeouts), num(p99_micros(c.admission_wait))});
        }
    }
    rs.encode(out);
}

void show_leaks(Runtime& rt, std::string& out) {
    // The governor's suspected leaks, newest first (bounded by leak_history).
    ResultSet rs({{"detected"},
                  {"kind"},
                  {"database"},
                  {"user"},
                  {"class"},
                  {"client"},
                  {"application_name"},
                  {"held_us", ColumnType::Int8},
                  {"idle_us", ColumnType::Int8},
                  {"transaction_state"},
                  {"action"},
                  {"last_statement"}});
    for (const auto& r : rt.leaks.recent()) {
        rs.row({timestamp(r.detected), to_string(r.kind), r.database, r.user, r.class_name,
                fmt::format("{}:{}", r.client_addr, r.client_port), r.application_name,
                num(micros(r.held_seconds)), num(micros(r.idle_seconds)),
                std::string(1, r.transaction_state), std::string(config::to_string(r.action)),
                r.last_statement});
    }
    rs.encode(out);
}

void show_alerts(Runtime& rt, std::string& out) {
    ResultSet rs({{"alertname"},
                  {"severity"},
                  {"state"},
                  {"database"},
                  {"user"},
                  {"class"},
                  {"value"},
                  {"threshold"},
                  {"starts_at"},
                  {"summary"}});
    if (rt.alerts != nullptr) {
        for (const auto& a : rt.alerts->active()) {
            rs.row({a.name, std::string(observe::severity_name(a.severity)),
                    std::string(observe::state_name(a.state)), a.database, a.user, a.workload_class,
                    fmt::format("{:.3f}", a.value), fmt::format("{:.3f}", a.threshold),
                    a.firing() ? observe::iso8601(a.starts_at) : std::string(), a.summary});
        }
    }
    rs.encode(out);
}

void show_jobs(Runtime& rt, std::string& out) {
    if (!rt.admin.jobs) {
        error(out, sqlstate::kFeatureNotSupported, "SHOW JOBS: this process runs no scheduler");
        return;
    }
    const auto table = rt.admin.jobs();
    std::vector<Column> cols;
    for (const auto& c : table.columns) {
        cols.push_back({c});
    }
    ResultSet rs(std::move(cols));
    for (const auto& r : table.rows) {
        rs.row(std::vector<std::optional<std::string>>(r.begin(), r.end()));
    }
    rs.encode(out);
}

void show_version(std::string& out) {
    ResultSet rs({{"version"}});
    rs.row({kVersion});
    rs.encode(out);
}

void show_help(std::string& out) {
    pgwire::encode_notice(out, "00000",
                          "Console usage: SHOW HELP|POOLS|STATS|STATS_TOTALS|STATS_AVERAGES|TOTALS|"
                          "CLIENTS|SERVERS|USERS|DATABASES|CONFIG|LISTS|VERSION|CLASSES|LEAKS|"
                          "ALERTS|JOBS; PAUSE [db]; RESUME [db]; RELOAD; KILL db; SHUTDOWN");
    pgwire::encode_command_complete(out, "SHOW");
}

}  // namespace

bool run_show(Runtime& rt, const std::string& what, std::string& out) {
    using Show = void (*)(Runtime&, std::string&);
    static const std::map<std::string, Show> kShows = {
        {"POOLS", &show_pools},
        {"STATS", &show_stats},
        {"CLIENTS", &show_clients},
        {"SERVERS", &show_servers},
        {"DATABASES", &show_databases},
        {"LISTS", &show_lists},
        {"CONFIG", &show_config},
        {"CLASSES", &show_classes},
        {"LEAKS", &show_leaks},
        {"ALERTS", &show_alerts},
        {"STATS_TOTALS", &show_stats_totals},
        {"STATS_AVERAGES", &show_stats_averages},
        {"TOTALS", &show_totals},
        {"USERS", &show_users},
        {"JOBS", &show_jobs},
    };
    if (auto it = kShows.find(what); it != kShows.end()) {
        it->second(rt, out);
    } else if (what == "VERSION") {
        show_version(out);
    } else if (what == "HELP") {
        show_help(out);
    } else {
        return false;
    }
    return true;
}

}  // namespace pgwarden::proxy
