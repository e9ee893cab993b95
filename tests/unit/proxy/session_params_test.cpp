#include "proxy/session_params.hpp"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgwarden::proxy {
namespace {

using Params = std::map<std::string, std::string>;

TEST(TrackedParameters, CaseInsensitiveMembership) {
    EXPECT_TRUE(is_tracked("TimeZone"));
    EXPECT_TRUE(is_tracked("timezone"));
    EXPECT_TRUE(is_tracked("DATESTYLE"));
    EXPECT_TRUE(is_tracked("search_path"));
    EXPECT_TRUE(is_tracked("application_name"));
    EXPECT_FALSE(is_tracked("extra_float_digits"));
    EXPECT_FALSE(is_tracked("search_path_x"));
    EXPECT_FALSE(is_tracked(""));
    for (const auto& name : tracked_parameters()) {
        EXPECT_TRUE(is_tracked(name)) << name;
    }
}

TEST(QuoteLiteral, Table) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"", "E''"},       {"UTC", "E'UTC'"},     {"O'Brien", "E'O''Brien'"},
        {"''", "E''''''"}, {"a b,c", "E'a b,c'"}, {"line\nbreak", "E'line\nbreak'"},
    };
    for (const auto& [in, want] : cases) {
        EXPECT_EQ(quote_literal(in), want) << in;
    }
}

struct SyncCase {
    const char* name;
    Params wanted;
    Params server;
    Params wanted_extra;
    Params server_extra;
    std::string query;
    Params server_after;
    Params server_extra_after;
};

TEST(SyncQuery, Table) {
    const SyncCase cases[] = {
        {"nothing differs",
         {{"TimeZone", "UTC"}, {"application_name", "app"}},
         {{"TimeZone", "UTC"}, {"application_name", "app"}, {"server_version", "15.4"}},
         {},
         {},
         "",
         {{"TimeZone", "UTC"}, {"application_name", "app"}, {"server_version", "15.4"}},
         {}},
        {"one value differs",
         {{"TimeZone", "UTC"}, {"application_name", "app"}},
         {{"TimeZone", "Europe/Berlin"}, {"application_name", "app"}},
         {},
         {},
         "SET TimeZone TO E'UTC';",
         {{"TimeZone", "UTC"}, {"application_name", "app"}},
         {}},
        {"several differ, in map order, and unknown server values count as different",
         {{"DateStyle", "ISO, MDY"}, {"application_name", "psql"}, {"client_encoding", "UTF8"}},
         {{"DateStyle", "ISO, DMY"}, {"client_encoding", "UTF8"}},
         {},
         {},
         "SET DateStyle TO E'ISO, MDY';SET application_name TO E'psql';",
         {{"DateStyle", "ISO, MDY"}, {"application_name", "psql"}, {"client_encoding", "UTF8"}},
         {}},
        {"single quotes are doubled",
         {{"application_name", "O'Brien's app"}},
         {{"application_name", ""}},
         {},
         {},
         "SET application_name TO E'O''Brien''s app';",
         {{"application_name", "O'Brien's app"}},
         {}},
        {"an empty value is an empty literal, not RESET, for other parameters",
         {{"application_name", ""}},
         {{"application_name", "psql"}},
         {},
         {},
         "SET application_name TO E'';",
         {{"application_name", ""}},
         {}},
        {"search_path is sent as written, unquoted",
         {{"search_path", "app, \"My Schema\", public"}},
         {{"search_path", "public"}},
         {},
         {},
         "SET search_path TO app, \"My Schema\", public;",
         {{"search_path", "app, \"My Schema\", public"}},
         {}},
        {"empty search_path resets a server that has one",
         {{"search_path", ""}},
         {{"search_path", "app"}},
         {},
         {},
         "RESET search_path;",
         {{"search_path", ""}},
         {}},
        {"empty search_path and a server without one: nothing to do",
         {{"search_path", ""}},
         {},
         {},
         {},
         "",
         {},
         {}},
        {"empty search_path and a server with an empty one: nothing to do",
         {{"search_path", ""}},
         {{"search_path", ""}},
         {},
         {},
         "",
         {{"search_path", ""}},
         {}},
        {"an extra the client wants is SET",
         {},
         {},
         {{"extra_float_digits", "3"}},
         {},
         "SET extra_float_digits TO E'3';",
         {},
         {{"extra_float_digits", "3"}}},
        {"an extra with the same value is left alone",
         {},
         {},
         {{"extra_float_digits", "3"}},
         {{"extra_float_digits", "3"}},
         "",
         {},
         {{"extra_float_digits", "3"}}},
        {"an extra with another value is SET",
         {},
         {},
         {{"extra_float_digits", "3"}},
         {{"extra_float_digits", "1"}},
         "SET extra_float_digits TO E'3';",
         {},
         {{"extra_float_digits", "3"}}},
        {"extras the client does not want are RESET and forgotten",
         {},
         {},
         {{"extra_float_digits", "3"}},
         {{"extra_float_digits", "3"}, {"statement_timeout", "5s"}, {"work_mem", "64MB"}},
         "RESET statement_timeout;RESET work_mem;",
         {},
         {{"extra_float_digits", "3"}}},
        {"tracked first, then RESETs, then SETs of extras",
         {{"TimeZone", "UTC"}},
         {{"TimeZone", "GMT"}},
         {{"lock_timeout", "1s"}},
         {{"statement_timeout", "5s"}},
         "SET TimeZone TO E'UTC';RESET statement_timeout;SET lock_timeout TO E'1s';",
         {{"TimeZone", "UTC"}},
         {{"lock_timeout", "1s"}}},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        Params server = c.server;
        Params server_extra = c.server_extra;
        EXPECT_EQ(sync_query(c.wanted, server, c.wanted_extra, server_extra), c.query);
        EXPECT_EQ(server, c.server_after);
        EXPECT_EQ(server_extra, c.server_extra_after);
        // The maps now describe the server after the query: a second sync has nothing to do.
        EXPECT_EQ(sync_query(c.wanted, server, c.wanted_extra, server_extra), "");
    }
}

TEST(ParseSetSearchPath, Table) {
    const std::pair<std::string_view, std::optional<std::string_view>> cases[] = {
        {"SET search_path TO a,b", "a,b"},
        {"set search_path = 'x'", "'x'"},
        {"SET search_path=x", "x"},
        {"SET search_path TO public, \"App\"", "public, \"App\""},
        {"  Set\tSearch_Path\n  To   app  ", "app"},
        {"SET SESSION search_path TO app", "app"},
        {"SET SESSION search_path TO DEFAULT", ""},
        {"SET search_path TO default", ""},
        {"SET search_path = DEFAULT;", ""},
        {"SET search_path TO a;", "a"},
        {"SET search_path TO a ;  \n", "a"},
        {"SET search_path TO a;;", "a"},
        {"SET search_path TO defaults", "defaults"},  // not the keyword
        // Not understood, so not carried over:
        {"SET LOCAL search_path TO x", std::nullopt},
        {"set local search_path = x", std::nullopt},
        {"SET search_path TO a; SELECT 1", std::nullopt},
        {"SET search_path TO E'a;b'", std::nullopt},
        {"SET search_path TO", std::nullopt},
        {"SET search_path TO ;", std::nullopt},
        {"SET search_path", std::nullopt},
        {"SET search_path a", std::nullopt},
        {"SET search_pathx TO a", std::nullopt},
        {"SETsearch_path TO a", std::nullopt},
        {"SET statement_timeout TO 5", std::nullopt},
        {"SET TIME ZONE 'UTC'", std::nullopt},
        {"SET SESSION AUTHORIZATION bob", std::nullopt},
        {"SELECT 1", std::nullopt},
        {"", std::nullopt},
        {"SET", std::nullopt},
        // The first-letter fast reject must not change any answer:
        {"   ", std::nullopt},
        {"\v\fSET search_path TO a", "a"},
        {"  ReSeT  SEARCH_PATH ;", ""},
        {"DISCARD ALL", ""},
        {"discarded all", std::nullopt},
        {"rollback", std::nullopt},
        {"delete from t", std::nullopt},
        {"select set search_path", std::nullopt},
    };
    for (const auto& [query, want] : cases) {
        SCOPED_TRACE(query);
        std::string value = "untouched";
        const bool ok = parse_set_search_path(query, value);
        ASSERT_EQ(ok, want.has_value());
        if (ok) {
            EXPECT_EQ(value, *want);
        }
    }
}

TEST(ParseSetSearchPath, FeedsSyncQuery) {
    // What the relay does: the recognised value becomes the wanted search_path.
    std::string value;
    ASSERT_TRUE(parse_set_search_path("SET search_path TO app, public;", value));
    Params server{{"search_path", "public"}};
    Params extra;
    EXPECT_EQ(sync_query({{"search_path", value}}, server, {}, extra),
              "SET search_path TO app, public;");
}

// ---- known bugs: these fail until src/proxy/session_params.cpp is fixed ------------------

// Removes SQL comments (-- to end of line, /* */) outside quotes, for checking what a
// server would actually execute.
std::string strip_comments(std::string_view q) {
    std::string out;
    for (size_t i = 0; i < q.size(); ++i) {
        if (q[i] == '\'' || q[i] == '"') {
            const size_t end = q.find(q[i], i + 1);
            const size_t stop = end == std::string_view::npos ? q.size() : end + 1;
            out.append(q.substr(i, stop - i));
            i = stop - 1;
        } else if (q.substr(i, 2) == "--") {
            const size_t nl = q.find('\n', i);
            i = nl == std::string_view::npos ? q.size() : nl;
            if (nl != std::string_view::npos) {
                out += '\n';
            }
        } else if (q.substr(i, 2) == "/*") {
            const size_t end = q.find("*/", i + 2);
            i = end == std::string_view::npos ? q.size() : end + 1;
        } else {
            out += q[i];
        }
    }
    return out;
}

TEST(SessionParamsRegression, TrailingLineCommentInSearchPathSwallowsLaterSets) {
    // "SET search_path TO app -- pick the schema" used to be recognised with the comment as
    // part of the value; sync_query then appended ";SET ..." inside the comment, so the
    // server never ran them although both maps said it did. Values with comments are now
    // not carried at all, and a carried value never contains one.
    std::string value = "unchanged";
    EXPECT_FALSE(parse_set_search_path("SET search_path TO app -- pick the schema", value));
    EXPECT_FALSE(parse_set_search_path("SET search_path TO app /* c */", value));
    EXPECT_EQ(value, "unchanged");
    ASSERT_TRUE(parse_set_search_path("SET search_path TO app", value));
    Params server{{"search_path", "public"}};
    Params server_extra;
    const std::string q =
        sync_query({{"search_path", value}}, server, {{"extra_float_digits", "3"}}, server_extra);
    EXPECT_NE(strip_comments(q).find("SET extra_float_digits TO E'3'"), std::string::npos) << q;
}

// Decodes one SQL string literal the way PostgreSQL's lexer does with the given
// standard_conforming_strings; nullopt when it is not exactly one well-formed literal.
std::optional<std::string> lex_literal(std::string_view lit, bool standard_conforming) {
    bool escapes = !standard_conforming;
    if (!lit.empty() && (lit[0] == 'E' || lit[0] == 'e')) {
        escapes = true;
        lit.remove_prefix(1);
    }
    if (lit.size() < 2 || lit[0] != '\'') {
        return std::nullopt;
    }
    std::string value;
    for (size_t i = 1; i < lit.size(); ++i) {
        if (escapes && lit[i] == '\\' && i + 1 < lit.size()) {
            value += lit[++i];  // enough for \\ and \' (all quote_literal can need)
        } else if (lit[i] == '\'') {
            if (i + 1 < lit.size() && lit[i + 1] == '\'') {
                value += '\'';
                ++i;
            } else {
                return i + 1 == lit.size() ? std::optional(value) : std::nullopt;
            }
        } else {
            value += lit[i];
        }
    }
    return std::nullopt;  // unterminated
}

TEST(QuoteLiteral, MeansTheValueWithStandardConformingStrings) {
    for (std::string_view v : {"", "UTC", "O'Brien", "''", "a b"}) {
        EXPECT_EQ(lex_literal(quote_literal(v), true), std::string(v)) << v;
    }
}

TEST(SessionParamsRegression, QuoteLiteralIsSafeWithoutStandardConformingStrings) {
    // standard_conforming_strings is itself a tracked parameter a client may turn off, and
    // the sync query is lexed with the server's current setting. Then 'a\' is unterminated
    // and a value like \';DROP TABLE t;-- runs the DROP.
    for (std::string_view v : {"C:\\temp", "\\", "\\';DROP TABLE t;--"}) {
        SCOPED_TRACE(v);
        EXPECT_EQ(lex_literal(quote_literal(v), true), std::string(v));
        EXPECT_EQ(lex_literal(quote_literal(v), false), std::string(v));
    }
}

TEST(SessionParamsRegression, ResetSearchPathIsCarriedOver) {
    // "RESET search_path" returns to the default, like SET ... TO DEFAULT, but is not
    // recognised, so the client's old search_path is re-applied on its next server.
    std::string value = "app";
    EXPECT_TRUE(parse_set_search_path("RESET search_path", value));
    EXPECT_EQ(value, "");
}

TEST(ParamSetCache, EqualContentSharesOneSet) {
    ParamSetCache cache;
    auto a = cache.intern({{{"TimeZone", "UTC"}}, {}});
    auto b = cache.intern({{{"TimeZone", "UTC"}}, {}});
    EXPECT_EQ(a, b);
    auto c = cache.intern({{{"TimeZone", "UTC"}}, {{"extra_float_digits", "3"}}});
    EXPECT_NE(a, c);
    auto d = cache.intern({{{"TimeZone", "Europe/Paris"}}, {}});
    EXPECT_NE(a, d);
    EXPECT_EQ(d->tracked.at("TimeZone"), "Europe/Paris");
}

TEST(ParamSetCache, EvictionKeepsHeldSetsValidAndNeverAliasesDifferentContent) {
    ParamSetCache cache;
    auto first = cache.intern({{{"application_name", "app-0"}}, {}});
    std::vector<std::shared_ptr<const ParamSet>> held;
    for (int i = 1; i <= 200; ++i) {
        held.push_back(cache.intern({{{"application_name", "app-" + std::to_string(i)}}, {}}));
    }
    // app-0 was evicted: a newcomer gets a fresh set (a comparison later, not a wrong skip),
    // and the old holder's set still says what it said.
    auto again = cache.intern({{{"application_name", "app-0"}}, {}});
    EXPECT_NE(first, again);
    EXPECT_EQ(*first, *again);
    EXPECT_EQ(first->tracked.at("application_name"), "app-0");
    for (size_t i = 0; i < held.size(); ++i) {
        EXPECT_EQ(held[i]->tracked.at("application_name"), "app-" + std::to_string(i + 1));
    }
    // Recently used sets are still shared.
    EXPECT_EQ(cache.intern({{{"application_name", "app-200"}}, {}}), held.back());
}

}  // namespace
}  // namespace pgwarden::proxy
