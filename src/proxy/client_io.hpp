#pragma once

#include "net/asio.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace pgwarden::proxy {

// The client's end of a session: its socket and its two buffers. The login, the admin
// console and the relay each read and write the client through it.
struct ClientIo {
    explicit ClientIo(net::StreamSocket s) : socket(std::move(s)) {}

    // Writes `out` without blocking: true when it went out whole (or failed: `ok` false);
    // false when the rest needs flush().
    bool flush_now(bool& ok);
    // Writes `out` whole; false when the client is gone.
    net::awaitable<bool> flush();
    // Sends an ErrorResponse (FATAL) and flushes.
    net::awaitable<void> send_fatal(std::string_view sqlstate, std::string_view message);

    net::Bytes in;    // received; bytes before `pos` are consumed
    size_t pos = 0;   // (the relay's read position; login and the console erase instead)
    std::string out;  // to send
    net::StreamSocket socket;
};

}  // namespace pgwarden::proxy
