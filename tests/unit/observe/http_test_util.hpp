#pragma once

#include "net/asio.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <string>

namespace pgwarden::observe::testing {

// A blocking raw-socket HTTP client for tests: sends bytes as given and reads until the
// server closes (or 3 s pass), so malformed requests can be sent verbatim.
inline net::asio::ip::tcp::socket connect_to(net::asio::io_context& io, uint16_t port) {
    net::asio::ip::tcp::socket s(io);
    s.connect({net::asio::ip::make_address("127.0.0.1"), port});
    timeval tv{3, 0};
    ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return s;
}

inline std::string read_all(net::asio::ip::tcp::socket& s) {
    std::string out;
    char buf[8192];
    for (;;) {
        net::error_code ec;
        size_t n = s.read_some(net::asio::buffer(buf), ec);
        out.append(buf, n);
        if (ec) {
            break;
        }
    }
    return out;
}

inline std::string send_raw(uint16_t port, const std::string& request) {
    net::asio::io_context io;
    auto s = connect_to(io, port);
    net::error_code ec;
    net::asio::write(s, net::asio::buffer(request), ec);
    return read_all(s);
}

inline int status_of(const std::string& response) {
    if (response.rfind("HTTP/1.1 ", 0) != 0 || response.size() < 12) {
        return 0;
    }
    return std::stoi(response.substr(9, 3));
}

inline std::string body_of(const std::string& response) {
    auto pos = response.find("\r\n\r\n");
    return pos == std::string::npos ? std::string() : response.substr(pos + 4);
}

inline std::string get(uint16_t port, const std::string& path) {
    return send_raw(port, "GET " + path + " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
}

}  // namespace pgwarden::observe::testing
