// The admin console: a client that logs in to the virtual database "pgbouncer" (or
// "pgwarden") talks to pgwarden itself, with PgBouncer's commands over the simple query
// protocol. It never touches a server connection.
#include "net/io.hpp"
#include "pgwire/frame.hpp"
#include "pgwire/messages.hpp"
#include "pgwire/sqlstate.hpp"
#include "proxy/admin_commands.hpp"
#include "proxy/client_session.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace pgwarden::proxy {

namespace sqlstate = pgwire::sqlstate;
using SteadyClock = std::chrono::steady_clock;

namespace {

constexpr size_t kReadChunk = 16 * 1024;
// An admin statement is a short command; anything longer is a client talking to the wrong
// port.
constexpr uint64_t kMaxAdminMessage = 64 * 1024;
// PAUSE waits for running transactions at most this long, then answers with a warning.
constexpr auto kPauseWait = std::chrono::seconds(30);

}  // namespace

net::awaitable<CloseReason> ClientSession::admin_session(const pgwire::StartupMessage& startup) {
    const AdminRole role = admin_role(*cfg_, user_);
    // Authenticate first, so the answer does not tell strangers which users are admins.
    if (auto auth = co_await authenticate(*cfg_); !auth) {
        rt_.count_login_failure();
        spdlog::warn("conn={} client={} admin console login failed for user={}: {}", id_, peer_,
                     user_, auth.error().message);
        co_await send_fatal(auth.error().code, auth.error().message);
        co_return CloseReason::LoginFailed;
    }
    if (role == AdminRole::None) {
        rt_.count_login_failure();
        spdlog::warn(
            "conn={} client={} user={} refused on the admin console (not in "
            "admin_users or stats_users)",
            id_, peer_, user_);
        co_await send_fatal(sqlstate::kInsufficientPrivilege,
                            fmt::format("user \"{}\" is not allowed on the admin console "
                                        "(admin_users or stats_users)",
                                        user_));
        co_return CloseReason::LoginFailed;
    }
    pgwire::encode_auth_ok(to_client_);
    const std::string app = startup.get("application_name");
    // What PgBouncer reports on its console, so drivers that read these find them.
    pgwire::encode_parameter_status(to_client_, "server_version", "0.1.0/pgwarden");
    pgwire::encode_parameter_status(to_client_, "server_encoding", "UTF8");
    pgwire::encode_parameter_status(to_client_, "client_encoding", "UTF8");
    pgwire::encode_parameter_status(to_client_, "DateStyle", "ISO");
    pgwire::encode_parameter_status(to_client_, "integer_datetimes", "on");
    pgwire::encode_parameter_status(to_client_, "standard_conforming_strings", "on");
    pgwire::encode_parameter_status(to_client_, "application_name", app);
    // The governor reads every registered session's class; the console never holds a server
    // connection, so the default class (always last) is only a placeholder.
    class_ = &cfg_->classes.back();
    auto [pid, key] = rt_.cancels.add(shared_from_this());
    cancel_pid_ = pid;
    pgwire::encode_backend_key_data(to_client_, pid, key);
    pgwire::encode_ready_for_query(to_client_, 'I');
    update_shared([&](Shared& sh) {
        auto& i = sh.info;
        i.id = id_;
        i.peer = peer_;
        i.database = database_;
        i.user = user_;
        i.application_name = app;
        i.admin = true;
        i.connect_time = std::chrono::system_clock::now();
        sh.state = ClientState::Idle;
        sh.state_since = pool::Clock::now();
    });
    if (!co_await flush_client()) {
        co_return CloseReason::ClientGone;
    }
    spdlog::info("conn={} client={} user={} on the admin console ({})", id_, peer_, user_,
                 role == AdminRole::Admin ? "admin" : "stats");

    for (;;) {
        auto h = pgwire::decode_header(client_in_, kMaxAdminMessage);
        if (h.status == pgwire::DecodeStatus::Error) {
            co_await send_fatal(h.error_code, h.error);
            co_return CloseReason::ProtocolError;
        }
        if (h.status == pgwire::DecodeStatus::NeedMore || client_in_.size() < h.length) {
            auto ec = co_await net::read_some_into(client_, client_in_, kReadChunk);
            if (ec) {
                co_return killed_ ? CloseReason::Shutdown : CloseReason::ClientGone;
            }
            continue;
        }
        const std::string_view body(
            reinterpret_cast<const char*>(client_in_.data()) + pgwire::kHeaderSize,
            h.length - pgwire::kHeaderSize);
        const char type = h.type;
        std::string sql;
        if (type == 'Q') {
            if (auto q = pgwire::parse_query(body); q) {
                sql = std::string(*q);
            }
        }
        client_in_.erase(client_in_.begin(), client_in_.begin() + h.length);
        if (type == 'X') {
            co_return CloseReason::ClientTerminate;
        }
        if (type != 'Q') {
            // Extended protocol: refuse each message, answer the Sync that ends the batch.
            if (type == 'S') {
                pgwire::encode_ready_for_query(to_client_, 'I');
            } else if (type == 'P' || type == 'E') {
                pgwire::encode_error(to_client_, sqlstate::kFeatureNotSupported,
                                     "the admin console speaks the simple query protocol only", {},
                                     "ERROR");
            }
            if (!co_await flush_client()) {
                co_return CloseReason::ClientGone;
            }
            continue;
        }
        spdlog::info("conn={} admin user={}: {}", id_, user_, sql);
        auto outcome = run_admin_command(rt_, role, sql);
        to_client_ += outcome.out;
        if (outcome.wait_for_pause) {
            // PAUSE returns once the running transactions have finished, as in PgBouncer.
            net::SteadyTimer timer(client_.get_executor());
            const auto until = SteadyClock::now() + kPauseWait;
            while (servers_in_use(rt_, outcome.pause_database) && SteadyClock::now() < until) {
                timer.expires_after(std::chrono::milliseconds(20));
                co_await timer.async_wait(net::as_result);
            }
            if (servers_in_use(rt_, outcome.pause_database)) {
                pgwire::encode_notice(to_client_, "01000",
                                      "paused, but transactions are still running");
            }
            pgwire::encode_command_complete(to_client_, "PAUSE");
        }
        pgwire::encode_ready_for_query(to_client_, 'I');
        if (!co_await flush_client()) {
            co_return CloseReason::ClientGone;
        }
    }
}

}  // namespace pgwarden::proxy
