#pragma once

#include "config/config.hpp"
#include "net/asio.hpp"
#include "pgwire/messages.hpp"
#include "pgwire/scram.hpp"
#include "pool/pool.hpp"
#include "proxy/admin_commands.hpp"
#include "proxy/client_io.hpp"
#include "proxy/close_reason.hpp"
#include "proxy/runtime.hpp"
#include "proxy/session_slots.hpp"

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace pgwarden::proxy {

// The admin console's virtual database names.
bool is_admin_database(std::string_view name);

// What a successful login hands the session: who the client is, where its requests go, and
// the counts it holds. The login reply up to (not including) BackendKeyData is in the
// ClientIo's output buffer, not yet sent.
struct LoggedIn {
    std::shared_ptr<const config::Config> cfg;  // the snapshot the session keeps
    std::string user;
    std::string database;
    std::string application_name;  // from the startup packet (the admin console's only)
    ClientSlot client_slot;        // counted in max_client_conn
    // The admin console: no class seat, pool or parameters below.
    bool admin = false;
    AdminRole role = AdminRole::None;
    // Points into `cfg`; for the console a placeholder (the default class).
    const config::WorkloadClass* cls = nullptr;
    std::optional<ClassSeat> class_seat;
    pool::PoolSettings settings;
    std::shared_ptr<pool::Pool> pool;
    size_t class_index = 0;
    std::map<std::string, std::string> wanted_params;  // tracked parameters the client wants
    std::map<std::string, std::string> wanted_extra;   // other startup parameters
};

// A client's login: the startup packet (SSL/GSSENC negotiation, CancelRequest), admission
// (max_client_conn, the class's max_client_conn), authentication (trust, plain, md5,
// SCRAM-SHA-256, auth_file or auth_query) and the login reply. Runs on the session's loop.
class Login {
public:
    // `worker`: the event loop the session runs on.
    // `cfg`: the snapshot the client logs in with (and the session keeps).
    Login(Runtime& rt, ClientIo& io, std::shared_ptr<const config::Config> cfg, int worker,
          uint64_t id, const std::string& peer)
        : rt_(rt), io_(io), worker_(worker), id_(id), peer_(peer) {
        out_.cfg = std::move(cfg);
    }

    // The logged-in client, or why the connection ends (the client was told).
    net::awaitable<std::variant<LoggedIn, CloseReason>> run();

private:
    net::awaitable<common::Result<pgwire::StartupMessage>> read_startup(CloseReason& reason);
    net::awaitable<common::Status> authenticate();
    // `passthrough`: the secret is the server's own verifier, so the ClientKey recovered
    // from the proof can log in to PostgreSQL; `fake`: fail at the end whatever the proof.
    net::awaitable<common::Status> scram_exchange(const pgwire::scram::Secret& secret,
                                                  bool passthrough, bool fake);
    net::awaitable<common::Result<std::string>> read_password_message();
    // Logs and counts a refused login and tells the client.
    net::awaitable<CloseReason> reject(const char* code, std::string message);
    // The admin console's login, after admission: authentication and role.
    net::awaitable<std::optional<CloseReason>> admin_login(const pgwire::StartupMessage& startup);
    // Startup parameters into wanted_params/wanted_extra; an error names the bad one.
    common::Status take_parameters(const pgwire::StartupMessage& startup);
    // The server's parameters (borrowing a connection to learn them on a pool's first
    // login) and the AuthenticationOk/ParameterStatus part of the reply.
    net::awaitable<std::optional<CloseReason>> reply();

    Runtime& rt_;
    ClientIo& io_;
    int worker_;
    uint64_t id_;
    const std::string& peer_;
    LoggedIn out_;
};

}  // namespace pgwarden::proxy
