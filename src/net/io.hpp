#pragma once

#include "net/asio.hpp"

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace pgwarden::net {

// Reads at least one byte into `buf` (growing it by up to `chunk`); eof when the peer closed.
// Bytes already in `buf` are kept. Cancellation (socket.cancel()) ends it with
// operation_aborted unless the read had already completed.
awaitable<error_code> read_some_into(StreamSocket& sock, Bytes& buf, size_t chunk);

// read_some_into's two halves, for hot loops that cannot afford its coroutine frame:
//   auto [ec, n] = co_await sock.async_read_some(read_space(buf, chunk), as_result);
//   ec = read_done(buf, chunk, ec, n);
inline asio::mutable_buffer read_space(Bytes& buf, size_t chunk) {
    const size_t old = buf.size();
    buf.resize(old + chunk);
    return asio::buffer(buf.data() + old, chunk);
}
inline error_code read_done(Bytes& buf, size_t chunk, error_code ec, size_t n) {
    buf.resize(buf.size() - chunk + n);
    if (!ec && n == 0) {
        ec = asio::error::eof;
    }
    return ec;
}

// Same, with a deadline; on expiry returns asio::error::timed_out. Implemented as a race of
// "readable" against the timer followed by a non-blocking read, so a read completing at the
// same moment as the timer can never be discarded with its bytes.
awaitable<error_code> read_some_until(StreamSocket& sock, Bytes& buf, size_t chunk,
                                      std::chrono::steady_clock::time_point deadline);

// Appends whatever `sock` has available without blocking (up to `chunk` bytes). Returns the
// number of bytes read; `ec` is eof or another error when the peer is gone, clear when
// nothing was available yet.
size_t read_available(StreamSocket& sock, Bytes& buf, size_t chunk, error_code& ec);

// Writes all of `data`, then clears it.
awaitable<error_code> write_all(StreamSocket& sock, std::string& data);

// Sends as much of `data` as the socket takes without blocking and erases what was sent.
// True when done: all sent (`data` empty) or an error in `ec`; false when the rest must wait
// for write_all. The relay's replies nearly always fit the socket buffer, and a direct send
// skips the async operation, its completion post and a coroutine frame per message batch.
bool write_now(StreamSocket& sock, std::string& data, error_code& ec);

// Sends as much of `data` as the socket takes without blocking; returns how much. `ec` is
// set only on a real error (not when the socket buffer is full).
size_t write_some_now(StreamSocket& sock, std::span<const uint8_t> data, error_code& ec);

// Resolves and connects to host:port (or a Unix socket when host starts with '/'), with a
// deadline. On success `sock` is open on `exec`.
awaitable<error_code> connect_to(StreamSocket& sock, const std::string& host, uint16_t port,
                                 std::chrono::steady_clock::time_point deadline);

}  // namespace pgwarden::net
