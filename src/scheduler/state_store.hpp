#pragma once

#include "common/result.hpp"
#include "config/config.hpp"
#include "scheduler/coordinator.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

struct pg_conn;

namespace pgwarden::scheduler {

// Where the job state tables live: a database's upstream PostgreSQL, reached directly (not
// through pgwarden) so that coordination never queues behind user traffic in a busy pool,
// and so `pgwarden jobs` works whether or not any instance is serving.
struct StateConnection {
    std::string host;
    uint16_t port = 5432;
    std::string dbname;
    std::string user;
    std::string password;
    std::string describe() const;  // "user@host:port/dbname", no password
};

// The state connection a config implies: [scheduler] database/user, else the first job's
// database and user; the password from the database table or a plain auth_file secret.
// Errors when the config has no job and no [scheduler] database.
common::Result<StateConnection> state_connection(const config::Config& config);

// A plain-text password for `user` that pgwarden knows: the database table's password when
// its user matches, else a non-hashed auth_file secret; empty when none.
std::string known_password(const config::Config& config, const config::DatabaseConfig& db,
                           const std::string& user);

// One row of run history.
struct RunRow {
    std::string job;
    cron::WallTime slot;
    std::string instance;
    std::string state;    // requested, running, finished
    std::string outcome;  // succeeded, failed, timeout, cancelled; empty while open
    int attempt = 0;
    std::optional<cron::WallTime> started_at;
    std::optional<cron::WallTime> finished_at;
    std::string error;
    std::string output;
};

// A job's shared state, as `pgwarden jobs list` shows it.
struct JobRecord {
    bool paused = false;
    std::optional<RunRow> last;        // the latest finished run
    std::vector<std::string> running;  // instances running it under a live lease
};

// The PostgreSQL tables every instance shares:
//   pgwarden_job_runs(job, slot) — one row per run: claim, lease, outcome, bounded output
//   pgwarden_jobs(job)           — pause state
// One libpq connection, opened lazily and re-opened after a failure. Blocking: use it from the
// scheduler thread or a CLI, never an event loop. Not thread-safe.
class StateStore final : public Coordinator {
public:
    StateStore(StateConnection connection, std::string instance, std::chrono::milliseconds lease);
    ~StateStore() override;
    StateStore(const StateStore&) = delete;
    StateStore& operator=(const StateStore&) = delete;

    common::Status prepare() override;
    common::Result<ClaimResult> claim(const SlotKey& key, int attempt, bool exclusive) override;
    common::Status renew(const std::vector<SlotKey>& running) override;
    common::Status finish(const FinishRecord& record) override;
    common::Result<SweepResult> sweep() override;
    common::Result<std::map<std::string, cron::WallTime>> last_slots() override;
    common::Status purge(std::chrono::milliseconds retention) override;

    // For `pgwarden jobs`.
    common::Status set_paused(const std::string& job, bool paused);
    // Inserts a requested row (slot = now) that the next sweep of any instance picks up.
    common::Result<cron::WallTime> request_run(const std::string& job);
    common::Result<std::vector<RunRow>> history(const std::string& job, int limit);
    common::Result<std::map<std::string, JobRecord>> records();

    const std::string& instance() const { return instance_; }

private:
    struct Rows;
    common::Result<Rows> exec(const std::string& sql, const std::vector<std::string>& params);
    common::Status connect();

    StateConnection connection_;
    std::string instance_;
    std::chrono::milliseconds lease_;
    pg_conn* conn_ = nullptr;
    bool prepared_ = false;
};

}  // namespace pgwarden::scheduler
