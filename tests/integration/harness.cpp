#include "harness.hpp"

#include "embedded/port.hpp"

#include <fmt/format.h>

#include <signal.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

namespace pgwarden::itest {
namespace {

std::unique_ptr<embedded::EmbeddedPostgres>& shared_pg() {
    static std::unique_ptr<embedded::EmbeddedPostgres> pg;
    return pg;
}

std::string& shared_pg_error() {
    static std::string error;
    return error;
}

std::string toml_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + "\"";
}

// Percent-encodes a URL component (user, password, database).
std::string url_escape(const std::string& s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

}  // namespace

void PostgresEnvironment::SetUp() {
    embedded::EmbeddedPostgres::Options opts;
    opts.max_connections = 40;
    opts.auth_method = "md5";
    opts.users = {{kAppUser, kAppPassword, "scram-sha-256"}, {kMd5User, kMd5Password, "md5"}};
    opts.databases = {{kAppDb, kAppUser}};
    auto pg = embedded::EmbeddedPostgres::start(opts);
    if (!pg) {
        shared_pg_error() = pg.error().message;
        return;
    }
    // md5user works in appdb too (client tests create their own tables there).
    auto grant = pg->run_sql(fmt::format("GRANT ALL ON SCHEMA public TO {};", kMd5User), kAppDb);
    if (!grant) {
        shared_pg_error() = grant.error().message;
        return;
    }
    shared_pg() = std::make_unique<embedded::EmbeddedPostgres>(std::move(*pg));
}

void PostgresEnvironment::TearDown() {
    shared_pg().reset();
}

embedded::EmbeddedPostgres& PostgresEnvironment::pg() {
    if (!shared_pg()) {
        ADD_FAILURE() << "embedded PostgreSQL did not start: " << shared_pg_error();
        std::abort();
    }
    return *shared_pg();
}

std::string default_config_text(const PgwardenLayout& layout, const PgwardenOptions& options) {
    auto& pg = PostgresEnvironment::pg();
    std::string text;
    text += "[pgwarden]\n";
    text += "listen_addr = [\"127.0.0.1\"]\n";
    text += fmt::format("listen_port = {}\n", layout.listen_port);
    text += fmt::format("auth_type = {}\n", toml_string(options.auth_type));
    text += fmt::format("auth_file = {}\n", toml_string(layout.auth_file));
    text += fmt::format("pool_mode = {}\n", toml_string(options.pool_mode));
    text += fmt::format("default_pool_size = {}\n", options.pool_size);
    text += "max_client_conn = 200\n";
    // Two loops whatever the machine: the tests must cover cross-loop hand-offs. The
    // "OneLoop." copies of the proxy tests set PGWARDEN_TEST_WORKERS=1: the default on small
    // machines, where the loop runs without Asio's per-socket locks.
    const char* workers = std::getenv("PGWARDEN_TEST_WORKERS");
    text += fmt::format("workers = {}\n", workers != nullptr && *workers != '\0' ? workers : "2");
    text += "query_wait_timeout = \"30s\"\n";
    text += "server_connect_timeout = \"5s\"\n";
    text += "server_login_retry = \"1s\"\n";
    text += "shutdown_timeout = \"2s\"\n";
    text += "log_level = \"debug\"\n";
    text += fmt::format("stats_listen = \"127.0.0.1:{}\"\n", layout.stats_port);
    text += options.extra_settings;
    text += "\n";
    for (const char* db : {kAppDb, "postgres"}) {
        text += fmt::format("[databases.{}]\n", db);
        text += fmt::format("host = \"127.0.0.1\"\nport = {}\ndbname = \"{}\"\n\n", pg.port(), db);
    }
    text += options.extra_tables;
    return text;
}

common::Result<PgwardenProcess> PgwardenProcess::start(const PgwardenOptions& options) {
    return start_with(
        [&options](const PgwardenLayout& layout) { return default_config_text(layout, options); });
}

common::Result<PgwardenProcess> PgwardenProcess::start_with(
    const std::function<std::string(const PgwardenLayout&)>& config_text) {
    auto dir = embedded::TempDir::create("/tmp/pgwarden-itest-");
    if (!dir) {
        return std::move(dir).error();
    }
    PgwardenLayout layout;
    layout.dir = dir->path();
    layout.auth_file = layout.dir + "/userlist.txt";
    auto listen = embedded::pick_free_port();
    auto stats = embedded::pick_free_port();
    if (!listen || !stats) {
        return common::make_error("itest", "no free port");
    }
    layout.listen_port = *listen;
    layout.stats_port = *stats;
    if (layout.stats_port == layout.listen_port) {
        layout.stats_port = static_cast<uint16_t>(
            layout.listen_port == 65535 ? layout.listen_port - 1 : layout.listen_port + 1);
    }
    {
        std::ofstream users(layout.auth_file);
        users << fmt::format("\"{}\" \"{}\"\n\"{}\" \"{}\"\n", kAppUser, kAppPassword, kMd5User,
                             kMd5Password);
        std::ofstream config(layout.dir + "/pgwarden.toml");
        config << config_text(layout);
    }
    embedded::SpawnOptions spawn;
    spawn.argv = {pgwarden_binary(), "serve", "--config", layout.dir + "/pgwarden.toml"};
    spawn.stdout_path = layout.dir + "/pgwarden.log";
    spawn.stderr_path = spawn.stdout_path;
    auto proc = embedded::Process::spawn(spawn);
    if (!proc) {
        return std::move(proc).error();
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    bool up = false;
    // Bounded: 10 s, polling every 50 ms; stops early if the process exits.
    while (std::chrono::steady_clock::now() < deadline) {
        if (embedded::port_accepts("127.0.0.1", layout.listen_port)) {
            up = true;
            break;
        }
        if (!proc->running()) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!up) {
        auto status = proc->try_wait();
        std::string why = status ? fmt::format("exited with status {}", *status)
                                 : "did not accept connections within 10 s";
        proc->terminate(std::chrono::seconds(2));
        return common::make_error(
            "itest",
            fmt::format("pgwarden serve {} on port {}; log tail:\n{}", why, layout.listen_port,
                        embedded::tail_file(layout.dir + "/pgwarden.log", 40)));
    }
    return PgwardenProcess(std::move(*dir), std::move(layout), std::move(*proc));
}

std::string PgwardenProcess::log_text() const {
    std::ifstream in(log_path());
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string PgwardenProcess::dsn(const std::string& db, const std::string& user,
                                 const std::string& password) const {
    return Endpoint{"127.0.0.1", port()}.dsn(db, user, password);
}

std::string PgwardenProcess::url(const std::string& db, const std::string& user,
                                 const std::string& password) const {
    return Endpoint{"127.0.0.1", port()}.url(db, user, password);
}

void PgwardenProcess::send_signal(int sig) {
    process_.signal(sig);
}

bool PgwardenProcess::running() {
    return process_.running();
}

int PgwardenProcess::stop(std::chrono::milliseconds grace) {
    return process_.terminate(grace);
}

std::string pgwarden_binary() {
    if (const char* env = std::getenv("PGWARDEN_BINARY")) {
        return env;
    }
    return PGWARDEN_BINARY;
}

const std::string& pgwarden_problem() {
    static const std::string problem = [] {
        const std::string binary = pgwarden_binary();
        auto r = embedded::run_process({binary, "serve", "--help"}, std::chrono::seconds(10));
        if (!r.ok()) {
            return binary + " serve --help could not run: " + r.error().message;
        }
        if (r->exit_code != 0) {
            return binary + " serve --help exited with " + std::to_string(r->exit_code) + ": " +
                   r->err;
        }
        return std::string();
    }();
    return problem;
}

embedded::RunResult run_command(const std::vector<std::string>& argv,
                                const std::vector<std::string>& env,
                                std::chrono::milliseconds timeout) {
    embedded::SpawnOptions spawn;
    spawn.argv = argv;
    spawn.env = env;
    // The clients must connect where they are told, not where a developer's shell points.
    spawn.unset_env = {"PGHOST",     "PGPORT",    "PGUSER",   "PGPASSWORD",
                       "PGDATABASE", "PGSERVICE", "PGOPTIONS"};
    auto r = embedded::run_process(std::move(spawn), timeout);
    if (!r) {
        embedded::RunResult failed;
        failed.exit_code = 127;
        failed.err = r.error().message;
        return failed;
    }
    return *r;
}

std::string describe(const embedded::RunResult& r) {
    return fmt::format("exit {}{}\n--- stdout ---\n{}\n--- stderr ---\n{}", r.exit_code,
                       r.timed_out ? " (TIMED OUT, process group killed)" : "", r.out, r.err);
}

std::string QueryResult::scalar() const {
    if (rows.empty() || rows.front().empty()) {
        return {};
    }
    return rows.front().front();
}

common::Result<PgConn> PgConn::connect(const std::string& dsn, int timeout_seconds) {
    std::string full = fmt::format("{} connect_timeout={}", dsn, timeout_seconds);
    PGconn* c = PQconnectdb(full.c_str());
    if (c == nullptr) {
        return common::make_error("connect", "out of memory");
    }
    if (PQstatus(c) != CONNECTION_OK) {
        std::string msg = PQerrorMessage(c);
        PQfinish(c);
        return common::make_error("connect", msg);
    }
    return PgConn(c);
}

PgConn& PgConn::operator=(PgConn&& other) noexcept {
    if (this != &other) {
        if (conn_ != nullptr) {
            PQfinish(conn_);
        }
        conn_ = std::exchange(other.conn_, nullptr);
    }
    return *this;
}

PgConn::~PgConn() {
    if (conn_ != nullptr) {
        PQfinish(conn_);
    }
}

namespace {

QueryResult collect(PGconn* conn, PGresult* res) {
    QueryResult out;
    if (res == nullptr) {
        out.error = PQerrorMessage(conn);
        return out;
    }
    auto status = PQresultStatus(res);
    if (status == PGRES_TUPLES_OK || status == PGRES_COMMAND_OK || status == PGRES_EMPTY_QUERY) {
        out.ok = true;
        for (int r = 0; r < PQntuples(res); ++r) {
            std::vector<std::string> row;
            for (int c = 0; c < PQnfields(res); ++c) {
                row.emplace_back(PQgetisnull(res, r, c) ? "<null>" : PQgetvalue(res, r, c));
            }
            out.rows.push_back(std::move(row));
        }
    } else {
        const char* state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        out.sqlstate = state != nullptr ? state : "";
        out.error = PQresultErrorMessage(res);
    }
    PQclear(res);
    return out;
}

}  // namespace

QueryResult PgConn::exec(const std::string& sql) {
    return collect(conn_, PQexec(conn_, sql.c_str()));
}

QueryResult PgConn::exec_params(const std::string& sql, const std::vector<std::string>& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) {
        values.push_back(p.c_str());
    }
    return collect(conn_, PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                                       values.data(), nullptr, nullptr, 0));
}

std::string to_string(Target t) {
    return t == Target::Direct ? "Direct" : "Pgwarden";
}

std::string Endpoint::url(const std::string& db, const std::string& user,
                          const std::string& password) const {
    return fmt::format("postgresql://{}:{}@{}:{}/{}", url_escape(user), url_escape(password), host,
                       port, url_escape(db));
}

std::string Endpoint::dsn(const std::string& db, const std::string& user,
                          const std::string& password) const {
    return fmt::format("host={} port={} dbname='{}' user='{}' password='{}'", host, port, db, user,
                       password);
}

}  // namespace pgwarden::itest
