#pragma once

#include "common/result.hpp"
#include "embedded/temp_dir.hpp"

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pgwarden::embedded {

// A login role to create after the server starts.
struct UserSpec {
    std::string name;
    std::string password;
    std::string encryption = "scram-sha-256";  // or "md5": how the password is stored
    bool superuser = false;
};

// A database to create after the users.
struct DatabaseSpec {
    std::string name;
    std::string owner;  // empty: the superuser
};

// A throwaway PostgreSQL 15 server: a fresh cluster in a private temp directory, listening
// only on loopback. Move-only; destroying it stops the server (immediate mode) and removes
// the directory (unless keep_dir). Methods block (they run initdb/pg_ctl/psql with bounded
// waits); one thread at a time.
class EmbeddedPostgres {
public:
    struct Options {
        uint16_t port = 0;  // 0: pick a free loopback port
        int max_connections = 100;
        std::vector<std::pair<std::string, std::string>> settings;  // extra postgresql.conf
        // pg_hba method for the 127.0.0.1/::1 host lines: "trust", "scram-sha-256" or "md5"
        // ("md5" also accepts SCRAM-stored passwords, so it serves both kinds of user).
        // Unix-socket connections (used by run_sql) are always trusted.
        std::string auth_method = "trust";
        std::string superuser = "postgres";
        std::optional<std::string> superuser_password;
        std::vector<UserSpec> users;
        std::vector<DatabaseSpec> databases;
        bool keep_dir = false;  // leave the directory behind for inspection
        std::string bin_dir = "/usr/lib/postgresql/15/bin";
        std::chrono::seconds timeout{90};  // bound on each initdb/pg_ctl step
    };

    static common::Result<EmbeddedPostgres> start(Options options);

    EmbeddedPostgres(EmbeddedPostgres&& other) noexcept;
    EmbeddedPostgres& operator=(EmbeddedPostgres&& other) noexcept;
    EmbeddedPostgres(const EmbeddedPostgres&) = delete;
    EmbeddedPostgres& operator=(const EmbeddedPostgres&) = delete;
    ~EmbeddedPostgres();

    const std::string& host() const noexcept { return host_; }  // "127.0.0.1"
    uint16_t port() const noexcept { return port_; }
    const std::string& superuser() const noexcept { return options_.superuser; }
    std::string data_dir() const;
    std::string socket_dir() const { return dir_.path(); }
    std::string log_path() const;
    bool ipv6() const noexcept { return ipv6_; }
    bool running() const noexcept { return running_; }
    // libpq keyword/value connection string over TCP; password only when non-empty.
    std::string dsn(const std::string& dbname, const std::string& user,
                    const std::string& password = {}) const;

    // Fast shutdown (clients disconnected, clean checkpoint). Idempotent.
    common::Status stop();
    // Fast restart on the same port and directory: every client connection is cut.
    common::Status restart();
    // Runs `sql` with psql as the superuser over the Unix socket. Returns psql's unaligned,
    // tuples-only output ("a|b" rows, one per line), or an Error with psql's message.
    common::Result<std::string> run_sql(const std::string& sql,
                                        const std::string& db = "postgres") const;
    // The last lines of the server log, for failure messages.
    std::string log_tail(std::size_t lines = 30) const;

private:
    EmbeddedPostgres() = default;
    common::Status init_cluster();
    common::Status write_config();
    common::Status pg_ctl(const std::vector<std::string>& args) const;
    common::Status create_objects();
    void stop_immediately() noexcept;

    Options options_;
    TempDir dir_;
    std::string host_ = "127.0.0.1";
    uint16_t port_ = 0;
    bool ipv6_ = false;
    bool running_ = false;
    // The OS identity initdb/pg_ctl run as: the postgres user when we are root.
    uid_t run_uid_ = static_cast<uid_t>(-1);
    gid_t run_gid_ = static_cast<gid_t>(-1);
};

// SQL quoting helpers (PostgreSQL rules; standard_conforming_strings on).
std::string quote_literal(const std::string& s);
std::string quote_ident(const std::string& s);

}  // namespace pgwarden::embedded
