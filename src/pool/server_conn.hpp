#pragma once

#include "net/asio.hpp"
#include "pgwire/scram.hpp"

#include <chrono>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace pgwarden::pool {

using Clock = std::chrono::steady_clock;

// The prepared statements one server connection holds, under pgwarden's own names, with
// least-recently-used eviction so the per-connection cache stays bounded
// (max_prepared_statements).
class ServerStatements {
public:
    bool contains(const std::string& name) const { return index_.count(name) != 0; }
    void touch(const std::string& name);
    void add(const std::string& name);
    void remove(const std::string& name);
    void clear();
    size_t size() const { return index_.size(); }
    // The least recently used name, for eviction; empty when there is none.
    std::string oldest() const { return lru_.empty() ? std::string() : lru_.back(); }

private:
    std::list<std::string> lru_;  // front = most recent
    std::unordered_map<std::string, std::list<std::string>::iterator> index_;
};

// What pgwarden needs to log in to PostgreSQL as one user.
struct ServerCredentials {
    std::string user;
    std::string password;  // plaintext or "md5..." secret; empty when using SCRAM keys
    std::optional<pgwire::scram::Key> scram_client_key;
    std::optional<pgwire::scram::Key> scram_server_key;
};

struct ServerEndpoint {
    std::string host;
    uint16_t port = 5432;
    std::string dbname;
};

// Session parameters a client wants on whichever server connection it lands on: the tracked
// ones (reported by the server) and the other startup parameters.
struct ParamSet {
    std::map<std::string, std::string> tracked;
    std::map<std::string, std::string> extra;
    bool operator==(const ParamSet&) const = default;
};

// One logged-in server connection. Owned by exactly one place at a time: a pool's idle list
// or a Lease (move-only unique_ptr). Used only from the executor its socket is bound to.
struct ServerConn {
    explicit ServerConn(const net::Executor& exec) : socket(exec) {}

    // What a transaction touches first, together (see ClientSession's member order).
    net::StreamSocket socket;
    uint64_t id = 0;
    int worker = 0;  // index of the event loop the socket is registered with
    int32_t backend_pid = 0;
    int32_t backend_key = 0;
    net::Bytes in;  // unread bytes from the server; empty when idle
    // The parameter set (shared by the sessions that want it) this connection was last made
    // to match; null when its parameters changed since.
    std::shared_ptr<const ParamSet> params_synced;
    Clock::time_point created = Clock::now();
    Clock::time_point last_used = Clock::now();
    std::string remote;                         // "host:port" for logs
    std::map<std::string, std::string> params;  // latest ParameterStatus values
    // Startup parameters PostgreSQL does not report back (e.g. extra_float_digits) that
    // pgwarden SET on this connection for some client, so the next client gets them RESET.
    std::map<std::string, std::string> extra_params;
    ServerStatements statements;
};

// Reads one whole message (type, body) from a server connection, with a deadline.
net::awaitable<common::Result<std::pair<char, std::string>>> read_server_message(
    ServerConn& conn, Clock::time_point deadline);

// Connects and logs in (startup, authentication, collects ParameterStatus and
// BackendKeyData up to ReadyForQuery). Runs on the calling coroutine's executor.
// Errors carry a SQLSTATE: 08006 for connection failures, the server's own code for a
// server-side refusal (e.g. 28P01, 3D000, 53300), 08P01 for a confused stream.
net::awaitable<common::Result<std::unique_ptr<ServerConn>>> connect_server(
    ServerEndpoint endpoint, ServerCredentials credentials,
    std::vector<std::pair<std::string, std::string>> startup_params,
    std::chrono::milliseconds timeout);

}  // namespace pgwarden::pool
