#pragma once

#include "common/result.hpp"
#include "pgwire/messages.hpp"
#include "pool/server_conn.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

// Named prepared statements in transaction pooling: a client's statements must keep working
// when its next transaction lands on another server connection. Pure code, no I/O.
//
// Each client statement gets a server-side name derived from a hash of its Parse message
// (query text and parameter types), so identical statements from different clients share
// one server-side statement. A server connection lacking it gets a Parse injected before
// the Bind or Describe that needs it; the ParseComplete of an injected Parse is swallowed.
// A client Parse of a statement the server already holds is sent as an unnamed Parse so
// the client still receives its ParseComplete in order without pgwarden forging replies.
namespace pgwarden::proxy {

// Server responses pgwarden caused itself and must hide, in the order the server sends them.
class InjectedResponses {
public:
    // A Parse ('1' expected) or Close ('3' expected) was sent; `swallow` when pgwarden, not
    // the client, asked for it. `added` names a statement optimistically recorded on the
    // server, forgotten again if the Parse never completes; `removed` one optimistically
    // forgotten, recorded again if the Close never runs (an error skipped it).
    void expect(char response, bool swallow, std::string added, std::string removed = {});
    // A statement forgotten because of a DEALLOCATE in the upcoming Query: recorded again if
    // that Query fails.
    void expect_deallocate(std::string removed);
    // A Sync or Query was sent. `injected`: pgwarden's own (parameter sync, an injected
    // Parse's Sync); everything the server answers to it is hidden from the client.
    void on_sync_sent(bool injected = false);
    // True while the server is answering one of pgwarden's own Syncs/Queries. Inline: the
    // relay asks for every server message.
    bool in_injected_sync() const {
        return injected_pending() && injected_syncs_[injected_head_] == syncs_done_ + 1;
    }
    // True until the server has answered all of pgwarden's own Syncs/Queries.
    bool injected_pending() const { return injected_head_ < injected_syncs_.size(); }
    // Called for each ParseComplete ('1'), CloseComplete ('3'), ErrorResponse ('E') and
    // ReadyForQuery ('Z') from the server. Returns true when the message must not reach the
    // client. An error-aborted batch leaves entries behind; ReadyForQuery settles them.
    bool on_server_message(char type, pool::ServerStatements& server);
    bool empty() const { return head_ == entries_.size(); }
    // Forgets everything (a new server connection); keeps the containers' memory.
    void reset();

private:
    struct Entry {
        char response;  // '1', '3', or 'D' (a DEALLOCATE, settled at its ReadyForQuery)
        bool swallow;
        std::string added;
        std::string removed;
        uint64_t sync;  // the Sync/Query number this entry precedes
    };
    // FIFO queues as vectors with a read position: an empty std::deque already allocates,
    // and every idle client session owns one of these.
    std::vector<Entry> entries_;
    size_t head_ = 0;
    std::vector<uint64_t> injected_syncs_;  // numbers of pgwarden's own Syncs, ascending
    size_t injected_head_ = 0;
    void pop_entry();
    uint64_t syncs_sent_ = 0;
    uint64_t syncs_done_ = 0;
    bool error_in_sync_ = false;
};

class PreparedStatements {
public:
    // Whether a simple Query's text may be a DEALLOCATE, the only Query rewrite() changes:
    // any other goes to the server byte for byte. Cheap: the first word only.
    static bool may_deallocate(std::string_view query);
    // Rewrites one complete, framed client message ('P', 'B', 'D', 'C' or 'Q': type byte,
    // length, body) for `server`, appending what to send to `out`; a message that needs no
    // change is appended as it came. Errors are protocol violations.
    common::Status rewrite(std::string_view frame, pool::ServerStatements& server,
                           InjectedResponses& injected, size_t max_per_server, std::string& out);
    // rewrite() of a Parse the caller has already parsed from `frame`.
    common::Status rewrite_parse(std::string_view frame, const pgwire::ParseMessage& parse,
                                 pool::ServerStatements& server, InjectedResponses& injected,
                                 size_t max_per_server, std::string& out);
    size_t size() const { return by_name_.size(); }

    // pgwarden's server-side name for a Parse body: "pgw_" + 32 hex digits of its SHA-256.
    static std::string server_name_for(std::string_view query, std::string_view param_types);

private:
    struct Statement {
        std::string server_name;
        std::string query;
        std::string param_types;  // the Parse message's tail, verbatim
    };
    // Makes sure `server` holds `stmt`, injecting a swallowed Parse (and evicting the least
    // recently used statement with a swallowed Close when the cache is full).
    void evict_if_full(pool::ServerStatements& server, InjectedResponses& injected,
                       size_t max_per_server, std::string& out);
    void ensure_on_server(const Statement& stmt, pool::ServerStatements& server,
                          InjectedResponses& injected, size_t max_per_server, std::string& out);
    common::Status rewrite_query(std::string_view body, pool::ServerStatements& server,
                                 InjectedResponses& injected, size_t max_per_server,
                                 std::string& out);

    std::unordered_map<std::string, Statement> by_name_;
};

}  // namespace pgwarden::proxy
