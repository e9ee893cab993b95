#pragma once

#include "common/result.hpp"
#include "embedded/embedded_postgres.hpp"
#include "embedded/process.hpp"
#include "embedded/temp_dir.hpp"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pgwarden::itest {

// The roles and database the shared server is created with.
inline constexpr const char* kAppUser = "app";  // SCRAM-stored password
inline constexpr const char* kAppPassword = "app_pw";
inline constexpr const char* kMd5User = "md5user";  // md5-stored password
inline constexpr const char* kMd5Password = "md5_pw";
inline constexpr const char* kAppDb = "appdb";  // owned by app

// Starts ONE throwaway PostgreSQL for the whole test binary (registered in main). pg_hba
// uses "md5" for TCP, which accepts both the SCRAM-stored and the md5-stored password.
class PostgresEnvironment : public ::testing::Environment {
public:
    void SetUp() override;
    void TearDown() override;
    // The running server; aborts the test if SetUp failed.
    static embedded::EmbeddedPostgres& pg();
};

// Settings for the default pgwarden config (see default_config_text).
struct PgwardenOptions {
    int pool_size = 4;
    std::string pool_mode = "transaction";
    std::string auth_type = "scram-sha-256";
    std::string extra_settings{};  // more lines for the [pgwarden] table
    std::string extra_tables{};    // more TOML tables appended at the end
};

// Ports and paths a config is written for.
struct PgwardenLayout {
    uint16_t listen_port = 0;
    uint16_t stats_port = 0;
    std::string dir;        // private temp dir holding config, auth file and log
    std::string auth_file;  // dir/userlist.txt: plain secrets for app and md5user
};

// The default config: listen on 127.0.0.1 at layout.listen_port, one [databases.appdb] (and a
// [databases.postgres]) pointing at the shared PostgreSQL, client users from the auth file.
std::string default_config_text(const PgwardenLayout& layout, const PgwardenOptions& options);

// `pgwarden serve --config FILE` as a child process with its output in a log file.
// Move-only; the destructor sends SIGTERM, waits up to 5 s, then SIGKILL.
class PgwardenProcess {
public:
    // Picks free ports, writes the auth file, then the config produced by `config_text`
    // (default_config_text when not given), starts the binary and waits (10 s at most) until
    // the listen port accepts. The error message carries the tail of pgwarden's log.
    static common::Result<PgwardenProcess> start(const PgwardenOptions& options = {});
    static common::Result<PgwardenProcess> start_with(
        const std::function<std::string(const PgwardenLayout&)>& config_text);

    uint16_t port() const { return layout_.listen_port; }
    const PgwardenLayout& layout() const { return layout_; }
    std::string config_path() const { return layout_.dir + "/pgwarden.toml"; }
    std::string log_path() const { return layout_.dir + "/pgwarden.log"; }
    std::string log_text() const;
    std::string dsn(const std::string& db, const std::string& user,
                    const std::string& password) const;
    std::string url(const std::string& db, const std::string& user,
                    const std::string& password) const;
    void send_signal(int sig);
    bool running();
    // SIGTERM and wait; returns the exit status (128+signal when killed).
    int stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

private:
    PgwardenProcess(embedded::TempDir dir, PgwardenLayout layout, embedded::Process process)
        : dir_(std::move(dir)), layout_(std::move(layout)), process_(std::move(process)) {}

    embedded::TempDir dir_;
    PgwardenLayout layout_;
    embedded::Process process_;
};

// The pgwarden binary under test.
std::string pgwarden_binary();
// Empty when the binary under test runs (`pgwarden serve --help` exits 0), else what is
// wrong with it. Tests assert it is empty: a binary that cannot run fails them, never skips.
const std::string& pgwarden_problem();

// Runs argv with extra "KEY=VALUE" env entries, killing its process group after `timeout`.
embedded::RunResult run_command(const std::vector<std::string>& argv,
                                const std::vector<std::string>& env = {},
                                std::chrono::milliseconds timeout = std::chrono::seconds(120));
// "exit N, timed out" plus both streams, for assertion messages.
std::string describe(const embedded::RunResult& r);

// A libpq result: rows as text (NULL as "<null>"), or the error's SQLSTATE and message.
struct QueryResult {
    bool ok = false;
    std::string sqlstate;
    std::string error;
    std::vector<std::vector<std::string>> rows;
    // The first column of the first row ("" when none).
    std::string scalar() const;
};

// A libpq connection (blocking). Move-only; closes on destruction.
class PgConn {
public:
    static common::Result<PgConn> connect(const std::string& dsn, int timeout_seconds = 10);
    PgConn(PgConn&& other) noexcept : conn_(std::exchange(other.conn_, nullptr)) {}
    PgConn& operator=(PgConn&& other) noexcept;
    PgConn(const PgConn&) = delete;
    PgConn& operator=(const PgConn&) = delete;
    ~PgConn();

    QueryResult exec(const std::string& sql);
    // Extended protocol with text parameters (unnamed statement).
    QueryResult exec_params(const std::string& sql, const std::vector<std::string>& params);
    PGconn* raw() const { return conn_; }
    int backend_pid() const { return PQbackendPID(conn_); }

private:
    explicit PgConn(PGconn* c) : conn_(c) {}
    PGconn* conn_ = nullptr;
};

// Which server a client test talks to.
enum class Target {
    Direct,    // the embedded PostgreSQL itself: proves the client program is correct
    Pgwarden,  // through `pgwarden serve` in transaction pooling mode
};
std::string to_string(Target t);

// Where to connect for a target (host is always 127.0.0.1).
struct Endpoint {
    std::string host = "127.0.0.1";
    uint16_t port = 0;
    std::string url(const std::string& db, const std::string& user,
                    const std::string& password) const;
    std::string dsn(const std::string& db, const std::string& user,
                    const std::string& password) const;
};

}  // namespace pgwarden::itest
