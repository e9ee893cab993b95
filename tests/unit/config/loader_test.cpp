#include "config/config.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace pgwarden::config {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string join(const std::vector<std::string>& lines) {
    std::string out;
    for (const auto& line : lines) {
        out += line;
        out += '\n';
    }
    return out;
}

std::string dump(const LoadResult& r) {
    std::string out;
    for (const auto& e : r.errors) {
        out += e.to_string() + "\n";
    }
    return out;
}

// A private directory per test, removed afterwards, for auth_file and load_file cases.
class TempDir {
public:
    TempDir() {
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        std::string name = std::string(info->test_suite_name()) + "_" + info->name();
        for (auto& c : name) {
            if (c == '/') {
                c = '_';
            }
        }
        path_ = fs::temp_directory_path() / ("pgwarden_config_" + name);
        fs::remove_all(path_);
        fs::create_directories(path_);
    }
    ~TempDir() { fs::remove_all(path_); }
    std::string write(const std::string& name, const std::string& text) const {
        const auto p = path_ / name;
        fs::create_directories(p.parent_path());
        std::ofstream(p) << text;
        return p.string();
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

TEST(Loader, EmptyFileNeedsAWayToCheckPasswords) {
    auto r = load_string("", "p.toml");
    ASSERT_EQ(r.errors.size(), 1u) << dump(r);
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(r.config, nullptr);
    EXPECT_EQ(r.errors[0].to_string(),
              "p.toml: pgwarden: auth_type \"scram-sha-256\" needs auth_file or auth_user to "
              "check passwords (set auth_file = \"userlist.txt\", or auth_type = \"trust\" for "
              "local testing)");
}

TEST(Loader, DefaultsMatchTheStruct) {
    auto r = load_string("[pgwarden]\nauth_type = \"trust\"\n", "p.toml");
    ASSERT_TRUE(r.ok()) << dump(r);
    const Settings defaults;
    const auto& s = r.config->settings;
    EXPECT_EQ(r.config->source_path, "p.toml");
    EXPECT_EQ(s.auth_type, AuthType::Trust);
    EXPECT_EQ(s.listen_addr, defaults.listen_addr);
    EXPECT_EQ(s.listen_port, 6432);
    EXPECT_EQ(s.pool_mode, PoolMode::Transaction);
    EXPECT_EQ(s.default_pool_size, 20);
    EXPECT_EQ(s.min_pool_size, 0);
    EXPECT_EQ(s.max_client_conn, 100);
    EXPECT_EQ(s.server_lifetime, 3600s);
    EXPECT_EQ(s.server_idle_timeout, 600s);
    EXPECT_EQ(s.server_check_delay, 100ms);
    EXPECT_EQ(s.query_wait_timeout, 120s);
    EXPECT_EQ(s.client_idle_timeout, 0s);
    EXPECT_EQ(s.server_reset_query, "DISCARD ALL");
    EXPECT_EQ(s.max_packet_size, 2147483647u);
    EXPECT_EQ(s.auth_query, defaults.auth_query);
    EXPECT_EQ(s.stats_listen, "127.0.0.1:9127");
    EXPECT_EQ(s.log_format, "text");
    EXPECT_EQ(s.log_level, "info");
    EXPECT_TRUE(s.auth_file.empty());
    EXPECT_TRUE(r.config->databases.empty());
    EXPECT_TRUE(r.config->users.empty());
}

TEST(Loader, EveryKey) {
    TempDir dir;
    dir.write("auth/users.txt",
              "\"alice\" \"pw\"\n\"bob\" \"md5d41d8cd98f00b204e9800998ecf8427e\"\n");
    const std::string path =
        dir.write("pgwarden.toml", join({
                                       "[pgwarden]",
                                       "listen_addr = [\"127.0.0.1\", \"::1\"]",
                                       "listen_port = 7432",
                                       "unix_socket_dir = \"/run/pgwarden\"",
                                       "auth_type = \"MD5\"",
                                       "auth_file = \"auth/users.txt\"",
                                       "auth_query = \"SELECT 1\"",
                                       "auth_user = \"pgwarden_auth\"",
                                       "pool_mode = \"session\"",
                                       "default_pool_size = 30",
                                       "min_pool_size = 5",
                                       "max_client_conn = 5000",
                                       "max_db_connections = 90",
                                       "max_user_connections = 80",
                                       "max_prepared_statements = 0",
                                       "server_lifetime = \"1h30m\"",
                                       "server_idle_timeout = 300",
                                       "server_check_delay = \"0\"",
                                       "server_connect_timeout = \"5s\"",
                                       "server_login_retry = 2.5",
                                       "query_wait_timeout = \"250ms\"",
                                       "client_idle_timeout = \"2d\"",
                                       "client_login_timeout = \"1m\"",
                                       "shutdown_timeout = \"0\"",
                                       "server_reset_query = \"\"",
                                       "server_reset_query_always = true",
                                       "max_packet_size = 1048576",
                                       "admin_users = \"alice, bob\"",
                                       "stats_users = [\"carol\"]",
                                       "workers = 4",
                                       "log_format = \"json\"",
                                       "log_level = \"debug\"",
                                       "log_connections = false",
                                       "log_disconnections = false",
                                       "stats_listen = \"[::1]:9200\"",
                                       "",
                                       "[databases.app]",
                                       "host = \"db.internal\"",
                                       "port = 5433",
                                       "dbname = \"app_prod\"",
                                       "user = \"app\"",
                                       "password = \"x\"",
                                       "pool_size = 10",
                                       "min_pool_size = 2",
                                       "pool_mode = \"statement\"",
                                       "max_db_connections = 12",
                                       "",
                                       "[databases.\"*\"]",
                                       "host = \"/var/run/postgresql\"",
                                   }));
    auto r = load_file(path);
    ASSERT_TRUE(r.ok()) << dump(r);
    const auto& s = r.config->settings;
    EXPECT_EQ(s.listen_addr, (std::vector<std::string>{"127.0.0.1", "::1"}));
    EXPECT_EQ(s.listen_port, 7432);
    EXPECT_EQ(s.unix_socket_dir, "/run/pgwarden");
    EXPECT_EQ(s.auth_type, AuthType::Md5);
    EXPECT_EQ(s.auth_file, (dir.path() / "auth/users.txt").string());
    EXPECT_TRUE(fs::path(s.auth_file).is_absolute());
    EXPECT_EQ(s.auth_query, "SELECT 1");
    EXPECT_EQ(s.auth_user, "pgwarden_auth");
    EXPECT_EQ(s.pool_mode, PoolMode::Session);
    EXPECT_EQ(s.default_pool_size, 30);
    EXPECT_EQ(s.min_pool_size, 5);
    EXPECT_EQ(s.max_client_conn, 5000);
    EXPECT_EQ(s.max_db_connections, 90);
    EXPECT_EQ(s.max_user_connections, 80);
    EXPECT_EQ(s.max_prepared_statements, 0);
    EXPECT_EQ(s.server_lifetime, 90min);
    EXPECT_EQ(s.server_idle_timeout, 300s);
    EXPECT_EQ(s.server_check_delay, 0ms);
    EXPECT_EQ(s.server_connect_timeout, 5s);
    EXPECT_EQ(s.server_login_retry, 2500ms);
    EXPECT_EQ(s.query_wait_timeout, 250ms);
    EXPECT_EQ(s.client_idle_timeout, 48h);
    EXPECT_EQ(s.client_login_timeout, 60s);
    EXPECT_EQ(s.shutdown_timeout, 0s);
    EXPECT_EQ(s.server_reset_query, "");
    EXPECT_TRUE(s.server_reset_query_always);
    EXPECT_EQ(s.max_packet_size, 1048576u);
    EXPECT_EQ(s.admin_users, (std::vector<std::string>{"alice", "bob"}));
    EXPECT_EQ(s.stats_users, (std::vector<std::string>{"carol"}));
    EXPECT_EQ(s.workers, 4);
    EXPECT_EQ(s.log_format, "json");
    EXPECT_EQ(s.log_level, "debug");
    EXPECT_FALSE(s.log_connections);
    EXPECT_FALSE(s.log_disconnections);
    EXPECT_EQ(s.stats_listen, "[::1]:9200");

    ASSERT_EQ(r.config->databases.size(), 2u);
    const auto& app = r.config->databases.at("app");
    EXPECT_EQ(app.name, "app");
    EXPECT_EQ(app.host, "db.internal");
    EXPECT_EQ(app.port, 5433);
    EXPECT_EQ(app.dbname, "app_prod");
    EXPECT_EQ(app.user, "app");
    EXPECT_EQ(app.password, "x");
    EXPECT_EQ(app.pool_size, 10);
    EXPECT_EQ(app.min_pool_size, 2);
    EXPECT_EQ(app.pool_mode, PoolMode::Statement);
    EXPECT_EQ(app.max_db_connections, 12);
    EXPECT_EQ(app.config_line, 37);
    const auto& any = r.config->databases.at("*");
    EXPECT_EQ(any.host, "/var/run/postgresql");
    EXPECT_EQ(any.port, 5432);
    EXPECT_FALSE(any.pool_size.has_value());
    EXPECT_FALSE(any.pool_mode.has_value());
    EXPECT_EQ(any.config_line, 48);

    ASSERT_EQ(r.config->users.size(), 2u);
    EXPECT_EQ(r.config->users.at("alice").secret, "pw");
}

TEST(Loader, ListenAddrAsCommaString) {
    auto r = load_string("[pgwarden]\nauth_type = \"trust\"\nlisten_addr = \"127.0.0.1, ::1,*\"\n",
                         "p.toml");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->settings.listen_addr, (std::vector<std::string>{"127.0.0.1", "::1", "*"}));
}

TEST(Loader, AuthUserAloneIsEnough) {
    auto r = load_string("[pgwarden]\nauth_user = \"pgwarden\"\n", "p.toml");
    EXPECT_TRUE(r.ok()) << dump(r);
}

// One broken line in an otherwise valid file: exactly one diagnostic, exactly here.
struct BadCase {
    const char* name;
    std::vector<std::string> lines;
    int line;
    int column;
    const char* key;
    const char* message;  // exact
    const char* hint;     // substring; "" = must be empty
};

class LoaderBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(LoaderBad, OneDiagnostic) {
    const auto& c = GetParam();
    auto r = load_string(join(c.lines), "/etc/pgwarden/pgwarden.toml");
    ASSERT_EQ(r.errors.size(), 1u) << dump(r);
    EXPECT_EQ(r.config, nullptr);
    const auto& e = r.errors[0];
    EXPECT_EQ(e.file, "/etc/pgwarden/pgwarden.toml");
    EXPECT_EQ(e.line, c.line) << e.to_string();
    EXPECT_EQ(e.column, c.column) << e.to_string();
    EXPECT_EQ(e.key, c.key) << e.to_string();
    EXPECT_EQ(e.message, c.message) << e.to_string();
    if (std::string(c.hint).empty()) {
        EXPECT_EQ(e.hint, "");
    } else {
        EXPECT_NE(e.hint.find(c.hint), std::string::npos) << e.to_string();
    }
}

const std::string kHead = "[pgwarden]";
const std::string kTrust = "auth_type = \"trust\"";

INSTANTIATE_TEST_SUITE_P(
    Settings, LoaderBad,
    ::testing::Values(
        BadCase{"TypoKey",
                {kHead, kTrust, "defualt_pool_size = 5"},
                3,
                1,
                "pgwarden.defualt_pool_size",
                "unknown key",
                "did you mean `default_pool_size`?"},
        BadCase{"TypoKeyMissingLetter",
                {kHead, kTrust, "max_client_con = 5"},
                3,
                1,
                "pgwarden.max_client_con",
                "unknown key",
                "did you mean `max_client_conn`?"},
        BadCase{"AliasPort",
                {kHead, kTrust, "port = 6432"},
                3,
                1,
                "pgwarden.port",
                "unknown key",
                "did you mean `listen_port`?"},
        BadCase{"AliasPoolSize",
                {kHead, kTrust, "pool_size = 5"},
                3,
                1,
                "pgwarden.pool_size",
                "unknown key",
                "did you mean `default_pool_size`?"},
        BadCase{"DatabaseKeyInSettings",
                {kHead, kTrust, "dbname = \"x\""},
                3,
                1,
                "pgwarden.dbname",
                "unknown key",
                "`dbname` belongs in a [databases.NAME] table"},
        BadCase{"NothingClose",
                {kHead, kTrust, "zzzzzz = 1"},
                3,
                1,
                "pgwarden.zzzzzz",
                "unknown key",
                "pgwarden.example.toml"},
        BadCase{"PortZero",
                {kHead, kTrust, "listen_port = 0"},
                3,
                15,
                "pgwarden.listen_port",
                "must be between 1 and 65535, got 0",
                ""},
        BadCase{"PortTooBig",
                {kHead, kTrust, "listen_port = 65536"},
                3,
                15,
                "pgwarden.listen_port",
                "must be between 1 and 65535, got 65536",
                ""},
        BadCase{"PortQuoted",
                {kHead, kTrust, "listen_port = \"6432\""},
                3,
                15,
                "pgwarden.listen_port",
                "expected an integer, got a string",
                "write the number without quotes: listen_port = 6432"},
        BadCase{"PoolSizeZero",
                {kHead, kTrust, "default_pool_size = 0"},
                3,
                21,
                "pgwarden.default_pool_size",
                "must be at least 1, got 0",
                ""},
        BadCase{"PoolSizeFloat",
                {kHead, kTrust, "default_pool_size = 20.0"},
                3,
                21,
                "pgwarden.default_pool_size",
                "expected an integer, got a floating-point number",
                "write it without a fraction: default_pool_size = 20"},
        BadCase{"PoolSizeHuge",
                {kHead, kTrust, "default_pool_size = 3000000000"},
                3,
                21,
                "pgwarden.default_pool_size",
                "must be at most 2147483647, got 3000000000",
                ""},
        BadCase{"MinPoolNegative",
                {kHead, kTrust, "min_pool_size = -1"},
                3,
                17,
                "pgwarden.min_pool_size",
                "must be at least 0, got -1",
                ""},
        BadCase{"MaxClientConnZero",
                {kHead, kTrust, "max_client_conn = 0"},
                3,
                19,
                "pgwarden.max_client_conn",
                "must be at least 1, got 0",
                ""},
        BadCase{"MaxPacketTiny",
                {kHead, kTrust, "max_packet_size = 10"},
                3,
                19,
                "pgwarden.max_packet_size",
                "must be at least 1024, got 10",
                ""},
        BadCase{"WorkersTooMany",
                {kHead, kTrust, "workers = 2000"},
                3,
                11,
                "pgwarden.workers",
                "must be between 0 and 1024, got 2000",
                ""},
        BadCase{"MinPoolAboveDefault",
                {kHead, kTrust, "min_pool_size = 30"},
                3,
                17,
                "pgwarden.min_pool_size",
                "min_pool_size (30) is larger than default_pool_size (20)",
                "lower min_pool_size"},
        BadCase{"PoolModeTypo",
                {kHead, kTrust, "pool_mode = \"sesion\""},
                3,
                13,
                "pgwarden.pool_mode",
                "unknown pool_mode \"sesion\"",
                "did you mean \"session\"? allowed: session, transaction, statement"},
        BadCase{"PoolModeWrongType",
                {kHead, kTrust, "pool_mode = 1"},
                3,
                13,
                "pgwarden.pool_mode",
                "expected a string, got an integer",
                "allowed: session, transaction, statement"},
        BadCase{"AuthTypeUnknownIsNotEchoed",
                {kHead, "auth_type = \"hba\""},
                2,
                13,
                "pgwarden.auth_type",
                "unknown auth_type \"hba\"",
                "allowed: trust, plain, md5, scram-sha-256"},
        BadCase{"AuthNeedsSource",
                {kHead, "auth_type = \"md5\""},
                2,
                13,
                "pgwarden.auth_type",
                "auth_type \"md5\" needs auth_file or auth_user to check passwords",
                "auth_type = \"trust\""},
        BadCase{"AuthNeedsSourceDefault",
                {"", kHead, "listen_port = 1"},
                2,
                1,
                "pgwarden",
                "auth_type \"scram-sha-256\" needs auth_file or auth_user to check passwords",
                "set auth_file"},
        BadCase{"LogLevelUnknown",
                {kHead, kTrust, "log_level = \"verbose\""},
                3,
                13,
                "pgwarden.log_level",
                "unknown log_level \"verbose\"",
                "allowed: trace, debug, info, warn, error, critical, off"},
        BadCase{"LogFormatTypo",
                {kHead, kTrust, "log_format = \"jsno\""},
                3,
                14,
                "pgwarden.log_format",
                "unknown log_format \"jsno\"",
                "did you mean \"json\"?"},
        BadCase{"DurationUnparseable",
                {kHead, kTrust, "server_lifetime = \"5 minutes\""},
                3,
                19,
                "pgwarden.server_lifetime",
                "cannot read \"5 minutes\" as a duration",
                "250ms, 30s, 5m, 1h, 2d"},
        BadCase{"DurationNegativeNumber",
                {kHead, kTrust, "query_wait_timeout = -1"},
                3,
                22,
                "pgwarden.query_wait_timeout",
                "must not be negative, got -1",
                "use 0 to disable"},
        BadCase{"DurationNegativeString",
                {kHead, kTrust, "client_idle_timeout = \"-5s\""},
                3,
                23,
                "pgwarden.client_idle_timeout",
                "must not be negative, got \"-5s\"",
                "use 0 to disable"},
        BadCase{"DurationNegativeFloat",
                {kHead, kTrust, "shutdown_timeout = -0.5"},
                3,
                20,
                "pgwarden.shutdown_timeout",
                "must not be negative, got -0.5",
                "use 0 to disable"},
        BadCase{"DurationSubMillisecond",
                {kHead, kTrust, "server_login_retry = 0.0001"},
                3,
                22,
                "pgwarden.server_login_retry",
                "duration 0.0001s is finer than a millisecond",
                "250ms"},
        BadCase{"DurationWrongType",
                {kHead, kTrust, "server_lifetime = true"},
                3,
                19,
                "pgwarden.server_lifetime",
                "expected a duration, got a boolean",
                "30s"},
        BadCase{"BoolQuoted",
                {kHead, kTrust, "server_reset_query_always = \"yes\""},
                3,
                29,
                "pgwarden.server_reset_query_always",
                "expected true or false, got a string",
                "write server_reset_query_always = true, without quotes"},
        BadCase{"BoolAsInteger",
                {kHead, kTrust, "log_connections = 0"},
                3,
                19,
                "pgwarden.log_connections",
                "expected true or false, got an integer",
                "write log_connections = false"},
        BadCase{"StringWrongType",
                {kHead, kTrust, "server_reset_query = 1"},
                3,
                22,
                "pgwarden.server_reset_query",
                "expected a string, got an integer",
                "double quotes"},
        BadCase{"ListWrongType",
                {kHead, kTrust, "admin_users = 5"},
                3,
                15,
                "pgwarden.admin_users",
                "expected a string or an array of strings, got an integer",
                "admin_users = \"a, b\""},
        BadCase{"ListWrongElement",
                {kHead, kTrust, "stats_users = [\"a\", 1]"},
                3,
                21,
                "pgwarden.stats_users",
                "expected a string in the list, got an integer",
                ""
                "quote every entry"},
        BadCase{"ListEmptyEntry",
                {kHead, kTrust, "admin_users = \"a,,b\""},
                3,
                15,
                "pgwarden.admin_users",
                "empty entry in list \"a,,b\"",
                "single commas"},
        BadCase{"ListenAddrEmpty",
                {kHead, kTrust, "listen_addr = []"},
                3,
                15,
                "pgwarden.listen_addr",
                "must name at least one address",
                "\"*\""},
        BadCase{"ListenAddrJunk",
                {kHead, kTrust, "listen_addr = \"127.0.0.1, no way\""},
                3,
                15,
                "pgwarden.listen_addr",
                "\"no way\" is not an IP address or host name",
                "examples"},
        BadCase{"StatsListenNoPort",
                {kHead, kTrust, "stats_listen = \"9127\""},
                3,
                16,
                "pgwarden.stats_listen",
                "\"9127\" is not host:port",
                "127.0.0.1:9127"},
        BadCase{"StatsListenBareIpv6",
                {kHead, kTrust, "stats_listen = \"::1:9127\""},
                3,
                16,
                "pgwarden.stats_listen",
                "\"::1:9127\": an IPv6 address needs brackets",
                "[::1]:9127"},
        BadCase{"StatsListenBadPort",
                {kHead, kTrust, "stats_listen = \"0.0.0.0:99999\""},
                3,
                16,
                "pgwarden.stats_listen",
                "\"0.0.0.0:99999\": port must be 1..65535",
                ""
                "host:port"},
        BadCase{"SettingsNotATable",
                {"pgwarden = 1"},
                1,
                12,
                "pgwarden",
                "expected a table, got an integer",
                "[pgwarden] line"}),
    [](const auto& info) { return std::string(info.param.name); });

const std::string kDb = "[databases.app]";
const std::string kHost = "host = \"127.0.0.1\"";

INSTANTIATE_TEST_SUITE_P(
    Databases, LoaderBad,
    ::testing::Values(
        BadCase{"MissingHost",
                {kHead, kTrust, "", kDb, "port = 5432"},
                4,
                1,
                "databases.app",
                "missing required key `host`",
                "add host"},
        BadCase{"EmptyHost",
                {kHead, kTrust, kDb, "host = \"\""},
                4,
                8,
                "databases.app.host",
                "must not be empty",
                "PostgreSQL server's address"},
        BadCase{"PortZero",
                {kHead, kTrust, kDb, kHost, "port = 0"},
                5,
                8,
                "databases.app.port",
                "must be between 1 and 65535, got 0",
                ""},
        BadCase{"PoolSizeZero",
                {kHead, kTrust, kDb, kHost, "pool_size = 0"},
                5,
                13,
                "databases.app.pool_size",
                "must be at least 1, got 0",
                ""},
        BadCase{"MaxDbConnectionsNegative",
                {kHead, kTrust, kDb, kHost, "max_db_connections = -2"},
                5,
                22,
                "databases.app.max_db_connections",
                "must be at least 0, got -2",
                ""},
        BadCase{"MinAbovePool",
                {kHead, kTrust, kDb, kHost, "pool_size = 2", "min_pool_size = 5"},
                6,
                17,
                "databases.app.min_pool_size",
                "min_pool_size (5) is larger than pool_size (2)",
                "must not exceed"},
        BadCase{"MinAboveInheritedPool",
                {kHead, kTrust, kDb, kHost, "min_pool_size = 25"},
                5,
                17,
                "databases.app.min_pool_size",
                "min_pool_size (25) is larger than pool_size (20, from default_pool_size)",
                "must not exceed"},
        BadCase{"InheritedMinAbovePool",
                {kHead, kTrust, "min_pool_size = 5", kDb, kHost, "pool_size = 3"},
                6,
                13,
                "databases.app.pool_size",
                "min_pool_size (5, from [pgwarden]) is larger than pool_size (3)",
                "must not exceed"},
        BadCase{"PoolModeUnknown",
                {kHead, kTrust, kDb, kHost, "pool_mode = \"batch\""},
                5,
                13,
                "databases.app.pool_mode",
                "unknown pool_mode \"batch\"",
                "allowed: session, transaction, statement"},
        BadCase{"AliasHostname",
                {kHead, kTrust, kDb, kHost, "hostname = \"x\""},
                5,
                1,
                "databases.app.hostname",
                "unknown key",
                "did you mean `host`?"},
        BadCase{"AliasDatabase",
                {kHead, kTrust, kDb, kHost, "database = \"x\""},
                5,
                1,
                "databases.app.database",
                "unknown key",
                "did you mean `dbname`?"},
        BadCase{"TypoUser",
                {kHead, kTrust, kDb, kHost, "usr = \"x\""},
                5,
                1,
                "databases.app.usr",
                "unknown key",
                "did you mean `user`?"},
        BadCase{"SettingInDatabase",
                {kHead, kTrust, kDb, kHost, "listen_port = 1"},
                5,
                1,
                "databases.app.listen_port",
                "unknown key",
                "`listen_port` belongs in a [pgwarden] table"},
        BadCase{"NothingClose",
                {kHead, kTrust, kDb, kHost, "sslmode = \"x\""},
                5,
                1,
                "databases.app.sslmode",
                "unknown key",
                "known keys: host, port, dbname"},
        BadCase{"QuotedNameInKey",
                {kHead, kTrust, "[databases.\"my.db\"]", kHost, "prot = 1"},
                5,
                1,
                "databases.\"my.db\".prot",
                "unknown key",
                "did you mean `port`?"},
        BadCase{"EntryNotATable",
                {kHead, kTrust, "[databases]", "app = \"host=x\""},
                4,
                7,
                "databases.app",
                "expected a table, got a string",
                "[databases.app]"},
        BadCase{"EmptyName",
                {kHead, kTrust, "[databases.\"\"]", kHost},
                3,
                1,
                "databases.\"\"",
                "a database needs a name",
                "[databases.\"*\"]"}),
    [](const auto& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    TopLevel, LoaderBad,
    ::testing::Values(
        BadCase{"TableTypo",
                {kHead, kTrust, "[database.app]", kHost},
                3,
                2,
                "database",
                "unknown table",
                "did you mean `databases`?"},
        BadCase{"PgBouncerTable",
                {kHead, kTrust, "[pgbouncer]", "listen_port = 1"},
                3,
                2,
                "pgbouncer",
                "unknown table",
                "[pgwarden] table"},
        BadCase{"NotYetKnownTable",
                {kHead, kTrust, "[widgets.cleanup]", "x = 1"},
                3,
                2,
                "widgets",
                "unknown table",
                "the known tables are [pgwarden], [databases.NAME]"},
        BadCase{"SettingAboveTable",
                {"listen_port = 6432", kHead, kTrust},
                1,
                1,
                "listen_port",
                "unknown top-level key",
                "put it below a [pgwarden] line"},
        BadCase{"DatabaseKeyAtTop",
                {"host = \"x\"", kHead, kTrust},
                1,
                1,
                "host",
                "unknown top-level key",
                "`host` belongs in a [databases.NAME] table"},
        BadCase{"DatabasesScalar",
                {"databases = 1", kHead, kTrust},
                1,
                13,
                "databases",
                "expected a table, got an integer",
                "[databases.NAME]"},
        BadCase{"SyntaxUnclosedHeader",
                {kHead, kTrust, "[databases.app", kHost},
                3,
                15,
                "",
                "TOML syntax error: Error while parsing table header: expected ']', saw '\\n'",
                ""},
        BadCase{"SyntaxDuplicateKey",
                {kHead, kTrust, "listen_port = 1", "listen_port = 2"},
                4,
                15,
                "",
                "TOML syntax error: Error while parsing key-value pair: cannot redefine "
                "existing integer 'listen_port'",
                ""},
        BadCase{"SyntaxMissingValue",
                {kHead, kTrust, "listen_port ="},
                3,
                14,
                "",
                "TOML syntax error: Error while parsing key-value pair: expected value, saw '\\n'",
                ""}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Loader, CollectsEveryErrorInFileOrder) {
    auto r = load_string(join({
                             "[pgwarden]",                   // 1
                             "auth_type = \"trust\"",        // 2
                             "listen_port = 0",              // 3
                             "pool_mode = \"sesion\"",       // 4
                             "defualt_pool_size = 5",        // 5
                             "server_lifetime = \"5 min\"",  // 6
                             "max_client_conn = 0",          // 7
                             "",                             // 8
                             "[databases.b]",                // 9
                             "port = 70000",                 // 10
                             "[databases.a]",                // 11
                             "host = \"x\"",                 // 12
                             "pool_size = 0",                // 13
                             "[clases.api]",                 // 14
                         }),
                         "p.toml");
    ASSERT_EQ(r.errors.size(), 9u) << dump(r);
    std::vector<std::string> got;
    for (const auto& e : r.errors) {
        got.push_back(std::to_string(e.line) + " " + e.key);
    }
    EXPECT_EQ(got,
              (std::vector<std::string>{
                  "3 pgwarden.listen_port", "4 pgwarden.pool_mode", "5 pgwarden.defualt_pool_size",
                  "6 pgwarden.server_lifetime", "7 pgwarden.max_client_conn", "9 databases.b",
                  "10 databases.b.port", "13 databases.a.pool_size", "14 clases"}));
}

TEST(Loader, AuthFileRelativeToConfigDirectory) {
    TempDir dir;
    dir.write("conf/users.txt", "\"alice\" \"pw\"\n");
    const auto path = dir.write("conf/pgwarden.toml", "[pgwarden]\nauth_file = \"users.txt\"\n");
    auto r = load_file(path);
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->settings.auth_file, (dir.path() / "conf/users.txt").string());
    EXPECT_EQ(r.config->users.size(), 1u);
}

TEST(Loader, AuthFileAbsolute) {
    TempDir dir;
    const auto users = dir.write("elsewhere/u.txt", "\"a\" \"1\"\n");
    auto r = load_string("[pgwarden]\nauth_file = \"" + users + "\"\n", "/nonexistent/p.toml");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->settings.auth_file, users);
}

TEST(Loader, AuthFileMissing) {
    TempDir dir;
    const auto path = dir.write("p.toml", "[pgwarden]\n\nauth_file = \"missing.txt\"\n");
    auto r = load_file(path);
    ASSERT_EQ(r.errors.size(), 1u) << dump(r);
    const auto& e = r.errors[0];
    EXPECT_EQ(e.file, path);
    EXPECT_EQ(e.line, 3);
    EXPECT_EQ(e.column, 13);
    EXPECT_EQ(e.key, "pgwarden.auth_file");
    EXPECT_EQ(e.message, "cannot read \"" + (dir.path() / "missing.txt").string() +
                             "\": No such file or directory");
    EXPECT_NE(e.hint.find("config file's directory"), std::string::npos);
}

TEST(Loader, AuthFileIsADirectory) {
    TempDir dir;
    fs::create_directories(dir.path() / "users.d");
    const auto path = dir.write("p.toml", "[pgwarden]\nauth_file = \"users.d\"\n");
    auto r = load_file(path);
    ASSERT_EQ(r.errors.size(), 1u) << dump(r);
    EXPECT_NE(r.errors[0].message.find("is a directory"), std::string::npos);
}

TEST(Loader, AuthFileErrorsComeAfterConfigErrorsWithTheirOwnFile) {
    TempDir dir;
    const auto users = dir.write("users.txt", "\"a\" \"1\"\n\nbroken\n");
    const auto path =
        dir.write("p.toml", "[pgwarden]\nauth_file = \"users.txt\"\nlisten_port = 0\n");
    auto r = load_file(path);
    ASSERT_EQ(r.errors.size(), 2u) << dump(r);
    EXPECT_EQ(r.errors[0].file, path);
    EXPECT_EQ(r.errors[0].line, 3);
    EXPECT_EQ(r.errors[1].file, users);
    EXPECT_EQ(r.errors[1].line, 3);
    EXPECT_EQ(r.errors[1].to_string(),
              users + ":3:1: expected a quoted user name (each line is \"user\" \"secret\")");
}

TEST(Loader, MissingConfigFile) {
    auto r = load_file("/nonexistent/pgwarden.toml");
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].to_string(),
              "/nonexistent/pgwarden.toml: cannot read config file: No such file or directory");
}

TEST(Loader, InvalidUtf8IsASyntaxErrorNotACrash) {
    auto r = load_string("[pgwarden]\nauth_type = \"tr\xff\"\n", "p.toml");
    ASSERT_EQ(r.errors.size(), 1u) << dump(r);
    EXPECT_EQ(r.errors[0].line, 2);
    EXPECT_NE(r.errors[0].message.find("TOML syntax error"), std::string::npos);
}

}  // namespace
}  // namespace pgwarden::config
