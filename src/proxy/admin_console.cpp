// The admin console: a client that logs in to the virtual database "pgbouncer" (or
// "pgwarden") talks to pgwarden itself, with PgBouncer's commands over the simple query
// protocol. It never touches a server connection.
#include "proxy/admin_console.hpp"

#include "net/io.hpp"
#include "pgwire/frame.hpp"
#include "pgwire/messages.hpp"
#include "pgwire/sqlstate.hpp"
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

net::awaitable<CloseReason> ClientSession::admin_session(AdminRole role,
                                                         const std::string& application_name) {
    auto [pid, key] = rt_.sessions.add(shared_from_this());
    cancel_pid_ = pid;
    pgwire::encode_backend_key_data(io_.out, pid, key);
    pgwire::encode_ready_for_query(io_.out, 'I');
    update_shared([&](Shared& sh) {
        auto& i = sh.info;
        i.id = id_;
        i.peer = peer_;
        i.database = database_;
        i.user = user_;
        i.application_name = application_name;
        i.admin = true;
        i.connect_time = std::chrono::system_clock::now();
        sh.state = ClientState::Idle;
        sh.state_since = pool::Clock::now();
    });
    if (!co_await io_.flush()) {
        co_return CloseReason::ClientGone;
    }
    spdlog::info("conn={} client={} user={} on the admin console ({})", id_, peer_, user_,
                 role == AdminRole::Admin ? "admin" : "stats");
    AdminConsole console(rt_, io_, id_, user_, role, killed_);
    co_return co_await console.run();
}

net::awaitable<CloseReason> AdminConsole::run() {
    for (;;) {
        auto h = pgwire::decode_header(io_.in, kMaxAdminMessage);
        if (h.status == pgwire::DecodeStatus::Error) {
            co_await io_.send_fatal(h.error_code, h.error);
            co_return CloseReason::ProtocolError;
        }
        if (h.status == pgwire::DecodeStatus::NeedMore || io_.in.size() < h.length) {
            auto ec = co_await net::read_some_into(io_.socket, io_.in, kReadChunk);
            if (ec) {
                co_return killed_ ? CloseReason::Shutdown : CloseReason::ClientGone;
            }
            continue;
        }
        const std::string_view body(
            reinterpret_cast<const char*>(io_.in.data()) + pgwire::kHeaderSize,
            h.length - pgwire::kHeaderSize);
        const char type = h.type;
        std::string sql;
        if (type == 'Q') {
            if (auto q = pgwire::parse_query(body); q) {
                sql = std::string(*q);
            }
        }
        io_.in.erase(io_.in.begin(), io_.in.begin() + h.length);
        if (type == 'X') {
            co_return CloseReason::ClientTerminate;
        }
        if (type != 'Q') {
            // Extended protocol: refuse each message, answer the Sync that ends the batch.
            if (type == 'S') {
                pgwire::encode_ready_for_query(io_.out, 'I');
            } else if (type == 'P' || type == 'E') {
                pgwire::encode_error(io_.out, sqlstate::kFeatureNotSupported,
                                     "the admin console speaks the simple query protocol only", {},
                                     "ERROR");
            }
            if (!co_await io_.flush()) {
                co_return CloseReason::ClientGone;
            }
            continue;
        }
        spdlog::info("conn={} admin user={}: {}", id_, user_, sql);
        auto outcome = run_admin_command(rt_, role_, sql);
        io_.out += outcome.out;
        if (outcome.wait_for_pause) {
            // PAUSE returns once the running transactions have finished, as in PgBouncer.
            const auto until = SteadyClock::now() + kPauseWait;
            for (;;) {
                const auto ticket = rt_.changes.ticket();
                if (!servers_in_use(rt_, outcome.pause_database) || SteadyClock::now() >= until) {
                    break;
                }
                co_await rt_.changes.wait(ticket, until);
            }
            if (servers_in_use(rt_, outcome.pause_database)) {
                pgwire::encode_notice(io_.out, "01000",
                                      "paused, but transactions are still running");
            }
            pgwire::encode_command_complete(io_.out, "PAUSE");
        }
        pgwire::encode_ready_for_query(io_.out, 'I');
        if (!co_await io_.flush()) {
            co_return CloseReason::ClientGone;
        }
    }
}

}  // namespace pgwarden::proxy
