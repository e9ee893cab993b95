// pgwarden serve's own behaviour against a real PostgreSQL: pooling semantics, session
// state carry-over, and every kind of bad input or fault the proxy must survive with a
// precise error while everyone else keeps being served.
#include "harness.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace pgwarden::itest {
namespace {

using namespace std::chrono_literals;

// A raw TCP client for protocol-level abuse that no driver would send.
class RawClient {
public:
    explicit RawClient(uint16_t port) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        timeval tv{10, 0};
        ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~RawClient() { ::close(fd_); }
    bool connected() const { return connected_; }
    void send(const std::string& bytes) {
        (void)::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    }
    // Everything the peer sends until it closes (or 10 s pass).
    std::string read_all() {
        std::string out;
        char buf[4096];
        for (;;) {
            ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                return out;
            }
            out.append(buf, static_cast<size_t>(n));
        }
    }
    // Reads until ReadyForQuery ('Z') arrives; false on close/timeout.
    bool read_until_ready(std::string& out) {
        char buf[4096];
        for (;;) {
            for (size_t p = 0; p + 5 <= out.size();) {
                uint32_t be = 0;
                std::memcpy(&be, out.data() + p + 1, sizeof be);  // unaligned: copy, not cast
                const uint32_t len = ntohl(be);
                if (p + 1 + len > out.size()) {
                    break;
                }
                if (out[p] == 'Z') {
                    return true;
                }
                p += 1 + len;
            }
            ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n <= 0) {
                return false;
            }
            out.append(buf, static_cast<size_t>(n));
        }
    }

private:
    int fd_ = -1;
    bool connected_ = false;
};

std::string be32(uint32_t v) {
    std::string s(4, '\0');
    s[0] = static_cast<char>(v >> 24);
    s[1] = static_cast<char>(v >> 16);
    s[2] = static_cast<char>(v >> 8);
    s[3] = static_cast<char>(v);
    return s;
}

std::string startup(uint32_t version, const std::string& user, const std::string& db) {
    std::string body =
        be32(version) + "user" + '\0' + user + '\0' + "database" + '\0' + db + '\0' + '\0';
    return be32(static_cast<uint32_t>(body.size() + 4)) + body;
}

// The SQLSTATE inside the first ErrorResponse of `bytes` ("" when none).
std::string error_code(const std::string& bytes) {
    const size_t e = bytes.find('E');
    if (e == std::string::npos) {
        return {};
    }
    const size_t c = bytes.find(std::string("\0C", 2), e);
    if (c == std::string::npos) {
        return {};
    }
    return bytes.substr(c + 2, 5);
}

// Replaces `key = ...` lines of the [pgwarden] table (the harness's defaults) with
// `key = value`, or adds them; keeps the config a valid TOML document.
std::string with_settings(std::string text,
                          const std::vector<std::pair<std::string, std::string>>& settings) {
    for (const auto& [key, value] : settings) {
        const std::string line = key + " = " + value + "\n";
        const size_t at = text.find("\n" + key + " = ");
        if (at != std::string::npos) {
            const size_t end = text.find('\n', at + 1);
            text.replace(at + 1, end - at, line);
        } else {
            text.insert(text.find("[pgwarden]\n") + 11, line);
        }
    }
    return text;
}

class ProxyTest : public ::testing::Test {
protected:
    void start(PgwardenOptions options = {},
               std::vector<std::pair<std::string, std::string>> settings = {}) {
        auto p = PgwardenProcess::start_with([&](const PgwardenLayout& layout) {
            return with_settings(default_config_text(layout, options), settings);
        });
        ASSERT_TRUE(p.ok()) << p.error().message;
        proxy_.emplace(std::move(*p));
    }
    std::string dsn(const std::string& user = kAppUser, const std::string& pw = kAppPassword,
                    const std::string& db = kAppDb) const {
        return proxy_->dsn(db, user, pw);
    }
    // A logged-in client; a failed login ends the test (gtest reports the exception).
    PgConn connect(const std::string& extra = "") {
        auto c = PgConn::connect(dsn() + extra);
        if (!c.ok()) {
            throw std::runtime_error("login through pgwarden failed: " + c.error().message + "\n" +
                                     proxy_->log_text());
        }
        return std::move(*c);
    }
    // The server-side session count of `app` connections (what pgwarden holds open).
    int server_connections(const std::string& app_filter = "") {
        auto out = PostgresEnvironment::pg().run_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = 'app'" +
                (app_filter.empty() ? std::string()
                                    : " AND application_name = '" + app_filter + "'"),
            "postgres");
        return out.ok() ? std::stoi(*out) : -1;
    }
    std::optional<PgwardenProcess> proxy_;
};

TEST_F(ProxyTest, TransactionPoolingSharesFewServerConnections) {
    start({.pool_size = 2});
    std::vector<PgConn> clients;
    for (int i = 0; i < 8; ++i) {
        clients.push_back(connect());
    }
    for (int round = 0; round < 5; ++round) {
        for (auto& c : clients) {
            auto r = c.exec("SELECT 40 + 2");
            ASSERT_TRUE(r.ok) << r.error;
            EXPECT_EQ(r.scalar(), "42");
        }
    }
    EXPECT_LE(server_connections(), 2);
}

TEST_F(ProxyTest, WrongPasswordUnknownUserUnknownDatabase) {
    start();
    auto bad = PgConn::connect(dsn(kAppUser, "nope"));
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().message.find("password authentication failed"), std::string::npos)
        << bad.error().message;
    auto nouser = PgConn::connect(dsn("ghost", "x"));
    ASSERT_FALSE(nouser.ok());
    EXPECT_NE(nouser.error().message.find("password authentication failed"), std::string::npos);
    auto nodb = PgConn::connect(dsn(kAppUser, kAppPassword, "nosuchdb"));
    ASSERT_FALSE(nodb.ok());
    EXPECT_NE(nodb.error().message.find("no such database"), std::string::npos)
        << nodb.error().message;
    // Everyone else is still served.
    auto ok = connect();
    EXPECT_EQ(ok.exec("SELECT 1").scalar(), "1");
}

TEST_F(ProxyTest, Md5AndPlainAuthTypes) {
    for (const char* auth : {"md5", "plain"}) {
        start({.auth_type = auth});
        auto c = PgConn::connect(dsn());
        ASSERT_TRUE(c.ok()) << auth << ": " << c.error().message;
        EXPECT_EQ(c->exec("SELECT current_user").scalar(), "app");
        EXPECT_FALSE(PgConn::connect(dsn(kAppUser, "wrong")).ok()) << auth;
        proxy_.reset();
    }
}

TEST_F(ProxyTest, AuthQueryLooksUpUsersMissingFromTheAuthFile) {
    auto& pg = PostgresEnvironment::pg();
    // A login role that may read secrets only through a SECURITY DEFINER function, and a
    // user that exists only in PostgreSQL (not in pgwarden's auth_file).
    ASSERT_TRUE(pg.run_sql("SET password_encryption = 'scram-sha-256';"
                           "DROP ROLE IF EXISTS pgw_auth; DROP ROLE IF EXISTS viaquery;"
                           "CREATE ROLE pgw_auth LOGIN PASSWORD 'auth_pw';"
                           "CREATE ROLE viaquery LOGIN PASSWORD 'vq_pw';"
                           "GRANT ALL ON DATABASE appdb TO viaquery;",
                           "postgres")
                    .ok());
    ASSERT_TRUE(pg.run_sql("CREATE OR REPLACE FUNCTION public.pgw_lookup(text) "
                           "RETURNS TABLE(usename name, passwd text) SECURITY DEFINER "
                           "LANGUAGE sql AS $$ SELECT usename, passwd FROM pg_catalog.pg_shadow "
                           "WHERE usename = $1 $$;"
                           "REVOKE ALL ON FUNCTION public.pgw_lookup(text) FROM PUBLIC;"
                           "GRANT EXECUTE ON FUNCTION public.pgw_lookup(text) TO pgw_auth;",
                           kAppDb)
                    .ok());
    auto p = PgwardenProcess::start_with([&](const PgwardenLayout& layout) {
        const std::string users_path = layout.dir + "/users_with_auth.txt";
        {
            std::ofstream users(users_path);
            users << "\"app\" \"" << kAppPassword << "\"\n\"pgw_auth\" \"auth_pw\"\n";
        }
        return with_settings(default_config_text(layout, {}),
                             {{"auth_file", "\"" + users_path + "\""},
                              {"auth_user", "\"pgw_auth\""},
                              {"auth_query", "\"SELECT * FROM public.pgw_lookup($1)\""}});
    });
    ASSERT_TRUE(p.ok()) << p.error().message;
    proxy_.emplace(std::move(*p));
    auto c = PgConn::connect(dsn("viaquery", "vq_pw"));
    ASSERT_TRUE(c.ok()) << c.error().message << proxy_->log_text();
    EXPECT_EQ(c->exec("SELECT current_user").scalar(), "viaquery");
    EXPECT_FALSE(PgConn::connect(dsn("viaquery", "wrong")).ok());
    EXPECT_FALSE(PgConn::connect(dsn("nobody_at_all", "x")).ok());
    // Users in the auth_file still log in without a lookup.
    EXPECT_EQ(connect().exec("SELECT 1").scalar(), "1");
}

TEST_F(ProxyTest, BadProtocolVersionAndMalformedStartup) {
    start();
    {
        RawClient raw(proxy_->port());
        ASSERT_TRUE(raw.connected());
        raw.send(startup(0x00020000, kAppUser, kAppDb));
        auto reply = raw.read_all();
        EXPECT_EQ(error_code(reply), "0A000") << reply;
        EXPECT_NE(reply.find("unsupported frontend protocol 2.0"), std::string::npos);
    }
    {
        RawClient raw(proxy_->port());
        raw.send(be32(5) + "x");  // a length below the 8-byte minimum
        EXPECT_EQ(error_code(raw.read_all()), "08P01");
    }
    {
        RawClient raw(proxy_->port());
        raw.send(be32(100000) + be32(196608));  // a length above PostgreSQL's own limit
        EXPECT_EQ(error_code(raw.read_all()), "08P01");
    }
    auto ok = connect();
    EXPECT_EQ(ok.exec("SELECT 1").scalar(), "1");
}

TEST_F(ProxyTest, SslRequestAnsweredN) {
    start();
    {
        RawClient raw(proxy_->port());
        raw.send(be32(8) + be32(80877103));
        std::string reply;
        ASSERT_FALSE(raw.read_until_ready(reply));  // no ReadyForQuery: it waits for startup
        EXPECT_EQ(reply, "N");
    }
    // A libpq client with sslmode=prefer falls back to plaintext after the 'N'.
    auto c = PgConn::connect(dsn() + " sslmode=prefer");
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->exec("SELECT 1").scalar(), "1");
    auto required = PgConn::connect(dsn() + " sslmode=require");
    EXPECT_FALSE(required.ok());
}

TEST_F(ProxyTest, MalformedAndOversizeMessagesAfterLogin) {
    start({}, {{"max_packet_size", "4096"}});
    // Log in properly with psql-like libpq, then abuse a raw socket that is logged in.
    auto good = connect();
    auto big = good.exec("SELECT '" + std::string(8000, 'x') + "'");
    EXPECT_FALSE(big.ok);
    // Like PostgreSQL for an invalid message length: a FATAL error, then the close (libpq
    // keeps the FATAL text in the connection's error message).
    EXPECT_NE(std::string(PQerrorMessage(good.raw())).find("exceeds max_packet_size"),
              std::string::npos)
        << PQerrorMessage(good.raw());
    // The proxy keeps serving new clients.
    auto again = connect();
    EXPECT_EQ(again.exec("SELECT 7").scalar(), "7");
    EXPECT_NE(proxy_->log_text().find("exceeds max_packet_size"), std::string::npos);
}

TEST_F(ProxyTest, MessagesSplitAcrossReadsAreReassembled) {
    // A JDBC batch once hung the proxy: a Query/Parse arriving in pieces must wait for the
    // rest of its bytes, not spin. Send every message of a session in 3-byte pieces.
    start({.auth_type = "trust"});
    RawClient raw(proxy_->port());
    raw.send(startup(196608, kAppUser, kAppDb));
    std::string login;
    ASSERT_TRUE(raw.read_until_ready(login));
    auto msg = [](char type, const std::string& body) {
        return std::string(1, type) + be32(static_cast<uint32_t>(body.size() + 4)) + body;
    };
    const std::string nul(1, '\0');
    auto query = [&](const std::string& sql) { return msg('Q', sql + nul); };
    const std::string parse = msg('P', "s1" + nul + "SELECT 40 + 2" + nul + std::string(2, '\0'));
    const std::string bind = msg(
        'B', nul + "s1" + nul + std::string(2, '\0') + std::string(2, '\0') + std::string(2, '\0'));
    const std::string execute = msg('E', nul + std::string(4, '\0'));
    const std::string sync = msg('S', "");
    const std::string stream = query("SELECT 'split'") + parse + bind + execute + sync;
    for (size_t i = 0; i < stream.size(); i += 3) {
        raw.send(stream.substr(i, 3));
        std::this_thread::sleep_for(2ms);
    }
    std::string reply;
    ASSERT_TRUE(raw.read_until_ready(reply));
    EXPECT_NE(reply.find("split"), std::string::npos);
    for (int i = 0; i < 50 && reply.find("42") == std::string::npos; ++i) {
        std::string more;
        if (!raw.read_until_ready(more)) {
            break;
        }
        reply += more;
    }
    EXPECT_NE(reply.find("42"), std::string::npos);
    EXPECT_EQ(error_code(reply), "");
}

TEST_F(ProxyTest, QueryWaitTimeoutGivesCleanError) {
    start({.pool_size = 1}, {{"query_wait_timeout", "\"1s\""}});
    auto holder = connect();
    ASSERT_TRUE(holder.exec("BEGIN").ok);
    ASSERT_TRUE(holder.exec("SELECT 1").ok);
    auto waiter = connect();
    const auto t0 = std::chrono::steady_clock::now();
    auto r = waiter.exec("SELECT 2");
    const auto waited = std::chrono::steady_clock::now() - t0;
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.sqlstate, "53300") << r.error;
    EXPECT_NE(r.error.find("query_wait_timeout"), std::string::npos) << r.error;
    EXPECT_LT(waited, 10s);
    // The timed-out client keeps its connection and succeeds once a server is free.
    ASSERT_TRUE(holder.exec("COMMIT").ok);
    EXPECT_EQ(waiter.exec("SELECT 4").scalar(), "4");
    // The extended protocol gets the same clean error.
    ASSERT_TRUE(holder.exec("BEGIN").ok);
    ASSERT_TRUE(holder.exec("SELECT 1").ok);
    auto ext = waiter.exec_params("SELECT $1::int", {"5"});
    EXPECT_EQ(ext.sqlstate, "53300") << ext.error;
    ASSERT_TRUE(holder.exec("COMMIT").ok);
    EXPECT_EQ(waiter.exec_params("SELECT $1::int", {"6"}).scalar(), "6");
    auto after = connect();
    EXPECT_EQ(after.exec("SELECT 3").scalar(), "3");
}

TEST_F(ProxyTest, UpstreamDownGivesConnectionError) {
    PgwardenOptions o;
    o.extra_tables = "[databases.down]\nhost = \"127.0.0.1\"\nport = 9\ndbname = \"x\"\n";
    start(o);
    auto c = PgConn::connect(dsn(kAppUser, kAppPassword, "down"));
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message.find("cannot connect to server"), std::string::npos)
        << c.error().message;
    EXPECT_EQ(connect().exec("SELECT 1").scalar(), "1");
}

TEST_F(ProxyTest, ServerBackendKilledMidQuery) {
    start({.pool_size = 2});
    auto victim = connect(" application_name=victim");
    auto bystander = connect(" application_name=bystander");
    std::thread killer([&] {
        std::this_thread::sleep_for(500ms);
        (void)PostgresEnvironment::pg().run_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE query LIKE 'SELECT pg_sleep(5)%'",
            "postgres");
    });
    auto r = victim.exec("SELECT pg_sleep(5)");
    killer.join();
    EXPECT_FALSE(r.ok);
    EXPECT_NE(std::string(PQerrorMessage(victim.raw())).find("terminating connection"),
              std::string::npos)
        << PQerrorMessage(victim.raw());
    EXPECT_EQ(bystander.exec("SELECT 5").scalar(), "5");
    EXPECT_EQ(connect().exec("SELECT 6").scalar(), "6");
}

TEST_F(ProxyTest, PostgresRestartWhileClientsConnected) {
    start({.pool_size = 2});
    auto c1 = connect();
    auto c2 = connect();
    ASSERT_EQ(c1.exec("SELECT 1").scalar(), "1");
    ASSERT_EQ(c2.exec("SELECT 1").scalar(), "1");
    // Idle past the default server_check_delay (100ms), so each checkout checks its server
    // connection (a restart itself takes longer than that too).
    std::this_thread::sleep_for(150ms);
    ASSERT_TRUE(PostgresEnvironment::pg().restart().ok());
    // Idle pooled connections died with the restart; the next transaction gets a fresh one.
    auto r1 = c1.exec("SELECT 11");
    EXPECT_TRUE(r1.ok) << r1.error;
    EXPECT_EQ(r1.scalar(), "11");
    EXPECT_EQ(c2.exec("SELECT 12").scalar(), "12");
}

// Ends the idle server backend whose last statement was `marker` (no quotes in it), and
// waits until it is gone.
void terminate_idle_backend(const std::string& marker) {
    auto killed = PostgresEnvironment::pg().run_sql(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE state = 'idle' "
        "AND query = '" +
            marker + "'",
        "postgres");
    ASSERT_TRUE(killed.ok());
    ASSERT_EQ(*killed, "1");
    for (int i = 0; i < 50; ++i) {
        auto left = PostgresEnvironment::pg().run_sql(
            "SELECT count(*) FROM pg_stat_activity WHERE query = '" + marker + "'", "postgres");
        if (left.ok() && *left == "0") {
            return;
        }
        std::this_thread::sleep_for(50ms);
    }
    FAIL() << "backend did not exit";
}

// server_check_delay = 0: every checkout checks, so a backend killed while idle costs no
// client an error.
TEST_F(ProxyTest, IdleBackendKilledIsReplacedWhenChecked) {
    start({.pool_size = 1}, {{"server_check_delay", "\"0\""}});
    auto c = connect();
    ASSERT_EQ(c.exec("SELECT 4101").scalar(), "4101");
    terminate_idle_backend("SELECT 4101");
    auto r = c.exec("SELECT 2");
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.scalar(), "2");
}

// Within server_check_delay the connection is reused unchecked: the client whose
// transaction lands on the dead backend gets PostgreSQL's error and a closed connection,
// the connection is discarded, and the next client is served.
TEST_F(ProxyTest, IdleBackendKilledWithinCheckDelayFailsOneRequest) {
    start({.pool_size = 1}, {{"server_check_delay", "\"1h\""}});
    auto c = connect();
    ASSERT_EQ(c.exec("SELECT 4102").scalar(), "4102");
    terminate_idle_backend("SELECT 4102");
    auto r = c.exec("SELECT 2");
    EXPECT_FALSE(r.ok);
    const std::string error = PQerrorMessage(c.raw());
    EXPECT_TRUE(error.find("terminating connection") != std::string::npos ||
                error.find("server closed the connection") != std::string::npos ||
                error.find("server connection lost") != std::string::npos)
        << error;
    EXPECT_EQ(connect().exec("SELECT 3").scalar(), "3");
}

// A reply far larger than the socket buffers, to a client that reads nothing for a while:
// pgwarden writes straight from the server buffer until the client's socket is full, then
// the rest asynchronously, and reads the server again only after that. Every row must
// arrive, in order, and the connection stay usable.
TEST_F(ProxyTest, LargeResultToASlowReaderArrivesWholeAndInOrder) {
    start({.pool_size = 1});
    auto c = connect();
    ASSERT_EQ(
        PQsendQuery(c.raw(), "SELECT g, repeat(md5(g::text), 32) FROM generate_series(1, 20000) g"),
        1);
    std::this_thread::sleep_for(1s);  // 40 MB on the way, and the socket buffers fill up
    size_t rows = 0;
    size_t out_of_order = 0;
    while (PGresult* res = PQgetResult(c.raw())) {
        if (PQresultStatus(res) == PGRES_TUPLES_OK) {
            for (int i = 0; i < PQntuples(res); ++i) {
                ++rows;
                if (std::string(PQgetvalue(res, i, 0)) != std::to_string(rows) ||
                    PQgetlength(res, i, 1) != 32 * 32) {
                    ++out_of_order;
                }
            }
        } else {
            ADD_FAILURE() << PQresultErrorMessage(res);
        }
        PQclear(res);
    }
    EXPECT_EQ(rows, 20000u);
    EXPECT_EQ(out_of_order, 0u);
    EXPECT_EQ(c.exec("SELECT 7").scalar(), "7");
}

TEST_F(ProxyTest, ClientVanishingMidTransactionNeverLeaksState) {
    start({.pool_size = 1});
    ASSERT_TRUE(connect().exec("CREATE TABLE IF NOT EXISTS vanish(v int); TRUNCATE vanish").ok);
    {
        auto c = connect();
        ASSERT_TRUE(c.exec("BEGIN").ok);
        ASSERT_TRUE(c.exec("INSERT INTO vanish VALUES (1)").ok);
        ::shutdown(PQsocket(c.raw()), SHUT_RDWR);  // the client dies without a word
    }
    std::this_thread::sleep_for(300ms);
    auto next = connect();
    auto r = next.exec("SELECT count(*) FROM vanish");
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.scalar(), "0");
    // Not inside someone else's transaction: BEGIN must not warn, txid must be fresh.
    EXPECT_EQ(next.exec("SELECT now() = statement_timestamp()").scalar(), "t");
    auto stuck = PostgresEnvironment::pg().run_sql(
        "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'",
        "postgres");
    ASSERT_TRUE(stuck.ok());
    EXPECT_EQ(*stuck, "0");
    ASSERT_TRUE(next.exec("DROP TABLE vanish").ok);
}

TEST_F(ProxyTest, CancelRequestReachesTheRightBackend) {
    start({.pool_size = 2});
    auto c = connect();
    auto other = connect();
    std::thread canceller([&] {
        std::this_thread::sleep_for(500ms);
        PGcancel* cancel = PQgetCancel(c.raw());
        char err[256];
        PQcancel(cancel, err, sizeof err);
        PQfreeCancel(cancel);
    });
    const auto t0 = std::chrono::steady_clock::now();
    auto r = c.exec("SELECT pg_sleep(20)");
    canceller.join();
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.sqlstate, "57014") << r.error;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 10s);
    EXPECT_EQ(c.exec("SELECT 1").scalar(), "1");
    EXPECT_EQ(other.exec("SELECT 2").scalar(), "2");
    // A forged key cancels nothing and does not disturb anyone.
    RawClient raw(proxy_->port());
    raw.send(be32(16) + be32(80877102) + be32(1) + be32(12345));
    raw.read_all();
    EXPECT_EQ(other.exec("SELECT 3").scalar(), "3");
}

TEST_F(ProxyTest, SessionParametersFollowTheClient) {
    start({.pool_size = 1});
    auto a = connect(" application_name=client_a");
    auto b = connect(" application_name=client_b");
    const std::string default_tz = b.exec("SHOW TimeZone").scalar();
    ASSERT_TRUE(a.exec("SET TimeZone = 'Asia/Tokyo'").ok);
    ASSERT_TRUE(a.exec("SET search_path TO pg_catalog, public").ok);
    ASSERT_TRUE(a.exec("SET DateStyle = 'German'").ok);
    // One server connection serves both clients in turn; each sees only its own settings.
    EXPECT_EQ(b.exec("SHOW TimeZone").scalar(), default_tz);
    EXPECT_EQ(b.exec("SHOW search_path").scalar(), "\"$user\", public");
    EXPECT_EQ(b.exec("SELECT current_setting('application_name')").scalar(), "client_b");
    EXPECT_EQ(a.exec("SHOW TimeZone").scalar(), "Asia/Tokyo");
    EXPECT_EQ(a.exec("SHOW search_path").scalar(), "pg_catalog, public");
    EXPECT_EQ(a.exec("SELECT current_setting('application_name')").scalar(), "client_a");
    EXPECT_NE(a.exec("SHOW DateStyle").scalar().find("German"), std::string::npos);
    EXPECT_EQ(b.exec("SHOW DateStyle").scalar().find("German"), std::string::npos);
    // pg_stat_activity attributes the server connection to whoever is using it.
    EXPECT_EQ(b.exec("SELECT application_name FROM pg_stat_activity WHERE pid = "
                     "pg_backend_pid()")
                  .scalar(),
              "client_b");
}

TEST_F(ProxyTest, ClientsWithAlikeParametersStillGetTheirOwnAfterASet) {
    // c and d start alike, so they share one parameter set and the server connection skips
    // the comparison between them; a SET by one must end that sharing for the other.
    start({.pool_size = 1});
    auto c = connect(" application_name=alike");
    auto d = connect(" application_name=alike");
    const std::string default_tz = d.exec("SHOW TimeZone").scalar();
    EXPECT_EQ(c.exec("SHOW TimeZone").scalar(), default_tz);
    ASSERT_TRUE(c.exec("SET TimeZone = 'Asia/Tokyo'").ok);
    EXPECT_EQ(d.exec("SHOW TimeZone").scalar(), default_tz);
    ASSERT_TRUE(c.exec("SET search_path TO pg_catalog").ok);
    EXPECT_EQ(d.exec("SHOW search_path").scalar(), "\"$user\", public");
    EXPECT_EQ(c.exec("SHOW TimeZone").scalar(), "Asia/Tokyo");
    EXPECT_EQ(c.exec("SHOW search_path").scalar(), "pg_catalog");
    // Back to alike: d follows c to Tokyo by its own SET, and both keep it.
    ASSERT_TRUE(d.exec("SET TimeZone = 'Asia/Tokyo'").ok);
    EXPECT_EQ(c.exec("SHOW TimeZone").scalar(), "Asia/Tokyo");
    EXPECT_EQ(d.exec("SHOW TimeZone").scalar(), "Asia/Tokyo");
    EXPECT_EQ(d.exec("SHOW search_path").scalar(), "\"$user\", public");
    // A transaction-local change is undone at COMMIT and must not stick to the connection.
    ASSERT_TRUE(c.exec("BEGIN").ok);
    ASSERT_TRUE(c.exec("SET LOCAL TimeZone = 'UTC'").ok);
    ASSERT_TRUE(c.exec("COMMIT").ok);
    EXPECT_EQ(d.exec("SHOW TimeZone").scalar(), "Asia/Tokyo");
    EXPECT_EQ(c.exec("SHOW TimeZone").scalar(), "Asia/Tokyo");
}

TEST_F(ProxyTest, NamedPreparedStatementsAcrossServerConnections) {
    start({.pool_size = 2});
    std::vector<PgConn> clients;
    for (int i = 0; i < 6; ++i) {
        clients.push_back(connect());
        PGresult* res =
            PQprepare(clients.back().raw(), "stmt_add", "SELECT $1::int + 1", 1, nullptr);
        ASSERT_EQ(PQresultStatus(res), PGRES_COMMAND_OK) << PQerrorMessage(clients.back().raw());
        PQclear(res);
    }
    // Transactions of 6 clients over 2 server connections: each statement must be found
    // (or lazily re-prepared) wherever the client lands.
    for (int round = 0; round < 20; ++round) {
        for (size_t i = 0; i < clients.size(); ++i) {
            const std::string v = std::to_string(round * 10 + static_cast<int>(i));
            const char* params[] = {v.c_str()};
            PGresult* res =
                PQexecPrepared(clients[i].raw(), "stmt_add", 1, params, nullptr, nullptr, 0);
            ASSERT_EQ(PQresultStatus(res), PGRES_TUPLES_OK) << PQerrorMessage(clients[i].raw());
            EXPECT_EQ(std::stoi(PQgetvalue(res, 0, 0)), round * 10 + static_cast<int>(i) + 1);
            PQclear(res);
        }
    }
    // DEALLOCATE of a protocol-level statement works and the name can be reused.
    ASSERT_TRUE(clients[0].exec("DEALLOCATE stmt_add").ok);
    PGresult* res = PQprepare(clients[0].raw(), "stmt_add", "SELECT $1::int * 2", 1, nullptr);
    ASSERT_EQ(PQresultStatus(res), PGRES_COMMAND_OK) << PQerrorMessage(clients[0].raw());
    PQclear(res);
    const char* params[] = {"21"};
    res = PQexecPrepared(clients[0].raw(), "stmt_add", 1, params, nullptr, nullptr, 0);
    ASSERT_EQ(PQresultStatus(res), PGRES_TUPLES_OK);
    EXPECT_STREQ(PQgetvalue(res, 0, 0), "42");
    PQclear(res);
}

TEST_F(ProxyTest, MaxClientConnRefusesWithSqlstate) {
    start({}, {{"max_client_conn", "2"}});
    auto a = connect();
    auto b = connect();
    auto c = PgConn::connect(dsn());
    ASSERT_FALSE(c.ok());
    EXPECT_NE(c.error().message.find("max_client_conn"), std::string::npos) << c.error().message;
    EXPECT_EQ(a.exec("SELECT 1").scalar(), "1");
}

TEST_F(ProxyTest, StatementModeRefusesTransactionBlocks) {
    start({.pool_mode = "statement"});
    auto c = connect();
    EXPECT_EQ(c.exec("SELECT 1").scalar(), "1");
    auto r = c.exec("BEGIN");
    EXPECT_FALSE(r.ok && c.exec("SELECT 1").ok);
    EXPECT_EQ(connect().exec("SELECT 2").scalar(), "2");
}

TEST_F(ProxyTest, SessionModeKeepsServerAndResetsIt) {
    start({.pool_size = 1, .pool_mode = "session"});
    {
        auto c = connect();
        ASSERT_TRUE(c.exec("SET work_mem = '7MB'").ok);
        ASSERT_TRUE(c.exec("PREPARE p AS SELECT 1").ok);
        EXPECT_EQ(c.exec("SHOW work_mem").scalar(), "7MB");
    }
    auto c = connect();
    // DISCARD ALL ran before the server was handed on.
    EXPECT_NE(c.exec("SHOW work_mem").scalar(), "7MB");
    EXPECT_FALSE(c.exec("EXECUTE p").ok);
}

TEST_F(ProxyTest, ListenNotifyInSessionMode) {
    start({.pool_mode = "session"});
    auto listener = connect();
    ASSERT_TRUE(listener.exec("LISTEN pgw_chan").ok);
    auto sender = connect();
    ASSERT_TRUE(sender.exec("NOTIFY pgw_chan, 'hello'").ok);
    PGnotify* note = nullptr;
    for (int i = 0; i < 50 && !note; ++i) {
        PQconsumeInput(listener.raw());
        note = PQnotifies(listener.raw());
        if (!note) {
            std::this_thread::sleep_for(100ms);
        }
    }
    ASSERT_NE(note, nullptr);
    EXPECT_STREQ(note->relname, "pgw_chan");
    EXPECT_STREQ(note->extra, "hello");
    PQfreemem(note);
}

TEST_F(ProxyTest, ClientIdleAndLoginTimeouts) {
    start({}, {{"client_idle_timeout", "\"1s\""}, {"client_login_timeout", "\"1s\""}});
    RawClient silent(proxy_->port());
    const auto t0 = std::chrono::steady_clock::now();
    auto reply = silent.read_all();  // pgwarden closes it after client_login_timeout
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 8s);
    auto idle = connect();
    std::this_thread::sleep_for(2500ms);
    auto r = idle.exec("SELECT 1");
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(connect().exec("SELECT 1").scalar(), "1");
}

TEST_F(ProxyTest, ReloadAddsDatabaseWithoutDroppingClients) {
    start();
    auto c = connect();
    ASSERT_EQ(c.exec("SELECT 1").scalar(), "1");
    ASSERT_FALSE(PgConn::connect(dsn(kAppUser, kAppPassword, "alias")).ok());
    {
        std::ofstream cfg(proxy_->config_path(), std::ios::app);
        cfg << "\n[databases.alias]\nhost = \"127.0.0.1\"\nport = "
            << PostgresEnvironment::pg().port() << "\ndbname = \"" << kAppDb << "\"\n";
    }
    proxy_->send_signal(SIGHUP);
    std::this_thread::sleep_for(500ms);
    auto alias = PgConn::connect(dsn(kAppUser, kAppPassword, "alias"));
    ASSERT_TRUE(alias.ok()) << alias.error().message << proxy_->log_text();
    EXPECT_EQ(alias->exec("SELECT current_database()").scalar(), kAppDb);
    EXPECT_EQ(c.exec("SELECT 2").scalar(), "2");
    // A broken reload keeps the running config and says why.
    {
        std::ofstream cfg(proxy_->config_path(), std::ios::app);
        cfg << "\n[pgwarden2]\n";
    }
    proxy_->send_signal(SIGHUP);
    std::this_thread::sleep_for(500ms);
    EXPECT_NE(proxy_->log_text().find("keeping the running configuration"), std::string::npos);
    EXPECT_EQ(c.exec("SELECT 3").scalar(), "3");
}

TEST_F(ProxyTest, SigtermDrainsOpenTransactions) {
    start();
    auto c = connect();
    ASSERT_TRUE(c.exec("BEGIN").ok);
    ASSERT_TRUE(c.exec("SELECT 1").ok);
    proxy_->send_signal(SIGTERM);
    std::this_thread::sleep_for(300ms);
    // New clients are turned away; the open transaction may still finish.
    EXPECT_FALSE(PgConn::connect(dsn()).ok());
    auto commit = c.exec("COMMIT");
    EXPECT_TRUE(commit.ok) << commit.error;
    EXPECT_EQ(proxy_->stop(std::chrono::seconds(10)), 0);
}

TEST_F(ProxyTest, UnixSocketAndIpv6Listeners) {
    auto dir = embedded::TempDir::create("/tmp/pgw-sock-");
    ASSERT_TRUE(dir.ok());
    const bool ipv6 = PostgresEnvironment::pg().ipv6();
    start({}, {{"unix_socket_dir", "\"" + dir->path() + "\""},
               {"listen_addr", ipv6 ? "[\"127.0.0.1\", \"::1\"]" : "[\"127.0.0.1\"]"}});
    auto c = PgConn::connect("host=" + dir->path() + " port=" + std::to_string(proxy_->port()) +
                             " dbname=appdb user=app password=app_pw");
    ASSERT_TRUE(c.ok()) << c.error().message;
    EXPECT_EQ(c->exec("SELECT 1").scalar(), "1");
    if (ipv6) {
        auto v6 = PgConn::connect("host=::1 port=" + std::to_string(proxy_->port()) +
                                  " dbname=appdb user=app password=app_pw");
        ASSERT_TRUE(v6.ok()) << v6.error().message;
        EXPECT_EQ(v6->exec("SELECT 2").scalar(), "2");
    }
}

TEST_F(ProxyTest, JsonLogsCarryConnectionFields) {
    start({}, {{"log_format", "\"json\""}});
    {
        auto c = connect(" application_name=json_probe");
        ASSERT_EQ(c.exec("SELECT 1").scalar(), "1");
    }
    std::this_thread::sleep_for(300ms);
    const std::string log = proxy_->log_text();
    bool found = false;
    std::istringstream lines(log);
    for (std::string line; std::getline(lines, line);) {
        if (line.find("json_probe") == std::string::npos) {
            continue;
        }
        // Every line is one JSON object with the connection's fields as keys.
        EXPECT_EQ(line.front(), '{') << line;
        EXPECT_EQ(line.back(), '}') << line;
        for (const char* key :
             {"\"ts\":", "\"level\":", "\"conn\":", "\"client\":", "\"db\":\"appdb\"",
              "\"user\":\"app\"", "\"app\":\"json_probe\"", "\"msg\":"}) {
            EXPECT_NE(line.find(key), std::string::npos) << key << " missing in " << line;
        }
        found = true;
    }
    EXPECT_TRUE(found) << log;
    EXPECT_EQ(log.find(kAppPassword), std::string::npos) << "a password reached the log";
}

TEST_F(ProxyTest, DatabaseConnectionCapIsGlobal) {
    start({.pool_size = 4}, {{"max_db_connections", "1"}, {"query_wait_timeout", "\"1s\""}});
    auto a = connect();
    ASSERT_TRUE(a.exec("BEGIN").ok);
    ASSERT_TRUE(a.exec("SELECT 1").ok);
    auto b = connect();
    auto r = b.exec("SELECT 2");
    EXPECT_EQ(r.sqlstate, "53300") << r.error;
    EXPECT_EQ(server_connections(), 1);
    ASSERT_TRUE(a.exec("COMMIT").ok);
    EXPECT_EQ(b.exec("SELECT 3").scalar(), "3");
}

TEST_F(ProxyTest, IdleServersCloseAndMinPoolIsPrewarmed) {
    start({.pool_size = 4}, {{"server_idle_timeout", "\"1s\""}});
    {
        auto c = connect();
        ASSERT_EQ(c.exec("SELECT 1").scalar(), "1");
    }
    // The janitor closes the idle server connection after server_idle_timeout.
    bool closed = false;
    for (int i = 0; i < 50 && !closed; ++i) {
        std::this_thread::sleep_for(100ms);
        closed = server_connections() == 0;
    }
    EXPECT_TRUE(closed);
    proxy_.reset();
    start({.pool_size = 4}, {{"min_pool_size", "3"}});
    auto c = connect();  // creates the pool; the janitor then opens up to min_pool_size
    bool warm = false;
    for (int i = 0; i < 50 && !warm; ++i) {
        std::this_thread::sleep_for(100ms);
        warm = server_connections() == 3;
    }
    EXPECT_TRUE(warm) << server_connections();
}

TEST_F(ProxyTest, SigintStopsAtOnce) {
    start();
    auto c = connect();
    ASSERT_TRUE(c.exec("BEGIN").ok);
    proxy_->send_signal(SIGINT);
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ(proxy_->stop(std::chrono::seconds(10)), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 5s);
    EXPECT_FALSE(c.exec("SELECT 1").ok);
}

}  // namespace
}  // namespace pgwarden::itest
