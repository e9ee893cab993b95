#include "proxy/prepared_statements.hpp"

#include "common/ascii.hpp"
#include "pgwire/frame.hpp"
#include "pgwire/messages.hpp"
#include "pgwire/sqlstate.hpp"

#include <openssl/sha.h>

#include <algorithm>

#include <fmt/format.h>

namespace pgwarden::proxy {

namespace {
constexpr const char* kScratchStatement = "pgw_scratch";
}  // namespace

void InjectedResponses::expect(char response, bool swallow, std::string added,
                               std::string removed) {
    entries_.push_back(Entry{response, swallow, std::move(added), std::move(removed), syncs_sent_});
}

void InjectedResponses::pop_entry() {
    if (++head_ == entries_.size()) {
        entries_.clear();
        head_ = 0;
    }
}

void InjectedResponses::reset() {
    entries_.clear();
    head_ = 0;
    injected_syncs_.clear();
    injected_head_ = 0;
    syncs_sent_ = 0;
    syncs_done_ = 0;
    error_in_sync_ = false;
}

void InjectedResponses::expect_deallocate(std::string removed) {
    entries_.push_back(Entry{'D', false, {}, std::move(removed), syncs_sent_});
}

void InjectedResponses::on_sync_sent(bool injected) {
    ++syncs_sent_;
    if (injected) {
        injected_syncs_.push_back(syncs_sent_);
    }
}

bool InjectedResponses::on_server_message(char type, pool::ServerStatements& server) {
    const bool injected = in_injected_sync();
    if (type == 'E') {
        error_in_sync_ = true;
        return injected;
    }
    if (type == 'Z') {
        ++syncs_done_;
        // Entries still queued before this Sync were skipped by an error: their Parse never
        // ran (the statement is not there), their Close never ran (it still is).
        // A statement whose own Parse was skipped in this batch never existed, so a skipped
        // Close of it later in the batch must not bring it back.
        // Conversely a statement whose skipped Close came first was there all along, and a
        // skipped re-Parse of it later in the batch must not take it away.
        std::vector<std::string> never_created;
        std::vector<std::string> restored;
        auto in = [](const std::vector<std::string>& v, const std::string& name) {
            return std::find(v.begin(), v.end(), name) != v.end();
        };
        auto restore = [&](const std::string& name) {
            if (!name.empty() && !in(never_created, name)) {
                server.add(name);
                restored.push_back(name);
            }
        };
        while (!empty() && entries_[head_].sync < syncs_done_) {
            auto& e = entries_[head_];
            if (e.response == 'D') {
                if (error_in_sync_) {
                    restore(e.removed);
                }
            } else {
                if (!e.added.empty() && !in(restored, e.added)) {
                    server.remove(e.added);
                    never_created.push_back(e.added);
                }
                restore(e.removed);
            }
            pop_entry();
        }
        error_in_sync_ = false;
        if (injected) {
            if (++injected_head_ == injected_syncs_.size()) {
                injected_syncs_.clear();
                injected_head_ = 0;
            }
        }
        return injected;
    }
    if (empty() || entries_[head_].response != type) {
        return injected;  // a reply to a client message pgwarden did not touch
    }
    const bool swallow = entries_[head_].swallow;
    pop_entry();
    return swallow || injected;
}

std::string PreparedStatements::server_name_for(std::string_view query,
                                                std::string_view param_types) {
    std::string input;
    input.reserve(query.size() + 1 + param_types.size());
    input.append(query);
    input.push_back('\0');
    input.append(param_types);
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
    std::string name = "pgw_";
    for (int i = 0; i < 16; ++i) {
        name += fmt::format("{:02x}", digest[i]);
    }
    return name;
}

void PreparedStatements::evict_if_full(pool::ServerStatements& server, InjectedResponses& injected,
                                       size_t max_per_server, std::string& out) {
    if (max_per_server > 0 && server.size() >= max_per_server) {
        const std::string victim = server.oldest();
        server.remove(victim);
        pgwire::encode_target(out, 'C', 'S', victim);
        injected.expect('3', true, {}, victim);
    }
}

void PreparedStatements::ensure_on_server(const Statement& stmt, pool::ServerStatements& server,
                                          InjectedResponses& injected, size_t max_per_server,
                                          std::string& out) {
    if (server.contains(stmt.server_name)) {
        server.touch(stmt.server_name);
        return;
    }
    evict_if_full(server, injected, max_per_server, out);
    pgwire::encode_parse(out, stmt.server_name, stmt.query, stmt.param_types);
    server.add(stmt.server_name);
    injected.expect('1', true, stmt.server_name);
}

namespace {

// Matches "DEALLOCATE [PREPARE] name" (optionally ';'-terminated); returns the name, or
// "ALL". Empty when the query is anything else.
std::string deallocate_target(std::string_view q) {
    auto skip_ws = [&](size_t i) {
        while (i < q.size() && common::ascii_space(q[i])) {
            ++i;
        }
        return i;
    };
    auto word = [&](size_t& i) {
        size_t start = i;
        if (i < q.size() && q[i] == '"') {
            size_t end = q.find('"', i + 1);
            if (end == std::string_view::npos) {
                return std::string();
            }
            i = end + 1;
            return std::string(q.substr(start + 1, end - start - 1));
        }
        while (i < q.size() && (common::ascii_alnum(q[i]) || q[i] == '_')) {
            ++i;
        }
        std::string w(q.substr(start, i - start));
        return w;
    };
    auto lower = [](std::string s) {
        for (auto& c : s) {
            c = common::ascii_lower(c);
        }
        return s;
    };
    // Nearly every query is something else: reject it without copying or folding a word.
    if (!PreparedStatements::may_deallocate(q)) {
        return {};
    }
    constexpr std::string_view kKeyword = "deallocate";
    size_t i = skip_ws(0);
    if (lower(word(i)) != kKeyword) {
        return {};
    }
    i = skip_ws(i);
    bool quoted = i < q.size() && q[i] == '"';
    std::string name = word(i);
    if (!quoted && lower(name) == "prepare") {
        i = skip_ws(i);
        quoted = i < q.size() && q[i] == '"';
        name = word(i);
    }
    if (!quoted) {
        // Unquoted identifiers fold to lower case; only an unquoted ALL means every one.
        name = lower(name) == "all" ? "ALL" : lower(name);
    } else if (name == "ALL") {
        name = "\"ALL\"";  // a statement really named ALL, told apart from the keyword
    }
    i = skip_ws(i);
    if (i < q.size() && q[i] == ';') {
        i = skip_ws(i + 1);
    }
    if (i != q.size() || name.empty()) {
        return {};
    }
    return name;
}

}  // namespace

bool PreparedStatements::may_deallocate(std::string_view query) {
    size_t i = 0;
    while (i < query.size() && common::ascii_space(query[i])) {
        ++i;
    }
    constexpr std::string_view kKeyword = "deallocate";
    return query.size() - i >= kKeyword.size() &&
           common::iequals_lower(query.substr(i, kKeyword.size()), kKeyword);
}

common::Status PreparedStatements::rewrite_query(std::string_view body,
                                                 pool::ServerStatements& server,
                                                 InjectedResponses& injected, size_t max_per_server,
                                                 std::string& out) {
    auto q = pgwire::parse_query(body);
    if (!q) {
        return std::move(q).error();
    }
    const std::string target = deallocate_target(*q);
    if (target.empty() || target == "ALL") {
        if (target == "ALL") {
            by_name_.clear();  // the server's copies go when its CommandComplete is seen
        }
        pgwire::encode_query(out, *q);
        return common::ok_status();
    }
    auto it = by_name_.find(target == "\"ALL\"" ? std::string("ALL") : target);
    if (it == by_name_.end()) {
        pgwire::encode_query(out, *q);
        return common::ok_status();
    }
    // The server statement may be shared with other clients' identical statements; it is
    // deallocated on this connection only and re-injected on demand elsewhere.
    const std::string server_name = it->second.server_name;
    if (!server.contains(server_name)) {
        // Make it exist first, in a Sync of pgwarden's own, so that a failing Parse cannot
        // make the server skip the client's Query (everything after an error is skipped up
        // to the next Sync, and a simple Query would wait for one that never comes).
        evict_if_full(server, injected, max_per_server, out);
        pgwire::encode_parse(out, server_name, it->second.query, it->second.param_types);
        server.add(server_name);
        injected.expect('1', true, server_name);
        pgwire::encode_sync(out);
        injected.on_sync_sent(true);
    }
    server.remove(server_name);
    injected.expect_deallocate(server_name);
    pgwire::encode_query(out, "DEALLOCATE " + server_name);
    by_name_.erase(it);
    return common::ok_status();
}

common::Status PreparedStatements::rewrite_parse(std::string_view frame,
                                                 const pgwire::ParseMessage& m,
                                                 pool::ServerStatements& server,
                                                 InjectedResponses& injected, size_t max_per_server,
                                                 std::string& out) {
    if (m.name.empty()) {
        out.append(frame);
        injected.expect('1', false, {});
        return common::ok_status();
    }
    Statement stmt{server_name_for(m.query, m.rest), std::string(m.query), std::string(m.rest)};
    if (server.contains(stmt.server_name)) {
        // Already there under the shared name. The client still needs its ParseComplete
        // (or its error) in order: parse into a scratch statement of pgwarden's, never
        // the unnamed one, which the client may be using itself.
        server.touch(stmt.server_name);
        pgwire::encode_target(out, 'C', 'S', kScratchStatement);
        injected.expect('3', true, {});
        pgwire::encode_parse(out, kScratchStatement, m.query, m.rest);
        injected.expect('1', false, {});
    } else {
        evict_if_full(server, injected, max_per_server, out);
        pgwire::encode_parse(out, stmt.server_name, m.query, m.rest);
        server.add(stmt.server_name);
        injected.expect('1', false, stmt.server_name);
    }
    by_name_[std::string(m.name)] = std::move(stmt);
    return common::ok_status();
}

common::Status PreparedStatements::rewrite(std::string_view frame, pool::ServerStatements& server,
                                           InjectedResponses& injected, size_t max_per_server,
                                           std::string& out) {
    const char type = frame.empty() ? '\0' : frame[0];
    const std::string_view body =
        frame.size() < pgwire::kHeaderSize ? std::string_view() : frame.substr(pgwire::kHeaderSize);
    switch (type) {
    case 'P': {
        auto m = pgwire::parse_parse(body);
        if (!m) {
            return std::move(m).error();
        }
        return rewrite_parse(frame, *m, server, injected, max_per_server, out);
    }
    case 'B': {
        auto m = pgwire::parse_bind(body);
        if (!m) {
            return std::move(m).error();
        }
        auto it = m->statement.empty() ? by_name_.end() : by_name_.find(std::string(m->statement));
        if (it == by_name_.end()) {
            out.append(frame);
            return common::ok_status();
        }
        ensure_on_server(it->second, server, injected, max_per_server, out);
        pgwire::encode_bind(out, m->portal, it->second.server_name, m->rest);
        return common::ok_status();
    }
    case 'D':
    case 'C': {
        auto m = pgwire::parse_target(body);
        if (!m) {
            return std::move(m).error();
        }
        auto it = (m->kind != 'S' || m->name.empty()) ? by_name_.end()
                                                      : by_name_.find(std::string(m->name));
        if (it == by_name_.end()) {
            out.append(frame);
            if (type == 'C') {
                injected.expect('3', false, {});
            }
            return common::ok_status();
        }
        if (type == 'D') {
            ensure_on_server(it->second, server, injected, max_per_server, out);
            pgwire::encode_target(out, 'D', 'S', it->second.server_name);
            return common::ok_status();
        }
        // Close: forget the client's name but keep the shared server statement cached. The
        // server answers CloseComplete for a name it does not have, which is what the
        // client expects.
        by_name_.erase(it);
        pgwire::encode_target(out, 'C', 'S', m->name);
        injected.expect('3', false, {});
        return common::ok_status();
    }
    case 'Q':
        return rewrite_query(body, server, injected, max_per_server, out);
    default:
        return common::make_error(pgwire::sqlstate::kInternalError,
                                  fmt::format("no rewrite for message '{}'", type));
    }
}

}  // namespace pgwarden::proxy
