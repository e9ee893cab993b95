#pragma once

#include "net/asio.hpp"
#include "proxy/admin_commands.hpp"
#include "proxy/client_io.hpp"
#include "proxy/close_reason.hpp"
#include "proxy/runtime.hpp"

#include <cstdint>
#include <string>

namespace pgwarden::proxy {

// A logged-in admin console client's statements, answered until it leaves: PgBouncer's
// commands over the simple query protocol (extended-protocol messages are refused). Runs on
// the session's loop and never holds a server connection.
class AdminConsole {
public:
    // `killed`: set by an admin KILL of this session (its socket is closed), so a failed
    // read ends with Shutdown rather than ClientGone.
    AdminConsole(Runtime& rt, ClientIo& io, uint64_t id, const std::string& user, AdminRole role,
                 const bool& killed)
        : rt_(rt), io_(io), id_(id), user_(user), role_(role), killed_(killed) {}

    net::awaitable<CloseReason> run();

private:
    Runtime& rt_;
    ClientIo& io_;
    uint64_t id_;
    const std::string& user_;
    AdminRole role_;
    const bool& killed_;
};

}  // namespace pgwarden::proxy
