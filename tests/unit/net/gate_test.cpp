// net::Gate on real io_contexts: one loop, two loops on their own threads, deadlines and the
// ticket that keeps a notify between check and wait from being lost.
#include "net/gate.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace pgwarden::net {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(Gate, NotifyWakesAWaiterBeforeItsDeadline) {
    asio::io_context io;
    Gate gate;
    bool woke = false;
    Clock::duration waited{};
    asio::co_spawn(
        io,
        [&]() -> awaitable<void> {
            const auto start = Clock::now();
            co_await gate.wait(gate.ticket(), Clock::now() + 30s);
            waited = Clock::now() - start;
            woke = true;
        },
        asio::detached);
    asio::steady_timer later(io, 20ms);
    later.async_wait([&](const error_code&) {
        EXPECT_EQ(gate.waiters(), 1u);
        gate.notify_all();
    });
    io.run_for(10s);
    EXPECT_TRUE(woke);
    EXPECT_LT(waited, 10s);  // woken by notify, not by the 30 s deadline
    EXPECT_EQ(gate.waiters(), 0u);
}

TEST(Gate, ANotifyAfterTheTicketEndsTheWaitAtOnce) {
    asio::io_context io;
    Gate gate;
    const auto ticket = gate.ticket();
    gate.notify_all();  // the change happened between the check and the wait
    bool woke = false;
    asio::co_spawn(
        io,
        [&]() -> awaitable<void> {
            co_await gate.wait(ticket, Clock::now() + 30s);
            woke = true;
        },
        asio::detached);
    io.run_for(5s);
    EXPECT_TRUE(woke);
    EXPECT_EQ(gate.waiters(), 0u);
}

TEST(Gate, TheDeadlineEndsAWaitNobodyNotifies) {
    asio::io_context io;
    Gate gate;
    bool woke = false;
    asio::co_spawn(
        io,
        [&]() -> awaitable<void> {
            co_await gate.wait(gate.ticket(), Clock::now() + 10ms);
            woke = true;
        },
        asio::detached);
    io.run_for(10s);
    EXPECT_TRUE(woke);
    EXPECT_EQ(gate.waiters(), 0u);
}

TEST(Gate, WakesWaitersOnOtherLoopsFromAnyThread) {
    asio::io_context a;
    asio::io_context b;
    auto guard_a = asio::make_work_guard(a);
    auto guard_b = asio::make_work_guard(b);
    Gate gate;
    std::atomic<int> woke{0};
    std::atomic<int> started{0};
    auto waiter = [&]() -> awaitable<void> {
        const auto ticket = gate.ticket();
        started.fetch_add(1);
        co_await gate.wait(ticket);  // no deadline: only a notify ends it
        woke.fetch_add(1);
    };
    for (int i = 0; i < 3; ++i) {
        asio::co_spawn(a, waiter(), asio::detached);
        asio::co_spawn(b, waiter(), asio::detached);
    }
    std::thread ta([&] { a.run(); });
    std::thread tb([&] { b.run(); });
    const auto until = Clock::now() + 10s;
    while ((started.load() < 6 || gate.waiters() < 6) && Clock::now() < until) {
        std::this_thread::sleep_for(1ms);
    }
    EXPECT_EQ(gate.waiters(), 6u);
    gate.notify_all();  // from this thread, neither loop's
    while (woke.load() < 6 && Clock::now() < until) {
        std::this_thread::sleep_for(1ms);
    }
    EXPECT_EQ(woke.load(), 6);
    guard_a.reset();
    guard_b.reset();
    ta.join();
    tb.join();
    EXPECT_EQ(gate.waiters(), 0u);
}

TEST(Gate, AWaiterWhoseLoopIsDestroyedLeavesTheGate) {
    Gate gate;
    {
        asio::io_context io;
        asio::co_spawn(
            io, [&]() -> awaitable<void> { co_await gate.wait(gate.ticket()); }, asio::detached);
        io.run_for(20ms);
        EXPECT_EQ(gate.waiters(), 1u);
    }  // the io_context destroys the suspended coroutine
    EXPECT_EQ(gate.waiters(), 0u);
    gate.notify_all();  // must not touch the destroyed loop's timer
}

}  // namespace
}  // namespace pgwarden::net
