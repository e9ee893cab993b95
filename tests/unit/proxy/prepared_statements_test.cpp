#include "proxy/prepared_statements.hpp"

#include "pgwire/frame.hpp"
#include "pgwire/messages.hpp"
#include "pgwire/sqlstate.hpp"
#include "pool/server_conn.hpp"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgwarden::proxy {
namespace {

using namespace std::string_literals;

struct Msg {
    char type;
    std::string body;
    bool operator==(const Msg&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Msg& m) {
    os << m.type << '[';
    for (char c : m.body) {
        if (c == '\0') {
            os << "\\0";
        } else {
            os << c;
        }
    }
    return os << ']';
}

// Splits a byte string into whole messages with the pgwire decoder, failing the test when
// anything in it is not a well-framed message.
std::vector<Msg> split(std::string_view bytes) {
    std::vector<Msg> msgs;
    while (!bytes.empty()) {
        const auto h = pgwire::decode_header(
            std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), 1u << 30);
        EXPECT_EQ(h.status, pgwire::DecodeStatus::Frame) << h.error;
        EXPECT_LE(h.length, bytes.size());
        if (h.status != pgwire::DecodeStatus::Frame || h.length > bytes.size()) {
            break;
        }
        msgs.push_back(Msg{h.type, std::string(bytes.substr(pgwire::kHeaderSize,
                                                            h.length - pgwire::kHeaderSize))});
        bytes.remove_prefix(h.length);
    }
    return msgs;
}

// Appends a message pgwarden forwards without rewriting (Execute, Sync, ...).
void append_raw(std::string& out, const Msg& m) {
    const auto len = static_cast<uint32_t>(4 + m.body.size());
    out += m.type;
    for (int shift : {24, 16, 8, 0}) {
        out += static_cast<char>(len >> shift);
    }
    out += m.body;
}

// A message as the relay hands it to rewrite(): type byte, length, body.
std::string framed(const Msg& m) {
    std::string out;
    append_raw(out, m);
    return out;
}

// The body of the single message an encoder produced.
template <typename Encode>
std::string body_of(Encode encode) {
    std::string out;
    encode(out);
    return out.substr(pgwire::kHeaderSize);
}

Msg parse_msg(std::string_view name, std::string_view query, std::string_view types = "\0\0"s) {
    return {'P', body_of([&](std::string& o) { pgwire::encode_parse(o, name, query, types); })};
}
Msg bind_msg(std::string_view portal, std::string_view stmt,
             std::string_view rest = "\0\0\0\0\0\0"s) {
    return {'B', body_of([&](std::string& o) { pgwire::encode_bind(o, portal, stmt, rest); })};
}
Msg describe_msg(char kind, std::string_view name) {
    return {'D', body_of([&](std::string& o) { pgwire::encode_target(o, 'D', kind, name); })};
}
Msg close_msg(char kind, std::string_view name) {
    return {'C', body_of([&](std::string& o) { pgwire::encode_target(o, 'C', kind, name); })};
}
Msg query_msg(std::string_view sql) {
    return {'Q', body_of([&](std::string& o) { pgwire::encode_query(o, sql); })};
}
Msg execute() {
    return {'E', "\0\0\0\0\0"s};
}
Msg sync() {
    return {'S', ""};
}

const std::string kTypes = "\0\x01\0\0\0\x17"s;  // one int4 parameter
const std::string kQ1 = "SELECT $1::int";
const std::string kQ2 = "SELECT $1::int + 1";
const std::string kQ3 = "SELECT $1::int + 2";

std::string pgw(const std::string& query, const std::string& types = kTypes) {
    return PreparedStatements::server_name_for(query, types);
}

// A minimal PostgreSQL backend for the extended protocol. It knows which named statements
// really exist on it, so a test can hold pgwarden's bookkeeping against the truth, and it
// skips to the next Sync after an error as PostgreSQL does ("Extended Query", protocol docs).
class FakeBackend {
public:
    // Runs the messages pgwarden sent and returns the reply types in order, e.g. "12Z".
    std::string run(const std::vector<Msg>& msgs) {
        std::string replies;
        for (const auto& m : msgs) {
            // After an extended-protocol error PostgreSQL ignores everything, a simple Query
            // included, until Sync (postgres.c, ignore_till_sync).
            if (skipping_ && m.type != 'S') {
                continue;
            }
            replies += reply(m);
        }
        return replies;
    }
    // Queries that no longer parse on this server.
    std::set<std::string> broken;

    bool has(const std::string& name) const { return statements_.count(name) != 0; }
    std::set<std::string> names() const {
        std::set<std::string> n;
        for (const auto& [k, v] : statements_) {
            if (!k.empty()) {
                n.insert(k);
            }
        }
        return n;
    }
    // The query text of the statement the last successful Bind used.
    const std::string& last_bound() const { return last_bound_; }

private:
    std::string fail() {
        skipping_ = true;
        return "E";
    }

    std::string reply(const Msg& m) {
        switch (m.type) {
        case 'P': {
            auto p = pgwire::parse_parse(m.body);
            EXPECT_TRUE(p);
            if (!p->name.empty() && has(std::string(p->name))) {
                return fail();  // 42P05 duplicate_prepared_statement
            }
            if (broken.count(std::string(p->query)) != 0) {
                return fail();  // e.g. 42P01: a table the query uses was dropped
            }
            statements_[std::string(p->name)] = std::string(p->query);
            return "1";
        }
        case 'B': {
            auto b = pgwire::parse_bind(m.body);
            EXPECT_TRUE(b);
            auto it = statements_.find(std::string(b->statement));
            if (it == statements_.end()) {
                return fail();  // 26000 invalid_sql_statement_name
            }
            last_bound_ = it->second;
            return "2";
        }
        case 'D': {
            auto t = pgwire::parse_target(m.body);
            EXPECT_TRUE(t);
            if (t->kind == 'S' && statements_.count(std::string(t->name)) == 0) {
                return fail();
            }
            return t->kind == 'S' ? "tn" : "n";
        }
        case 'C': {
            auto t = pgwire::parse_target(m.body);
            EXPECT_TRUE(t);
            if (t->kind == 'S') {
                statements_.erase(std::string(t->name));  // no error for a missing name
            }
            return "3";
        }
        case 'E':
            return "C";
        case 'S':
            skipping_ = false;
            return "Z";
        case 'Q': {
            auto q = pgwire::parse_query(m.body);
            EXPECT_TRUE(q);
            const std::string_view prefix = "DEALLOCATE ";
            if (q->starts_with(prefix)) {
                const std::string name(q->substr(prefix.size()));
                if (statements_.erase(name) == 0) {
                    return "EZ";
                }
            }
            return "CZ";
        }
        default:
            ADD_FAILURE() << "unexpected message " << m;
            return "";
        }
    }

    std::map<std::string, std::string> statements_;  // "" is the unnamed statement
    std::string last_bound_;
    bool skipping_ = false;
};

// One server connection as a session sees it while it holds the lease.
struct Conn {
    pool::ServerStatements statements;
    InjectedResponses injected;
    FakeBackend backend;

    // pgwarden's view of the statements on this connection, for comparison with the truth.
    std::set<std::string> tracked(const std::vector<std::string>& candidates) const {
        std::set<std::string> n;
        for (const auto& c : candidates) {
            if (statements.contains(c)) {
                n.insert(c);
            }
        }
        return n;
    }
};

// One client: rewrites a batch for a connection the way session_relay does, then plays the
// backend's replies back through InjectedResponses.
struct Client {
    PreparedStatements ps;
    size_t max_per_server = 0;
    std::vector<Msg> sent;  // what pgwarden sent to the server for the last batch

    // Returns the reply types the client gets to see.
    std::string run(Conn& conn, const std::vector<Msg>& batch) {
        std::string out;
        for (const auto& m : batch) {
            switch (m.type) {
            case 'P':
            case 'B':
            case 'D':
            case 'C':
            case 'Q': {
                const auto st =
                    ps.rewrite(framed(m), conn.statements, conn.injected, max_per_server, out);
                EXPECT_TRUE(st) << st.error().message;
                if (m.type == 'Q') {
                    conn.injected.on_sync_sent();
                }
                break;
            }
            case 'S':
                conn.injected.on_sync_sent();
                [[fallthrough]];
            default:
                append_raw(out, m);
                break;
            }
        }
        sent = split(out);
        std::string seen;
        for (char r : conn.backend.run(sent)) {
            const bool inspected = r == '1' || r == '3' || r == 'Z';
            if (inspected && conn.injected.on_server_message(r, conn.statements)) {
                continue;  // swallowed
            }
            seen += r;
        }
        return seen;
    }
};

TEST(PreparedStatements, ServerNameIsAStableHashOfQueryAndTypes) {
    const std::string a = pgw(kQ1);
    EXPECT_EQ(a.size(), 4u + 32u);
    EXPECT_EQ(a.substr(0, 4), "pgw_");
    EXPECT_EQ(a, pgw(kQ1));
    EXPECT_NE(a, pgw(kQ2));
    EXPECT_NE(a, pgw(kQ1, "\0\0"s));  // the same text with other parameter types differs
    // The separator keeps "ab"+"c" apart from "a"+"bc".
    EXPECT_NE(PreparedStatements::server_name_for("ab", "c"),
              PreparedStatements::server_name_for("a", "bc"));
}

TEST(PreparedStatements, NamedParseIsSentUnderTheSharedName) {
    Client c;
    Conn a;
    EXPECT_EQ(c.run(a, {parse_msg("s1", kQ1, kTypes), sync()}), "1Z");
    ASSERT_EQ(c.sent.size(), 2u);
    EXPECT_EQ(c.sent[0], parse_msg(pgw(kQ1), kQ1, kTypes));
    EXPECT_TRUE(a.statements.contains(pgw(kQ1)));
    EXPECT_TRUE(a.backend.has(pgw(kQ1)));
    EXPECT_EQ(c.ps.size(), 1u);
    EXPECT_TRUE(a.injected.empty());
}

TEST(PreparedStatements, BindOnAnotherServerInjectsTheParse) {
    Client c;
    Conn a;
    Conn b;
    ASSERT_EQ(c.run(a, {parse_msg("s1", kQ1, kTypes), sync()}), "1Z");
    // The next transaction lands on b, which has never seen the statement.
    EXPECT_EQ(c.run(b, {bind_msg("", "s1"), execute(), sync()}), "2CZ");
    const std::vector<Msg> want{parse_msg(pgw(kQ1), kQ1, kTypes), bind_msg("", pgw(kQ1)), execute(),
                                sync()};
    EXPECT_EQ(c.sent, want);
    EXPECT_TRUE(b.statements.contains(pgw(kQ1)));
    EXPECT_EQ(b.backend.last_bound(), kQ1);
    EXPECT_TRUE(b.injected.empty());
    // Back on a, nothing needs injecting.
    EXPECT_EQ(c.run(a, {bind_msg("", "s1"), execute(), sync()}), "2CZ");
    EXPECT_EQ(c.sent[0], bind_msg("", pgw(kQ1)));
}

TEST(PreparedStatements, InjectedParseCompleteIsSwallowedAndBindCompleteForwarded) {
    // Drives InjectedResponses directly with the server's replies one by one.
    Client c;
    Conn a;
    Conn b;
    ASSERT_EQ(c.run(a, {parse_msg("s1", kQ1, kTypes), sync()}), "1Z");
    std::string out;
    ASSERT_TRUE(c.ps.rewrite(framed(bind_msg("", "s1")), b.statements, b.injected, 0, out));
    b.injected.on_sync_sent();
    EXPECT_TRUE(b.injected.on_server_message('1', b.statements));   // injected: hidden
    EXPECT_FALSE(b.injected.on_server_message('2', b.statements));  // the client's
    EXPECT_FALSE(b.injected.on_server_message('Z', b.statements));
    EXPECT_TRUE(b.injected.empty());
    EXPECT_TRUE(b.statements.contains(pgw(kQ1)));
}

TEST(PreparedStatements, ParseOfAStatementTheServerHasGoesToAScratchName) {
    Client first;
    Client second;
    Conn a;
    ASSERT_EQ(first.run(a, {parse_msg("s1", kQ1, kTypes), sync()}), "1Z");
    // Another client prepares the identical statement under its own name: the server copy
    // is shared and the client still gets its ParseComplete, from a Parse into pgwarden's
    // scratch statement (closed first, with its CloseComplete hidden); the client's own
    // unnamed statement is never touched.
    EXPECT_EQ(second.run(a, {parse_msg("mine", kQ1, kTypes), bind_msg("", "mine"), sync()}), "12Z");
    const std::vector<Msg> want{close_msg('S', "pgw_scratch"),
                                parse_msg("pgw_scratch", kQ1, kTypes), bind_msg("", pgw(kQ1)),
                                sync()};
    EXPECT_EQ(second.sent, want);
    EXPECT_EQ(a.statements.size(), 1u);
}

TEST(PreparedStatements, DescribeStatementIsTranslated) {
    Client c;
    Conn a;
    Conn b;
    ASSERT_EQ(c.run(a, {parse_msg("s1", kQ1, kTypes), sync()}), "1Z");
    EXPECT_EQ(c.run(a, {describe_msg('S', "s1"), sync()}), "tnZ");
    EXPECT_EQ(c.sent[0], describe_msg('S', pgw(kQ1)));
    // On a server lacking it, the Parse is injected first and its reply hidden.
    EXPECT_EQ(c.run(b, {describe_msg('S', "s1"), sync()}), "tnZ");
    const std::vector<Msg> want{parse_msg(pgw(kQ1), kQ1, kTypes), describe_msg('S', pgw(kQ1)),
                                sync()};
    EXPECT_EQ(c.sent, want);
}

TEST(PreparedStatements, DescribeAndCloseOfOtherTargetsPassThrough) {
    Client c;
    Conn a;
    ASSERT_EQ(c.run(a, {parse_msg("s1", kQ1, kTypes), sync()}), "1Z");
    const Msg untouched[] = {describe_msg('P', "s1"), describe_msg('P', ""),
                             describe_msg('S', ""),   describe_msg('S', "unknown"),
                             close_msg('P', "s1"),    close_msg('P', "")};
    for (const auto& m : untouched) {
        SCOPED_TRACE(testing::Message() << m);
        std::string out;
        ASSERT_TRUE(c.ps.rewrite(framed(m), a.statements, a.injected, 0, out));
        EXPECT_EQ(split(out), std::vector<Msg>{m});
    }
    EXPECT_EQ(c.ps.size(), 1u);
}

TEST(PreparedStatements, CloseForgetsTheClientNameButKeepsTheServerStatement) {
    Client c;
    Conn a;
    ASSERT_EQ(c.run(a, {parse_msg("s1", kQ1, kTypes), sync()}), "1Z");
    // The Close goes out under the client's name: the server answers CloseComplete for a
    // name it lacks, which is the reply the client expects.
    EXPECT_EQ(c.run(a, {close_msg('S', "s1"), sync()}), "3Z");
    EXPECT_EQ(c.sent[0], close_msg('S', "s1"));
    EXPECT_EQ(c.ps.size(), 0u);
    EXPECT_TRUE(a.statements.contains(pgw(kQ1)));
    EXPECT_TRUE(a.backend.has(pgw(kQ1)));
    // The name is unknown from now on, so a Bind of it reaches the server as written.
    EXPECT_EQ(c.run(a, {bind_msg("", "s1"), sync()}), "EZ");
    EXPECT_EQ(c.sent[0], bind_msg("", "s1"));
    // Preparing it again reuses the cached server statement.
    EXPECT_EQ(c.run(a, {parse_msg("s1", kQ1, kTypes), bind_msg("", "s1"), sync()}), "12Z");
    EXPECT_EQ(c.sent[1], parse_msg("pgw_scratch", kQ1, kTypes));
}

TEST(PreparedStatements, LruBoundClosesTheOldestWithASwallowedCloseComplete) {
    Client c;
    c.max_per_server = 2;
    Conn a;
    ASSERT_EQ(c.run(a, {parse_msg("s1", kQ1, kTypes), parse_msg("s2", kQ2, kTypes), sync()}),
              "11Z");
    EXPECT_EQ(c.run(a, {parse_msg("s3", kQ3, kTypes), sync()}), "1Z");
    const std::vector<Msg> want{close_msg('S', pgw(kQ1)), parse_msg(pgw(kQ3), kQ3, kTypes), sync()};
    EXPECT_EQ(c.sent, want);
    const std::vector<std::string> all{pgw(kQ1), pgw(kQ2), pgw(kQ3)};
    EXPECT_EQ(a.tracked(all), (std::set<std::string>{pgw(kQ2), pgw(kQ3)}));
    EXPECT_EQ(a.backend.names(), a.tracked(all));
    // The client still knows s1: a Bind re-injects it, evicting s2 (now the oldest).
    EXPECT_EQ(c.run(a, {bind_msg("", "s1"), sync()}), "2Z");
    const std::vector<Msg> want2{close_msg('S', pgw(kQ2)), parse_msg(pgw(kQ1), kQ1, kTypes),
                                 bind_msg("", pgw(kQ1)), sync()};
    EXPECT_EQ(c.sent, want2);
    EXPECT_EQ(a.backend.names(), (std::set<std::string>{pgw(kQ1), pgw(kQ3)}));
    EXPECT_EQ(a.backend.names(), a.tracked(all));
}

TEST(PreparedStatements, UseRefreshesTheLruOrder) {
    Client c;
    c.max_per_server = 2;
    Conn a;
    ASSERT_EQ(c.run(a, {parse_msg("s1", kQ1, kTypes), parse_msg("s2", kQ2, kTypes), sync()}),
              "11Z");
    ASSERT_EQ(c.run(a, {bind_msg("", "s1"), sync()}), "2Z");  // s1 is now the most recent
    EXPECT_EQ(c.run(a, {parse_msg("s3", kQ3, kTypes), sync()}), "1Z");
    EXPECT_EQ(c.sent[0], close_msg('S', pgw(kQ2)));
}

TEST(PreparedStatements, ZeroMaxMeansUnbounded) {
    Client c;
    Conn a;
    std::vector<Msg> batch;
    for (int i = 0; i < 50; ++i) {
        batch.push_back(parse_msg("s" + std::to_string(i), "SELECT " + std::to_string(i)));
    }
    batch.push_back(sync());
    EXPECT_EQ(c.run(a, batch), std::string(50, '1') + "Z");
    EXPECT_EQ(a.statements.size(), 50u);
}

TEST(PreparedStatements, ErrorAbortedInjectionIsForgotten) {
    Client c;
    Conn a;
    Conn b;
    ASSERT_EQ(c.run(a, {parse_msg("s1", kQ1, kTypes), sync()}), "1Z");
    // On b, the injected Parse fails (say the table was dropped): the server sends only
    // ErrorResponse and ReadyForQuery, never the ParseComplete.
    std::string out;
    ASSERT_TRUE(c.ps.rewrite(framed(bind_msg("", "s1")), b.statements, b.injected, 0, out));
    b.injected.on_sync_sent();
    EXPECT_TRUE(b.statements.contains(pgw(kQ1)));  // recorded optimistically
    EXPECT_FALSE(b.injected.on_server_message('E', b.statements));
    EXPECT_FALSE(b.injected.on_server_message('Z', b.statements));
    EXPECT_FALSE(b.statements.contains(pgw(kQ1)));
    EXPECT_TRUE(b.injected.empty());
    // So the next Bind injects it again.
    out.clear();
    ASSERT_TRUE(c.ps.rewrite(framed(bind_msg("", "s1")), b.statements, b.injected, 0, out));
    const auto msgs = split(out);
    ASSERT_EQ(msgs.size(), 2u);
    EXPECT_EQ(msgs[0], parse_msg(pgw(kQ1), kQ1, kTypes));
}

TEST(PreparedStatements, ErrorBeforeTheClientsParseUnrecordsIt) {
    Client c;
    Conn a;
    // A Bind of an unknown name fails first, so the server skips the Parse behind it.
    EXPECT_EQ(c.run(a, {bind_msg("", "nope"), parse_msg("s1", kQ1, kTypes), sync()}), "EZ");
    EXPECT_FALSE(a.statements.contains(pgw(kQ1)));
    EXPECT_FALSE(a.backend.has(pgw(kQ1)));
    // pgwarden still maps s1 (the client cannot tell whether it should), and a later use
    // injects it rather than binding a statement the server lacks.
    EXPECT_EQ(c.run(a, {bind_msg("", "s1"), sync()}), "2Z");
    EXPECT_EQ(c.sent[0], parse_msg(pgw(kQ1), kQ1, kTypes));
}

TEST(PreparedStatements, RepliesOfSeveralBatchesInFlight) {
    // Two pipelined batches: the second one's injected Parse must stay expected after the
    // first batch's ReadyForQuery.
    Client c;
    Conn a;
    Conn b;
    ASSERT_EQ(c.run(a, {parse_msg("s1", kQ1, kTypes), sync()}), "1Z");
    EXPECT_EQ(c.run(b, {parse_msg("s2", kQ2, kTypes), sync(), bind_msg("", "s1"), sync()}), "1Z2Z");
    EXPECT_TRUE(b.injected.empty());
    EXPECT_TRUE(b.statements.contains(pgw(kQ1)));
    EXPECT_TRUE(b.statements.contains(pgw(kQ2)));
}

TEST(PreparedStatements, UnnamedStatementsPassThroughUntouched) {
    Client c;
    Conn a;
    const std::vector<Msg> batch{parse_msg("", kQ1, kTypes), bind_msg("", ""),
                                 describe_msg('S', ""),      execute(),
                                 close_msg('S', ""),         sync()};
    EXPECT_EQ(c.run(a, batch), "12tnC3Z");
    EXPECT_EQ(c.sent, batch);
    EXPECT_EQ(a.statements.size(), 0u);
    EXPECT_EQ(c.ps.size(), 0u);
}

TEST(PreparedStatements, BindOfAnUnknownNamePassesThrough) {
    Client c;
    Conn a;
    EXPECT_EQ(c.run(a, {bind_msg("p", "never_prepared"), sync()}), "EZ");
    EXPECT_EQ(c.sent[0], bind_msg("p", "never_prepared"));
}

// The relay sends every Query that may_deallocate rejects byte for byte, past rewrite():
// it must accept every spelling rewrite() acts on, and reject everything else cheaply.
TEST(PreparedStatements, MayDeallocateIsTheFirstWordOnly) {
    for (std::string_view q : {"DEALLOCATE s1", "deallocate ALL", "  \t\nDeAlLoCaTe PREPARE x",
                               "DEALLOCATE \"S\";", "deallocatex", "deallocate"}) {
        EXPECT_TRUE(PreparedStatements::may_deallocate(q)) << q;
    }
    for (std::string_view q : {"SELECT 1", "", "   ", "dealloc", "DEALLOCAT s1", "EXECUTE s1",
                               "/* c */ DEALLOCATE s1", "PREPARE s1 AS SELECT 1"}) {
        EXPECT_FALSE(PreparedStatements::may_deallocate(q)) << q;
    }
}

TEST(PreparedStatements, DeallocateQueries) {
    struct Case {
        const char* sql;
        bool deallocates_s1;  // rewritten to DEALLOCATE of the server name
        bool forgets_all;     // passed through and every client name forgotten
    };
    const Case cases[] = {
        {"DEALLOCATE s1", true, false},
        {"deallocate s1", true, false},
        {"DEALLOCATE S1", true, false},  // unquoted identifiers fold to lower case
        {"DEALLOCATE PREPARE s1", true, false},
        {"  DEALLOCATE\n\tPREPARE   s1 ;  ", true, false},
        {"DEALLOCATE s1;", true, false},
        {"DEALLOCATE \"s1\"", true, false},
        {"DEALLOCATE PREPARE \"s1\"", true, false},
        {"DEALLOCATE \"MixedCase\"", false, false},  // quoted: exact, and not s1
        {"DEALLOCATE ALL", false, true},
        {"deallocate all;", false, true},
        {"DEALLOCATE s2", false, false},
        {"DEALLOCATE", false, false},
        {"DEALLOCATE s1 s2", false, false},
        {"DEALLOCATE s1; SELECT 1", false, false},
        {"DEALLOCATE s1;;", false, false},
        {"DEALLOCATE \"s1", false, false},
        {"DEALLOCATEs1", false, false},
        {"SELECT 'DEALLOCATE s1'", false, false},
        {"-- DEALLOCATE s1", false, false},
        {"", false, false},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.sql);
        Client cl;
        Conn a;
        ASSERT_EQ(cl.run(a, {parse_msg("s1", kQ1, kTypes), parse_msg("s2x", kQ2, kTypes), sync()}),
                  "11Z");
        std::string out;
        ASSERT_TRUE(cl.ps.rewrite(framed(query_msg(c.sql)), a.statements, a.injected, 0, out));
        const auto msgs = split(out);
        ASSERT_EQ(msgs.size(), 1u);
        if (c.deallocates_s1) {
            EXPECT_EQ(msgs[0], query_msg("DEALLOCATE " + pgw(kQ1)));
            EXPECT_EQ(cl.ps.size(), 1u);
            EXPECT_FALSE(a.statements.contains(pgw(kQ1)));
        } else {
            EXPECT_EQ(msgs[0], query_msg(c.sql));
            EXPECT_EQ(cl.ps.size(), c.forgets_all ? 0u : 2u);
            EXPECT_TRUE(a.statements.contains(pgw(kQ1)));
        }
    }
}

TEST(PreparedStatements, DeallocateOfAQuotedMixedCaseName) {
    Client c;
    Conn a;
    ASSERT_EQ(c.run(a, {parse_msg("MixedCase", kQ1, kTypes), sync()}), "1Z");
    EXPECT_EQ(c.run(a, {query_msg("DEALLOCATE \"MixedCase\"")}), "CZ");
    EXPECT_EQ(c.sent[0], query_msg("DEALLOCATE " + pgw(kQ1)));
    EXPECT_EQ(c.ps.size(), 0u);
}

TEST(PreparedStatements, DeallocateOnAServerLackingTheStatementInjectsItFirst) {
    // DEALLOCATE of a name the server lacks would fail, so pgwarden makes it exist first,
    // in a Sync of its own whose replies the client never sees.
    Client c;
    Conn a;
    Conn b;
    ASSERT_EQ(c.run(a, {parse_msg("s1", kQ1, kTypes), sync()}), "1Z");
    EXPECT_EQ(c.run(b, {query_msg("DEALLOCATE s1")}), "CZ");
    const std::vector<Msg> want{parse_msg(pgw(kQ1), kQ1, kTypes), sync(),
                                query_msg("DEALLOCATE " + pgw(kQ1))};
    EXPECT_EQ(c.sent, want);
    EXPECT_FALSE(b.statements.contains(pgw(kQ1)));
    EXPECT_FALSE(b.backend.has(pgw(kQ1)));
    EXPECT_TRUE(b.injected.empty());
    EXPECT_EQ(c.ps.size(), 0u);
}

TEST(PreparedStatements, MalformedBodiesAreProtocolViolations) {
    const Msg cases[] = {
        {'P', ""},     {'P', "s1"},     {'P', "s1\0SELECT"s}, {'B', ""},        {'B', "p\0s1"s},
        {'D', ""},     {'D', "Xs1\0"s}, {'D', "Ss1"},         {'D', "Ss1\0x"s}, {'C', ""},
        {'C', "Q\0"s}, {'Q', ""},       {'Q', "SELECT 1"},
    };
    for (const auto& m : cases) {
        SCOPED_TRACE(testing::Message() << m);
        PreparedStatements ps;
        pool::ServerStatements server;
        InjectedResponses injected;
        std::string out;
        const auto st = ps.rewrite(framed(m), server, injected, 0, out);
        ASSERT_FALSE(st);
        EXPECT_EQ(st.error().code, pgwire::sqlstate::kProtocolViolation);
        EXPECT_TRUE(out.empty());  // nothing half-written for the session to send
        EXPECT_TRUE(injected.empty());
    }
}

// What needs no rewrite (the unnamed statement, portals, a statement the client never
// prepared through pgwarden) goes out as the very bytes that came in.
TEST(PreparedStatements, UnchangedMessagesAreForwardedByteForByte) {
    const Msg cases[] = {
        parse_msg("", kQ1, kTypes),
        bind_msg("", ""),
        bind_msg("portal", "",
                 std::string("\0\0\0\1\0\0\0\1"
                             "7\0\0",
                             11)),
        bind_msg("", "never_prepared"),
        describe_msg('P', ""),
        describe_msg('S', ""),
        describe_msg('S', "never_prepared"),
        close_msg('P', "portal"),
    };
    for (const auto& m : cases) {
        SCOPED_TRACE(testing::Message() << m);
        PreparedStatements ps;
        pool::ServerStatements server;
        InjectedResponses injected;
        std::string out = "keep";
        ASSERT_TRUE(ps.rewrite(framed(m), server, injected, 0, out));
        EXPECT_EQ(out, "keep" + framed(m));
    }
}

TEST(PreparedStatements, MessagesWithoutRewriteAreAnInternalError) {
    PreparedStatements ps;
    pool::ServerStatements server;
    InjectedResponses injected;
    std::string out;
    const auto st = ps.rewrite(framed(Msg{'E', "\0\0\0\0\0"s}), server, injected, 0, out);
    ASSERT_FALSE(st);
    EXPECT_EQ(st.error().code, pgwire::sqlstate::kInternalError);
}

// ---- regressions: bugs found by these tests and the fuzzer, now fixed ---------------------

TEST(PreparedStatementsRegression, SharedParseMustNotClobberTheUnnamedStatement) {
    // The client parses an unnamed statement, then a named one the server already holds,
    // then binds the unnamed one. pgwarden's "unnamed Parse" for the shared statement
    // replaces the client's unnamed statement, so the Bind runs the wrong query.
    Client first;
    Client c;
    Conn a;
    ASSERT_EQ(first.run(a, {parse_msg("s1", kQ2, kTypes), sync()}), "1Z");
    EXPECT_EQ(c.run(a, {parse_msg("", kQ1, kTypes), parse_msg("s1", kQ2, kTypes), bind_msg("", ""),
                        sync()}),
              "112Z");
    EXPECT_EQ(a.backend.last_bound(), kQ1) << "the Bind of the unnamed statement ran " << kQ2;
}

TEST(PreparedStatementsRegression, EvictionSkippedByAnErrorMustNotLoseTrackOfTheStatement) {
    // max 1. The eviction Close of s1 is queued behind a failing Bind, so the server skips
    // it and keeps s1 -- but pgwarden removed s1 from its books when it queued the Close.
    // Re-injecting s1 later then fails with 42P05 "prepared statement already exists".
    Client c;
    c.max_per_server = 1;
    Conn a;
    ASSERT_EQ(c.run(a, {parse_msg("s1", kQ1, kTypes), sync()}), "1Z");
    ASSERT_EQ(c.run(a, {bind_msg("", "nope"), parse_msg("s2", kQ2, kTypes), sync()}), "EZ");
    const std::vector<std::string> all{pgw(kQ1), pgw(kQ2)};
    EXPECT_EQ(a.tracked(all), a.backend.names());
    EXPECT_EQ(c.run(a, {bind_msg("", "s1"), sync()}), "2Z");
}

TEST(PreparedStatementsRegression, DeallocatePrepareFoldsCaseLikeDeallocate) {
    // PostgreSQL folds the unquoted name after DEALLOCATE PREPARE just as after DEALLOCATE.
    Client c;
    Conn a;
    ASSERT_EQ(c.run(a, {parse_msg("s1", kQ1, kTypes), sync()}), "1Z");
    EXPECT_EQ(c.run(a, {query_msg("DEALLOCATE PREPARE S1")}), "CZ");
    EXPECT_EQ(c.sent.back(), query_msg("DEALLOCATE " + pgw(kQ1)));
}

TEST(PreparedStatementsRegression, DeallocatePrepareAllForgetsEveryName) {
    // "DEALLOCATE PREPARE ALL" is DEALLOCATE ALL, in any case (PostgreSQL grammar, DeallocateStmt).
    Client c;
    Conn a;
    ASSERT_EQ(c.run(a, {parse_msg("s1", kQ1, kTypes), sync()}), "1Z");
    std::string out;
    ASSERT_TRUE(c.ps.rewrite(framed(query_msg("deallocate prepare all")), a.statements, a.injected,
                             0, out));
    EXPECT_EQ(c.ps.size(), 0u);
}

TEST(PreparedStatementsRegression, QuotedAllIsAStatementName) {
    // DEALLOCATE "ALL" deallocates the statement named ALL, not every statement.
    Client c;
    Conn a;
    ASSERT_EQ(c.run(a, {parse_msg("ALL", kQ1, kTypes), parse_msg("s2", kQ2, kTypes), sync()}),
              "11Z");
    EXPECT_EQ(c.run(a, {query_msg("DEALLOCATE \"ALL\"")}), "CZ");
    EXPECT_EQ(c.sent.back(), query_msg("DEALLOCATE " + pgw(kQ1)));
    EXPECT_EQ(c.ps.size(), 1u);
}

TEST(PreparedStatementsRegression, FailedInjectionBeforeDeallocateStillEndsInReadyForQuery) {
    // DEALLOCATE on a server lacking the statement injects a Parse right before the simple
    // Query. If that Parse fails (here: a table it uses was dropped), PostgreSQL skips to
    // the next Sync -- and there is none, so the Query is ignored and the client waits for
    // a ReadyForQuery that never comes.
    Client c;
    Conn a;
    Conn b;
    ASSERT_EQ(c.run(a, {parse_msg("s1", kQ1, kTypes), sync()}), "1Z");
    b.backend.broken.insert(kQ1);
    const std::string seen = c.run(b, {query_msg("DEALLOCATE s1")});
    EXPECT_EQ(seen.empty() ? '-' : seen.back(), 'Z') << "client saw only \"" << seen << "\"";
}

}  // namespace
}  // namespace pgwarden::proxy
