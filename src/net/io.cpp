#include "net/io.hpp"

#include <fmt/format.h>

namespace pgwarden::net {

using namespace boost::asio::experimental::awaitable_operators;

awaitable<error_code> read_some_into(StreamSocket& sock, Bytes& buf, size_t chunk) {
    // A plain async read: Asio tries it at once only when the socket may hold data (the last
    // read did not drain it, or epoll said so since); otherwise it queues the read with the
    // reactor without any system call. Waiting for readiness with async_wait instead would
    // cost an epoll_ctl(MOD) per wait, i.e. per direction per transaction. Only a single read
    // may be outstanding here: racing it against another operation could lose its bytes.
    auto [ec, n] = co_await sock.async_read_some(read_space(buf, chunk), as_result_direct);
    co_return read_done(buf, chunk, ec, n);
}

namespace {

// Sync reads and writes must return would_block rather than wait. The flag is remembered by
// Asio; setting it every time would be an ioctl per call.
bool ensure_non_blocking(StreamSocket& sock, error_code& ec) {
    if (!sock.non_blocking()) {
        sock.non_blocking(true, ec);
    }
    return !ec;
}

}  // namespace

size_t read_available(StreamSocket& sock, Bytes& buf, size_t chunk, error_code& ec) {
    ec.clear();
    if (!ensure_non_blocking(sock, ec)) {
        return 0;
    }
    const size_t old = buf.size();
    buf.resize(old + chunk);
    const size_t n = sock.read_some(asio::buffer(buf.data() + old, chunk), ec);
    buf.resize(old + n);
    if (ec && (ec == asio::error::would_block || ec == asio::error::try_again)) {
        ec.clear();
    }
    return n;
}

awaitable<error_code> read_some_until(StreamSocket& sock, Bytes& buf, size_t chunk,
                                      std::chrono::steady_clock::time_point deadline) {
    SteadyTimer timer(sock.get_executor(), deadline);
    for (;;) {
        auto result = co_await (sock.async_wait(asio::socket_base::wait_read, as_result) ||
                                timer.async_wait(as_result));
        if (result.index() == 1) {
            co_return asio::error::timed_out;
        }
        if (auto [wec] = std::get<0>(result); wec) {
            co_return wec;
        }
        error_code ec;
        const size_t n = read_available(sock, buf, chunk, ec);
        if (ec || n > 0) {
            co_return ec;
        }
        // Readable but nothing there (spurious wake-up): wait again.
    }
}

size_t write_some_now(StreamSocket& sock, std::span<const uint8_t> data, error_code& ec) {
    ec.clear();
    if (!ensure_non_blocking(sock, ec)) {
        return 0;
    }
    size_t sent = 0;
    while (sent < data.size()) {
        const size_t n = sock.write_some(asio::buffer(data.data() + sent, data.size() - sent), ec);
        if (ec && (ec == asio::error::would_block || ec == asio::error::try_again)) {
            ec.clear();
            break;
        }
        if (ec) {
            break;
        }
        sent += n;
    }
    return sent;
}

bool write_now(StreamSocket& sock, std::string& data, error_code& ec) {
    const size_t sent =
        write_some_now(sock, {reinterpret_cast<const uint8_t*>(data.data()), data.size()}, ec);
    if (ec || sent == data.size()) {
        data.clear();
        return true;
    }
    data.erase(0, sent);
    return false;
}

awaitable<error_code> write_all(StreamSocket& sock, std::string& data) {
    auto [ec, n] = co_await asio::async_write(sock, asio::buffer(data), as_result_direct);
    data.clear();
    co_return ec;
}

awaitable<error_code> connect_to(StreamSocket& sock, const std::string& host, uint16_t port,
                                 std::chrono::steady_clock::time_point deadline) {
    auto exec = co_await asio::this_coro::executor;
    SteadyTimer timer(exec, deadline);
    if (!host.empty() && host[0] == '/') {
        asio::local::stream_protocol::endpoint ep(fmt::format("{}/.s.PGSQL.{}", host, port));
        StreamSocket s(exec);
        error_code ec;
        s.open(asio::generic::stream_protocol(AF_UNIX, 0), ec);
        if (ec) {
            co_return ec;
        }
        auto r =
            co_await (s.async_connect(asio::generic::stream_protocol::endpoint(ep), as_result) ||
                      timer.async_wait(as_result));
        if (r.index() == 1) {
            co_return asio::error::timed_out;
        }
        if (auto [cec] = std::get<0>(r); cec) {
            co_return cec;
        }
        sock = std::move(s);
        co_return error_code{};
    }
    asio::ip::tcp::resolver resolver(exec);
    auto rr = co_await (resolver.async_resolve(host, std::to_string(port), as_result) ||
                        timer.async_wait(as_result));
    if (rr.index() == 1) {
        co_return asio::error::timed_out;
    }
    auto [rec, results] = std::get<0>(rr);
    if (rec) {
        co_return rec;
    }
    error_code last = asio::error::host_not_found;
    for (const auto& entry : results) {
        const auto ep = entry.endpoint();
        StreamSocket s(exec);
        error_code ec;
        s.open(asio::generic::stream_protocol(ep.protocol().family(), IPPROTO_TCP), ec);
        if (ec) {
            last = ec;
            continue;
        }
        auto r =
            co_await (s.async_connect(asio::generic::stream_protocol::endpoint(ep), as_result) ||
                      timer.async_wait(as_result));
        if (r.index() == 1) {
            co_return asio::error::timed_out;
        }
        if (auto [cec] = std::get<0>(r); cec) {
            last = cec;
            continue;
        }
        s.set_option(asio::ip::tcp::no_delay(true), ec);
        sock = std::move(s);
        co_return error_code{};
    }
    co_return last;
}

}  // namespace pgwarden::net
