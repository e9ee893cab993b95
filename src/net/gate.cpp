#include "net/gate.hpp"

#include "common/scope_guard.hpp"

#include <algorithm>

namespace pgwarden::net {

Gate::Ticket Gate::ticket() const {
    std::lock_guard lock(mu_);
    return generation_;
}

size_t Gate::waiters() const {
    std::lock_guard lock(mu_);
    return waiters_.size();
}

void Gate::notify_all() {
    std::vector<std::shared_ptr<Waiter>> woken;
    {
        std::lock_guard lock(mu_);
        ++generation_;
        woken.swap(waiters_);
    }
    // A timer belongs to its waiter's event loop: it is cancelled there, not here.
    for (auto& w : woken) {
        auto exec = w->timer.get_executor();
        asio::post(exec, [w = std::move(w)] { w->timer.cancel(); });
    }
}

awaitable<void> Gate::wait(Ticket ticket, TimePoint deadline) {
    auto waiter = std::make_shared<Waiter>(co_await asio::this_coro::executor);
    {
        std::lock_guard lock(mu_);
        if (generation_ != ticket) {
            co_return;
        }
        waiters_.push_back(waiter);
    }
    // Also when the coroutine is destroyed mid-wait (its event loop shutting down): the gate
    // must not keep a timer whose io_context is gone.
    const common::ScopeGuard leave([this, &waiter] {
        std::lock_guard lock(mu_);
        std::erase(waiters_, waiter);
    });
    waiter->timer.expires_at(deadline);
    co_await waiter->timer.async_wait(as_result_direct);
}

}  // namespace pgwarden::net
