#pragma once

#include "common/result.hpp"
#include "net/asio.hpp"
#include "observe/alert_config.hpp"

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>

namespace pgwarden::observe {

// The parts of an http:// URL the sender needs.
struct HttpUrl {
    std::string host;
    std::string port;    // "80" when absent
    std::string target;  // path and query, "/" when absent
};

// Accepts http://host[:port][/path]; https and other schemes are an error (TLS to the
// receiver is left to a local relay such as Alertmanager itself).
common::Result<HttpUrl> parse_http_url(const std::string& url);

// Delivers alert notifications (JSON documents) to a webhook receiver, one at a time, in
// order. enqueue() never blocks: when the bounded queue is full the notification is dropped
// and counted. A failed POST (connect error, timeout, non-2xx) is retried with exponential
// backoff up to max_attempts, then given up and counted.
//
// Threads: enqueue() and stats() from any thread; the delivery coroutine runs on the
// executor given at creation, which must be single-threaded (an io_context run by one
// thread, e.g. the proxy's loop 0, or a strand).
class WebhookSender : public std::enable_shared_from_this<WebhookSender> {
public:
    struct Stats {
        uint64_t sent = 0;     // delivered (2xx)
        uint64_t failed = 0;   // given up after max_attempts
        uint64_t dropped = 0;  // queue full
        uint64_t retries = 0;  // attempts after the first
        uint64_t queued = 0;   // waiting now (including the one in flight)
    };

    // Errors: an invalid URL.
    static common::Result<std::shared_ptr<WebhookSender>> create(net::Executor executor,
                                                                 WebhookConfig config);

    // Queues one document; false when the queue is full (dropped) or the sender stopped.
    bool enqueue(std::string body);
    // Starts the delivery coroutine (once).
    void start();
    // Stops after the attempt in flight (bounded by the timeout); queued items are discarded.
    void stop();
    Stats stats() const;

    WebhookSender(net::Executor executor, WebhookConfig config, HttpUrl url);

private:
    static net::awaitable<void> run(std::shared_ptr<WebhookSender> self);
    net::awaitable<bool> post_once(const std::string& body);
    void wake();

    net::Executor executor_;
    WebhookConfig config_;
    HttpUrl url_;
    net::SteadyTimer timer_;  // idle wait for work, and backoff sleeps (executor only)
    bool waiting_ = false;    // executor only
    bool started_ = false;
    mutable std::mutex mu_;
    std::deque<std::string> queue_;
    std::atomic<bool> stopped_{false};
    std::atomic<uint64_t> sent_{0};
    std::atomic<uint64_t> failed_{0};
    std::atomic<uint64_t> dropped_{0};
    std::atomic<uint64_t> retries_{0};
};

}  // namespace pgwarden::observe
