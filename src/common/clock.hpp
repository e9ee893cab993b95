#pragma once

#include <atomic>
#include <chrono>

namespace pgwarden::common {

// Monotonic time source. Production code uses SteadyClock; tests of timing logic
// (admission, scheduler) use FakeClock and advance it by hand.
class Clock {
public:
    using time_point = std::chrono::steady_clock::time_point;
    using duration = std::chrono::steady_clock::duration;
    virtual ~Clock() = default;
    virtual time_point now() const = 0;
};

class SteadyClock final : public Clock {
public:
    time_point now() const override { return std::chrono::steady_clock::now(); }
};

class FakeClock final : public Clock {
public:
    time_point now() const override { return time_point(duration(now_.load())); }
    void advance(duration d) { now_.fetch_add(d.count()); }
    void set(time_point t) { now_.store(t.time_since_epoch().count()); }

private:
    std::atomic<duration::rep> now_{0};
};

}  // namespace pgwarden::common
