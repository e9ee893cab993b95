#pragma once

// Helpers for the observability tests: a raw HTTP client, a Prometheus sample reader, a
// psql runner for the admin console, and a loopback webhook receiver.
#include "harness.hpp"

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pgwarden::itest {

struct HttpReply {
    int status = 0;  // 0: no HTTP answer (refused, closed, timed out)
    std::string headers;
    std::string body;
};

// Sends `request` verbatim to 127.0.0.1:port and reads until the peer closes (10 s at most).
HttpReply http_raw(uint16_t port, const std::string& request);
// GET path with Connection: close.
HttpReply http_get(uint16_t port, const std::string& path);

// The value of the sample `name{labels...}` where every `label="value"` in `match` appears in
// its label set; nullopt when absent.
std::optional<double> metric_value(const std::string& exposition, const std::string& name,
                                   const std::vector<std::string>& match);

// psql -X -A -F'|' with VERBOSITY=verbose (errors carry their SQLSTATE) against a pgwarden
// database as `user`.
embedded::RunResult psql(const PgwardenProcess& p, const std::string& db, const std::string& user,
                         const std::string& password, const std::string& sql,
                         bool tuples_only = true);

// Retries `check` every 100 ms until it is true or `timeout` passes.
bool eventually(const std::function<bool()>& check,
                std::chrono::milliseconds timeout = std::chrono::seconds(10));

// A tiny HTTP server on 127.0.0.1 that answers every request 200 and keeps the bodies.
class WebhookReceiver {
public:
    WebhookReceiver();
    ~WebhookReceiver();
    WebhookReceiver(const WebhookReceiver&) = delete;
    WebhookReceiver& operator=(const WebhookReceiver&) = delete;
    uint16_t port() const { return port_; }
    std::vector<std::string> bodies();

private:
    void serve();
    int listen_fd_ = -1;
    uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::mutex mu_;
    std::vector<std::string> bodies_;
    std::thread thread_;
};

}  // namespace pgwarden::itest
