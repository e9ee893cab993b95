#include "embedded/embedded_postgres.hpp"

#include "embedded/port.hpp"
#include "embedded/process.hpp"

#include <fmt/format.h>

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace pgwarden::embedded {
namespace {

// Variables that would silently redirect initdb/pg_ctl/psql elsewhere.
const std::vector<std::string> kPgEnv = {"PGHOST",    "PGHOSTADDR", "PGPORT",     "PGDATA",
                                         "PGUSER",    "PGDATABASE", "PGPASSWORD", "PGPASSFILE",
                                         "PGSERVICE", "PGOPTIONS",  "PGSSLMODE"};

std::string conf_value(const std::string& value) {
    std::string out = "'";
    for (char c : value) {
        if (c == '\'' || c == '\\') {
            out += c;
        }
        out += c;
    }
    return out + "'";
}

std::string dsn_value(const std::string& value) {
    std::string out = "'";
    for (char c : value) {
        if (c == '\'' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + "'";
}

common::Status write_file(const std::string& path, const std::string& text, bool append) {
    std::ofstream out(path, append ? std::ios::app : std::ios::trunc);
    out << text;
    out.close();
    if (!out) {
        return common::make_error("io", fmt::format("cannot write {}", path));
    }
    return common::ok_status();
}

std::string trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
        s.pop_back();
    }
    return s;
}

}  // namespace

std::string quote_literal(const std::string& s) {
    std::string out = "'";
    for (char c : s) {
        if (c == '\'') {
            out += '\'';
        }
        out += c;
    }
    return out + "'";
}

std::string quote_ident(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"') {
            out += '"';
        }
        out += c;
    }
    return out + "\"";
}

common::Result<EmbeddedPostgres> EmbeddedPostgres::start(Options options) {
    EmbeddedPostgres pg;
    pg.options_ = std::move(options);
    if (!std::filesystem::exists(pg.options_.bin_dir + "/initdb")) {
        return common::make_error("embedded",
                                  fmt::format("{}/initdb not found: install postgresql-15 "
                                              "(scripts/install-deps.sh)",
                                              pg.options_.bin_dir));
    }
    // Unix socket paths are limited to ~107 bytes, so the directory lives in /tmp whatever
    // TMPDIR says.
    auto dir = TempDir::create("/tmp/pgwarden-pg-");
    if (!dir) {
        return std::move(dir).error();
    }
    pg.dir_ = std::move(*dir);
    if (pg.options_.keep_dir) {
        pg.dir_.keep();
    }
    // PostgreSQL refuses to run as root; as root we hand the directory to the postgres user.
    if (::geteuid() == 0) {
        passwd* pw = ::getpwnam("postgres");
        if (pw == nullptr) {
            return common::make_error("embedded",
                                      "running as root but there is no 'postgres' OS user to "
                                      "run PostgreSQL as (install postgresql-15)");
        }
        pg.run_uid_ = pw->pw_uid;
        pg.run_gid_ = pw->pw_gid;
        if (::chown(pg.dir_.path().c_str(), pg.run_uid_, pg.run_gid_) != 0) {
            return common::make_error("embedded", fmt::format("chown {} failed", pg.dir_.path()));
        }
    }
    pg.ipv6_ = ipv6_loopback_available();
    if (auto st = pg.init_cluster(); !st) {
        return std::move(st).error();
    }
    // A port picked as free can be taken before the postmaster binds it; retry a few times.
    const int attempts = pg.options_.port == 0 ? 3 : 1;
    common::Status started = common::ok_status();
    for (int attempt = 0; attempt < attempts; ++attempt) {
        if (pg.options_.port != 0) {
            pg.port_ = pg.options_.port;
        } else {
            auto port = pick_free_port();
            if (!port) {
                return std::move(port).error();
            }
            pg.port_ = *port;
        }
        if (auto st = pg.write_config(); !st) {
            return std::move(st).error();
        }
        started = pg.pg_ctl({"start", "-l", pg.log_path()});
        if (started) {
            break;
        }
    }
    if (!started) {
        return common::make_error(
            "embedded", fmt::format("pg_ctl start failed: {}\n--- {} ---\n{}",
                                    started.error().message, pg.log_path(), pg.log_tail()));
    }
    pg.running_ = true;
    if (auto st = pg.create_objects(); !st) {
        return std::move(st).error();
    }
    return pg;
}

EmbeddedPostgres::EmbeddedPostgres(EmbeddedPostgres&& other) noexcept
    : options_(std::move(other.options_)),
      dir_(std::move(other.dir_)),
      host_(std::move(other.host_)),
      port_(other.port_),
      ipv6_(other.ipv6_),
      running_(std::exchange(other.running_, false)),
      run_uid_(other.run_uid_),
      run_gid_(other.run_gid_) {}

EmbeddedPostgres& EmbeddedPostgres::operator=(EmbeddedPostgres&& other) noexcept {
    if (this != &other) {
        stop_immediately();
        options_ = std::move(other.options_);
        dir_ = std::move(other.dir_);
        host_ = std::move(other.host_);
        port_ = other.port_;
        ipv6_ = other.ipv6_;
        running_ = std::exchange(other.running_, false);
        run_uid_ = other.run_uid_;
        run_gid_ = other.run_gid_;
    }
    return *this;
}

EmbeddedPostgres::~EmbeddedPostgres() {
    stop_immediately();
}

std::string EmbeddedPostgres::data_dir() const {
    return dir_.path() + "/data";
}

std::string EmbeddedPostgres::log_path() const {
    return dir_.path() + "/postgres.log";
}

std::string EmbeddedPostgres::dsn(const std::string& dbname, const std::string& user,
                                  const std::string& password) const {
    std::string out = fmt::format("host={} port={} dbname={} user={}", host_, port_,
                                  dsn_value(dbname), dsn_value(user));
    if (!password.empty()) {
        out += " password=" + dsn_value(password);
    }
    return out;
}

std::string EmbeddedPostgres::log_tail(std::size_t lines) const {
    return tail_file(log_path(), lines);
}

common::Status EmbeddedPostgres::init_cluster() {
    std::vector<std::string> argv = {options_.bin_dir + "/initdb",
                                     "-D",
                                     data_dir(),
                                     "-U",
                                     options_.superuser,
                                     "--auth-local=trust",
                                     "--auth-host=trust",
                                     "-E",
                                     "UTF8",
                                     "--locale=C",
                                     "--no-sync",
                                     "--no-instructions"};
    std::string pwfile = dir_.path() + "/pwfile";
    if (options_.superuser_password) {
        if (auto st = write_file(pwfile, *options_.superuser_password + "\n", false); !st) {
            return st;
        }
        if (run_uid_ != static_cast<uid_t>(-1) &&
            ::chown(pwfile.c_str(), run_uid_, run_gid_) != 0) {
            return common::make_error("embedded", "chown pwfile failed");
        }
        argv.push_back("--pwfile=" + pwfile);
    }
    SpawnOptions spawn;
    spawn.argv = std::move(argv);
    spawn.env = {"LC_ALL=C", "LANG=C"};
    spawn.unset_env = kPgEnv;
    spawn.cwd = dir_.path();
    spawn.uid = run_uid_;
    spawn.gid = run_gid_;
    auto r = run_process(std::move(spawn), options_.timeout);
    std::error_code ec;
    std::filesystem::remove(pwfile, ec);
    if (!r) {
        return std::move(r).error();
    }
    if (!r->ok()) {
        return common::make_error("embedded",
                                  fmt::format("initdb failed (exit {}{}):\n{}{}", r->exit_code,
                                              r->timed_out ? ", timed out" : "", r->out, r->err));
    }
    return common::ok_status();
}

common::Status EmbeddedPostgres::write_config() {
    // Appended to the generated postgresql.conf; later lines win, so a retry with a new port
    // just appends again.
    std::string conf = "\n# pgwarden embedded\n";
    conf +=
        fmt::format("listen_addresses = {}\n", conf_value(ipv6_ ? "127.0.0.1,::1" : "127.0.0.1"));
    conf += fmt::format("port = {}\n", port_);
    conf += fmt::format("unix_socket_directories = {}\n", conf_value(dir_.path()));
    conf += fmt::format("max_connections = {}\n", options_.max_connections);
    // A throwaway cluster needs no durability; this makes tests much faster.
    conf += "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n";
    conf += "logging_collector = off\nlog_line_prefix = '%m [%p] %q%u@%d '\n";
    conf += "password_encryption = 'scram-sha-256'\n";
    for (const auto& [key, value] : options_.settings) {
        conf += fmt::format("{} = {}\n", key, conf_value(value));
    }
    if (auto st = write_file(data_dir() + "/postgresql.conf", conf, true); !st) {
        return st;
    }
    const std::string& m = options_.auth_method;
    if (m != "trust" && m != "scram-sha-256" && m != "md5" && m != "password") {
        return common::make_error("embedded", fmt::format("unsupported auth method '{}'", m));
    }
    std::string hba;
    hba += "local all all trust\n";
    hba += fmt::format("host all all 127.0.0.1/32 {}\n", m);
    hba += fmt::format("host all all ::1/128 {}\n", m);
    hba += "local replication all trust\n";
    hba += fmt::format("host replication all 127.0.0.1/32 {}\n", m);
    // Truncating keeps the file's owner (the postgres user when we are root).
    return write_file(data_dir() + "/pg_hba.conf", hba, false);
}

common::Status EmbeddedPostgres::pg_ctl(const std::vector<std::string>& args) const {
    SpawnOptions spawn;
    spawn.argv = {options_.bin_dir + "/pg_ctl"};
    spawn.argv.insert(spawn.argv.end(), args.begin(), args.end());
    auto wait_secs = std::to_string(options_.timeout.count());
    for (const auto& a : {std::string("-D"), data_dir(), std::string("-w"), std::string("-t"),
                          wait_secs, std::string("-s")}) {
        spawn.argv.push_back(a);
    }
    spawn.env = {"LC_ALL=C", "LANG=C"};
    spawn.unset_env = kPgEnv;
    spawn.cwd = dir_.path();
    spawn.uid = run_uid_;
    spawn.gid = run_gid_;
    auto r = run_process(std::move(spawn), options_.timeout + std::chrono::seconds(10));
    if (!r) {
        return std::move(r).error();
    }
    if (!r->ok()) {
        return common::make_error(
            "embedded",
            fmt::format("pg_ctl {} failed (exit {}{}): {}{}", args.front(), r->exit_code,
                        r->timed_out ? ", timed out" : "", trim(r->out), trim(r->err)));
    }
    return common::ok_status();
}

common::Status EmbeddedPostgres::create_objects() {
    std::string script;
    for (const auto& u : options_.users) {
        script += fmt::format("SET password_encryption = {};\n", quote_literal(u.encryption));
        script += fmt::format("CREATE ROLE {} LOGIN {} PASSWORD {};\n", quote_ident(u.name),
                              u.superuser ? "SUPERUSER" : "", quote_literal(u.password));
    }
    for (const auto& d : options_.databases) {
        std::string owner = d.owner.empty() ? options_.superuser : d.owner;
        script +=
            fmt::format("CREATE DATABASE {} OWNER {};\n", quote_ident(d.name), quote_ident(owner));
    }
    if (script.empty()) {
        return common::ok_status();
    }
    auto r = run_sql(script);
    if (!r) {
        return std::move(r).error();
    }
    return common::ok_status();
}

common::Status EmbeddedPostgres::stop() {
    if (!running_) {
        return common::ok_status();
    }
    auto st = pg_ctl({"stop", "-m", "fast"});
    if (st) {
        running_ = false;
    }
    return st;
}

common::Status EmbeddedPostgres::restart() {
    // -l again: without it the new postmaster would write its log to pg_ctl's stdout.
    auto st = pg_ctl({"restart", "-m", "fast", "-l", log_path()});
    running_ = static_cast<bool>(st);
    return st;
}

common::Result<std::string> EmbeddedPostgres::run_sql(const std::string& sql,
                                                      const std::string& db) const {
    SpawnOptions spawn;
    spawn.argv = {options_.bin_dir + "/psql",
                  "-X",
                  "-q",
                  "-A",
                  "-t",
                  "-v",
                  "ON_ERROR_STOP=1",
                  "-h",
                  dir_.path(),
                  "-p",
                  std::to_string(port_),
                  "-U",
                  options_.superuser,
                  "-d",
                  db,
                  "-f",
                  "-"};
    spawn.env = {"LC_ALL=C", "LANG=C"};
    spawn.unset_env = kPgEnv;
    auto r = run_process(std::move(spawn), options_.timeout, sql);
    if (!r) {
        return std::move(r).error();
    }
    if (!r->ok()) {
        return common::make_error("sql",
                                  fmt::format("psql failed (exit {}{}): {}", r->exit_code,
                                              r->timed_out ? ", timed out" : "", trim(r->err)));
    }
    return trim(r->out);
}

void EmbeddedPostgres::stop_immediately() noexcept {
    if (running_) {
        try {
            if (!pg_ctl({"stop", "-m", "immediate"})) {
                // pg_ctl could not do it: SIGQUIT is the postmaster's own immediate shutdown.
                std::ifstream pidfile(data_dir() + "/postmaster.pid");
                long pid = 0;
                if (pidfile >> pid && pid > 1) {
                    ::kill(static_cast<pid_t>(pid), SIGQUIT);
                    std::this_thread::sleep_for(std::chrono::milliseconds(500));
                }
            }
        } catch (...) {
            // Destructor path: nothing more can be done; the directory is removed below.
        }
        running_ = false;
    }
    dir_ = TempDir();
}

}  // namespace pgwarden::embedded
