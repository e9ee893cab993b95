#include "observe/webhook.hpp"

#include "observe/beast.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace pgwarden::observe {

namespace asio = net::asio;
using tcp = asio::ip::tcp;

common::Result<HttpUrl> parse_http_url(const std::string& url) {
    constexpr std::string_view scheme = "http://";
    if (url.rfind(scheme, 0) != 0) {
        return common::make_error("config",
                                  "webhook_url must start with http:// (got '" + url + "')");
    }
    std::string rest = url.substr(scheme.size());
    HttpUrl out;
    auto slash = rest.find('/');
    std::string authority = rest.substr(0, slash);
    out.target = slash == std::string::npos ? "/" : rest.substr(slash);
    if (authority.empty()) {
        return common::make_error("config", "webhook_url has no host: '" + url + "'");
    }
    if (authority.find('@') != std::string::npos) {
        return common::make_error("config", "webhook_url must not hold credentials");
    }
    if (authority[0] == '[') {
        auto close = authority.find(']');
        if (close == std::string::npos) {
            return common::make_error("config", "webhook_url: unterminated [IPv6] host");
        }
        out.host = authority.substr(1, close - 1);
        if (close + 1 < authority.size()) {
            if (authority[close + 1] != ':') {
                return common::make_error("config", "webhook_url: bad port");
            }
            out.port = authority.substr(close + 2);
        }
    } else {
        auto colon = authority.rfind(':');
        out.host = authority.substr(0, colon);
        if (colon != std::string::npos) {
            out.port = authority.substr(colon + 1);
        }
    }
    if (out.host.empty()) {
        return common::make_error("config", "webhook_url has no host: '" + url + "'");
    }
    if (out.port.empty()) {
        out.port = "80";
    }
    if (out.port.find_first_not_of("0123456789") != std::string::npos || out.port.size() > 5 ||
        std::stoi(out.port) < 1 || std::stoi(out.port) > 65535) {
        return common::make_error("config", "webhook_url: bad port '" + out.port + "'");
    }
    return out;
}

common::Result<std::shared_ptr<WebhookSender>> WebhookSender::create(net::Executor executor,
                                                                     WebhookConfig config) {
    auto url = parse_http_url(config.url);
    if (!url) {
        return url.error();
    }
    return std::make_shared<WebhookSender>(std::move(executor), std::move(config), std::move(*url));
}

WebhookSender::WebhookSender(net::Executor executor, WebhookConfig config, HttpUrl url)
    : executor_(executor), config_(std::move(config)), url_(std::move(url)), timer_(executor) {}

bool WebhookSender::enqueue(std::string body) {
    if (stopped_.load()) {
        return false;
    }
    {
        std::lock_guard lock(mu_);
        if (queue_.size() >= config_.queue_capacity) {
            dropped_.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        queue_.push_back(std::move(body));
    }
    wake();
    return true;
}

void WebhookSender::wake() {
    // The delivery coroutine and this handler share one single-threaded executor, so either
    // the coroutine is parked on the timer (and is woken) or it will look at the queue before
    // parking again.
    asio::post(executor_, [self = shared_from_this()] {
        if (self->waiting_) {
            self->timer_.cancel();
        }
    });
}

void WebhookSender::start() {
    if (started_) {
        return;
    }
    started_ = true;
    asio::co_spawn(executor_, run(shared_from_this()), asio::detached);
}

void WebhookSender::stop() {
    stopped_.store(true);
    {
        std::lock_guard lock(mu_);
        queue_.clear();
    }
    asio::post(executor_, [self = shared_from_this()] { self->timer_.cancel(); });
}

WebhookSender::Stats WebhookSender::stats() const {
    Stats s;
    s.sent = sent_.load();
    s.failed = failed_.load();
    s.dropped = dropped_.load();
    s.retries = retries_.load();
    std::lock_guard lock(mu_);
    s.queued = queue_.size();
    return s;
}

net::awaitable<void> WebhookSender::run(std::shared_ptr<WebhookSender> self) {
    while (!self->stopped_.load()) {
        std::string body;
        {
            std::lock_guard lock(self->mu_);
            if (!self->queue_.empty()) {
                body = self->queue_.front();
            }
        }
        if (body.empty()) {
            self->waiting_ = true;
            self->timer_.expires_at(net::SteadyTimer::time_point::max());
            co_await self->timer_.async_wait(net::as_result);
            self->waiting_ = false;
            continue;
        }
        auto backoff = self->config_.initial_backoff;
        bool delivered = false;
        for (int attempt = 1; attempt <= self->config_.max_attempts && !self->stopped_.load();
             ++attempt) {
            if (attempt > 1) {
                self->retries_.fetch_add(1, std::memory_order_relaxed);
            }
            if (co_await self->post_once(body)) {
                delivered = true;
                break;
            }
            if (attempt == self->config_.max_attempts) {
                break;
            }
            self->timer_.expires_after(backoff);
            co_await self->timer_.async_wait(net::as_result);
            backoff = std::min(backoff * 2, self->config_.max_backoff);
        }
        if (delivered) {
            self->sent_.fetch_add(1, std::memory_order_relaxed);
        } else if (!self->stopped_.load()) {
            self->failed_.fetch_add(1, std::memory_order_relaxed);
            spdlog::warn("alert webhook: giving up on a notification after {} attempts",
                         self->config_.max_attempts);
        }
        std::lock_guard lock(self->mu_);
        if (!self->queue_.empty()) {
            self->queue_.pop_front();
        }
    }
}

net::awaitable<bool> WebhookSender::post_once(const std::string& body) {
    auto exec = co_await asio::this_coro::executor;
    tcp::resolver resolver(exec);
    // A numeric host (the usual loopback receiver) resolves without a lookup thread.
    auto [rec, endpoints] = co_await resolver.async_resolve(url_.host, url_.port, net::as_result);
    if (rec) {
        spdlog::warn("alert webhook: cannot resolve {}: {}", url_.host, rec.message());
        co_return false;
    }
    beast::tcp_stream stream(exec);
    stream.expires_after(config_.timeout);
    auto [cec, ep] = co_await stream.async_connect(endpoints, net::as_result);
    if (cec) {
        spdlog::warn("alert webhook: cannot connect to {}:{}: {}", url_.host, url_.port,
                     cec.message());
        co_return false;
    }
    http::request<http::string_body> req{http::verb::post, url_.target, 11};
    req.set(http::field::host, url_.host + ":" + url_.port);
    req.set(http::field::user_agent, "pgwarden");
    req.set(http::field::content_type, "application/json");
    req.keep_alive(false);
    req.body() = body;
    req.prepare_payload();
    auto [wec, written] = co_await http::async_write(stream, req, net::as_result);
    if (wec) {
        spdlog::warn("alert webhook: send failed: {}", wec.message());
        co_return false;
    }
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024);  // we only need the status; cap what a receiver can send
    auto [rdec, read] = co_await http::async_read(stream, buffer, parser, net::as_result);
    net::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    if (rdec) {
        spdlog::warn("alert webhook: no response: {}", rdec.message());
        co_return false;
    }
    const unsigned status = parser.get().result_int();
    if (status < 200 || status >= 300) {
        spdlog::warn("alert webhook: receiver answered {}", status);
        co_return false;
    }
    co_return true;
}

}  // namespace pgwarden::observe
