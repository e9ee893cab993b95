#include "observe/http_server.hpp"

#include "common/scope_guard.hpp"
#include "observe/beast.hpp"

#include <spdlog/spdlog.h>

#include <exception>

namespace pgwarden::observe {

namespace asio = net::asio;
using tcp = asio::ip::tcp;

namespace {

// After an error answer the client may still be sending. Closing with unread bytes makes the
// kernel send RST, which can destroy the answer before the client reads it; so stop sending,
// read and discard for a short bounded while, then close.
constexpr auto kLingerTime = std::chrono::milliseconds(500);
constexpr size_t kLingerBytes = size_t{64} * 1024;

using Response = http::response<http::string_body>;

Response make_response(HttpResponse&& r, unsigned version, bool keep_alive, bool head) {
    Response res{static_cast<http::status>(r.status), version};
    res.set(http::field::server, "pgwarden");
    res.set(http::field::content_type, r.content_type);
    for (const auto& [name, value] : r.headers) {
        res.set(name, value);
    }
    res.keep_alive(keep_alive);
    res.body() = std::move(r.body);  // a scrape body is megabytes: move, never copy
    res.prepare_payload();
    if (head) {
        // HEAD: the headers GET would send, Content-Length included, and no body.
        auto length = res.body().size();
        res.body().clear();
        res.content_length(length);
    }
    return res;
}

HttpResponse plain(int status, std::string body) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.body += '\n';
    return r;
}

bool is_http_error(const net::error_code& ec) {
    return ec.category() == http::make_error_code(http::error::bad_method).category();
}

net::awaitable<void> linger_close(beast::tcp_stream& stream) {
    net::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(kLingerTime);
    std::array<char, 4096> sink{};
    size_t total = 0;
    while (total < kLingerBytes) {
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), net::as_result);
        if (ec) {
            break;
        }
        total += n;
    }
    stream.socket().close(ignored);
}

}  // namespace

common::Result<std::pair<std::string, uint16_t>> parse_listen_address(const std::string& text) {
    std::string host;
    std::string port;
    if (!text.empty() && text[0] == '[') {
        auto close = text.find(']');
        if (close == std::string::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return common::make_error("config",
                                      "stats_listen: expected [address]:port, got '" + text + "'");
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string::npos) {
            return common::make_error("config",
                                      "stats_listen: expected address:port, got '" + text + "'");
        }
        host = text.substr(0, colon);
        port = text.substr(colon + 1);
    }
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string::npos || std::stoi(port) > 65535) {
        return common::make_error("config", "stats_listen: bad port in '" + text + "'");
    }
    if (host.empty() || host == "*") {
        host = "0.0.0.0";
    }
    return std::make_pair(host, static_cast<uint16_t>(std::stoi(port)));
}

HttpServer::HttpServer(const net::Executor& executor, HttpConfig config)
    : executor_(executor), config_(std::move(config)), acceptor_(executor) {}

void HttpServer::route(std::string path, HttpHandler handler) {
    exact_.emplace_back(std::move(path), std::move(handler));
}

void HttpServer::route_prefix(std::string prefix, HttpHandler handler) {
    prefix_.emplace_back(std::move(prefix), std::move(handler));
}

HttpResponse HttpServer::dispatch(const HttpRequest& request) const {
    const HttpHandler* handler = nullptr;
    for (const auto& [path, h] : exact_) {
        if (path == request.path) {
            handler = &h;
            break;
        }
    }
    if (handler == nullptr) {
        size_t best = 0;
        for (const auto& [prefix, h] : prefix_) {
            if (request.path.substr(0, prefix.size()) == prefix && prefix.size() >= best) {
                best = prefix.size();
                handler = &h;
            }
        }
    }
    if (handler == nullptr) {
        return plain(404, "not found");
    }
    try {
        return (*handler)(request);
    } catch (const std::exception& e) {
        spdlog::error("stats http: handler for {} failed: {}", request.path, e.what());
        return plain(500, "internal error");
    }
}

common::Status HttpServer::listen() {
    auto addr = parse_listen_address(config_.listen);
    if (!addr) {
        return addr.error();
    }
    net::error_code ec;
    auto ip = asio::ip::make_address(addr->first, ec);
    if (ec) {
        return common::make_error("config",
                                  "stats_listen: '" + addr->first + "' is not an IP address");
    }
    tcp::endpoint endpoint(ip, addr->second);
    if (acceptor_.open(endpoint.protocol(), ec); ec) {
        return common::make_error("listen", "stats_listen: " + ec.message());
    }
    acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
    if (acceptor_.bind(endpoint, ec); ec) {
        acceptor_.close();
        return common::make_error("listen",
                                  "cannot listen on " + config_.listen + ": " + ec.message());
    }
    if (acceptor_.listen(asio::socket_base::max_listen_connections, ec); ec) {
        acceptor_.close();
        return common::make_error("listen",
                                  "cannot listen on " + config_.listen + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    return common::ok_status();
}

void HttpServer::start() {
    asio::co_spawn(executor_, accept_loop(shared_from_this()), asio::detached);
}

void HttpServer::stop() {
    asio::post(executor_, [self = shared_from_this()] {
        net::error_code ignored;
        self->acceptor_.close(ignored);
        for (auto* socket : self->sockets_) {
            socket->close(ignored);
        }
    });
}

HttpServer::Stats HttpServer::stats() const {
    Stats s;
    s.requests = requests_.load();
    s.rejected = rejected_.load();
    s.refused_connections = refused_.load();
    s.timeouts = timeouts_.load();
    s.connections = open_count_.load();
    return s;
}

net::awaitable<void> HttpServer::accept_loop(std::shared_ptr<HttpServer> self) {
    while (self->acceptor_.is_open()) {
        auto [ec, socket] = co_await self->acceptor_.async_accept(net::as_result);
        if (ec) {
            if (ec == asio::error::operation_aborted || !self->acceptor_.is_open()) {
                break;
            }
            // Out of descriptors and the like: back off instead of spinning on the error.
            spdlog::warn("stats http: accept failed: {}", ec.message());
            net::SteadyTimer pause(self->executor_, std::chrono::milliseconds(100));
            co_await pause.async_wait(net::as_result);
            continue;
        }
        if (self->open_ >= self->config_.max_connections) {
            self->refused_.fetch_add(1, std::memory_order_relaxed);
            net::error_code ignored;
            socket.close(ignored);
            continue;
        }
        ++self->open_;
        self->open_count_.store(self->open_);
        asio::co_spawn(self->executor_, session(self, std::move(socket)), asio::detached);
    }
}

net::awaitable<void> HttpServer::session(std::shared_ptr<HttpServer> self, tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    tcp::socket* raw = &stream.socket();
    self->sockets_.insert(raw);
    common::ScopeGuard done([&self, raw] {
        self->sockets_.erase(raw);
        --self->open_;
        self->open_count_.store(self->open_);
    });
    const HttpConfig& cfg = self->config_;
    // Bounded so that a client pipelining a flood cannot grow it past one request's worth.
    beast::flat_buffer buffer(cfg.header_limit + cfg.body_limit + 4096);
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.header_limit(static_cast<std::uint32_t>(cfg.header_limit));
        parser.body_limit(cfg.body_limit);
        // One deadline for the whole request: a client trickling bytes (slowloris) cannot
        // extend it, and an idle keep-alive connection is closed after the same time.
        stream.expires_after(cfg.read_timeout);
        auto [ec, n] = co_await http::async_read(stream, buffer, parser, net::as_result);
        if (ec) {
            if (ec == beast::error::timeout) {
                self->timeouts_.fetch_add(1, std::memory_order_relaxed);
                break;
            }
            int status = 0;
            if (ec == http::error::header_limit ||
                (ec == http::error::buffer_overflow && !parser.is_header_done())) {
                status = 431;
            } else if (ec == http::error::body_limit || ec == http::error::buffer_overflow) {
                status = 413;
            } else if (is_http_error(ec) && ec != http::error::end_of_stream &&
                       ec != http::error::partial_message) {
                status = 400;
            }
            if (status == 0) {
                break;  // the peer went away
            }
            self->rejected_.fetch_add(1, std::memory_order_relaxed);
            HttpResponse r = plain(status, status == 431   ? "request header fields too large"
                                           : status == 413 ? "payload too large"
                                                           : "bad request");
            auto res = make_response(std::move(r), 11, false, false);
            stream.expires_after(cfg.write_timeout);
            co_await http::async_write(stream, res, net::as_result);
            co_await linger_close(stream);
            co_return;
        }
        self->requests_.fetch_add(1, std::memory_order_relaxed);
        auto& req = parser.get();
        const bool head = req.method() == http::verb::head;
        HttpResponse r;
        std::string_view target(req.target().data(), req.target().size());
        if (req.method() != http::verb::get && !head) {
            self->rejected_.fetch_add(1, std::memory_order_relaxed);
            r = plain(405, "method not allowed");
            r.headers.emplace_back("Allow", "GET, HEAD");
        } else if (target.empty() || target[0] != '/') {
            self->rejected_.fetch_add(1, std::memory_order_relaxed);
            r = plain(400, "bad request target");
        } else {
            HttpRequest request;
            request.method = head ? "HEAD" : "GET";
            auto q = target.find('?');
            request.path = target.substr(0, q);
            request.query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
            auto accept = req[http::field::accept];
            request.accept = std::string_view(accept.data(), accept.size());
            r = self->dispatch(request);
        }
        const bool keep_alive = req.keep_alive() && r.status != 400;
        auto res = make_response(std::move(r), req.version(), keep_alive, head);
        stream.expires_after(cfg.write_timeout);
        auto [wec, written] = co_await http::async_write(stream, res, net::as_result);
        if (wec || !keep_alive) {
            break;
        }
    }
    net::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.socket().close(ignored);
}

}  // namespace pgwarden::observe
