#pragma once

#include <chrono>
#include <climits>
#include <cstddef>
#include <optional>

// Admission rules for workload classes sharing one pool. Pure: no locks, no I/O, no clock,
// so they are unit- and property-tested with a fake clock (tests/unit/pool). The pool keeps
// one FIFO queue per class; every decision looks at each class once, never at each waiter.
//
// A class's `held` counts the server connections leased to its sessions or being opened
// for them. Idle connections belong to nobody. The rules:
//   - a class never holds more than its `max`;
//   - a class may take a connection only if the pool keeps enough room for every other
//     class's unused reserve (so a reserve is honoured even while the others flood);
//   - when a connection frees up, the waiting class with the highest priority that may take
//     it gets it; among equal priorities, the one whose oldest waiter came first.
// Invariant (kept by may_take, assumed by the reserve guarantee):
//   pool_size - held_total >= sum over classes of max(0, reserve - held).
namespace pgwarden::pool::admission {

struct Limits {
    int reserve = 0;
    int max = INT_MAX;
    int priority = 0;
};

inline int unmet_reserve(const Limits& limits, int held) {
    return held < limits.reserve ? limits.reserve - held : 0;
}

// `Slots` is a random-access range whose elements have `.limits` (Limits), `.held` (int) and
// `.waiters` (a deque of pointers to objects with a `since` time point).
template <typename Slots>
int total_unmet_reserve(const Slots& slots) {
    int total = 0;
    for (const auto& s : slots) {
        total += unmet_reserve(s.limits, s.held);
    }
    return total;
}

// May class `c` take one more connection now? `free` = pool_size - held_total.
template <typename Slots>
bool may_take(const Slots& slots, size_t c, int free, int unmet_total) {
    const auto& s = slots[c];
    if (s.held >= s.limits.max || free <= 0) {
        return false;
    }
    const int others_unmet = unmet_total - unmet_reserve(s.limits, s.held);
    return free - 1 >= others_unmet;
}

// The class whose oldest waiter should get the next free connection, if any may take it.
template <typename Slots>
std::optional<size_t> next_class(const Slots& slots, int pool_size, int held_total) {
    const int free = pool_size - held_total;
    if (free <= 0) {
        return std::nullopt;
    }
    const int unmet = total_unmet_reserve(slots);
    std::optional<size_t> best;
    for (size_t c = 0; c < slots.size(); ++c) {
        const auto& s = slots[c];
        if (s.waiters.empty() || !may_take(slots, c, free, unmet)) {
            continue;
        }
        if (!best) {
            best = c;
            continue;
        }
        const auto& b = slots[*best];
        if (s.limits.priority > b.limits.priority ||
            (s.limits.priority == b.limits.priority &&
             s.waiters.front()->since < b.waiters.front()->since)) {
            best = c;
        }
    }
    return best;
}

// May a session of class `c` that just arrived take a connection without queueing? Only if
// nobody it must not overtake is waiting: its own class (FIFO), or a class of higher or
// equal priority that could take the connection itself.
template <typename Slots>
bool may_enter(const Slots& slots, size_t c, int pool_size, int held_total) {
    const int free = pool_size - held_total;
    const int unmet = total_unmet_reserve(slots);
    if (!slots[c].waiters.empty() || !may_take(slots, c, free, unmet)) {
        return false;
    }
    for (size_t k = 0; k < slots.size(); ++k) {
        if (k != c && !slots[k].waiters.empty() &&
            slots[k].limits.priority >= slots[c].limits.priority &&
            may_take(slots, k, free, unmet)) {
            return false;
        }
    }
    return true;
}

}  // namespace pgwarden::pool::admission
