#include "observe_util.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace pgwarden::itest {

namespace {

int connect_loopback(uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    return fd;
}

}  // namespace

HttpReply http_raw(uint16_t port, const std::string& request) {
    HttpReply reply;
    const int fd = connect_loopback(port);
    if (fd < 0) {
        return reply;
    }
    (void)::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string raw;
    char buf[16384];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            break;
        }
        raw.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    const auto end = raw.find("\r\n\r\n");
    if (raw.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) {
        return reply;
    }
    reply.status = std::atoi(raw.c_str() + 9);
    reply.headers = raw.substr(0, end);
    reply.body = raw.substr(end + 4);
    return reply;
}

HttpReply http_get(uint16_t port, const std::string& path) {
    return http_raw(port,
                    "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
}

std::optional<double> metric_value(const std::string& exposition, const std::string& name,
                                   const std::vector<std::string>& match) {
    size_t pos = 0;
    while (pos < exposition.size()) {
        size_t eol = exposition.find('\n', pos);
        if (eol == std::string::npos) {
            eol = exposition.size();
        }
        const std::string line = exposition.substr(pos, eol - pos);
        pos = eol + 1;
        if (line.empty() || line[0] == '#') {
            continue;
        }
        const auto brace = line.find('{');
        const auto space = line.rfind(' ');
        const std::string metric = line.substr(0, std::min(brace, space));
        if (metric != name) {
            continue;
        }
        bool all = true;
        for (const auto& m : match) {
            all = all && line.find(m) != std::string::npos;
        }
        if (all) {
            return std::strtod(line.c_str() + space + 1, nullptr);
        }
    }
    return std::nullopt;
}

embedded::RunResult psql(const PgwardenProcess& p, const std::string& db, const std::string& user,
                         const std::string& password, const std::string& sql, bool tuples_only) {
    std::vector<std::string> argv = {
        "psql", "-X", "-A", "-F", "|", "-v", "VERBOSITY=verbose", "-d", p.url(db, user, password),
        "-c",   sql};
    if (tuples_only) {
        argv.insert(argv.begin() + 2, "-t");
    }
    return run_command(argv, {"PGCONNECT_TIMEOUT=10"}, std::chrono::seconds(60));
}

bool eventually(const std::function<bool()>& check, std::chrono::milliseconds timeout) {
    const auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        if (check()) {
            return true;
        }
        if (std::chrono::steady_clock::now() >= until) {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
}

WebhookReceiver::WebhookReceiver() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 16);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
}

WebhookReceiver::~WebhookReceiver() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
}

std::vector<std::string> WebhookReceiver::bodies() {
    std::lock_guard lock(mu_);
    return bodies_;
}

void WebhookReceiver::serve() {
    while (!stop_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) {
            continue;
        }
        const int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) {
            continue;
        }
        timeval tv{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        std::string raw;
        char buf[8192];
        // Read headers, then Content-Length bytes of body.
        for (int i = 0; i < 1000; ++i) {
            const auto end = raw.find("\r\n\r\n");
            if (end != std::string::npos) {
                size_t length = 0;
                for (const char* key : {"Content-Length:", "content-length:"}) {
                    if (auto at = raw.find(key); at != std::string::npos && at < end) {
                        length = std::strtoul(raw.c_str() + at + std::strlen(key), nullptr, 10);
                    }
                }
                if (raw.size() >= end + 4 + length) {
                    std::lock_guard lock(mu_);
                    bodies_.push_back(raw.substr(end + 4, length));
                    break;
                }
            }
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) {
                break;
            }
            raw.append(buf, static_cast<size_t>(n));
        }
        const std::string ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        (void)::send(fd, ok.data(), ok.size(), MSG_NOSIGNAL);
        ::close(fd);
    }
}

}  // namespace pgwarden::itest
