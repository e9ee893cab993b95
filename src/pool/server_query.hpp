#pragma once

#include "common/result.hpp"
#include "net/asio.hpp"
#include "pool/server_conn.hpp"

#include <optional>
#include <string>

namespace pgwarden::pool {

// Runs one simple-protocol query of pgwarden's own on an idle server connection and returns
// the first column of the first row (nothing for no row or NULL). The connection is left
// idle (ReadyForQuery read) on success; on error it should be closed, not reused.
net::awaitable<common::Result<std::optional<std::string>>> query_first_value(
    ServerConn& conn, std::string sql, Clock::time_point deadline);

}  // namespace pgwarden::pool
