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

#include <array>
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
constexpr uint64_t kMaxServerMessage = 1u << 30;
// Leak reports show this much of the last statement.
constexpr size_t kMaxStatementText = 1024;

// Server messages the relay reads before forwarding (whole): ReadyForQuery, ParameterStatus,
// ParseComplete, CloseComplete, CopyInResponse, ErrorResponse; CommandComplete only when its
// length could be "DISCARD ALL" or "DEALLOCATE ALL".
constexpr std::array<bool, 256> kInspected = [] {
    std::array<bool, 256> t{};
    for (unsigned char c : {'Z', 'S', '1', '3', 'G', 'E'}) {
        t[c] = true;
    }
    return t;
}();

std::string_view view(const net::Bytes& buf, size_t pos, size_t len) {
    return {reinterpret_cast<const char*>(buf.data()) + pos, len};
}

}  // namespace

bool ClientSession::client_request_ready() const {
    const size_t avail = client_in_.size() - client_pos_;
    const auto h = pgwire::decode_header({client_in_.data() + client_pos_, avail}, max_packet_);
    if (h.status == pgwire::DecodeStatus::Error) {
        return true;  // let the relay report it
    }
    if (h.status != pgwire::DecodeStatus::Frame) {
        return false;
    }
    // Messages the relay inspects must be complete before a server is borrowed; a slow
    // client must not hold a server connection while it trickles bytes in. Others (COPY
    // data, Execute, Sync) are forwarded as their bytes arrive.
    const bool whole = h.type == 'Q' || h.type == 'X' || h.type == 'P' || h.type == 'B' ||
                       h.type == 'D' || h.type == 'C';
    return !whole || avail >= h.length;
}

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
    lease_.reset();
    observe_detached(now);
}

net::awaitable<CloseReason> ClientSession::main_loop() {
    const auto& s = cfg_->settings;
    for (;;) {
        if (rt_.draining.load() && !lease_) {
            co_await send_fatal(sqlstate::kAdminShutdown, "pgwarden is shutting down");
            co_return CloseReason::Shutdown;
        }
        if (!lease_ && !client_request_ready()) {
            if (client_pos_ == client_in_.size()) {
                client_in_.clear();
                client_pos_ = 0;
                if (client_in_.capacity() > kIdleBufferLimit) {
                    net::Bytes().swap(client_in_);
                }
            }
            const size_t before = client_in_.size();
            net::error_code ec;
            if (s.client_idle_timeout.count() > 0) {
                ec = co_await net::read_some_until(client_, client_in_, kIdleReadChunk,
                                                   Clock::now() + s.client_idle_timeout);
            } else {
                // read_some_into, inlined: one coroutine frame less per transaction.
                auto [rec, n] = co_await client_.async_read_some(
                    net::read_space(client_in_, kIdleReadChunk), net::as_result_direct);
                ec = net::read_done(client_in_, kIdleReadChunk, rec, n);
            }
            if (!ec && client_in_.size() - before == kIdleReadChunk) {
                net::read_available(client_, client_in_, kReadChunk, ec);  // a large request
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
            rt_.counters.bytes_received.fetch_add(static_cast<int64_t>(client_in_.size() - before),
                                                  std::memory_order_relaxed);
            observe_bytes_in(client_in_.size() - before);
            continue;
        }
        // A lone Terminate needs no server.
        if (!lease_ && client_in_.size() - client_pos_ >= 5 && client_in_[client_pos_] == 'X') {
            co_return CloseReason::ClientTerminate;
        }
        if (!lease_) {
            // The checkout, inline: a coroutine call costs a frame even when it does not
            // suspend. One locked step either leases an idle connection (the common case) or
            // queues this session; the wait is PoolManager::acquire's steps, inline too.
            using Step = pool::PoolManager::CheckoutStep;
            const auto exec = client_.get_executor();
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
                while (outcome && (step == Step::Queued || step == Step::Busy)) {
                    if (step == Step::Busy) {
                        step = rt_.pools.begin_checkout(pool_, class_index_, worker_, exec,
                                                        Clock::now(), waiter_, got);
                        continue;
                    }
                    waiter_->timer.expires_at(deadline);
                    co_await waiter_->timer.async_wait(net::as_result_direct);
                    auto waited = rt_.pools.end_wait(pool_, class_index_, worker_, exec, deadline,
                                                     *waiter_, got);
                    if (waited) {
                        step = *waited;
                    } else {
                        outcome = std::move(waited).error();
                    }
                }
                if (outcome && step == Step::Open) {
                    outcome = attach_result(
                        co_await rt_.pools.open_lease(pool_, class_index_, worker_), asked);
                } else if (outcome) {
                    outcome = attach_result(std::move(*got), asked);
                } else {
                    observe_detached(Clock::now());
                }
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
                rt_.counters.wait_timeouts.fetch_add(1, std::memory_order_relaxed);
                observe_timeout(observe::TimeoutKind::AdmissionWait);
                if (auto failed = co_await fail_request(err); failed) {
                    co_return *failed;
                }
                continue;
            }
        }
        // The relay, driven here rather than by a coroutine of its own: its steps are plain
        // functions that say what to await next, and a coroutine call per transaction cost
        // a ~2 KiB frame allocation (callgrind: ~500 instructions of 10k).
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
                next = relay_next(!co_await net::write_all(client_, to_client_));
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
        while (client_pos_ < client_in_.size()) {
            auto h = pgwire::decode_header(
                {client_in_.data() + client_pos_, client_in_.size() - client_pos_}, max_packet);
            if (h.status == pgwire::DecodeStatus::Error) {
                co_await send_fatal(h.error_code, h.error);
                co_return CloseReason::ProtocolError;
            }
            if (h.status == pgwire::DecodeStatus::NeedMore ||
                client_in_.size() - client_pos_ < h.length) {
                break;
            }
            client_pos_ += h.length;
            if (h.type == 'X') {
                co_return CloseReason::ClientTerminate;
            }
            if (h.type == 'Q' || h.type == 'S') {
                pgwire::encode_error(to_client_, error.code, error.message, {}, "ERROR");
                pgwire::encode_ready_for_query(to_client_, 'I');
                if (!co_await flush_client()) {
                    co_return CloseReason::ClientGone;
                }
                co_return std::nullopt;
            }
        }
        if (client_pos_ > 0) {
            client_in_.erase(client_in_.begin(),
                             client_in_.begin() + static_cast<std::ptrdiff_t>(client_pos_));
            client_pos_ = 0;
        }
        auto ec = co_await net::read_some_until(client_, client_in_, kReadChunk,
                                                Clock::now() + cfg_->settings.client_login_timeout);
        if (ec) {
            co_return CloseReason::ClientGone;
        }
    }
}

common::Status ClientSession::process_client(bool& terminate) {
    const bool rewrite = pool_mode_ != config::PoolMode::Session && max_prepared_ > 0;
    const uint64_t max_packet = max_packet_;
    Clock::time_point now{};  // read once, at the first request message of this batch
    const auto clock = [&now] {
        if (now == Clock::time_point{}) {
            now = Clock::now();
        }
        return now;
    };
    while (client_pos_ < client_in_.size()) {
        const size_t avail = client_in_.size() - client_pos_;
        if (client_stream_left_ > 0) {
            const size_t n = std::min<size_t>(client_stream_left_, avail);
            to_server_.append(view(client_in_, client_pos_, n));
            client_pos_ += n;
            client_stream_left_ -= static_cast<uint32_t>(n);
            continue;
        }
        auto h = pgwire::decode_header({client_in_.data() + client_pos_, avail}, max_packet);
        if (h.status == pgwire::DecodeStatus::NeedMore) {
            break;
        }
        if (h.status == pgwire::DecodeStatus::Error) {
            return common::make_error(h.error_code, h.error);
        }
        const char type = h.type;
        const bool whole = type == 'Q' || type == 'X' ||
                           (rewrite && (type == 'P' || type == 'B' || type == 'D' || type == 'C'));
        if (whole && avail < h.length) {
            break;
        }
        switch (type) {
        case 'X':
            terminate = true;
            client_pos_ += h.length;
            return common::ok_status();
        case 'Q': {
            std::string_view body =
                view(client_in_, client_pos_ + pgwire::kHeaderSize, h.length - pgwire::kHeaderSize);
            auto q = pgwire::parse_query(body);
            if (!q) {
                return std::move(q).error();
            }
            observe_request('Q', clock());
            note_request(*q, clock());
            std::string path;
            if (parse_set_search_path(*q, path)) {
                wanted_params_["search_path"] = path;
                lease_->params["search_path"] = path;
                params_changed();
            }
            if (rewrite && PreparedStatements::may_deallocate(*q)) {
                if (auto st = statements_.rewrite(view(client_in_, client_pos_, h.length),
                                                  lease_->statements, injected_, max_prepared_,
                                                  to_server_);
                    !st) {
                    return st;
                }
            } else {
                to_server_.append(view(client_in_, client_pos_, h.length));
            }
            injected_.on_sync_sent();
            ++pending_rfq_;
            batch_open_ = false;
            rt_.counters.queries.fetch_add(1, std::memory_order_relaxed);
            client_pos_ += h.length;
            continue;
        }
        case 'P':
        case 'B':
        case 'D':
        case 'C':
            observe_request(type, clock());
            batch_open_ = true;
            if (type == 'P' && avail >= h.length) {
                // Parsed once, for the leak report's statement text and for the rewrite.
                const auto frame = view(client_in_, client_pos_, h.length);
                auto m = pgwire::parse_parse(frame.substr(pgwire::kHeaderSize));
                if (m) {
                    note_request(m->query, clock());
                }
                if (rewrite) {
                    if (!m) {
                        return std::move(m).error();
                    }
                    if (auto st = statements_.rewrite_parse(frame, *m, lease_->statements,
                                                            injected_, max_prepared_, to_server_);
                        !st) {
                        return st;
                    }
                    client_pos_ += h.length;
                    continue;
                }
            } else if (rewrite) {
                if (auto st = statements_.rewrite(view(client_in_, client_pos_, h.length),
                                                  lease_->statements, injected_, max_prepared_,
                                                  to_server_);
                    !st) {
                    return st;
                }
                client_pos_ += h.length;
                continue;
            }
            break;
        case 'S':
        case 'F':
            observe_request(type, clock());
            injected_.on_sync_sent();
            ++pending_rfq_;
            batch_open_ = false;
            break;
        case 'E':
            observe_request('E', clock());
            rt_.counters.queries.fetch_add(1, std::memory_order_relaxed);
            batch_open_ = true;
            note_request({}, clock());
            break;
        case 'c':
        case 'f':
            copy_in_ = false;
            break;
        case 'd':
        case 'H':
            break;
        default:
            return common::make_error(sqlstate::kProtocolViolation,
                                      fmt::format("invalid frontend message type '{}'", type));
        }
        // Forward this message in bulk, whether or not its body has arrived yet.
        client_stream_left_ = h.length;
    }
    return common::ok_status();
}

common::Status ClientSession::process_server(bool direct_ok) {
    auto& in = lease_->in;
    size_t pos = 0;
    common::Status result = common::ok_status();
    // Direct: everything consumed so far, in[0, pos), goes to the client as it is, so it can
    // be written from `in` without copying it into to_client_ first (the usual reply). The
    // first byte not forwarded (a reply to pgwarden's own request) ends that.
    bool direct = direct_ok && to_client_.empty();
    const auto forward_bytes = [&](size_t from, size_t n) {
        if (!direct) {
            to_client_.append(view(in, from, n));
        }
    };
    const auto drop_bytes = [&](size_t from) {
        if (direct) {
            to_client_.append(view(in, 0, from));
            direct = false;
        }
    };
    while (pos < in.size()) {
        const size_t avail = in.size() - pos;
        if (server_stream_left_ > 0) {
            const size_t n = std::min<size_t>(server_stream_left_, avail);
            if (!server_stream_drop_) {
                forward_bytes(pos, n);
            } else {
                drop_bytes(pos);
            }
            pos += n;
            server_stream_left_ -= static_cast<uint32_t>(n);
            continue;
        }
        auto h = pgwire::decode_header({in.data() + pos, avail}, kMaxServerMessage);
        if (h.status == pgwire::DecodeStatus::NeedMore) {
            break;
        }
        if (h.status == pgwire::DecodeStatus::Error) {
            result = common::make_error(sqlstate::kProtocolViolation, "server sent " + h.error);
            break;
        }
        const char type = h.type;
        const bool swallowing = injected_.in_injected_sync();
        bool forward = !swallowing;
        const bool inspect = kInspected[static_cast<unsigned char>(type)] ||
                             (type == 'C' && (h.length == 20 || h.length == 17));
        if (avail < h.length) {
            if (inspect) {
                break;  // read whole: wait for the rest
            }
            // Rows, descriptions, most CommandCompletes: forwarded (or dropped) unread, as
            // their bytes arrive.
            server_stream_left_ = h.length;
            server_stream_drop_ = !forward;
            continue;
        }
        const std::string_view body =
            inspect ? view(in, pos + pgwire::kHeaderSize, h.length - pgwire::kHeaderSize)
                    : std::string_view();
        switch (type) {
        case 'Z': {
            const char status = body.empty() ? 'I' : body[0];
            if (!injected_.on_server_message('Z', lease_->statements)) {
                if (pending_rfq_ > 0) {
                    --pending_rfq_;
                }
                txn_status_ = status;
                copy_in_ = false;
                ready_at_ = Clock::now();
                if (pending_rfq_ == 0) {
                    note_ready(status, ready_at_);
                    if (status == 'I') {
                        rt_.counters.transactions.fetch_add(1, std::memory_order_relaxed);
                    }
                }
                observe_ready(status, ready_at_);
            }
            break;
        }
        case 'S': {
            auto ps = pgwire::parse_parameter_status(body);
            if (ps) {
                lease_->params[ps->first] = ps->second;
                if (!swallowing && is_tracked(ps->first)) {
                    // The client changed it (SET at top level): carry it from now on.
                    wanted_params_[ps->first] = ps->second;
                }
                params_changed();
            }
            break;
        }
        case '1':
        case '3':
            if (injected_.on_server_message(type, lease_->statements)) {
                forward = false;
            }
            break;
        case 'G':
            copy_in_ = true;
            break;
        case 'C':
            if (body.starts_with("DISCARD ALL") || body.starts_with("DEALLOCATE ALL")) {
                lease_->statements.clear();
                lease_->extra_params.clear();
                params_changed();
            }
            break;
        case 'E':
            if (injected_.on_server_message('E', lease_->statements)) {
                forward = false;
                auto fields = pgwire::parse_error_fields(body);
                spdlog::warn("conn={} server conn={} rejected a request of pgwarden's own: {}", id_,
                             lease_->id, fields['M']);
            } else {
                observe_server_error(body);
            }
            break;
        default:
            break;
        }
        if (forward) {
            forward_bytes(pos, h.length);
        } else {
            drop_bytes(pos);
        }
        pos += h.length;
    }
    if (direct && result) {
        server_direct_ = pos;  // the caller writes and erases them (write_server_direct)
        return result;
    }
    if (direct) {
        to_client_.append(view(in, 0, pos));
    }
    in.erase(in.begin(), in.begin() + static_cast<std::ptrdiff_t>(pos));
    return result;
}

bool ClientSession::write_server_direct(bool& ok) {
    auto& in = lease_->in;
    const size_t n = std::exchange(server_direct_, 0);
    count_bytes_sent(n);
    net::error_code ec;
    const size_t written = net::write_some_now(client_, {in.data(), n}, ec);
    ok = !ec;
    if (ok && written < n) {
        to_client_.append(view(in, written, n - written));  // the rest goes out asynchronously
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
    if (client_pos_ == client_in_.size()) {
        client_in_.clear();
        client_pos_ = 0;
    } else if (client_pos_ > kReadChunk) {
        client_in_.erase(client_in_.begin(),
                         client_in_.begin() + static_cast<std::ptrdiff_t>(client_pos_));
        client_pos_ = 0;
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
    if (client_pos_ < client_in_.size() && client_stream_left_ == 0) {
        const size_t avail = client_in_.size() - client_pos_;
        const auto h = pgwire::decode_header({client_in_.data() + client_pos_, avail}, max_packet_);
        if (h.status == pgwire::DecodeStatus::Frame && avail >= h.length) {
            return RelayAwait::None;  // a complete client message is already buffered
        }
    }
    // Waiting for a reply: only the server can make progress, unless the client must send
    // more (COPY FROM STDIN, an open extended-protocol batch, a partial message).
    const bool need_client =
        pending_rfq_ == 0 || copy_in_ || client_pos_ < client_in_.size() || client_stream_left_ > 0;
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
    auto which = co_await (client_.async_wait(net::asio::socket_base::wait_read, net::as_result) ||
                           server.async_wait(net::asio::socket_base::wait_read, net::as_result));
    (void)which;
    net::error_code server_ec;
    net::read_available(server, lease_->in, kReadChunk, server_ec);
    net::error_code client_ec;
    const size_t n = net::read_available(client_, client_in_, kReadChunk, client_ec);
    rt_.counters.bytes_received.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed);
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
    to_client_.clear();  // replies to the interrupted request; the client gets the reason
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
        to_client_.clear();
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
