#pragma once

// The one place that includes Asio and names the aliases the rest of pgwarden uses, so the
// experimental parts (awaitable operators) are pulled in from a single header.
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>

namespace pgwarden::net {

namespace asio = boost::asio;
using boost::system::error_code;
using asio::awaitable;
using asio::use_awaitable;
using Executor = asio::any_io_executor;
using StreamSocket = asio::generic::stream_protocol::socket;
using SteadyTimer = asio::steady_timer;

// `co_await op(..., as_result)` yields std::tuple<error_code, ...> instead of throwing:
// environment failures are values on the data path, never exceptions.
inline constexpr auto as_result = asio::as_tuple(asio::use_awaitable);

}  // namespace pgwarden::net
