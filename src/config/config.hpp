#pragma once

#include "config/alerts.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/workload_class.hpp"

namespace pgwarden::config {

using Duration = std::chrono::milliseconds;

inline constexpr std::string_view kDefaultClass = "default";

enum class PoolMode {
    Session,      // server held for the client's whole connection; reset on release
    Transaction,  // server held from first statement until ReadyForQuery 'I'
    Statement,    // like transaction, but a multi-statement transaction is refused
};

enum class AuthType {
    Trust,        // no password asked; the user must still exist (or auth_file absent)
    Plain,        // cleartext password exchange
    Md5,          // md5 challenge; SCRAM secrets in auth_file fall back to SCRAM
    ScramSha256,  // SCRAM-SHA-256 (default)
};

// One [databases.NAME] table. Unset optional fields inherit the [pgwarden] defaults.
struct DatabaseConfig {
    std::string name;  // the name clients connect to ("*" = fallback for any name)
    std::string host = "127.0.0.1";
    uint16_t port = 5432;
    std::string dbname;  // empty: same as `name` (for "*": the client's database name)
    std::string user;    // empty: the client's user (and password from auth_file)
    std::string password;
    std::optional<int> pool_size;
    std::optional<int> min_pool_size;
    std::optional<PoolMode> pool_mode;
    std::optional<int> max_db_connections;
    int config_line = 0;  // where the table starts, for messages
};

// The [pgwarden] table. Names and meanings follow PgBouncer's settings.
struct Settings {
    std::vector<std::string> listen_addr{"127.0.0.1"};  // "*" = all IPv4 and IPv6
    uint16_t listen_port = 6432;
    std::string unix_socket_dir;  // empty: no Unix socket
    AuthType auth_type = AuthType::ScramSha256;
    std::string auth_file;  // absolute, resolved against the config file's directory
    std::string auth_query = "SELECT usename, passwd FROM pg_shadow WHERE usename=$1";
    std::string auth_user;  // empty: auth_query disabled
    PoolMode pool_mode = PoolMode::Transaction;
    int default_pool_size = 20;
    int min_pool_size = 0;
    int max_client_conn = 100;
    int max_db_connections = 0;         // 0 = unlimited
    int max_user_connections = 0;       // 0 = unlimited
    int max_prepared_statements = 200;  // per server connection; 0 = no tracking
    Duration server_lifetime{std::chrono::seconds(3600)};
    Duration server_idle_timeout{std::chrono::seconds(600)};
    // A connection released less than this long ago is reused without the liveness check
    // (PgBouncer's name and meaning; 0 = always check). See PoolSettings.
    Duration server_check_delay{100};
    Duration server_connect_timeout{std::chrono::seconds(15)};
    Duration server_login_retry{std::chrono::seconds(15)};
    Duration query_wait_timeout{std::chrono::seconds(120)};
    Duration client_idle_timeout{0};  // 0 = disabled
    Duration client_login_timeout{std::chrono::seconds(60)};
    Duration shutdown_timeout{std::chrono::seconds(30)};  // SIGTERM drain limit
    std::string server_reset_query = "DISCARD ALL";
    bool server_reset_query_always = false;
    uint64_t max_packet_size = 2147483647;  // bytes, like PgBouncer
    std::vector<std::string> admin_users;
    std::vector<std::string> stats_users;
    int workers = 0;                  // event-loop threads; 0 = half the cores (at least 1)
    std::string log_format = "text";  // "text" | "json"
    std::string log_level = "info";
    bool log_connections = true;
    bool log_disconnections = true;
    std::string stats_listen = "127.0.0.1:9127";
    // Server connections all pools to one PostgreSQL server may hold together. 0: read the
    // server's max_connections - superuser_reserved_connections at the first login and keep
    // server_connections_margin of those free for other clients (psql, migrations).
    int max_server_connections = 0;
    int server_connections_margin = 2;
    int leak_history = 1000;  // suspected leaks kept in memory for SHOW LEAKS and /api
};

// What a [jobs.NAME] job runs.
enum class JobKind {
    Sql,      // statements through pgwarden's own listen address, as a client named after the job
    Command,  // a program, with DATABASE_URL/PG* pointing at pgwarden
    Http,     // a request to an http:// URL
};

// A job's overlap and misfire policies, as written; the scheduler maps them to its own enums.
enum class JobOverlap { Skip, QueueOne, Allow, CancelPrevious };
enum class JobMisfire { RunOnce, Skip };

// One [jobs.NAME] table (parsed by jobs_table.cpp; semantics in docs/scheduler.md).
struct JobConfig {
    std::string name;
    std::string schedule;           // cron text; empty when `every` is set (exactly one is)
    std::optional<Duration> every;  // fixed interval
    std::string timezone = "UTC";   // IANA name, for cron schedules
    Duration jitter{0};
    JobKind kind = JobKind::Sql;
    std::vector<std::string> sql;      // kind = sql: statements, run in order
    std::vector<std::string> command;  // kind = command: argv (a string is run by /bin/sh -c)
    bool command_shell = false;        // `command` was one string
    std::string url;                   // kind = http
    std::string method = "GET";
    std::string database;        // a [databases.NAME] name
    std::string user;            // empty: the database's `user`
    std::string workload_class;  // empty: "background" when that class exists, else default
    int connections = 1;         // budget units the job holds while running
    std::string queue = "default";
    JobOverlap overlap = JobOverlap::Skip;
    std::optional<Duration> max_staleness;  // freshness window; none = never deferred for pressure
    int priority = 0;                       // higher starts first
    JobMisfire misfire = JobMisfire::RunOnce;
    int retries = 0;
    Duration retry_backoff{std::chrono::seconds(10)};
    Duration retry_backoff_max{std::chrono::minutes(10)};
    Duration timeout{std::chrono::hours(1)};  // per run; 0 = none
    bool transaction = true;                  // kind = sql: wrap the statements in BEGIN/COMMIT
    bool enabled = true;
    int64_t output_limit = 65536;  // bytes of output kept per run
    int config_line = 0;

    bool operator==(const JobConfig&) const = default;
};

// The [scheduler] table: the job runtime as a whole.
struct SchedulerConfig {
    bool enabled = true;
    int max_concurrency = 4;            // connection units all background jobs may hold
    std::map<std::string, int> queues;  // [scheduler.queues] name = limit
    double pressure_utilization = 0.7;  // pool utilization at which deferral starts
    Duration history_retention{std::chrono::hours(24 * 7)};
    Duration lease{std::chrono::seconds(60)};
    std::string instance_id;  // empty: hostname:pid
    std::string database;     // where the state tables live; empty: first job's
    std::string user;         // empty: that database's `user`

    bool operator==(const SchedulerConfig&) const = default;
};

// A user from auth_file (PgBouncer userlist.txt format: "name" "secret").
// `secret` is a plain password, "md5<32 hex>", or "SCRAM-SHA-256$<iter>:<salt>$<stored>:<server>".
struct UserEntry {
    std::string name;
    std::string secret;
};

// An immutable snapshot of the whole configuration. Built once per load/reload and
// shared read-only (std::shared_ptr<const Config>) by every thread.
struct Config {
    std::string source_path;
    Settings settings;
    std::map<std::string, DatabaseConfig> databases;
    std::map<std::string, UserEntry> users;  // from auth_file; empty when none
    // In matching order; the last is always the default class (kDefaultClass).
    std::vector<WorkloadClass> classes;

    // The class a connection belongs to: the first whose criteria all match.
    // A connection whose application_name is a configured job's name (the scheduler's own
    // runners set it) belongs to that job's class (or "background" when such a class
    // exists) rather than to the first matching class.
    const WorkloadClass& match_class(std::string_view application_name, std::string_view user,
                                     std::string_view database,
                                     std::string_view client_address) const;
    const WorkloadClass* find_class(std::string_view name) const;
    std::map<std::string, JobConfig> jobs;  // [jobs.NAME]
    SchedulerConfig scheduler;              // [scheduler]
    AlertSettings alerts;                   // the [alerts] table (defaults when absent)

    // The database table for a client's database name, or the "*" fallback; nullptr if none.
    const DatabaseConfig* find_database(std::string_view name) const;
};

// A problem found while loading: where it is, which key, what is wrong, what to do.
struct Diagnostic {
    std::string file;
    int line = 0;     // 1-based; 0 when unknown
    int column = 0;   // 1-based; 0 when unknown
    std::string key;  // dotted path, e.g. "databases.app.port"
    std::string message;
    std::string hint;  // may be empty
    // "file:line:column: key: message (hint)"
    std::string to_string() const;
};

struct LoadResult {
    std::shared_ptr<const Config> config;  // null when any diagnostic is an error
    std::vector<Diagnostic> errors;        // every problem found, not just the first
    bool ok() const { return config != nullptr && errors.empty(); }
};

// Reads and validates a TOML config file (and its auth_file). Never throws.
LoadResult load_file(const std::string& path);
// Same, from text; `path` is used for messages and to resolve relative auth_file paths.
LoadResult load_string(std::string_view text, const std::string& path);

// "30s", "5m", "1h", "250ms", "2d" or a plain number of seconds (integer or TOML number).
std::optional<Duration> parse_duration(std::string_view text);

// Parses PgBouncer userlist.txt text. Errors carry file and line.
std::map<std::string, UserEntry> parse_userlist(std::string_view text, const std::string& path,
                                                std::vector<Diagnostic>& errors);

std::string_view to_string(PoolMode mode);
std::string_view to_string(AuthType type);
std::string_view to_string(JobKind kind);
std::string_view to_string(JobOverlap overlap);
std::string_view to_string(JobMisfire misfire);

// The inverse of to_string, case-insensitive (for the admin console and the loader).
std::optional<PoolMode> parse_pool_mode(std::string_view text);
std::optional<AuthType> parse_auth_type(std::string_view text);

// The shortest exact spelling parse_duration reads back: "0", "250ms", "90s", "5m", "1h".
std::string format_duration(Duration duration);

}  // namespace pgwarden::config
