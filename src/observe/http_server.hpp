#pragma once

#include "common/result.hpp"
#include "net/asio.hpp"
#include "observe/alert_config.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

namespace pgwarden::observe {

// A parsed request as handlers see it (no Beast types, so a dashboard module can add routes
// without including Beast). Views are valid during the handler call only.
struct HttpRequest {
    std::string_view method;  // GET or HEAD (others never reach a handler)
    std::string_view path;    // without the query string
    std::string_view query;   // after '?', may be empty
    std::string_view accept;  // the Accept header, may be empty
};

struct HttpResponse {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers
};

// Runs on the server's executor, inline with the connection: it must return quickly and never
// block (no file or network I/O, no waiting on locks held across I/O).
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

// Splits "host:port" or "[v6]:port".
common::Result<std::pair<std::string, uint16_t>> parse_listen_address(const std::string& text);

// A small HTTP/1.1 server for the stats endpoint: GET and HEAD only, keep-alive, strict limits
// (HttpConfig) so a slow, malformed or greedy client costs the proxy nothing:
//  - headers over header_limit: 431; bodies over body_limit: 413; unparsable: 400; all close;
//  - other methods: 405 with Allow; unknown paths: 404;
//  - a request (headers and body) must arrive within read_timeout, or the connection closes;
//  - beyond max_connections, new connections are closed at once.
//
// Threads: construct, route() and listen() before start(); everything else runs on the
// executor given (the proxy's loop 0). stop() may be called from any thread.
class HttpServer : public std::enable_shared_from_this<HttpServer> {
public:
    struct Stats {
        uint64_t requests = 0;
        uint64_t rejected = 0;             // 4xx answers to malformed or oversized requests, 405
        uint64_t refused_connections = 0;  // over max_connections
        uint64_t timeouts = 0;             // read deadline passed
        uint64_t connections = 0;          // open now
    };

    HttpServer(const net::Executor& executor, HttpConfig config);

    // Exact-path route, e.g. "/metrics".
    void route(std::string path, HttpHandler handler);
    // Prefix route, e.g. "/api/"; the longest matching prefix wins; exact routes first.
    void route_prefix(std::string prefix, HttpHandler handler);

    // Binds config.listen (port 0 picks a free port). Errors: bad address, bind failure.
    common::Status listen();
    // The bound port (after listen()).
    uint16_t port() const { return port_; }
    // Starts accepting on the executor.
    void start();
    // Closes the listener and every open connection.
    void stop();
    Stats stats() const;

    // Routes a request as the server would (status 404 when nothing matches). Public so the
    // routing table can be tested without a socket.
    HttpResponse dispatch(const HttpRequest& request) const;

private:
    static net::awaitable<void> accept_loop(std::shared_ptr<HttpServer> self);
    static net::awaitable<void> session(std::shared_ptr<HttpServer> self,
                                        net::asio::ip::tcp::socket socket);

    net::Executor executor_;
    HttpConfig config_;
    std::vector<std::pair<std::string, HttpHandler>> exact_;
    std::vector<std::pair<std::string, HttpHandler>> prefix_;
    net::asio::ip::tcp::acceptor acceptor_;
    uint16_t port_ = 0;
    size_t open_ = 0;                                          // executor only
    std::unordered_set<net::asio::ip::tcp::socket*> sockets_;  // executor only
    std::atomic<uint64_t> requests_{0};
    std::atomic<uint64_t> rejected_{0};
    std::atomic<uint64_t> refused_{0};
    std::atomic<uint64_t> timeouts_{0};
    std::atomic<uint64_t> open_count_{0};
};

}  // namespace pgwarden::observe
