#include "config/config.hpp"

#include "pgwire/scram.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace pgwarden::config {
namespace {

constexpr const char* kScram =
    "SCRAM-SHA-256$4096:c2FsdHNhbHRzYWx0$"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:"
    "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=";

struct GoodList {
    const char* name;
    std::string text;
    std::map<std::string, std::string> users;
};

class UserlistGood : public ::testing::TestWithParam<GoodList> {};

TEST_P(UserlistGood, Parses) {
    std::vector<Diagnostic> errors;
    auto users = parse_userlist(GetParam().text, "users.txt", errors);
    EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors.front().to_string());
    std::map<std::string, std::string> got;
    for (const auto& [name, entry] : users) {
        EXPECT_EQ(name, entry.name);
        got.emplace(name, entry.secret);
    }
    EXPECT_EQ(got, GetParam().users);
}

INSTANTIATE_TEST_SUITE_P(
    Forms, UserlistGood,
    ::testing::Values(
        GoodList{"Empty", "", {}},
        GoodList{"OnlyComments", "; pgbouncer style\n# shell style\n\n   \n", {}},
        GoodList{"Plain", "\"alice\" \"s3cret\"\n", {{"alice", "s3cret"}}},
        GoodList{"NoFinalNewline", "\"alice\" \"pw\"", {{"alice", "pw"}}},
        GoodList{"CrLf", "\"a\" \"1\"\r\n\"b\" \"2\"\r\n", {{"a", "1"}, {"b", "2"}}},
        GoodList{"TabsAndIndent", "\t \"a\"\t\t\"1\"  \t", {{"a", "1"}}},
        GoodList{"EscapedQuotes", R"("we""ird" "pa""ss""")", {{"we\"ird", "pa\"ss\""}}},
        GoodList{"EmptySecret", "\"nopass\" \"\"", {{"nopass", ""}}},
        GoodList{"SpacesInside", "\"a b\" \"c d\"", {{"a b", "c d"}}},
        GoodList{"Md5",
                 "\"bob\" \"md5d41d8cd98f00b204e9800998ecf8427e\"",
                 {{"bob", "md5d41d8cd98f00b204e9800998ecf8427e"}}},
        // PgBouncer treats anything not shaped like a hash as a plaintext password.
        GoodList{"Md5LookalikeIsPlain", "\"bob\" \"md5xyz\"", {{"bob", "md5xyz"}}},
        GoodList{"Scram", std::string("\"carol\" \"") + kScram + "\"", {{"carol", kScram}}},
        GoodList{
            "CommentsBetween", "\"a\" \"1\"\n; x\n# y\n\"b\" \"2\"", {{"a", "1"}, {"b", "2"}}}),
    [](const auto& info) { return std::string(info.param.name); });

struct BadList {
    const char* name;
    std::string text;
    int line;
    int column;
    const char* message;  // substring
};

class UserlistBad : public ::testing::TestWithParam<BadList> {};

TEST_P(UserlistBad, ReportsLineAndColumn) {
    std::vector<Diagnostic> errors;
    auto users = parse_userlist(GetParam().text, "/etc/pgwarden/users.txt", errors);
    ASSERT_EQ(errors.size(), 1u);
    const auto& e = errors.front();
    EXPECT_EQ(e.file, "/etc/pgwarden/users.txt");
    EXPECT_EQ(e.line, GetParam().line);
    EXPECT_EQ(e.column, GetParam().column);
    EXPECT_NE(e.message.find(GetParam().message), std::string::npos) << e.message;
    EXPECT_FALSE(e.hint.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Lines, UserlistBad,
    ::testing::Values(
        BadList{"Unquoted", "\"ok\" \"1\"\nalice secret\n", 2, 1, "expected a quoted user name"},
        BadList{"UnquotedIndented", "\n\n   alice \"x\"", 3, 4, "expected a quoted user name"},
        BadList{"UnterminatedName", "\"alice secret", 1, 1, "unterminated quoted user name"},
        BadList{"MissingSecret", "\"alice\"", 1, 8, "missing secret for user \"alice\""},
        BadList{"MissingSecretSpaces", "\"alice\"   ", 1, 11, "missing secret"},
        BadList{"UnquotedSecret", "\"alice\" secret", 1, 9, "expected a quoted secret"},
        BadList{"JunkAfterName", "\"a\"x \"y\"", 1, 4, "expected a quoted secret"},
        BadList{"UnterminatedSecret", "\"alice\" \"sec", 1, 9, "unterminated quoted secret"},
        BadList{"TrailingText", "\"alice\" \"pw\" extra", 1, 14, "unexpected text"},
        BadList{"TrailingComment", "\"alice\" \"pw\" ; no", 1, 14, "unexpected text"},
        BadList{"EmptyName", "\"\" \"pw\"", 1, 1, "empty user name"},
        BadList{"Duplicate", "\"a\" \"1\"\n\"b\" \"2\"\n\"a\" \"3\"", 3, 1,
                "user \"a\" is listed twice (first on line 1)"},
        BadList{"ScramNoKeys", "\"c\" \"SCRAM-SHA-256$4096:c2FsdA==\"", 1, 5,
                "malformed SCRAM-SHA-256 verifier for user \"c\""},
        BadList{"ScramBadIterations",
                "\"c\" \"SCRAM-SHA-256$0:c2FsdA==$"
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:"
                "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=\"",
                1, 5, "malformed SCRAM"},
        BadList{"ScramShortKey", "\"c\" \"SCRAM-SHA-256$4096:c2FsdA==$AAAA:BBBB\"", 1, 5,
                "malformed SCRAM"},
        BadList{"ScramBadBase64",
                "\"c\" \"SCRAM-SHA-256$4096:c2F!dA==$"
                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:"
                "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=\"",
                1, 5, "malformed SCRAM"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Userlist, AcceptsTheVerifiersPgwireMakes) {
    const auto secret =
        pgwire::scram::encode_secret(pgwire::scram::make_secret("pw", "0123456789abcdef", 4096));
    std::vector<Diagnostic> errors;
    auto users = parse_userlist("\"u\" \"" + secret + "\"", "u.txt", errors);
    EXPECT_TRUE(errors.empty()) << (errors.empty() ? "" : errors.front().to_string());
    ASSERT_EQ(users.count("u"), 1u);
    EXPECT_EQ(users.at("u").secret, secret);
}

TEST(Userlist, CollectsEveryBadLineAndKeepsTheGoodOnes) {
    std::vector<Diagnostic> errors;
    auto users =
        parse_userlist("\"a\" \"1\"\nbad\n\"b\" \"2\"\n\"c\"\n\"d\" \"4\"\n", "u.txt", errors);
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0].line, 2);
    EXPECT_EQ(errors[1].line, 4);
    EXPECT_EQ(users.size(), 3u);
    EXPECT_EQ(errors[0].to_string(),
              "u.txt:2:1: expected a quoted user name (each line is \"user\" \"secret\")");
}

}  // namespace
}  // namespace pgwarden::config
