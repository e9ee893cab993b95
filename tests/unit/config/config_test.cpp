#include "config/config.hpp"

#include <gtest/gtest.h>

#include <string>

namespace pgwarden::config {
namespace {

Config with_databases(std::initializer_list<const char*> names) {
    Config c;
    for (const char* name : names) {
        DatabaseConfig db;
        db.name = name;
        c.databases.emplace(name, db);
    }
    return c;
}

struct FindCase {
    const char* name;
    Config config;
    const char* query;
    const char* expected;  // nullptr = not found
};

class FindDatabase : public ::testing::TestWithParam<FindCase> {};

TEST_P(FindDatabase, ExactThenFallback) {
    const auto* db = GetParam().config.find_database(GetParam().query);
    if (GetParam().expected == nullptr) {
        EXPECT_EQ(db, nullptr);
    } else {
        ASSERT_NE(db, nullptr);
        EXPECT_EQ(db->name, GetParam().expected);
    }
}

INSTANTIATE_TEST_SUITE_P(
    Names, FindDatabase,
    ::testing::Values(FindCase{"Exact", with_databases({"app", "*"}), "app", "app"},
                      FindCase{"Fallback", with_databases({"app", "*"}), "other", "*"},
                      FindCase{"NoFallback", with_databases({"app"}), "other", nullptr},
                      FindCase{"CaseSensitive", with_databases({"app"}), "APP", nullptr},
                      FindCase{"Empty", with_databases({}), "app", nullptr},
                      FindCase{"StarItself", with_databases({"*"}), "*", "*"},
                      FindCase{"EmptyName", with_databases({"*"}), "", "*"}),
    [](const auto& info) { return std::string(info.param.name); });

struct DiagnosticCase {
    const char* name;
    Diagnostic diagnostic;
    const char* text;
};

class DiagnosticFormat : public ::testing::TestWithParam<DiagnosticCase> {};

TEST_P(DiagnosticFormat, OmitsEmptyParts) {
    EXPECT_EQ(GetParam().diagnostic.to_string(), GetParam().text);
}

INSTANTIATE_TEST_SUITE_P(
    Parts, DiagnosticFormat,
    ::testing::Values(
        DiagnosticCase{"All",
                       {"p.toml", 3, 7, "pgwarden.x", "bad", "fix it"},
                       "p.toml:3:7: pgwarden.x: bad (fix it)"},
        DiagnosticCase{
            "NoHint", {"p.toml", 3, 7, "pgwarden.x", "bad", ""}, "p.toml:3:7: pgwarden.x: bad"},
        DiagnosticCase{"NoColumn", {"p.toml", 3, 0, "k", "bad", ""}, "p.toml:3: k: bad"},
        DiagnosticCase{"NoLine", {"p.toml", 0, 0, "k", "bad", "h"}, "p.toml: k: bad (h)"},
        DiagnosticCase{"NoKey", {"u.txt", 2, 1, "", "bad", ""}, "u.txt:2:1: bad"},
        DiagnosticCase{"NoFile", {"", 0, 0, "k", "bad", ""}, "k: bad"},
        DiagnosticCase{"OnlyMessage", {"", 0, 0, "", "bad", ""}, "bad"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Enums, RoundTrip) {
    for (auto mode : {PoolMode::Session, PoolMode::Transaction, PoolMode::Statement}) {
        EXPECT_EQ(parse_pool_mode(to_string(mode)), mode);
    }
    for (auto type : {AuthType::Trust, AuthType::Plain, AuthType::Md5, AuthType::ScramSha256}) {
        EXPECT_EQ(parse_auth_type(to_string(type)), type);
    }
    EXPECT_EQ(to_string(AuthType::ScramSha256), "scram-sha-256");
    EXPECT_EQ(parse_auth_type("SCRAM-SHA-256"), AuthType::ScramSha256);
    EXPECT_EQ(parse_pool_mode("Transaction"), PoolMode::Transaction);
    EXPECT_EQ(parse_pool_mode("txn"), std::nullopt);
    EXPECT_EQ(parse_auth_type(""), std::nullopt);
}

}  // namespace
}  // namespace pgwarden::config
