// libFuzzer target for prepared-statement rewriting: the input is a program of client
// messages (well-formed ones built from small name and query pools, and raw bodies taken from
// the input) sent by two clients over three server connections, with a simulated backend
// that answers, fails at random, and skips to Sync after an error as PostgreSQL does.
// Invariants (abort when broken):
//  - every rewrite either fails with nothing appended, or appends whole, well-framed
//    Parse/Bind/Describe/Close/Query messages that parse back;
//  - a server's statement cache never exceeds max_per_server;
//  - once every reply up to the last ReadyForQuery is played back, nothing stays expected.
// Define PGWARDEN_FUZZ_STRICT_BOOKKEEPING to also require that pgwarden's idea of which
// statements a server holds matches the simulated server (a known bug breaks it).
#include "pgwire/frame.hpp"
#include "pgwire/messages.hpp"
#include "pool/server_conn.hpp"
#include "proxy/prepared_statements.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace pgwarden;

void check(bool ok) {
    if (!ok) {
        std::abort();
    }
}

// Reads the program; past the end every read yields zero, so any input is a valid program.
class Input {
public:
    Input(const uint8_t* data, size_t size) : data_(data), size_(size) {}
    bool done() const { return pos_ >= size_; }
    uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
    std::string_view bytes(size_t n) {
        n = std::min(n, size_ - std::min(pos_, size_));
        std::string_view s(reinterpret_cast<const char*>(data_) + pos_, n);
        pos_ += n;
        return s;
    }

private:
    const uint8_t* data_;
    size_t size_;
    size_t pos_ = 0;
};

const std::array<std::string_view, 6> kNames{"", "s0", "s1", "s2", "ALL", "S0"};
const std::array<std::string_view, 4> kQueries{"SELECT 1", "SELECT $1::int", "SELECT 2",
                                               "SELECT $1::text"};
const std::array<std::string_view, 3> kTypes{
    std::string_view("\0\0", 2), std::string_view("\0\x01\0\0\0\x17", 6), std::string_view("", 0)};
const std::array<std::string_view, 10> kSql{
    "DEALLOCATE s0",      "deallocate all;",   "DEALLOCATE PREPARE s1",  "DEALLOCATE \"S0\"",
    "DEALLOCATE \"ALL\"", "DEALLOCATE s2 ;",   "DEALLOCATE PREPARE all", "SELECT 1",
    "DEALLOCATE",         "  dEaLlOcAtE  s1  "};

#ifdef PGWARDEN_FUZZ_STRICT_BOOKKEEPING
constexpr bool kStrict = true;
#else
constexpr bool kStrict = false;
#endif

struct Msg {
    char type;
    std::string body;
};

// A simulated backend: real named statements, skip-to-Sync after an error, and failures
// chosen by the program (a Parse with a syntax error, a dropped table...).
class Backend {
public:
    std::string run(const std::vector<Msg>& msgs, Input& in) {
        std::string replies;
        for (const auto& m : msgs) {
            if (skipping_ && m.type != 'S' && (kStrict || m.type != 'Q')) {
                // PostgreSQL ignores even a simple Query until Sync after an extended-protocol
                // error; the lenient mode lets a Query end the skip so a known bug (an
                // injected Parse that fails before a DEALLOCATE leaves the client without
                // ReadyForQuery) does not stop the fuzzer from looking for others.
                continue;
            }
            const bool fail = (in.byte() & 7) == 0;
            replies += reply(m, fail);
        }
        return replies;
    }
    const std::map<std::string, bool>& statements() const { return statements_; }

private:
    std::string error() {
        skipping_ = true;
        return "E";
    }
    std::string reply(const Msg& m, bool fail) {
        switch (m.type) {
        case 'P': {
            auto p = pgwire::parse_parse(m.body);
            check(p.ok());
            if (fail || (!p->name.empty() && statements_.count(std::string(p->name)) != 0)) {
                return error();
            }
            if (!p->name.empty()) {
                statements_[std::string(p->name)] = true;
            }
            return "1";
        }
        case 'B': {
            auto b = pgwire::parse_bind(m.body);
            check(b.ok());
            if (fail ||
                (!b->statement.empty() && statements_.count(std::string(b->statement)) == 0)) {
                return error();
            }
            return "2";
        }
        case 'D':
            return fail ? error() : "n";
        case 'C': {
            auto t = pgwire::parse_target(m.body);
            check(t.ok());
            if (t->kind == 'S') {
                statements_.erase(std::string(t->name));
            }
            return "3";
        }
        case 'Q': {
            skipping_ = false;
            auto q = pgwire::parse_query(m.body);
            check(q.ok());
            if (q->starts_with("DEALLOCATE pgw_")) {
                if (statements_.erase(std::string(q->substr(11))) == 0) {
                    return "EZ";
                }
            } else if (q->starts_with("deallocate all") || q->starts_with("DEALLOCATE ALL")) {
                statements_.clear();
            }
            return fail ? "EZ" : "CZ";
        }
        case 'S':
            skipping_ = false;
            return "Z";
        default:
            return fail ? error() : "C";
        }
    }

    std::map<std::string, bool> statements_;
    bool skipping_ = false;
};

struct Conn {
    pool::ServerStatements statements;
    proxy::InjectedResponses injected;
    Backend backend;
    std::vector<Msg> pending;  // sent, not yet answered
};

// Splits rewrite output into messages, aborting unless it is whole, well-framed messages of
// the kinds a rewrite may produce, each of which parses back.
void split_checked(std::string_view out, std::vector<Msg>& msgs) {
    while (!out.empty()) {
        const auto h = pgwire::decode_header(
            std::span(reinterpret_cast<const uint8_t*>(out.data()), out.size()), 1u << 30);
        check(h.status == pgwire::DecodeStatus::Frame && h.length <= out.size());
        const std::string_view b = out.substr(pgwire::kHeaderSize, h.length - pgwire::kHeaderSize);
        switch (h.type) {
        case 'P':
            check(pgwire::parse_parse(b).ok());
            break;
        case 'B':
            check(pgwire::parse_bind(b).ok());
            break;
        case 'D':
        case 'C':
            check(pgwire::parse_target(b).ok());
            break;
        case 'Q':
            check(pgwire::parse_query(b).ok());
            break;
        case 'S':
            // pgwarden's own Sync, closing an injected Parse before a DEALLOCATE.
            check(b.empty());
            break;
        default:
            check(false);
        }
        msgs.push_back(Msg{h.type, std::string(b)});
        out.remove_prefix(h.length);
    }
}

std::string encoded_body(char type, Input& in) {
    std::string out;
    auto name = [&] { return kNames[in.byte() % kNames.size()]; };
    switch (type) {
    case 'P':
        pgwire::encode_parse(out, name(), kQueries[in.byte() % kQueries.size()],
                             kTypes[in.byte() % kTypes.size()]);
        break;
    case 'B':
        pgwire::encode_bind(out, name(), name(), std::string_view("\0\0\0\0\0\0", 6));
        break;
    case 'D':
    case 'C':
        pgwire::encode_target(out, type, in.byte() % 2 ? 'S' : 'P', name());
        break;
    default:
        pgwire::encode_query(out, kSql[in.byte() % kSql.size()]);
        break;
    }
    return out.substr(pgwire::kHeaderSize);
}

// Plays the backend's replies for everything pending back through InjectedResponses.
void flush(Conn& c, Input& in) {
    const std::string replies = c.backend.run(c.pending, in);
    c.pending.clear();
    for (char r : replies) {
        // The same replies the session passes on (ClientSession::process_server).
        if (r == '1' || r == '3' || r == 'E' || r == 'Z') {
            c.injected.on_server_message(r, c.statements);
        }
    }
    check(c.injected.empty());
#ifdef PGWARDEN_FUZZ_STRICT_BOOKKEEPING
    for (const auto& [name, present] : c.backend.statements()) {
        // pgw_scratch is pgwarden's throw-away statement, deliberately not tracked.
        if (name.starts_with("pgw_") && name != "pgw_scratch") {
            check(c.statements.contains(name));
        }
    }
#endif
}

}  // namespace

int pgwarden_fuzz_prepared_statements(const uint8_t* data, size_t size) {
    Input in(data, size);
    const size_t max_per_server = in.byte() % 4;  // 0 = unbounded
    std::array<proxy::PreparedStatements, 2> clients;
    std::array<Conn, 3> conns;
    size_t client = 0;
    size_t conn = 0;
    for (int steps = 0; !in.done() && steps < 256; ++steps) {
        const uint8_t op = in.byte();
        Conn& c = conns[conn];
        switch (op % 8) {
        case 0:  // Sync: the transaction ends, the lease may move
            c.pending.push_back(Msg{'S', ""});
            c.injected.on_sync_sent();
            flush(c, in);
            client = in.byte() % clients.size();
            conn = in.byte() % conns.size();
            continue;
        case 1:  // an Execute, forwarded untouched
            c.pending.push_back(Msg{'E', std::string("\0\0\0\0\0", 5)});
            continue;
        default:
            break;
        }
        static constexpr char kTypesByOp[] = {'P', 'B', 'D', 'C', 'Q', 'P'};
        const char type = kTypesByOp[(op % 8) - 2];
        if (type == 'Q' && !c.pending.empty()) {
            c.pending.push_back(Msg{'S', ""});
            c.injected.on_sync_sent();
            flush(c, in);
        }
        // One time in eight the body is raw input bytes, so the parsers see anything.
        const std::string b =
            (op & 0xe0) == 0xe0 ? std::string(in.bytes(in.byte() % 32)) : encoded_body(type, in);
        std::string frame(1, type);
        const auto len = static_cast<uint32_t>(b.size() + 4);
        for (int shift : {24, 16, 8, 0}) {
            frame.push_back(static_cast<char>(len >> shift));
        }
        frame += b;
        std::string out = "keep";  // a rewrite must append, never replace
        const auto st =
            clients[client].rewrite(frame, c.statements, c.injected, max_per_server, out);
        check(out.substr(0, 4) == "keep");
        if (!st) {
            check(out.size() == 4 && !st.error().code.empty());
            continue;
        }
        split_checked(std::string_view(out).substr(4), c.pending);
        check(max_per_server == 0 || c.statements.size() <= max_per_server);
        if (type == 'Q') {
            // A simple Query is its own Sync. (A well-behaved client ends an extended batch
            // with Sync before a Query; only pgwarden's own injections may precede it here.)
            c.injected.on_sync_sent();
            flush(c, in);
        }
    }
    for (auto& c : conns) {
        c.pending.push_back(Msg{'S', ""});
        c.injected.on_sync_sent();
        flush(c, in);
    }
    return 0;
}

#ifndef PGWARDEN_FUZZ_NO_MAIN
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    return pgwarden_fuzz_prepared_statements(data, size);
}
#endif
