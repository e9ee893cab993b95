#include "proxy/client_io.hpp"

#include "net/io.hpp"
#include "pgwire/messages.hpp"

namespace pgwarden::proxy {

bool ClientIo::flush_now(bool& ok) {
    ok = true;
    if (out.empty()) {
        return true;
    }
    net::error_code ec;
    const bool done = net::write_now(socket, out, ec);
    ok = !ec;
    return done;
}

net::awaitable<bool> ClientIo::flush() {
    bool ok = true;
    if (flush_now(ok)) {
        co_return ok;
    }
    auto ec = co_await net::write_all(socket, out);
    co_return !ec;
}

net::awaitable<void> ClientIo::send_fatal(std::string_view sqlstate, std::string_view message) {
    pgwire::encode_error(out, sqlstate, message);
    co_await flush();
}

}  // namespace pgwarden::proxy
