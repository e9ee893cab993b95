#include "common/futex_mutex.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace pgwarden::common {
namespace {

TEST(FutexMutex, TryLockFailsWhileHeldAndSucceedsAfter) {
    FutexMutex mu;
    ASSERT_TRUE(mu.try_lock());
    EXPECT_FALSE(mu.try_lock());
    mu.unlock();
    EXPECT_TRUE(mu.try_lock());
    mu.unlock();
}

// Four threads on (at most) two cores, each taking the lock 200,000 times: every increment
// survives, so no two held it at once, and every thread finishes, so no waiter was left
// asleep (a lost wake-up would hang here; ctest's timeout would catch it).
TEST(FutexMutex, ContendedIncrementsAreAllKept) {
    FutexMutex mu;
    int64_t counter = 0;
    constexpr int kThreads = 4;
    constexpr int kRounds = 200000;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < kRounds; ++i) {
                std::lock_guard lock(mu);
                ++counter;
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(counter, int64_t{kThreads} * kRounds);
}

// A holder that sleeps while others queue: the queued threads must sleep in the futex and
// all be woken, one by one, as the lock is handed on.
TEST(FutexMutex, WaitersQueuedBehindALongHoldAllGetIt) {
    FutexMutex mu;
    int entered = 0;
    mu.lock();
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t) {
        threads.emplace_back([&] {
            std::lock_guard lock(mu);
            ++entered;
        });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(entered, 0);
    mu.unlock();
    for (auto& t : threads) {
        t.join();
    }
    EXPECT_EQ(entered, 3);
}

}  // namespace
}  // namespace pgwarden::common
