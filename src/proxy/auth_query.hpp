#pragma once

#include "common/result.hpp"
#include "net/asio.hpp"
#include "pool/server_conn.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace pgwarden::proxy {

// Looks up a user's password secret with `auth_query` (PgBouncer's setting), logged in to
// the database's server as auth_user on a short-lived connection of its own. The user name
// is sent as a bound parameter, never spliced into the SQL. Returns the secret (a SCRAM
// verifier, an md5 hash or, rarely, a plain password), nothing when the query finds no row
// or a NULL password, or an error when the lookup itself fails. Runs on the caller's loop.
net::awaitable<common::Result<std::optional<std::string>>> run_auth_query(
    pool::ServerEndpoint endpoint, pool::ServerCredentials auth_user, std::string query,
    std::string user, std::chrono::milliseconds timeout);

}  // namespace pgwarden::proxy
