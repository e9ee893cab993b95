// The relay half of ClientSession: borrowing a server connection per transaction (or per
// session) and forwarding bytes both ways while tracking only what pooling needs —
// ReadyForQuery state, prepared-statement names, reported parameters.
#include "net/io.hpp"
#include "pgwire/frame.hpp"
#include "pgwire/messages.hpp"
#include "pgwire/sqlstate.hpp"
#include "proxy/client_session.hpp"
#include "proxy/session_params.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstring>

namespace pgwarden::proxy {

namespace sqlstate = pgwire::sqlstate;
using Clock = std::chrono::steady_clock;
using namespace boost::asio::experimental::awaitable_operators;

namespace {

constexpr size_t kReadChunk = size_t{16} * 1024;
// An idle session waits with this much buffer: the read buffer is held for the whole wait, so
// its size is most of what 10,000 idle clients cost. Requests larger than this are drained at
// once with kReadChunk reads; a buffer grown past kIdleBufferLimit is given back at idle.
constexpr size_t kIdleReadChunk = 512;
constexpr size_t kIdleBufferLimit = size_t{4} * 1024;
// Leak reports show this much of the last statement.
constexpr size_t kMaxStatementText = 1024;

std::string_view view(const net::Bytes& buf, size_t pos, size_t len) {
    return {reinterpret_cast<const char*>(buf.data()) + pos, len};
}

}  // namespace

bool ClientSession::transaction_done() const {
    return pending_rfq_ == 0 && !injected_.injected_pending() && !batch_open_ && !copy_in_ &&
           client_stream_left_ == 0 && server_stream_left_ == 0 && txn_status_ == 'I';
}

void ClientSession::note_request(std::string_view sql, Clock::time_point now) {
    update_shared([&](Shared& sh) {
        if (!sql.empty()) {
            sh.last_statement.assign(sql.substr(0, kMaxStatementText));
        }
        if (sh.query_since == Clock::time_point{}) {
            sh.query_since = now;
            ++sh.query_seq;
        }
    });
}

void ClientSession::note_ready(char status, Clock::time_point now) {
    update_shared([&](Shared& sh) {
        sh.query_since = {};
        sh.idle_since = now;
        sh.transaction_state = status;
    });
}

common::Status ClientSession::attach_result(common::Result<pool::Lease> lease,
                                            Clock::time_point asked) {
    const auto now = Clock::now();
    if (!lease) {
        observe_detached(now);
        return std::move(lease).error();
    }
    attached(std::move(*lease), now, now - asked);
    return common::ok_status();
}

void ClientSession::attached(pool::Lease lease, Clock::time_point now, Clock::duration waited) {
    lease_ = std::move(lease);
    observe_attached(now, waited);
    pending_rfq_ = 0;
    batch_open_ = false;
    copy_in_ = false;
    txn_status_ = 'I';
    server_stream_left_ = 0;
    injected_.reset();
    // Carry the client's session parameters over to this server connection, pipelined in
    // front of the client's own messages; the replies are swallowed.
    if (param_set_gen_ != params_gen_) {
        param_set_ = rt_.param_sets.intern(ParamSet{wanted_params_, wanted_extra_});
        param_set_gen_ = params_gen_;
    }
    if (lease_->params_synced != param_set_) {
        std::string sync =
            sync_query(wanted_params_, lease_->params, wanted_extra_, lease_->extra_params);
        if (!sync.empty()) {
            pgwire::encode_query(to_server_, sync);
            injected_.on_sync_sent(true);
        }
        lease_->params_synced = param_set_;
    }
}

void ClientSession::params_changed() {
    ++params_gen_;
    if (lease_) {
        lease_->params_synced.reset();  // its parameters no longer match any shared set
    }
}

void ClientSession::detach(Clock::time_point now) {
    const bool had = static_cast<bool>(lease_);
    lease_.reset();
    observe_detached(now);
    if (had && rt_.pause.any()) {
        rt_.changes.notify_all();  // an admin PAUSE may be waiting for this release
    }
}

net::awaitable<CloseReason> ClientSession::main_loop() {
    const auto& s = cfg_->settings;
    for (;;) {
        if (rt_.draining.load() && !lease_) {
            co_await send_fatal(sqlstate::kAdminShutdown, "pgwarden is shutting down");
            co_return CloseReason::Shutdown;
        }
        if (!lease_ && !client_request_ready()) {
            if (io_.pos == io_.in.size()) {
                io_.in.clear();
                io_.pos = 0;
                if (io_.in.capacity() > kIdleBufferLimit) {
                    net::Bytes().swap(io_.in);
                }
            }
            const size_t before = io_.in.size();
            net::error_code ec;
            if (s.client_idle_timeout.count() > 0) {
                ec = co_await net::read_some_until(io_.socket, io_.in, kIdleReadChunk,
                                                   Clock::now() + s.client_idle_timeout);
            } else {
                // read_some_into, inlined: one coroutine frame less per transaction.
                auto [rec, n] = co_await io_.socket.async_read_some(
                    net::read_space(io_.in, kIdleReadChunk), net::as_result_direct);
                ec = net::read_done(io_.in, kIdleReadChunk, rec, n);
            }
            if (!ec && io_.in.size() - before == kIdleReadChunk) {
                net::read_available(io_.socket, io_.in, kReadChunk, ec);  // a large request
            }
            if (ec) {
                if (ec == net::asio::error::operation_aborted &&
                    (rt_.draining.load() || terminate_)) {
                    terminate_.reset();  // the suspected leak ended before the request landed
                    continue;
                }
                if (ec == net::asio::error::timed_out) {
                    observe_timeout(observe::TimeoutKind::ClientIdle);
                    co_await send_fatal(sqlstate::kIdleSessionTimeout,
                                        "client_idle_timeout: closing idle connection");
                    co_return CloseReason::IdleTimeout;
                }
                co_return CloseReason::ClientGone;
            }
            observe_bytes_in(io_.in.size() - before);
            continue;
        }
        // A lone Terminate needs no server.
        if (!lease_ && io_.in.size() - io_.pos >= 5 && io_.in[io_.pos] == 'X') {
            co_return CloseReason::ClientTerminate;
        }
        if (!lease_) {
            // The checkout's first step inline: a coroutine call costs a frame even when it
            // does not suspend. One locked step leases an idle connection (the common case)
            // or queues this session; only then does PoolManager::finish_checkout wait.
            using Step = pool::PoolManager::CheckoutStep;
            const auto exec = io_.socket.get_executor();
            std::optional<pool::Lease> got;
            auto asked = Clock::now();
            auto step = Step::Busy;
            const bool begun = !killed_ && !rt_.pause.paused(database_);
            if (begun) {
                step = rt_.pools.begin_checkout(pool_, class_index_, worker_, exec, asked, waiter_,
                                                got);
            }
            common::Status outcome = common::ok_status();
            if (step == Step::Leased) {
                attached(std::move(*got), asked, {});
            } else if (!begun && rt_.pause.paused(database_)) {
                co_await wait_while_paused();
                continue;  // resumed (or killed, or draining): look again from the top
            } else if (!begun) {
                outcome =
                    common::make_error(sqlstate::kAdminShutdown, "killed by the admin console");
            } else {
                const auto deadline =
                    asked + class_->query_wait_timeout.value_or(s.query_wait_timeout);
                observe_waiting(asked);
                outcome =
                    attach_result(co_await rt_.pools.finish_checkout(pool_, class_index_, worker_,
                                                                     step, deadline, waiter_, got),
                                  asked);
            }
            if (!outcome) {
                const auto& err = outcome.error();
                spdlog::warn("conn={} client={} db={} user={}: {}", id_, peer_, database_, user_,
                             err.message);
                if (err.code != sqlstate::kTooManyConnections) {
                    co_await send_fatal(err.code, err.message);
                    co_return CloseReason::ServerUnavailable;
                }
                // A wait timeout fails this request, not the connection: the client gets an
                // ERROR for its query (or extended-protocol batch) and may retry, as it would
                // after a server-side statement_timeout.
                observe_timeout(observe::TimeoutKind::AdmissionWait);
                if (auto failed = co_await fail_request(err); failed) {
                    co_return *failed;
                }
                continue;
            }
        }
        // The relay, driven here rather than by a coroutine of its own: its steps are plain
        // functions that say what to await next, because a coroutine call per transaction
        // costs a frame allocation of about 2 KiB.
        for (auto next = relay_forward(); next != RelayAwait::Released;) {
            switch (next) {
            case RelayAwait::None:
                next = relay_forward();
                break;
            case RelayAwait::ServerRead: {
                auto [rec, n] = co_await lease_->socket.async_read_some(
                    net::read_space(lease_->in, kReadChunk), net::as_result_direct);
                next = relay_server_read(rec, n);
                break;
            }
            case RelayAwait::EitherRead:
                next = co_await relay_read_either();
                break;
            case RelayAwait::ServerWrite:
                if (auto ec = co_await net::write_all(lease_->socket, to_server_); ec) {
                    next = relay_server_write_failed(ec);
                } else {
                    next = relay_reply();
                }
                break;
            case RelayAwait::ClientWrite:
                next = relay_next(!co_await net::write_all(io_.socket, io_.out));
                break;
            case RelayAwait::Fatal:
                co_await send_fatal(relay_error_.code, relay_error_.message);
                co_return relay_close_;
            case RelayAwait::Close:
                co_return relay_close_;
            case RelayAwait::LeakTerminate:
                co_return co_await terminate_for_leak();
            case RelayAwait::Released:
                break;
            }
        }
    }
}

net::awaitable<std::optional<CloseReason>> ClientSession::fail_request(const common::Error& error) {
    const uint64_t max_packet = max_packet_;
    for (;;) {
        // Drop the request's messages up to its Query or Sync, then answer once.
        while (io_.pos < io_.in.size()) {
            auto h = pgwire::decode_header({io_.in.data() + io_.pos, io_.in.size() - io_.pos},
                                           max_packet);
            if (h.status == pgwire::DecodeStatus::Error) {
                co_await send_fatal(h.error_code, h.error);
                co_return CloseReason::ProtocolError;
            }
            if (h.status == pgwire::DecodeStatus::NeedMore || io_.in.size() - io_.pos < h.length) {
                break;
            }
            io_.pos += h.length;
            if (h.type == 'X') {
                co_return CloseReason::ClientTerminate;
            }
            if (h.type == 'Q' || h.type == 'S') {
                pgwire::encode_error(io_.out, error.code, error.message, {}, "ERROR");
                pgwire::encode_ready_for_query(io_.out, 'I');
                if (!co_await flush_client()) {
                    co_return CloseReason::ClientGone;
                }
                co_return std::nullopt;
            }
        }
        if (io_.pos > 0) {
            io_.in.erase(io_.in.begin(), io_.in.begin() + static_cast<std::ptrdiff_t>(io_.pos));
            io_.pos = 0;
        }
        auto ec = co_await net::read_some_until(io_.socket, io_.in, kReadChunk,
                                                Clock::now() + cfg_->settings.client_login_timeout);
        if (ec) {
            co_return CloseReason::ClientGone;
        }
    }
}

bool ClientSession::write_server_direct(bool& ok) {
    auto& in = lease_->in;
    const size_t n = std::exchange(server_direct_, 0);
    count_bytes_sent(n);
    net::error_code ec;
    const size_t written = net::write_some_now(io_.socket, {in.data(), n}, ec);
    ok = !ec;
    if (ok && written < n) {
        io_.out.append(view(in, written, n - written));  // the rest goes out asynchronously
    }
    in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(n));
    return !ok || written == n;
}

RelayAwait ClientSession::relay_fail(std::string_view code, std::string message,
                                     CloseReason reason) {
    relay_error_.code.assign(code);
    relay_error_.message = std::move(message);
    relay_close_ = reason;
    return RelayAwait::Fatal;
}

RelayAwait ClientSession::relay_close(CloseReason reason) {
    relay_close_ = reason;
    return RelayAwait::Close;
}

RelayAwait ClientSession::relay_forward() {
    if (terminate_) {
        return RelayAwait::LeakTerminate;
    }
    bool terminate = false;
    if (auto st = process_client(terminate); !st) {
        rt_.count_protocol_error();
        spdlog::warn("conn={} client={} protocol error: {}", id_, peer_, st.error().message);
        lease_.mark_dirty();
        auto err = std::move(st).error();
        return relay_fail(err.code, std::move(err.message), CloseReason::ProtocolError);
    }
    if (io_.pos == io_.in.size()) {
        io_.in.clear();
        io_.pos = 0;
    } else if (io_.pos > kReadChunk) {
        io_.in.erase(io_.in.begin(), io_.in.begin() + static_cast<std::ptrdiff_t>(io_.pos));
        io_.pos = 0;
    }
    if (terminate) {
        if (!transaction_done() || !to_server_.empty()) {
            lease_.mark_dirty();
        }
        return relay_close(CloseReason::ClientTerminate);
    }
    if (!to_server_.empty()) {
        net::error_code ec;
        if (!net::write_now(lease_->socket, to_server_, ec)) {
            return RelayAwait::ServerWrite;
        }
        if (ec) {
            return relay_server_write_failed(ec);
        }
    }
    return relay_reply();
}

RelayAwait ClientSession::relay_server_write_failed(const net::error_code& ec) {
    lease_.mark_dirty();
    return relay_fail(sqlstate::kConnectionFailure, "server connection lost: " + ec.message(),
                      CloseReason::ServerGone);
}

RelayAwait ClientSession::relay_reply() {
    if (auto st = process_server(true); !st) {
        lease_.mark_dirty();
        auto err = std::move(st).error();
        return relay_fail(err.code, std::move(err.message), CloseReason::ServerGone);
    }
    bool sent = true;
    const bool done = server_direct_ > 0 ? write_server_direct(sent) : flush_client_now(sent);
    if (!done) {
        return RelayAwait::ClientWrite;
    }
    return relay_next(sent);
}

RelayAwait ClientSession::relay_next(bool sent) {
    if (!sent) {
        lease_.mark_dirty();
        return relay_close(CloseReason::ClientGone);
    }
    if (transaction_done() && lease_->in.empty() && pool_mode_ != config::PoolMode::Session) {
        detach(ready_at_);  // the ReadyForQuery just processed: no second clock read
        return RelayAwait::Released;
    }
    if (pool_mode_ == config::PoolMode::Statement && pending_rfq_ == 0 && txn_status_ != 'I') {
        lease_.mark_dirty();
        return relay_fail(sqlstate::kFeatureNotSupported,
                          "transaction blocks are not allowed in statement pooling mode",
                          CloseReason::StatementMode);
    }
    if (io_.pos < io_.in.size() && client_stream_left_ == 0) {
        const size_t avail = io_.in.size() - io_.pos;
        const auto h = pgwire::decode_header({io_.in.data() + io_.pos, avail}, max_packet_);
        if (h.status == pgwire::DecodeStatus::Frame && avail >= h.length) {
            return RelayAwait::None;  // a complete client message is already buffered
        }
    }
    // Waiting for a reply: only the server can make progress, unless the client must send
    // more (COPY FROM STDIN, an open extended-protocol batch, a partial message).
    const bool need_client =
        pending_rfq_ == 0 || copy_in_ || io_.pos < io_.in.size() || client_stream_left_ > 0;
    return need_client ? RelayAwait::EitherRead : RelayAwait::ServerRead;
}

RelayAwait ClientSession::relay_server_read(const net::error_code& ec, size_t n) {
    if (net::read_done(lease_->in, kReadChunk, ec, n)) {
        lease_.mark_dirty();
        return relay_fail(sqlstate::kConnectionFailure, "server closed the connection unexpectedly",
                          CloseReason::ServerGone);
    }
    return relay_forward();
}

net::awaitable<RelayAwait> ClientSession::relay_read_either() {
    // Wait until either side is readable, then read what both have. Racing two reads
    // instead would lose the bytes of the one cancelled after it had already completed.
    auto& server = lease_->socket;
    auto which =
        co_await (io_.socket.async_wait(net::asio::socket_base::wait_read, net::as_result) ||
                  server.async_wait(net::asio::socket_base::wait_read, net::as_result));
    (void)which;
    net::error_code server_ec;
    net::read_available(server, lease_->in, kReadChunk, server_ec);
    net::error_code client_ec;
    const size_t n = net::read_available(io_.socket, io_.in, kReadChunk, client_ec);
    observe_bytes_in(n);
    if (server_ec) {
        lease_.mark_dirty();
        if (auto st = process_server(); st && !co_await flush_client()) {
            co_return relay_close(CloseReason::ClientGone);
        }
        co_return relay_fail(sqlstate::kConnectionFailure,
                             "server closed the connection unexpectedly", CloseReason::ServerGone);
    }
    if (client_ec) {
        lease_.mark_dirty();
        co_return relay_close(CloseReason::ClientGone);
    }
    co_return relay_forward();
}

net::awaitable<CloseReason> ClientSession::terminate_for_leak() {
    auto [code, message] = std::move(*terminate_);
    terminate_.reset();
    co_await reclaim_server();
    io_.out.clear();  // replies to the interrupted request; the client gets the reason
    co_await send_fatal(code, message);
    co_return CloseReason::LeakTerminated;
}

net::awaitable<void> ClientSession::reclaim_server() {
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    if (copy_in_ || client_stream_left_ > 0 || batch_open_ || !to_server_.empty()) {
        // Halfway through a client message or a COPY: no cheap way back to a clean state.
        lease_.mark_dirty();
        co_return;
    }
    auto& server = lease_->socket;
    bool cancelled = false;
    bool rolled_back = false;
    for (;;) {
        if (auto st = process_server(); !st) {
            lease_.mark_dirty();
            co_return;
        }
        io_.out.clear();
        const bool busy = pending_rfq_ > 0 || injected_.injected_pending() ||
                          server_stream_left_ > 0 || !lease_->in.empty();
        if (!busy && txn_status_ == 'I') {
            co_return;  // clean: the Lease hands it back to the pool
        }
        if (busy && !cancelled) {
            cancelled = true;
            if (auto target = cancel_target()) {
                co_await send_cancel(*target);
            }
        }
        if (!busy && !rolled_back) {
            rolled_back = true;
            std::string out;
            pgwire::encode_query(out, "ROLLBACK");
            ++pending_rfq_;
            if (auto ec = co_await net::write_all(server, out); ec) {
                lease_.mark_dirty();
                co_return;
            }
            continue;
        }
        if (!busy) {
            lease_.mark_dirty();  // ROLLBACK did not leave it idle: never reuse it
            co_return;
        }
        if (auto ec = co_await net::read_some_until(server, lease_->in, kReadChunk, deadline); ec) {
            lease_.mark_dirty();
            co_return;
        }
    }
}

}  // namespace pgwarden::proxy
