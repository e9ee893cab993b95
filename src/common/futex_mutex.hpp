#pragma once

#include <atomic>

namespace pgwarden::common {

// A mutex for short critical sections that are nearly always uncontended: the pool's
// bookkeeping, locked two or three times per transaction (and only ever contended with
// several event loops). Locking is one compare-and-swap and unlocking one exchange; the
// futex (std::atomic::wait) is used only when a thread really has to wait.
// pthread_mutex_lock/unlock do several times more work per pair on this path. The algorithm is the
// classic three-state futex mutex (0 free, 1 locked, 2 locked with possible waiters).
class FutexMutex {
public:
    FutexMutex() = default;
    FutexMutex(const FutexMutex&) = delete;
    FutexMutex& operator=(const FutexMutex&) = delete;

    void lock() noexcept {
        int expected = 0;
        if (!state_.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                            std::memory_order_relaxed)) {
            lock_contended();
        }
    }
    bool try_lock() noexcept {
        int expected = 0;
        return state_.compare_exchange_strong(expected, 1, std::memory_order_acquire,
                                              std::memory_order_relaxed);
    }
    void unlock() noexcept {
        if (state_.exchange(0, std::memory_order_release) == 2) {
            state_.notify_one();
        }
    }

private:
    void lock_contended() noexcept {
        // Mark "waiters possible" whenever we take it this way, so the holder's unlock wakes
        // the next one.
        while (state_.exchange(2, std::memory_order_acquire) != 0) {
            state_.wait(2, std::memory_order_relaxed);
        }
    }

    std::atomic<int> state_{0};
};

}  // namespace pgwarden::common
