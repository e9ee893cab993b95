#include "serve/upstream_probe.hpp"

#include "net/io.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <set>

namespace pgwarden::serve {

void UpstreamProbe::start(net::Executor exec, std::chrono::milliseconds interval) {
    timer_ = std::make_unique<net::SteadyTimer>(exec);
    net::asio::co_spawn(exec, loop(shared_from_this(), exec, interval), net::asio::detached);
}

void UpstreamProbe::stop() {
    stopped_ = true;
    if (timer_) {
        timer_->cancel();
    }
}

void UpstreamProbe::release() {
    stopped_ = true;
    timer_.reset();
}

UpstreamProbe::State UpstreamProbe::state() const {
    std::lock_guard lock(mu_);
    return state_;
}

net::awaitable<void> UpstreamProbe::loop(std::shared_ptr<UpstreamProbe> self, net::Executor exec,
                                         std::chrono::milliseconds interval) {
    bool was_reachable = true;
    while (!self->stopped_) {
        std::set<std::pair<std::string, uint16_t>> targets;
        for (const auto& [name, db] : self->rt_.config()->databases) {
            targets.emplace(db.host, db.port);
        }
        State next;
        for (const auto& [host, port] : targets) {
            net::StreamSocket sock(exec);
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
            auto ec = co_await net::connect_to(sock, host, port, deadline);
            net::error_code ignored;
            sock.close(ignored);
            if (ec && next.reachable) {
                next.reachable = false;
                next.reason = fmt::format("PostgreSQL at {}:{} is not reachable: {}", host, port,
                                          ec.message());
            }
        }
        if (next.reachable != was_reachable) {
            if (next.reachable) {
                spdlog::info("readiness: upstream reachable again");
            } else {
                spdlog::warn("readiness: {}", next.reason);
            }
            was_reachable = next.reachable;
        }
        {
            std::lock_guard lock(self->mu_);
            self->state_ = std::move(next);
        }
        if (self->stopped_) {
            break;
        }
        if (!self->timer_) {
            break;
        }
        self->timer_->expires_after(interval);
        co_await self->timer_->async_wait(net::as_result);
    }
}

}  // namespace pgwarden::serve
