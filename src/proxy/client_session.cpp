#include "proxy/client_session.hpp"

#include "net/io.hpp"
#include "pgwire/sqlstate.hpp"
#include "proxy/login.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>

namespace pgwarden::proxy {

namespace sqlstate = pgwire::sqlstate;
using Clock = std::chrono::steady_clock;

namespace {

std::atomic<uint64_t> next_session_id{1};

}  // namespace

const char* to_string(CloseReason reason) {
    switch (reason) {
    case CloseReason::ClientTerminate:
        return "client_terminate";
    case CloseReason::ClientGone:
        return "client_gone";
    case CloseReason::CancelRequest:
        return "cancel_request";
    case CloseReason::LoginTimeout:
        return "login_timeout";
    case CloseReason::LoginFailed:
        return "login_failed";
    case CloseReason::IdleTimeout:
        return "client_idle_timeout";
    case CloseReason::ProtocolError:
        return "protocol_error";
    case CloseReason::WaitTimeout:
        return "query_wait_timeout";
    case CloseReason::ServerUnavailable:
        return "server_unavailable";
    case CloseReason::ServerGone:
        return "server_gone";
    case CloseReason::TooManyClients:
        return "max_client_conn";
    case CloseReason::ClassLimit:
        return "class_max_client_conn";
    case CloseReason::LeakTerminated:
        return "leak_terminated";
    case CloseReason::Shutdown:
        return "shutdown";
    case CloseReason::StatementMode:
        return "statement_mode_transaction";
    }
    return "unknown";
}

ClientSession::ClientSession(Runtime& runtime, int worker, net::StreamSocket socket,
                             std::string peer)
    : rt_(runtime),
      io_(std::move(socket)),
      worker_(worker),
      peer_(std::move(peer)),
      id_(next_session_id.fetch_add(1)) {}

ClientSession::~ClientSession() {
    if (cancel_pid_ != 0) {
        rt_.sessions.remove(cancel_pid_);
    }
}

std::optional<CancelTarget> ClientSession::cancel_target() {
    auto lock = shared_lock();
    if (!shared_.attached) {
        return std::nullopt;
    }
    return CancelTarget{shared_.server_host, shared_.server_port, shared_.server_pid,
                        shared_.server_key};
}

SessionActivity ClientSession::activity() {
    auto lock = shared_lock();
    return activity_locked();
}

void ClientSession::request_terminate(std::string sqlstate, std::string message) {
    net::asio::post(io_.socket.get_executor(), [self = shared_from_this(),
                                                code = std::move(sqlstate),
                                                text = std::move(message)]() mutable {
        // Only a session holding a server connection can leak one; if it let go meanwhile,
        // there is nothing left to reclaim.
        if (!self->lease_ || self->terminate_) {
            return;
        }
        self->terminate_ =
            std::make_unique<std::pair<std::string, std::string>>(std::move(code), std::move(text));
        net::error_code ec;
        self->io_.socket.cancel(ec);  // wakes the relay if it waits for the client
    });
}

void ClientSession::request_drain() {
    net::asio::post(io_.socket.get_executor(), [self = shared_from_this()] {
        if (!self->lease_) {
            net::error_code ec;
            self->io_.socket.cancel(ec);
        }
    });
}

net::awaitable<void> ClientSession::reset_server() {
    if (!lease_) {
        co_return;
    }
    const bool session_mode = settings_.mode == config::PoolMode::Session;
    if (!transaction_done() || !lease_->in.empty()) {
        lease_.mark_dirty();
        co_return;
    }
    if ((!session_mode && !settings_.server_reset_query_always) ||
        settings_.server_reset_query.empty()) {
        co_return;
    }
    std::string out;
    pgwire::encode_query(out, settings_.server_reset_query);
    auto& server = lease_->socket;
    if (auto ec = co_await net::write_all(server, out); ec) {
        lease_.mark_dirty();
        co_return;
    }
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    for (;;) {
        auto msg = co_await pool::read_server_message(*lease_, deadline);
        if (!msg) {
            lease_.mark_dirty();
            co_return;
        }
        const auto& [type, body] = *msg;
        if (type == 'E') {
            lease_.mark_dirty();
        }
        if (type == 'Z') {
            if (body != "I" || !lease_->in.empty()) {
                lease_.mark_dirty();
            }
            lease_->statements.clear();
            lease_->extra_params.clear();
            lease_->params.erase("search_path");
            lease_->params_synced.reset();
            co_return;
        }
    }
}

net::awaitable<void> ClientSession::run(std::shared_ptr<ClientSession> self) {
    const auto reason = co_await self->serve();
    co_await self->reset_server();
    self->detach(pool::Clock::now());
    self->observe_logout();
    self->client_slot_.release();
    self->class_seat_.release();
    if (self->rt_.metrics != nullptr) {
        self->rt_.metrics->disconnected(to_string(reason));
    }
    const bool quiet = reason == CloseReason::CancelRequest || !self->cfg_ ||
                       !self->cfg_->settings.log_disconnections;
    if (!quiet) {
        spdlog::info("conn={} client={} db={} user={} app={} closing: {}", self->id_, self->peer_,
                     self->database_, self->user_,
                     self->wanted_params_.count("application_name")
                         ? self->wanted_params_["application_name"]
                         : "",
                     to_string(reason));
    }
    // Lingering close: stop sending, then discard what the client still sends for a moment.
    // Closing with unread bytes would make the kernel send a reset that can destroy the
    // ErrorResponse just written (a client in the middle of sending an oversize message
    // would then see "server closed the connection unexpectedly" instead of the reason).
    net::error_code ec;
    self->io_.socket.shutdown(net::asio::socket_base::shutdown_send, ec);
    if (!ec && reason != CloseReason::ClientGone) {
        net::Bytes sink;
        const auto until = Clock::now() + std::chrono::seconds(1);
        for (int i = 0; i < 64; ++i) {
            sink.clear();
            if (co_await net::read_some_until(self->io_.socket, sink, 16384, until)) {
                break;
            }
        }
        // cppcheck-suppress missingReturn ; a coroutine (co_return), not a plain function
    }
    self->io_.socket.close(ec);
}

net::awaitable<void> ClientSession::send_fatal(std::string_view code, std::string_view message) {
    observe_error_sent(code);
    pgwire::encode_error(io_.out, code, message);
    co_await flush_client();
}

void ClientSession::count_bytes_sent(size_t n) {
    if (metrics_ != nullptr) {
        metrics_->sent_bytes.inc(n);
    }
}

bool ClientSession::flush_client_now(bool& ok) {
    if (!io_.out.empty()) {
        count_bytes_sent(io_.out.size());
    }
    return io_.flush_now(ok);
}

net::awaitable<bool> ClientSession::flush_client() {
    bool ok = true;
    if (flush_client_now(ok)) {
        co_return ok;
    }
    auto ec = co_await net::write_all(io_.socket, io_.out);
    co_return !ec;
}

net::awaitable<CloseReason> ClientSession::serve() {
    // Login runs in its own coroutine so that its frame (the startup packet, the server's
    // parameters, ~1.5 KiB plus their strings) is freed before the session settles into
    // main_loop, where an idle client spends its life: memory per idle client is the budget.
    if (auto ended = co_await login()) {
        co_return *ended;
    }
    co_return co_await main_loop();
}

net::awaitable<std::optional<CloseReason>> ClientSession::login() {
    cfg_ = rt_.config();
    Login login(rt_, io_, cfg_, worker_, id_, peer_);
    auto result = co_await login.run();
    if (auto* reason = std::get_if<CloseReason>(&result)) {
        co_return *reason;
    }
    auto& in = std::get<LoggedIn>(result);
    user_ = std::move(in.user);
    database_ = std::move(in.database);
    client_slot_ = std::move(in.client_slot);
    class_ = in.cls;
    if (in.admin) {
        co_return co_await admin_session(in.role, in.application_name);
    }
    class_seat_ = std::move(*in.class_seat);
    wanted_params_ = std::move(in.wanted_params);
    wanted_extra_ = std::move(in.wanted_extra);
    settings_ = std::move(in.settings);
    pool_mode_ = settings_.mode;
    max_prepared_ = settings_.max_prepared_statements;
    max_packet_ = cfg_->settings.max_packet_size;
    pool_ = std::move(in.pool);
    class_index_ = in.class_index;

    update_shared([&](Shared& sh) {
        auto app = wanted_params_.find("application_name");
        sh.application_name = app != wanted_params_.end() ? app->second : "";
    });
    auto [pid, key] = rt_.sessions.add(shared_from_this());
    cancel_pid_ = pid;
    pgwire::encode_backend_key_data(io_.out, pid, key);
    pgwire::encode_ready_for_query(io_.out, 'I');
    if (!co_await io_.flush()) {
        co_return CloseReason::ClientGone;
    }
    std::string().swap(io_.out);  // the login burst's buffer; most clients then idle
    if (cfg_->settings.log_connections) {
        spdlog::info("conn={} client={} db={} user={} app={} login ok", id_, peer_, database_,
                     user_, wanted_params_["application_name"]);
    }
    observe_login();
    co_return std::nullopt;
}

}  // namespace pgwarden::proxy
