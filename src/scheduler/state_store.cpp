#include "scheduler/state_store.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>

#include <charconv>
#include <utility>

// The shared state behind cluster-wide de-duplication. Design (docs/scheduler.md has more):
// a slot is claimed by inserting its (job, slot) row, or by taking over a row whose lease
// expired or that a user requested; both happen in one INSERT ... ON CONFLICT DO UPDATE WHERE
// under a per-job advisory transaction lock, so two instances can never both see themselves
// as the owner. The primary key makes a second row for a slot impossible.
namespace pgwarden::scheduler {

namespace {

constexpr const char* kSchema = R"sql(
BEGIN;
SELECT pg_advisory_xact_lock(hashtext('pgwarden_job_schema'));
CREATE TABLE IF NOT EXISTS pgwarden_job_runs (
    job          text        NOT NULL,
    slot         timestamptz NOT NULL,
    instance     text,
    lease_until  timestamptz,
    state        text        NOT NULL,
    attempt      integer     NOT NULL DEFAULT 1,
    requested_at timestamptz,
    started_at   timestamptz,
    finished_at  timestamptz,
    outcome      text,
    error        text,
    output       text,
    PRIMARY KEY (job, slot)
);
CREATE INDEX IF NOT EXISTS pgwarden_job_runs_open ON pgwarden_job_runs (state)
    WHERE state <> 'finished';
CREATE INDEX IF NOT EXISTS pgwarden_job_runs_finished ON pgwarden_job_runs (finished_at);
CREATE TABLE IF NOT EXISTS pgwarden_jobs (
    job        text PRIMARY KEY,
    paused     boolean     NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMIT;
)sql";

constexpr const char* kSlotMs = "(extract(epoch from slot) * 1000)::bigint";

std::string ms_text(cron::WallTime t) {
    return std::to_string(t.time_since_epoch().count());
}

cron::WallTime parse_ms(const std::string& text) {
    std::int64_t ms = 0;
    std::from_chars(text.data(), text.data() + text.size(), ms);
    return cron::WallTime(std::chrono::milliseconds(ms));
}

std::optional<cron::WallTime> parse_optional_ms(const std::optional<std::string>& text) {
    if (!text) {
        return std::nullopt;
    }
    return parse_ms(*text);
}

// PostgreSQL text must be valid UTF-8 without NUL; program output need not be. Invalid bytes
// become '?', so one odd byte does not lose the whole run's record.
std::string sanitize_utf8(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    std::size_t i = 0;
    while (i < in.size()) {
        const auto c = static_cast<unsigned char>(in[i]);
        int len = 0;
        if (c == 0) {
            len = 0;
        } else if (c < 0x80) {
            len = 1;
        } else if ((c >> 5) == 0x6) {
            len = 2;
        } else if ((c >> 4) == 0xE) {
            len = 3;
        } else if ((c >> 3) == 0x1E) {
            len = 4;
        }
        bool valid = len > 0 && i + static_cast<std::size_t>(len) <= in.size();
        for (int k = 1; valid && k < len; ++k) {
            valid = (static_cast<unsigned char>(in[i + static_cast<std::size_t>(k)]) >> 6) == 0x2;
        }
        if (!valid) {
            out += '?';
            ++i;
            continue;
        }
        out.append(in.substr(i, static_cast<std::size_t>(len)));
        i += static_cast<std::size_t>(len);
    }
    return out;
}

std::string array_literal(const std::vector<std::string>& items) {
    std::string out = "{";
    for (std::size_t i = 0; i < items.size(); ++i) {
        out += i == 0 ? "\"" : ",\"";
        for (char c : items[i]) {
            if (c == '"' || c == '\\') {
                out += '\\';
            }
            out += c;
        }
        out += '"';
    }
    out += '}';
    return out;
}

bool is_hashed_secret(const std::string& secret) {
    return (secret.size() == 35 && secret.starts_with("md5")) ||
           secret.starts_with("SCRAM-SHA-256$");
}

}  // namespace

struct StateStore::Rows {
    std::vector<std::vector<std::optional<std::string>>> rows;
    const std::optional<std::string>& at(std::size_t row, std::size_t col) const {
        return rows[row][col];
    }
    std::string text(std::size_t row, std::size_t col) const {
        return rows[row][col].value_or(std::string());
    }
};

std::string StateConnection::describe() const {
    return fmt::format("{}@{}:{}/{}", user, host, port, dbname);
}

std::string known_password(const config::Config& config, const config::DatabaseConfig& db,
                           const std::string& user) {
    if (!db.password.empty() && (db.user.empty() || db.user == user)) {
        return db.password;
    }
    if (auto it = config.users.find(user);
        it != config.users.end() && !is_hashed_secret(it->second.secret)) {
        return it->second.secret;
    }
    return {};
}

common::Result<StateConnection> state_connection(const config::Config& config) {
    std::string database = config.scheduler.database;
    std::string user = config.scheduler.user;
    if (database.empty()) {
        if (config.jobs.empty()) {
            return common::make_error("scheduler",
                                      "no job and no [scheduler] database: nowhere "
                                      "to keep the job state");
        }
        const auto& first = config.jobs.begin()->second;
        database = first.database;
        if (user.empty()) {
            user = first.user;
        }
    }
    const auto db = config.databases.find(database);
    if (db == config.databases.end()) {
        return common::make_error("scheduler", fmt::format("no [databases.{}] table", database));
    }
    if (user.empty()) {
        user = db->second.user;
    }
    if (user.empty()) {
        return common::make_error("scheduler",
                                  fmt::format("no user for the job state in database {}: set "
                                              "[scheduler] user",
                                              database));
    }
    StateConnection c;
    c.host = db->second.host;
    c.port = db->second.port;
    c.dbname = db->second.dbname.empty() ? database : db->second.dbname;
    c.user = user;
    c.password = known_password(config, db->second, user);
    return c;
}

StateStore::StateStore(StateConnection connection, std::string instance,
                       std::chrono::milliseconds lease)
    : connection_(std::move(connection)), instance_(std::move(instance)), lease_(lease) {}

StateStore::~StateStore() {
    if (conn_ != nullptr) {
        PQfinish(conn_);
    }
}

common::Status StateStore::connect() {
    if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) {
        return common::ok_status();
    }
    if (conn_ != nullptr) {
        PQfinish(conn_);
        conn_ = nullptr;
    }
    prepared_ = false;
    const std::string port = std::to_string(connection_.port);
    // Bounded waits: a claim must not hang the scheduler thread behind a lock or a dead
    // server; a failed claim is retried on the next tick.
    const char* keys[] = {"host",     "port",    "dbname",           "user",
                          "password", "options", "application_name", "connect_timeout",
                          nullptr};
    const char* values[] = {connection_.host.c_str(),
                            port.c_str(),
                            connection_.dbname.c_str(),
                            connection_.user.c_str(),
                            connection_.password.empty() ? nullptr : connection_.password.c_str(),
                            "-c statement_timeout=10000 -c lock_timeout=5000",
                            "pgwarden-scheduler",
                            "5",
                            nullptr};
    conn_ = PQconnectdbParams(keys, values, 0);
    if (conn_ == nullptr || PQstatus(conn_) != CONNECTION_OK) {
        std::string message = conn_ != nullptr ? PQerrorMessage(conn_) : "out of memory";
        while (!message.empty() && message.back() == '\n') {
            message.pop_back();
        }
        if (conn_ != nullptr) {
            PQfinish(conn_);
            conn_ = nullptr;
        }
        return common::make_error("state", fmt::format("cannot connect to the job state "
                                                       "database {}: {}",
                                                       connection_.describe(), message));
    }
    return common::ok_status();
}

common::Result<StateStore::Rows> StateStore::exec(const std::string& sql,
                                                  const std::vector<std::string>& params) {
    if (auto ok = connect(); !ok) {
        return std::move(ok).error();
    }
    if (!prepared_ && sql.find("pgwarden_job_schema") == std::string::npos) {
        if (auto ok = prepare(); !ok) {
            return std::move(ok).error();
        }
    }
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) {
        values.push_back(p.c_str());
    }
    PGresult* raw = params.empty()
                        ? PQexec(conn_, sql.c_str())
                        : PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                                       values.data(), nullptr, nullptr, 0);
    std::unique_ptr<PGresult, decltype(&PQclear)> result(raw, &PQclear);
    const auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        std::string message = result ? PQresultErrorMessage(result.get()) : PQerrorMessage(conn_);
        while (!message.empty() && message.back() == '\n') {
            message.pop_back();
        }
        if (PQstatus(conn_) != CONNECTION_OK) {
            PQfinish(conn_);
            conn_ = nullptr;
            prepared_ = false;
        } else if (PQtransactionStatus(conn_) != PQTRANS_IDLE) {
            PQclear(PQexec(conn_, "ROLLBACK"));
        }
        return common::make_error(
            "state", fmt::format("job state database {}: {}", connection_.describe(), message));
    }
    Rows rows;
    const int n = PQntuples(result.get());
    const int m = PQnfields(result.get());
    rows.rows.resize(static_cast<std::size_t>(n));
    for (int i = 0; i < n; ++i) {
        auto& row = rows.rows[static_cast<std::size_t>(i)];
        row.reserve(static_cast<std::size_t>(m));
        for (int j = 0; j < m; ++j) {
            if (PQgetisnull(result.get(), i, j) != 0) {
                row.emplace_back(std::nullopt);
            } else {
                const auto length = static_cast<std::size_t>(PQgetlength(result.get(), i, j));
                row.emplace_back(std::string(PQgetvalue(result.get(), i, j), length));
            }
        }
    }
    return rows;
}

common::Status StateStore::prepare() {
    auto r = exec(kSchema, {});
    if (!r) {
        return std::move(r).error();
    }
    prepared_ = true;
    return common::ok_status();
}

common::Result<ClaimResult> StateStore::claim(const SlotKey& key, int attempt, bool exclusive) {
    const std::string slot = ms_text(key.slot);
    if (auto r = exec("BEGIN", {}); !r) {
        return std::move(r).error();
    }
    // Serialises claims of one job across instances, so the "another run is live" check and
    // the insert below are one decision.
    if (auto r = exec("SELECT pg_advisory_xact_lock(hashtext($1))", {"pgwarden_job:" + key.job});
        !r) {
        return std::move(r).error();
    }
    if (exclusive) {
        auto live = exec(
            "SELECT 1 FROM pgwarden_job_runs WHERE job = $1 AND state = 'running' "
            "AND lease_until > now() AND slot <> to_timestamp($2::bigint / 1000.0) LIMIT 1",
            {key.job, slot});
        if (!live) {
            return std::move(live).error();
        }
        if (!live->rows.empty()) {
            (void)exec("ROLLBACK", {});
            return ClaimResult::Busy;
        }
    }
    auto claimed = exec(
        "INSERT INTO pgwarden_job_runs AS r "
        "(job, slot, instance, lease_until, state, attempt, started_at) "
        "VALUES ($1, to_timestamp($2::bigint / 1000.0), $3, "
        "now() + $4::bigint * interval '1 millisecond', 'running', $5::integer, now()) "
        "ON CONFLICT (job, slot) DO UPDATE SET instance = EXCLUDED.instance, "
        "lease_until = EXCLUDED.lease_until, state = 'running', attempt = EXCLUDED.attempt, "
        "started_at = now(), finished_at = NULL, outcome = NULL, error = NULL, output = NULL "
        "WHERE r.state = 'requested' OR (r.state = 'running' AND r.lease_until < now()) "
        "OR (r.state = 'finished' AND r.outcome <> 'succeeded' "
        "AND r.instance = EXCLUDED.instance AND r.attempt < EXCLUDED.attempt) "
        "RETURNING attempt",
        {key.job, slot, instance_, std::to_string(lease_.count()), std::to_string(attempt)});
    if (!claimed) {
        return std::move(claimed).error();
    }
    if (auto r = exec("COMMIT", {}); !r) {
        return std::move(r).error();
    }
    return claimed->rows.empty() ? ClaimResult::Taken : ClaimResult::Claimed;
}

common::Status StateStore::renew(const std::vector<SlotKey>& running) {
    if (running.empty()) {
        return common::ok_status();
    }
    std::vector<std::string> jobs;
    std::vector<std::string> slots;
    for (const auto& k : running) {
        jobs.push_back(k.job);
        slots.push_back(ms_text(k.slot));
    }
    std::string slot_array = "{";
    for (std::size_t i = 0; i < slots.size(); ++i) {
        slot_array += (i == 0 ? "" : ",") + slots[i];
    }
    slot_array += "}";
    auto r = exec(
        "UPDATE pgwarden_job_runs r SET lease_until = now() + $2::bigint * interval "
        "'1 millisecond' FROM unnest($3::text[], $4::bigint[]) AS u(job, slot_ms) "
        "WHERE r.job = u.job AND r.slot = to_timestamp(u.slot_ms / 1000.0) "
        "AND r.instance = $1 AND r.state = 'running'",
        {instance_, std::to_string(lease_.count()), array_literal(jobs), slot_array});
    if (!r) {
        return std::move(r).error();
    }
    return common::ok_status();
}

common::Status StateStore::finish(const FinishRecord& record) {
    auto r = exec(
        "UPDATE pgwarden_job_runs SET state = 'finished', outcome = $4, error = NULLIF($5, ''), "
        "output = NULLIF($6, ''), finished_at = now(), lease_until = NULL "
        "WHERE job = $1 AND slot = to_timestamp($2::bigint / 1000.0) AND instance = $3",
        {record.key.job, ms_text(record.key.slot), instance_, record.outcome,
         sanitize_utf8(record.error), sanitize_utf8(record.output)});
    if (!r) {
        return std::move(r).error();
    }
    return common::ok_status();
}

common::Result<SweepResult> StateStore::sweep() {
    SweepResult out;
    // A run whose instance died is re-run by whoever adopts it, unless a later slot of the
    // job has started since: then re-running the old slot would only repeat work the later
    // run does, so it is closed as lost instead.
    auto lost = exec(
        "UPDATE pgwarden_job_runs r SET state = 'finished', outcome = 'lost', "
        "finished_at = now(), lease_until = NULL, error = 'instance ' || "
        "coalesce(r.instance, '?') || ' stopped renewing its lease (presumed dead); a later "
        "run superseded this slot' WHERE r.state = 'running' AND r.lease_until < now() AND "
        "EXISTS (SELECT 1 FROM pgwarden_job_runs n WHERE n.job = r.job AND n.slot > r.slot "
        "AND n.state <> 'requested')",
        {});
    if (!lost) {
        return std::move(lost).error();
    }
    auto open = exec(fmt::format("SELECT job, {}, state FROM pgwarden_job_runs "
                                 "WHERE state = 'requested' OR (state = 'running' AND "
                                 "lease_until < now()) ORDER BY slot LIMIT 1000",
                                 kSlotMs),
                     {});
    if (!open) {
        return std::move(open).error();
    }
    for (std::size_t i = 0; i < open->rows.size(); ++i) {
        out.open.push_back(OpenSlot{SlotKey{open->text(i, 0), parse_ms(open->text(i, 1))},
                                    open->text(i, 2) == "requested"});
    }
    auto paused = exec("SELECT job FROM pgwarden_jobs WHERE paused", {});
    if (!paused) {
        return std::move(paused).error();
    }
    for (std::size_t i = 0; i < paused->rows.size(); ++i) {
        out.paused.insert(paused->text(i, 0));
    }
    return out;
}

common::Result<std::map<std::string, cron::WallTime>> StateStore::last_slots() {
    auto r = exec(fmt::format("SELECT job, (extract(epoch from max(slot)) * 1000)::bigint "
                              "FROM pgwarden_job_runs WHERE state <> 'requested' GROUP BY job"),
                  {});
    if (!r) {
        return std::move(r).error();
    }
    std::map<std::string, cron::WallTime> out;
    for (std::size_t i = 0; i < r->rows.size(); ++i) {
        out.emplace(r->text(i, 0), parse_ms(r->text(i, 1)));
    }
    return out;
}

common::Status StateStore::purge(std::chrono::milliseconds retention) {
    auto r = exec(
        "DELETE FROM pgwarden_job_runs WHERE (state = 'finished' AND finished_at < "
        "now() - $1::bigint * interval '1 millisecond') OR (state = 'requested' AND "
        "requested_at < now() - $1::bigint * interval '1 millisecond')",
        {std::to_string(retention.count())});
    if (!r) {
        return std::move(r).error();
    }
    return common::ok_status();
}

common::Status StateStore::set_paused(const std::string& job, bool paused) {
    auto r = exec(
        "INSERT INTO pgwarden_jobs (job, paused, updated_at) VALUES ($1, $2, now()) "
        "ON CONFLICT (job) DO UPDATE SET paused = EXCLUDED.paused, updated_at = now()",
        {job, paused ? "true" : "false"});
    if (!r) {
        return std::move(r).error();
    }
    return common::ok_status();
}

common::Result<cron::WallTime> StateStore::request_run(const std::string& job) {
    auto r = exec(fmt::format("INSERT INTO pgwarden_job_runs (job, slot, state, attempt, "
                              "requested_at) VALUES ($1, date_trunc('milliseconds', "
                              "clock_timestamp()), 'requested', 1, now()) RETURNING {}",
                              kSlotMs),
                  {job});
    if (!r) {
        return std::move(r).error();
    }
    if (r->rows.empty()) {
        return common::make_error("state", "the request was not recorded");
    }
    return parse_ms(r->text(0, 0));
}

common::Result<std::vector<RunRow>> StateStore::history(const std::string& job, int limit) {
    auto r =
        exec(fmt::format("SELECT job, {}, coalesce(instance, ''), state, coalesce(outcome, ''), "
                         "attempt, (extract(epoch from started_at) * 1000)::bigint, "
                         "(extract(epoch from finished_at) * 1000)::bigint, coalesce(error, ''), "
                         "coalesce(output, '') FROM pgwarden_job_runs "
                         "WHERE ($1 = '' OR job = $1) ORDER BY slot DESC, job LIMIT $2::integer",
                         kSlotMs),
             {job, std::to_string(limit)});
    if (!r) {
        return std::move(r).error();
    }
    std::vector<RunRow> out;
    for (std::size_t i = 0; i < r->rows.size(); ++i) {
        RunRow row;
        row.job = r->text(i, 0);
        row.slot = parse_ms(r->text(i, 1));
        row.instance = r->text(i, 2);
        row.state = r->text(i, 3);
        row.outcome = r->text(i, 4);
        row.attempt = std::stoi(r->text(i, 5));
        row.started_at = parse_optional_ms(r->at(i, 6));
        row.finished_at = parse_optional_ms(r->at(i, 7));
        row.error = r->text(i, 8);
        row.output = r->text(i, 9);
        out.push_back(std::move(row));
    }
    return out;
}

common::Result<std::map<std::string, JobRecord>> StateStore::records() {
    std::map<std::string, JobRecord> out;
    auto paused = exec("SELECT job, paused FROM pgwarden_jobs", {});
    if (!paused) {
        return std::move(paused).error();
    }
    for (std::size_t i = 0; i < paused->rows.size(); ++i) {
        out[paused->text(i, 0)].paused = paused->text(i, 1) == "t";
    }
    auto last = exec(fmt::format("SELECT DISTINCT ON (job) job, {}, coalesce(instance, ''), "
                                 "coalesce(outcome, ''), attempt, "
                                 "(extract(epoch from started_at) * 1000)::bigint, "
                                 "(extract(epoch from finished_at) * 1000)::bigint, "
                                 "coalesce(error, '') FROM pgwarden_job_runs "
                                 "WHERE state = 'finished' ORDER BY job, slot DESC",
                                 kSlotMs),
                     {});
    if (!last) {
        return std::move(last).error();
    }
    for (std::size_t i = 0; i < last->rows.size(); ++i) {
        RunRow row;
        row.job = last->text(i, 0);
        row.slot = parse_ms(last->text(i, 1));
        row.instance = last->text(i, 2);
        row.state = "finished";
        row.outcome = last->text(i, 3);
        row.attempt = std::stoi(last->text(i, 4));
        row.started_at = parse_optional_ms(last->at(i, 5));
        row.finished_at = parse_optional_ms(last->at(i, 6));
        row.error = last->text(i, 7);
        out[row.job].last = std::move(row);
    }
    auto running = exec(
        "SELECT job, coalesce(instance, '') FROM pgwarden_job_runs "
        "WHERE state = 'running' AND lease_until > now() ORDER BY job, slot",
        {});
    if (!running) {
        return std::move(running).error();
    }
    for (std::size_t i = 0; i < running->rows.size(); ++i) {
        out[running->text(i, 0)].running.push_back(running->text(i, 1));
    }
    return out;
}

}  // namespace pgwarden::scheduler
