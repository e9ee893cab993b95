#pragma once

#include "net/asio.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace pgwarden::net {

// Wakes coroutines on any event loop when something they wait for may have changed (a
// database resumed, a client logged out, a drain began), so waiters sleep instead of polling.
// The gate holds no condition of its own: a waiter takes a ticket, checks its condition, and
// waits with the ticket; a notify_all() after the ticket was taken ends the wait at once, so
// a change between the check and the wait is never missed. Wake-ups may be spurious: waiters
// check their condition again after every wait. Thread-safe.
class Gate {
public:
    using Ticket = uint64_t;
    using TimePoint = std::chrono::steady_clock::time_point;

    Ticket ticket() const;
    // Wakes every waiter (each on its own event loop).
    void notify_all();
    // Returns after a notify_all() that came after `ticket` was taken, or at `deadline`.
    // Runs on the calling coroutine's executor.
    awaitable<void> wait(Ticket ticket, TimePoint deadline = TimePoint::max());
    size_t waiters() const;

private:
    struct Waiter {
        explicit Waiter(const Executor& exec) : timer(exec) {}
        SteadyTimer timer;
    };
    mutable std::mutex mu_;
    Ticket generation_ = 0;
    std::vector<std::shared_ptr<Waiter>> waiters_;
};

}  // namespace pgwarden::net
