#include "proxy/client_session.hpp"

#include "net/io.hpp"
#include "pgwire/frame.hpp"
#include "pgwire/md5.hpp"
#include "pgwire/scram.hpp"
#include "pgwire/sqlstate.hpp"
#include "proxy/auth_query.hpp"
#include "proxy/session_params.hpp"

#include <fmt/format.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cctype>

namespace pgwarden::proxy {

namespace sqlstate = pgwire::sqlstate;
using Clock = std::chrono::steady_clock;

namespace {

std::atomic<uint64_t> next_session_id{1};

bool valid_parameter_name(std::string_view name) {
    if (name.empty() || name.size() > 63) {
        return false;
    }
    for (char c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.') {
            return false;
        }
    }
    return !std::isdigit(static_cast<unsigned char>(name[0]));
}

common::Error login_error(const char* code, std::string message) {
    return common::make_error(code, std::move(message));
}

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
        return "class max_client_conn";
    case CloseReason::LeakTerminated:
        return "suspected leak terminated";
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
      worker_(worker),
      client_(std::move(socket)),
      peer_(std::move(peer)),
      id_(next_session_id.fetch_add(1)) {}

ClientSession::~ClientSession() {
    if (cancel_pid_ != 0) {
        rt_.cancels.remove(cancel_pid_);
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
    net::asio::post(client_.get_executor(), [self = shared_from_this(), code = std::move(sqlstate),
                                             text = std::move(message)]() mutable {
        // Only a session holding a server connection can leak one; if it let go meanwhile,
        // there is nothing left to reclaim.
        if (!self->lease_ || self->terminate_) {
            return;
        }
        self->terminate_ =
            std::make_unique<std::pair<std::string, std::string>>(std::move(code), std::move(text));
        net::error_code ec;
        self->client_.cancel(ec);  // wakes the relay if it waits for the client
    });
}

void ClientSession::request_drain() {
    net::asio::post(client_.get_executor(), [self = shared_from_this()] {
        if (!self->lease_) {
            net::error_code ec;
            self->client_.cancel(ec);
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
    if (self->logged_in_) {
        self->rt_.counters.clients_active.fetch_sub(1);
    }
    if (self->class_counted_) {
        self->rt_.class_clients.leave(self->class_->name);
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
    self->client_.shutdown(net::asio::socket_base::shutdown_send, ec);
    if (!ec && reason != CloseReason::ClientGone) {
        net::Bytes sink;
        const auto until = Clock::now() + std::chrono::seconds(1);
        for (int i = 0; i < 64; ++i) {
            sink.clear();
            if (co_await net::read_some_until(self->client_, sink, 16384, until)) {
                break;
            }
        }
        // cppcheck-suppress missingReturn ; a coroutine (co_return), not a plain function
    }
    self->client_.close(ec);
}

net::awaitable<void> ClientSession::send_fatal(std::string_view code, std::string_view message) {
    observe_error_sent(code);
    pgwire::encode_error(to_client_, code, message);
    co_await flush_client();
}

void ClientSession::count_bytes_sent(size_t n) {
    rt_.counters.bytes_sent.fetch_add(static_cast<int64_t>(n), std::memory_order_relaxed);
    if (metrics_ != nullptr) {
        metrics_->sent_bytes.inc(n);
    }
}

bool ClientSession::flush_client_now(bool& ok) {
    ok = true;
    if (to_client_.empty()) {
        return true;
    }
    count_bytes_sent(to_client_.size());
    net::error_code ec;
    const bool done = net::write_now(client_, to_client_, ec);
    ok = !ec;
    return done;
}

net::awaitable<bool> ClientSession::flush_client() {
    bool ok = true;
    if (flush_client_now(ok)) {
        co_return ok;
    }
    auto ec = co_await net::write_all(client_, to_client_);
    co_return !ec;
}

net::awaitable<common::Result<pgwire::StartupMessage>> ClientSession::read_startup(
    CloseReason& reason) {
    const auto deadline = Clock::now() + cfg_->settings.client_login_timeout;
    for (;;) {
        auto h = pgwire::decode_startup_header(client_in_);
        if (h.status == pgwire::DecodeStatus::Error) {
            reason = CloseReason::ProtocolError;
            co_return login_error(h.error_code, h.error);
        }
        if (h.status == pgwire::DecodeStatus::NeedMore) {
            auto ec = co_await net::read_some_until(client_, client_in_,
                                                    h.need < 512 ? 512 : h.need, deadline);
            if (ec == net::asio::error::timed_out) {
                reason = CloseReason::LoginTimeout;
                co_return login_error(sqlstate::kProtocolViolation,
                                      "client_login_timeout: no startup packet in time");
            }
            if (ec) {
                reason = CloseReason::ClientGone;
                co_return login_error(sqlstate::kConnectionFailure, ec.message());
            }
            continue;
        }
        std::string_view packet(reinterpret_cast<const char*>(client_in_.data()), h.length);
        auto parsed = pgwire::parse_startup_packet(packet);
        client_in_.erase(client_in_.begin(), client_in_.begin() + h.length);
        if (!parsed) {
            reason = CloseReason::ProtocolError;
            co_return std::move(parsed).error();
        }
        if (std::holds_alternative<pgwire::SslRequest>(*parsed) ||
            std::holds_alternative<pgwire::GssEncRequest>(*parsed)) {
            if (!client_in_.empty()) {
                // Bytes after an SSLRequest before our answer would be a downgrade attack.
                reason = CloseReason::ProtocolError;
                co_return login_error(sqlstate::kProtocolViolation,
                                      "unexpected data after SSL/GSSENC request");
            }
            pgwire::encode_ssl_refused(to_client_);
            if (!co_await flush_client()) {
                reason = CloseReason::ClientGone;
                co_return login_error(sqlstate::kConnectionFailure, "client went away");
            }
            continue;
        }
        if (auto* cancel = std::get_if<pgwire::CancelRequest>(&*parsed)) {
            reason = CloseReason::CancelRequest;
            auto target = rt_.cancels.find(cancel->pid, cancel->key);
            std::optional<CancelTarget> where = target ? target->cancel_target() : std::nullopt;
            if (where) {
                co_await send_cancel(*where);
            }
            co_return login_error(sqlstate::kQueryCanceled, "cancel request");
        }
        client_in_.shrink_to_fit();
        co_return std::get<pgwire::StartupMessage>(std::move(*parsed));
    }
}

net::awaitable<common::Result<std::string>> ClientSession::read_password_message() {
    const auto deadline = Clock::now() + cfg_->settings.client_login_timeout;
    for (;;) {
        auto h = pgwire::decode_header(client_in_, pgwire::kMaxStartupPacket);
        if (h.status == pgwire::DecodeStatus::Error) {
            co_return login_error(h.error_code, h.error);
        }
        if (h.status == pgwire::DecodeStatus::Frame && client_in_.size() >= h.length) {
            if (h.type != 'p') {
                co_return login_error(sqlstate::kProtocolViolation,
                                      fmt::format("expected password message, got '{}'", h.type));
            }
            std::string body(reinterpret_cast<const char*>(client_in_.data()) + pgwire::kHeaderSize,
                             h.length - pgwire::kHeaderSize);
            client_in_.erase(client_in_.begin(), client_in_.begin() + h.length);
            co_return body;
        }
        auto ec = co_await net::read_some_until(client_, client_in_, 1024, deadline);
        if (ec) {
            co_return login_error(sqlstate::kConnectionFailure, ec == net::asio::error::timed_out
                                                                    ? "client_login_timeout"
                                                                    : "client went away");
        }
    }
}

net::awaitable<common::Status> ClientSession::scram_exchange(const pgwire::scram::Secret& secret,
                                                             bool passthrough, bool fake) {
    pgwire::encode_auth_sasl(to_client_, "SCRAM-SHA-256");
    if (!co_await flush_client()) {
        co_return login_error(sqlstate::kConnectionFailure, "client went away");
    }
    auto first = co_await read_password_message();
    if (!first) {
        co_return std::move(first).error();
    }
    auto init = pgwire::parse_sasl_initial_response(*first);
    if (!init) {
        co_return std::move(init).error();
    }
    if (init->mechanism != "SCRAM-SHA-256") {
        co_return login_error(sqlstate::kProtocolViolation,
                              "client selected an invalid SASL authentication mechanism");
    }
    pgwire::scram::ServerExchange exchange(secret);
    auto server_first = exchange.on_client_first(init->data);
    if (!server_first) {
        co_return std::move(server_first).error();
    }
    pgwire::encode_auth_sasl_continue(to_client_, *server_first);
    if (!co_await flush_client()) {
        co_return login_error(sqlstate::kConnectionFailure, "client went away");
    }
    auto final_msg = co_await read_password_message();
    if (!final_msg) {
        co_return std::move(final_msg).error();
    }
    auto server_final = exchange.on_client_final(*final_msg);
    if (!server_final || fake) {
        co_return login_error(sqlstate::kInvalidPassword,
                              fmt::format("password authentication failed for user \"{}\"", user_));
    }
    if (auto key = exchange.client_key(); key && pool_ && passthrough) {
        rt_.pools.set_scram_keys(*pool_, *key, secret.server_key);
    }
    pgwire::encode_auth_sasl_final(to_client_, *server_final);
    co_return common::ok_status();
}

net::awaitable<common::Status> ClientSession::authenticate(const config::Config& cfg) {
    const auto& s = cfg.settings;
    auto it = cfg.users.find(user_);
    const config::UserEntry* entry = it == cfg.users.end() ? nullptr : &it->second;
    std::optional<config::UserEntry> looked_up;
    if (!entry && !s.auth_user.empty()) {
        // Not in auth_file: ask the server, as auth_user, what this user's secret is.
        pool::ServerCredentials auth;
        auth.user = s.auth_user;
        if (auto a = cfg.users.find(s.auth_user);
            a != cfg.users.end() && !pgwire::scram::is_scram_secret(a->second.secret)) {
            auth.password = a->second.secret;
        }
        auto found = co_await run_auth_query(settings_.endpoint, auth, s.auth_query, user_,
                                             s.server_connect_timeout);
        if (!found) {
            spdlog::warn("conn={} auth_query for user={} failed: {}", id_, user_,
                         found.error().message);
            co_return login_error(sqlstate::kInvalidAuthorization,
                                  "authentication lookup failed (see pgwarden's log)");
        }
        if (*found) {
            looked_up = config::UserEntry{user_, **found};
            entry = &*looked_up;
            if (pgwire::md5::is_md5_secret(entry->secret) && pool_) {
                // The md5 hash also logs pgwarden in to a server using md5.
                rt_.pools.set_password(*pool_, entry->secret);
            }
        }
    }
    const auto failed = [&] {
        return login_error(sqlstate::kInvalidPassword,
                           fmt::format("password authentication failed for user \"{}\"", user_));
    };
    if (s.auth_type == config::AuthType::Trust) {
        if (!entry && !cfg.users.empty()) {
            co_return failed();
        }
        co_return common::ok_status();
    }
    const std::string secret = entry ? entry->secret : std::string();
    const bool scram_secret = pgwire::scram::is_scram_secret(secret);
    const bool md5_secret = pgwire::md5::is_md5_secret(secret);

    // Like PgBouncer: md5 with a SCRAM secret upgrades to SCRAM; SCRAM with an md5 secret
    // falls back to md5 (an md5 hash cannot answer a SCRAM exchange).
    const bool use_md5 = (s.auth_type == config::AuthType::Md5 && !scram_secret) ||
                         (s.auth_type == config::AuthType::ScramSha256 && md5_secret);
    if (!use_md5 && s.auth_type != config::AuthType::Plain) {
        if (!entry) {
            // Run the exchange against a throwaway secret so an unknown user looks exactly
            // like a wrong password to the client.
            std::string salt(16, '\0');
            RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), 16);
            co_return co_await scram_exchange(pgwire::scram::make_secret("x", salt, 4096), false,
                                              true);
        }
        if (scram_secret) {
            auto parsed = pgwire::scram::parse_secret(secret);
            if (!parsed) {
                co_return failed();
            }
            co_return co_await scram_exchange(*parsed, true, false);
        }
        // Plaintext secret: derive a verifier once per login.
        std::string salt(16, '\0');
        RAND_bytes(reinterpret_cast<unsigned char*>(salt.data()), 16);
        co_return co_await scram_exchange(pgwire::scram::make_secret(secret, salt, 4096), false,
                                          false);
    }

    if (use_md5) {
        std::array<uint8_t, 4> salt{};
        RAND_bytes(salt.data(), 4);
        pgwire::encode_auth_md5(to_client_, salt);
        if (!co_await flush_client()) {
            co_return login_error(sqlstate::kConnectionFailure, "client went away");
        }
        auto msg = co_await read_password_message();
        if (!msg) {
            co_return std::move(msg).error();
        }
        std::string_view answer(*msg);
        if (!answer.empty() && answer.back() == '\0') {
            answer.remove_suffix(1);
        }
        if (!entry || secret.empty() || pgwire::md5::response(secret, user_, salt) != answer) {
            co_return failed();
        }
        co_return common::ok_status();
    }

    // Plain: the client sends its password in the clear (the deployment's choice).
    pgwire::encode_auth_cleartext(to_client_);
    if (!co_await flush_client()) {
        co_return login_error(sqlstate::kConnectionFailure, "client went away");
    }
    auto msg = co_await read_password_message();
    if (!msg) {
        co_return std::move(msg).error();
    }
    std::string password(*msg);
    if (!password.empty() && password.back() == '\0') {
        password.pop_back();
    }
    if (!entry) {
        co_return failed();
    }
    bool ok = false;
    if (scram_secret) {
        auto parsed = pgwire::scram::parse_secret(secret);
        if (parsed) {
            auto derived = pgwire::scram::make_secret(password, parsed->salt, parsed->iterations);
            ok = derived.stored_key == parsed->stored_key;
        }
    } else if (md5_secret) {
        ok = pgwire::md5::password_hash(password, user_) == secret;
    } else {
        ok = password == secret;
    }
    co_return ok ? common::ok_status() : common::Status(failed());
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
    const auto& s = cfg_->settings;
    rt_.count_client_accepted();

    CloseReason reason = CloseReason::ClientGone;
    auto startup = co_await read_startup(reason);
    if (!startup) {
        if (reason == CloseReason::ProtocolError || reason == CloseReason::LoginTimeout) {
            rt_.count_protocol_error();
            spdlog::warn("conn={} client={} startup rejected: {}", id_, peer_,
                         startup.error().message);
            co_await send_fatal(startup.error().code, startup.error().message);
        }
        co_return reason;
    }
    user_ = startup->get("user");
    database_ = startup->get("database");
    if (database_.empty()) {
        database_ = user_;
    }
    auto reject = [&](const char* code, std::string message) -> net::awaitable<CloseReason> {
        rt_.count_login_failure();
        spdlog::warn("conn={} client={} db={} user={} login failed: {}", id_, peer_, database_,
                     user_, message);
        co_await send_fatal(code, message);
        co_return CloseReason::LoginFailed;
    };
    if (user_.empty()) {
        co_return co_await reject(sqlstate::kInvalidAuthorization,
                                  "no PostgreSQL user name specified in startup packet");
    }
    if (rt_.draining.load()) {
        co_return co_await reject(sqlstate::kCannotConnectNow, "pgwarden is shutting down");
    }
    if (rt_.counters.clients_active.fetch_add(1) >= s.max_client_conn) {
        rt_.counters.clients_active.fetch_sub(1);
        rt_.count_login_failure();
        spdlog::warn("conn={} client={} refused: max_client_conn ({}) reached", id_, peer_,
                     s.max_client_conn);
        co_await send_fatal(
            sqlstate::kTooManyConnections,
            fmt::format("no more connections allowed (max_client_conn={})", s.max_client_conn));
        co_return CloseReason::TooManyClients;
    }
    logged_in_ = true;  // counted in clients_active from here on

    if (is_admin_database(database_)) {
        co_return co_await admin_session(*startup);
    }
    {
        const auto address = split_peer(peer_).first;
        class_ = &cfg_->match_class(startup->get("application_name"), user_, database_, address);
    }
    if (!rt_.class_clients.try_enter(class_->name, class_->max_client_conn)) {
        rt_.governance.class_client_refusals.fetch_add(1, std::memory_order_relaxed);
        rt_.counters.login_failures.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("conn={} client={} refused: class {} max_client_conn ({}) reached", id_, peer_,
                     class_->name, class_->max_client_conn);
        co_await send_fatal(sqlstate::kTooManyConnections,
                            fmt::format("no more connections allowed for class \"{}\" "
                                        "(max_client_conn={})",
                                        class_->name, class_->max_client_conn));
        co_return CloseReason::ClassLimit;
    }
    class_counted_ = true;

    const config::DatabaseConfig* db = cfg_->find_database(database_);
    if (!db) {
        co_return co_await reject(sqlstate::kInvalidCatalogName,
                                  fmt::format("no such database: {}", database_));
    }
    for (const auto& [key, value] : startup->params) {
        if (key == "user" || key == "database" || key == "replication") {
            if (key == "replication") {
                co_return co_await reject(sqlstate::kFeatureNotSupported,
                                          "replication connections are not supported");
            }
            continue;
        }
        if (key == "options") {
            if (!value.empty()) {
                spdlog::info("conn={} ignores startup options \"{}\"", id_, value);
            }
            continue;
        }
        if (!valid_parameter_name(key)) {
            co_return co_await reject(sqlstate::kProtocolViolation,
                                      fmt::format("invalid startup parameter name \"{}\"", key));
        }
        if (is_tracked(key)) {
            // PostgreSQL reports these with canonical capitalisation.
            for (const auto& name : tracked_parameters()) {
                if (strcasecmp(name.c_str(), key.c_str()) == 0) {
                    wanted_params_[name] = value;
                }
            }
        } else {
            wanted_extra_[key] = value;
        }
    }

    settings_ = Runtime::pool_settings(*cfg_, *db, database_, user_);
    pool_mode_ = settings_.mode;
    max_prepared_ = settings_.max_prepared_statements;
    max_packet_ = cfg_->settings.max_packet_size;
    pool_ = rt_.pools.get_pool(database_, user_, settings_);
    class_index_ = rt_.pools.class_index(*pool_, class_->name);
    if (auto auth = co_await authenticate(*cfg_); !auth) {
        co_return co_await reject(auth.error().code.c_str(), auth.error().message);
    }

    auto server_params = rt_.pools.server_params(*pool_);
    if (server_params.empty()) {
        // Clients must see the server's parameters at login; the first client of a pool
        // borrows a connection to learn them (and proves the server accepts the login).
        const auto now = Clock::now();
        auto lease = co_await rt_.pools.acquire(
            pool_, class_index_, worker_, now,
            now + class_->query_wait_timeout.value_or(s.query_wait_timeout), waiter_);
        if (!lease) {
            co_return co_await reject(lease.error().code.c_str(),
                                      "server login failed: " + lease.error().message);
        }
        server_params = rt_.pools.server_params(*pool_);
    }
    for (const auto& [name, value] : server_params) {
        if (is_tracked(name) && wanted_params_.count(name) == 0) {
            wanted_params_[name] = value;
        }
    }
    wanted_params_.try_emplace("search_path", "");

    pgwire::encode_auth_ok(to_client_);
    for (const auto& [name, value] : server_params) {
        auto it = wanted_params_.find(name);
        pgwire::encode_parameter_status(to_client_, name,
                                        it != wanted_params_.end() ? it->second : value);
    }
    update_shared([&](Shared& sh) {
        auto app = wanted_params_.find("application_name");
        sh.application_name = app != wanted_params_.end() ? app->second : "";
    });
    auto [pid, key] = rt_.cancels.add(shared_from_this());
    cancel_pid_ = pid;
    pgwire::encode_backend_key_data(to_client_, pid, key);
    pgwire::encode_ready_for_query(to_client_, 'I');
    if (!co_await flush_client()) {
        co_return CloseReason::ClientGone;
    }
    std::string().swap(to_client_);  // the login burst's buffer; most clients then idle
    if (s.log_connections) {
        spdlog::info("conn={} client={} db={} user={} app={} login ok", id_, peer_, database_,
                     user_, wanted_params_["application_name"]);
    }
    observe_login();
    co_return std::nullopt;
}

}  // namespace pgwarden::proxy
