#pragma once

#include "common/result.hpp"
#include "net/asio.hpp"
#include "pgwire/messages.hpp"
#include "pool/pool.hpp"
#include "proxy/admin_commands.hpp"
#include "proxy/client_io.hpp"
#include "proxy/close_reason.hpp"
#include "proxy/prepared_statements.hpp"
#include "proxy/runtime.hpp"
#include "proxy/session_info.hpp"
#include "proxy/session_slots.hpp"

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace pgwarden::proxy {

// What the governor needs to know about a session, taken under the session's lock.
struct SessionActivity {
    bool attached = false;      // holds a server connection
    uint64_t checkout_seq = 0;  // bumped at every checkout
    pool::Clock::time_point checkout_since{};
    pool::Clock::time_point query_since{};  // a request awaits its reply; epoch when none
    uint64_t query_seq = 0;                 // bumped at every request
    pool::Clock::time_point idle_since{};   // the last reply (ReadyForQuery) arrived
    char transaction_state = 'I';
    std::string application_name;
    std::string last_statement;  // truncated, as sent
    std::optional<CancelTarget> server;
};

// What the relay awaits before its next step (ClientSession::main_loop drives it).
enum class RelayAwait : uint8_t {
    None,           // step again: a complete client message is buffered
    Released,       // the transaction ended and the server connection went back
    ServerRead,     // only the server can make progress
    EitherRead,     // the client may have to send more too
    ServerWrite,    // to_server_ did not go out whole
    ClientWrite,    // io_.out did not go out whole
    Fatal,          // send relay_error_, then end with relay_close_
    Close,          // end with relay_close_
    LeakTerminate,  // terminate_ is set: reclaim the server, say why, end
};

// One client connection: startup, authentication, then the relay loop that borrows a server
// connection per transaction (or per session). Runs entirely on one event loop (`worker`);
// only cancel_target() and request_close() are called from other threads.
class ClientSession : public std::enable_shared_from_this<ClientSession> {
public:
    ClientSession(Runtime& runtime, int worker, net::StreamSocket socket, std::string peer);
    ~ClientSession();

    // The session's coroutine; the shared_ptr keeps it alive until it returns.
    static net::awaitable<void> run(std::shared_ptr<ClientSession> self);

    std::optional<CancelTarget> cancel_target();
    SessionActivity activity();
    // Ends the session for a suspected leak: rolls its transaction back, returns the server
    // connection clean and sends the client `message` as a FATAL error. Thread-safe.
    void request_terminate(std::string sqlstate, std::string message);
    // Set before the session is registered with the SessionRegistry, constant afterwards.
    const config::WorkloadClass& workload_class() const { return *class_; }
    const std::string& peer() const { return peer_; }
    const std::string& user() const { return user_; }
    const std::string& database() const { return database_; }
    // Asks an idle session to close (SIGTERM drain); a session inside a transaction closes
    // once it ends. Thread-safe: posts to the session's event loop.
    void request_drain();
    // Admin KILL: closes the client (and the server it holds) at once. Thread-safe: posts.
    void request_kill();
    uint64_t id() const { return id_; }
    // What SHOW CLIENTS and the dashboard show (last statement masked as the class says).
    // Thread-safe.
    SessionInfo info();

private:
    net::awaitable<CloseReason> serve();
    // The login (login.cpp), then the session's own registration and reply; nothing when
    // the client is logged in (the admin console's whole session runs inside).
    net::awaitable<std::optional<CloseReason>> login();
    net::awaitable<CloseReason> main_loop();
    // The outcome of a waiting checkout that began at `asked`.
    common::Status attach_result(common::Result<pool::Lease> lease, pool::Clock::time_point asked);
    // The lease is ours: visible state, relay state and the session's parameters.
    void attached(pool::Lease lease, pool::Clock::time_point now, pool::Clock::duration waited);
    void detach(pool::Clock::time_point now);
    // Answers the client's pending request (up to its Query or Sync) with an ERROR and
    // ReadyForQuery, keeping the connection; returns a reason when the session must end.
    net::awaitable<std::optional<CloseReason>> fail_request(const common::Error& error);
    // The relay while attached, as steps that return what main_loop must await next.
    // relay_forward: client bytes to the server; relay_reply: once they are out, server
    // bytes to the client; relay_next(sent): once those are out (or failed), what next.
    RelayAwait relay_forward();
    RelayAwait relay_reply();
    RelayAwait relay_next(bool sent);
    RelayAwait relay_server_read(const net::error_code& ec, size_t n);
    RelayAwait relay_server_write_failed(const net::error_code& ec);
    net::awaitable<RelayAwait> relay_read_either();  // rare: COPY IN, open batches
    // The relay ends the session: with relay_error_ sent to the client first (Fatal), or not.
    RelayAwait relay_fail(std::string_view code, std::string message, CloseReason reason);
    RelayAwait relay_close(CloseReason reason);
    // Session pooling (or server_reset_query_always): runs server_reset_query before the
    // connection goes back, and discards it when the reset does not end cleanly.
    net::awaitable<void> reset_server();
    // A terminate request arrived: reclaim the server connection and say goodbye.
    net::awaitable<CloseReason> terminate_for_leak();
    // Cancels the running request and rolls back, leaving the server connection idle and
    // clean; marks it dirty when that cannot be done in time.
    net::awaitable<void> reclaim_server();
    // Bookkeeping for the governor (cheap: one uncontended lock).
    void note_request(std::string_view sql, pool::Clock::time_point now);
    void note_ready(char status, pool::Clock::time_point now);
    // The wanted parameters or the server's changed: bumps params_gen_ and forgets which
    // shared set the held server connection matches.
    void params_changed();

    // Parses buffered client bytes into server-bound bytes; sets `terminate` on 'X'.
    common::Status process_client(bool& terminate);
    // Parses buffered server bytes into client-bound bytes, tracking transaction state.
    // `direct_ok`: when every byte is forwarded unchanged and io_.out is empty, leave them
    // in the server buffer (server_direct_) for write_server_direct instead of copying them.
    common::Status process_server(bool direct_ok = false);
    // Writes the server_direct_ bytes to the client without blocking and drops them from the
    // server buffer; like flush_client_now, false when a rest (now in io_.out) must follow.
    bool write_server_direct(bool& ok);
    void count_bytes_sent(size_t n);
    bool transaction_done() const;
    // True when the buffered client bytes start a request worth borrowing a server for.
    bool client_request_ready() const;
    net::awaitable<void> send_fatal(std::string_view sqlstate, std::string_view message);
    net::awaitable<bool> flush_client();
    // flush_client's first step, without a coroutine: true when io_.out went out whole (or
    // failed: `ok` false); false when the rest needs flush_client.
    bool flush_client_now(bool& ok);

    // Observability hooks (session_metrics.cpp): each is a few relaxed atomics, plus one
    // uncontended lock where the visible session state changes.
    void observe_login();
    void observe_logout();
    void observe_waiting(pool::Clock::time_point now);
    // Granted a server connection (lease_) after waiting `waited`: visible state, cancel
    // target and the governor's checkout facts in one step.
    void observe_attached(pool::Clock::time_point now, pool::Clock::duration waited);
    // Let go of the server connection (or never got one).
    void observe_detached(pool::Clock::time_point now);
    // Before a request message is counted in pending_rfq_/batch_open_: starts the query and
    // transaction clocks, counts Query/Execute. (note_request keeps the statement text.)
    void observe_request(char type, pool::Clock::time_point now);
    void observe_ready(char status, pool::Clock::time_point now);  // a client-bound ReadyForQuery
    void observe_server_error(std::string_view body);
    void observe_error_sent(std::string_view sqlstate);
    void observe_timeout(observe::TimeoutKind kind);
    void observe_bytes_in(size_t n);
    // PAUSE: waits (no deadline) until the database is resumed, the session killed or
    // pgwarden drains.
    net::awaitable<void> wait_while_paused();
    // The admin console (admin_console.cpp): the virtual databases pgbouncer and pgwarden.
    net::awaitable<CloseReason> admin_session(AdminRole role, const std::string& application_name);

    // What every transaction touches comes first, together: on a machine shared with
    // PostgreSQL and the clients each session's state is cold in the cache when its next
    // request arrives, and every cache line of it a transaction touches is a miss.
    Runtime& rt_;
    observe::ClassMetrics* metrics_ = nullptr;
    ClientIo io_;
    std::string to_server_;
    pool::Lease lease_;
    std::shared_ptr<pool::Waiter> waiter_;  // reused by every checkout that has to queue

    // Relay state while attached.
    int pending_rfq_ = 0;      // Syncs/Queries sent whose ReadyForQuery is still due
    bool batch_open_ = false;  // extended-protocol messages sent since the last Sync
    bool copy_in_ = false;     // the server waits for CopyData from the client
    char txn_status_ = 'I';
    bool server_stream_drop_ = false;
    uint32_t client_stream_left_ = 0;  // bytes of a client message still to forward
    uint32_t server_stream_left_ = 0;  // bytes of a server message still to forward (or drop)
    size_t server_direct_ = 0;         // bytes at the front of lease_->in to write as they are
    // The settings the relay reads per message, copied from settings_ and cfg_ at login.
    config::PoolMode pool_mode_ = config::PoolMode::Transaction;
    bool killed_ = false;
    bool txn_running_ = false;
    bool query_running_ = false;
    size_t max_prepared_ = 0;
    uint64_t max_packet_ = 0;
    uint64_t params_gen_ = 1;                    // bumped whenever wanted_params_ changes
    uint64_t param_set_gen_ = 0;                 // the params_gen_ param_set_ was made for
    std::shared_ptr<const ParamSet> param_set_;  // wanted_params_/wanted_extra_, shared
    pool::Clock::time_point txn_start_{};
    pool::Clock::time_point query_start_{};
    pool::Clock::time_point ready_at_{};            // when the last ReadyForQuery was processed
    const config::WorkloadClass* class_ = nullptr;  // points into cfg_
    size_t class_index_ = 0;                        // in pool_
    std::unique_ptr<std::pair<std::string, std::string>> terminate_;  // sqlstate, message
    std::shared_ptr<pool::Pool> pool_;
    int worker_;
    InjectedResponses injected_;

    // Set at login, read rarely.
    std::string peer_;
    uint64_t id_;
    std::shared_ptr<const config::Config> cfg_;
    pool::PoolSettings settings_;
    std::string database_;
    std::string user_;
    std::map<std::string, std::string> wanted_params_;  // tracked parameters the client wants
    std::map<std::string, std::string> wanted_extra_;   // other startup parameters
    int32_t cancel_pid_ = 0;
    ClientSlot client_slot_;  // counted in max_client_conn
    ClassSeat class_seat_;    // counted in the class's max_client_conn
    PoolClient pool_client_;  // counted in the pool's client count
    PreparedStatements statements_;
    common::Error relay_error_;  // with RelayAwait::Fatal
    CloseReason relay_close_ = CloseReason::ClientGone;

    // What other threads read (the governor, SHOW CLIENTS, the dashboard, cancel requests),
    // under one lock: each step of a transaction (wait, attach, request, reply, detach)
    // updates it in one uncontended lock, with the clock read once for the step. The fields
    // a transaction writes come first, together (two cache lines); SessionInfo,
    // SessionActivity and CancelTarget are assembled from them by the (rare) reader.
    struct Shared {
        ClientState state = ClientState::Login;
        char transaction_state = 'I';
        bool attached = false;  // holds a server connection (the fields below describe it)
        int32_t server_pid = 0;
        int32_t server_key = 0;
        uint64_t server_id = 0;
        uint64_t checkout_seq = 0;  // bumped at every checkout
        uint64_t query_seq = 0;     // bumped at every request
        pool::Clock::time_point state_since{};
        pool::Clock::time_point checkout_since{};
        pool::Clock::time_point query_since{};  // a request awaits its reply; epoch when none
        pool::Clock::time_point idle_since{};   // the last reply (ReadyForQuery) arrived
        std::string last_statement;             // truncated, as sent
        // Compared before it is copied (every connection of a pool has the same), so a
        // checkout writes no string.
        std::string server_addr;
        // The cancel target's server: the pool's endpoint, set at login.
        std::string server_host;
        uint16_t server_port = 0;
        std::string application_name;  // the current one, SET included
        SessionInfo info;              // identity, set at login
    };
    SessionActivity activity_locked() const;  // under shared_lock()
    template <typename F>
    void update_shared(F&& f) {
        auto lock = shared_lock();
        f(shared_);
    }
    // Other threads read shared_ only when there are several event loops. With one, every
    // reader (governor, admin console, dashboard, metrics, a CancelRequest's session) runs on
    // this session's thread, and the lock (five round trips per transaction) is skipped.
    std::unique_lock<std::mutex> shared_lock() {
        return rt_.workers() > 1 ? std::unique_lock(shared_mu_) : std::unique_lock<std::mutex>();
    }
    std::mutex shared_mu_;
    Shared shared_;
};

}  // namespace pgwarden::proxy
