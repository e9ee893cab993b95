#include "config/config.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

namespace pgwarden::config {
namespace {

using namespace std::chrono_literals;

LoadResult load(const std::string& body) {
    return load_string("[pgwarden]\nauth_type = \"trust\"\n" + body, "/etc/pgwarden/test.toml");
}

std::string dump(const LoadResult& r) {
    std::string out;
    for (const auto& e : r.errors) {
        out += e.to_string() + "\n";
    }
    return out;
}

TEST(Classes, DefaultClassAlwaysExistsAndIsLast) {
    auto r = load("");
    ASSERT_TRUE(r.ok()) << dump(r);
    ASSERT_EQ(r.config->classes.size(), 1u);
    EXPECT_EQ(r.config->classes[0].name, "default");
    EXPECT_EQ(&r.config->match_class("x", "u", "d", "1.2.3.4"), &r.config->classes[0]);
}

TEST(Classes, EveryKeyAndFileOrder) {
    auto r = load(R"(
[classes.web]
application_name = ["web-*", "api"]
user = "app"
database = "shop*"
client_addr = ["10.0.0.0/8", "::1"]
reserve = 5
max = "50%"
priority = 10
query_wait_timeout = "2s"
max_client_conn = 100
query_timeout = "30s"
idle_transaction_timeout = "5s"
max_checkout_time = "1m"
leak_action = "terminate"
mask_literals = false

[classes.background]
application_name = "job-*"
max = 4
leak_action = "cancel"

[classes.default]
priority = 1
)");
    ASSERT_TRUE(r.ok()) << dump(r);
    const auto& c = r.config->classes;
    ASSERT_EQ(c.size(), 3u);
    // File order, not toml++'s sorted order ("background" < "web"); default last.
    EXPECT_EQ(c[0].name, "web");
    EXPECT_EQ(c[1].name, "background");
    EXPECT_EQ(c[2].name, "default");
    EXPECT_EQ(c[2].priority, 1);
    const auto& web = c[0];
    EXPECT_EQ(web.application_name, (std::vector<std::string>{"web-*", "api"}));
    EXPECT_EQ(web.user, std::vector<std::string>{"app"});
    EXPECT_EQ(web.database, std::vector<std::string>{"shop*"});
    EXPECT_EQ(web.client_addr.size(), 2u);
    ASSERT_TRUE(web.reserve);
    EXPECT_EQ(web.reserve->value, 5);
    EXPECT_FALSE(web.reserve->percent);
    ASSERT_TRUE(web.max);
    EXPECT_EQ(web.max->value, 50);
    EXPECT_TRUE(web.max->percent);
    EXPECT_EQ(web.priority, 10);
    EXPECT_EQ(web.query_wait_timeout, 2s);
    EXPECT_EQ(web.max_client_conn, 100);
    EXPECT_EQ(web.query_timeout, 30s);
    EXPECT_EQ(web.idle_transaction_timeout, 5s);
    EXPECT_EQ(web.max_checkout_time, 60s);
    EXPECT_EQ(web.leak_action, LeakAction::Terminate);
    EXPECT_FALSE(web.mask_literals);
    EXPECT_EQ(c[1].leak_action, LeakAction::Cancel);
    EXPECT_TRUE(c[1].mask_literals);

    const auto& cfg = *r.config;
    EXPECT_EQ(cfg.match_class("web-7", "app", "shop", "10.1.2.3").name, "web");
    EXPECT_EQ(cfg.match_class("api", "app", "shop_eu", "::1").name, "web");
    // Every criterion must hold: wrong user, database or network falls through.
    EXPECT_EQ(cfg.match_class("web-7", "other", "shop", "10.1.2.3").name, "default");
    EXPECT_EQ(cfg.match_class("web-7", "app", "blog", "10.1.2.3").name, "default");
    EXPECT_EQ(cfg.match_class("web-7", "app", "shop", "192.168.0.1").name, "default");
    EXPECT_EQ(cfg.match_class("job-nightly", "anyone", "any", "").name, "background");
    EXPECT_EQ(cfg.match_class("", "", "", "").name, "default");
}

TEST(Classes, FirstMatchWins) {
    auto r = load(R"(
[classes.b_specific]
application_name = "report-daily"
[classes.a_general]
application_name = "report-*"
)");
    ASSERT_TRUE(r.ok()) << dump(r);
    EXPECT_EQ(r.config->match_class("report-daily", "", "", "").name, "b_specific");
    EXPECT_EQ(r.config->match_class("report-weekly", "", "", "").name, "a_general");
}

TEST(Classes, ErrorsNameFileLineAndKey) {
    struct Case {
        std::string body;
        std::string key;
        int line;
        std::string text;
    };
    const Case cases[] = {
        {"[classes.web]\nreserve = \"lots\"\n", "classes.web.reserve", 4, "not a count"},
        {"[classes.web]\nmax = \"150%\"\n", "classes.web.max", 4, "not a count"},
        {"[classes.web]\nmax = -1\n", "classes.web.max", 4, "out of range"},
        {"[classes.web]\nclient_addr = \"10.0.0.0/33\"\n", "classes.web.client_addr", 4,
         "not an address"},
        {"[classes.web]\nleak_action = \"explode\"\n", "classes.web.leak_action", 4, ""},
        {"[classes.web]\napplication = \"x\"\n", "classes.web.application", 4, "application_name"},
        {"[classes.web]\nidle_transaction_timeout = \"soon\"\n",
         "classes.web.idle_transaction_timeout", 4, ""},
        {"[classes.web]\nreserve = 6\nmax = 5\n", "classes.web.reserve", 4, "larger than max"},
        {"[classes.default]\napplication_name = \"x\"\n", "classes.default", 3, "default class"},
        {"[classes.a]\nreserve = 15\n[classes.b]\nreserve = 10\n", "classes.b.reserve", 6,
         "reserve 25 server connections but default_pool_size has only 20"},
        {"[classes]\nweb = 5\n", "classes.web", 4, "expected a table"},
    };
    for (const auto& c : cases) {
        auto r = load(c.body);
        ASSERT_FALSE(r.ok()) << c.body;
        ASSERT_FALSE(r.errors.empty());
        const auto& e = r.errors.front();
        EXPECT_EQ(e.file, "/etc/pgwarden/test.toml") << c.body;
        EXPECT_EQ(e.key, c.key) << c.body << dump(r);
        EXPECT_EQ(e.line, c.line) << c.body << dump(r);
        EXPECT_NE(e.to_string().find(c.text), std::string::npos) << c.body << dump(r);
    }
}

TEST(Classes, PercentReservesCheckedAgainstEachDatabasePool) {
    auto r = load(R"(
[databases.small]
host = "127.0.0.1"
pool_size = 2
[classes.web]
reserve = 3
)");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(dump(r).find("databases.small.pool_size has only 2"), std::string::npos) << dump(r);
    // Percentages scale with the pool and always fit.
    auto ok = load(R"(
[databases.small]
host = "127.0.0.1"
pool_size = 2
[classes.web]
reserve = "50%"
[classes.api]
reserve = "50%"
)");
    EXPECT_TRUE(ok.ok()) << dump(ok);
}

TEST(PoolShare, Resolve) {
    EXPECT_EQ((PoolShare{5, false}).resolve(20), 5);
    EXPECT_EQ((PoolShare{50, true}).resolve(20), 10);
    EXPECT_EQ((PoolShare{33, true}).resolve(20), 6);  // rounds down
    EXPECT_EQ((PoolShare{1, true}).resolve(20), 1);   // never rounds a share to nothing
    EXPECT_EQ((PoolShare{0, true}).resolve(20), 0);
    EXPECT_EQ((PoolShare{100, true}).resolve(7), 7);
    EXPECT_EQ((PoolShare{25, true}).to_string(), "25%");
    EXPECT_EQ((PoolShare{3, false}).to_string(), "3");
}

TEST(Cidr, ParseAndContains) {
    auto v4 = Cidr::parse("10.0.0.0/8");
    ASSERT_TRUE(v4);
    EXPECT_TRUE(v4->contains("10.255.1.2"));
    EXPECT_TRUE(v4->contains("::ffff:10.1.1.1"));  // a v4 client on a dual-stack socket
    EXPECT_FALSE(v4->contains("11.0.0.1"));
    EXPECT_FALSE(v4->contains("::1"));
    EXPECT_FALSE(v4->contains("not an address"));
    auto host = Cidr::parse("127.0.0.1");
    ASSERT_TRUE(host);
    EXPECT_TRUE(host->contains("127.0.0.1"));
    EXPECT_FALSE(host->contains("127.0.0.2"));
    auto v6 = Cidr::parse("fd00::/8");
    ASSERT_TRUE(v6);
    EXPECT_TRUE(v6->contains("fd12:3456::1"));
    EXPECT_FALSE(v6->contains("fe80::1"));
    EXPECT_TRUE(Cidr::parse("fe80::/10")->contains("fe80::1%eth0"));
    auto all = Cidr::parse("0.0.0.0/0");
    ASSERT_TRUE(all);
    EXPECT_TRUE(all->contains("8.8.8.8"));
    EXPECT_FALSE(all->contains("::1"));  // /0 of the v4 space, not of everything
    auto host_bits = Cidr::parse("192.168.1.77/24");
    ASSERT_TRUE(host_bits);
    EXPECT_TRUE(host_bits->contains("192.168.1.1"));
    for (const char* bad : {"", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/33", "::1/129", "10.0.0.0/8x",
                            "300.1.1.1", "host.example"}) {
        EXPECT_FALSE(Cidr::parse(bad)) << bad;
    }
}

TEST(MaskLiterals, HidesDataKeepsShape) {
    EXPECT_EQ(mask_sql_literals("SELECT * FROM t WHERE email = 'a@b.c' AND id = 42"),
              "SELECT * FROM t WHERE email = ? AND id = ?");
    EXPECT_EQ(mask_sql_literals("SELECT 'it''s', E'a\\'b', 3.14, 1e10"), "SELECT ?, E?, ?, ?");
    EXPECT_EQ(mask_sql_literals("SELECT $1, $2 FROM t2 WHERE c1 = $1"),
              "SELECT $1, $2 FROM t2 WHERE c1 = $1");
    EXPECT_EQ(mask_sql_literals("SELECT \"col 1\" FROM \"T\""), "SELECT \"col 1\" FROM \"T\"");
    EXPECT_EQ(mask_sql_literals("SELECT $$secret$$, $tag$x$y$tag$"), "SELECT ?, ?");
    EXPECT_EQ(mask_sql_literals("SELECT 1 -- card 4111\nFROM t"), "SELECT ? \nFROM t");
    EXPECT_EQ(mask_sql_literals("SELECT 'unterminated"), "SELECT ?");
    EXPECT_EQ(mask_sql_literals(""), "");
}

}  // namespace
}  // namespace pgwarden::config

namespace pgwarden::config {
namespace {

TEST(Classes, JobConnectionsUseTheJobsClass) {
    auto r = load_string(R"([pgwarden]
auth_type = "trust"
[databases.app]
host = "127.0.0.1"
user = "app"
[classes.api]
application_name = "*"
[classes.background]
max = 2
[classes.reports]
max = 1
[jobs.cleanup]
every = "1m"
database = "app"
sql = "SELECT 1"
[jobs.rollup]
every = "1h"
database = "app"
sql = "SELECT 1"
class = "reports"
)",
                         "/etc/pgwarden/jobs.toml");
    ASSERT_TRUE(r.ok()) << dump(r);
    // "api" matches every application_name, but a job's own connections are the job's.
    EXPECT_EQ(r.config->match_class("cleanup", "app", "app", "127.0.0.1").name, "background");
    EXPECT_EQ(r.config->match_class("rollup", "app", "app", "127.0.0.1").name, "reports");
    EXPECT_EQ(r.config->match_class("web", "app", "app", "127.0.0.1").name, "api");
}

TEST(Classes, JobWithUnknownClassIsAnError) {
    auto r = load_string(R"([pgwarden]
auth_type = "trust"
[databases.app]
host = "127.0.0.1"
user = "app"
[jobs.rollup]
every = "1h"
database = "app"
sql = "SELECT 1"
class = "reprots"
)",
                         "/etc/pgwarden/jobs.toml");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.errors.front().key, "jobs.rollup.class") << dump(r);
    EXPECT_EQ(r.errors.front().line, 10) << dump(r);
    EXPECT_NE(dump(r).find("unknown class \"reprots\""), std::string::npos) << dump(r);
}

}  // namespace
}  // namespace pgwarden::config
