// Admission rules for workload classes: targeted cases, then randomized sequences checked
// against a deliberately naive reference model (one list of every waiter, scanned in full).
#include "pool/admission.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <memory>
#include <random>
#include <vector>

namespace pgwarden::pool::admission {
namespace {

using Time = std::chrono::steady_clock::time_point;

struct FakeWaiter {
    int id = 0;
    Time since;
};

struct Slot {
    Limits limits;
    int held = 0;
    std::deque<std::shared_ptr<FakeWaiter>> waiters;
};

// The pool as PoolManager drives it: per-class FIFO queues and the admission functions.
class ModelPool {
public:
    ModelPool(int pool_size, std::vector<Limits> limits) : pool_size_(pool_size) {
        for (const auto& l : limits) {
            slots_.push_back(Slot{l, 0, {}});
        }
    }
    int held_total() const {
        int n = 0;
        for (const auto& s : slots_) {
            n += s.held;
        }
        return n;
    }
    // A session of class c asks; true when it got a connection at once.
    bool arrive(size_t c, int id, Time now) {
        if (may_enter(slots_, c, pool_size_, held_total())) {
            ++slots_[c].held;
            return true;
        }
        slots_[c].waiters.push_back(std::make_shared<FakeWaiter>(FakeWaiter{id, now}));
        return false;
    }
    // A connection of class c comes back; returns the ids granted as a result, in order.
    std::vector<int> release(size_t c) {
        --slots_[c].held;
        return grant();
    }
    std::vector<int> grant() {
        std::vector<int> granted;
        while (auto next = next_class(slots_, pool_size_, held_total())) {
            auto& s = slots_[*next];
            granted.push_back(s.waiters.front()->id);
            s.waiters.pop_front();
            ++s.held;
        }
        return granted;
    }
    bool time_out(size_t c, int id) {
        auto& q = slots_[c].waiters;
        auto it = std::find_if(q.begin(), q.end(), [&](const auto& w) { return w->id == id; });
        if (it == q.end()) {
            return false;
        }
        q.erase(it);
        return true;
    }
    const std::vector<Slot>& slots() const { return slots_; }

private:
    int pool_size_;
    std::vector<Slot> slots_;
};

// The reference: every waiter in one list; each decision scans all of them and re-derives
// the reserve rule from scratch.
class ReferencePool {
public:
    ReferencePool(int pool_size, std::vector<Limits> limits)
        : pool_size_(pool_size), limits_(std::move(limits)), held_(limits_.size(), 0) {}
    bool arrive(size_t c, int id) {
        waiting_.push_back({c, id});
        auto granted = grant();
        return std::find(granted.begin(), granted.end(), id) != granted.end();
    }
    std::vector<int> release(size_t c) {
        --held_[c];
        return grant();
    }
    void time_out(int id) {
        std::erase_if(waiting_, [&](const auto& w) { return w.second == id; });
    }

private:
    bool admissible(size_t c) const {
        if (held_[c] >= limits_[c].max) {
            return false;
        }
        int used = 1;  // the connection it would take
        int others_unmet = 0;
        for (size_t k = 0; k < limits_.size(); ++k) {
            used += held_[k];
            if (k != c) {
                others_unmet += std::max(0, limits_[k].reserve - held_[k]);
            }
        }
        return used <= pool_size_ && pool_size_ - used >= others_unmet;
    }
    std::vector<int> grant() {
        std::vector<int> granted;
        for (;;) {
            // Best = highest priority, then earliest arrival, among admissible waiters.
            auto best = waiting_.end();
            for (auto it = waiting_.begin(); it != waiting_.end(); ++it) {
                if (!admissible(it->first)) {
                    continue;
                }
                if (best == waiting_.end() ||
                    limits_[it->first].priority > limits_[best->first].priority) {
                    best = it;
                }
            }
            if (best == waiting_.end()) {
                return granted;
            }
            granted.push_back(best->second);
            ++held_[best->first];
            waiting_.erase(best);
        }
    }

    int pool_size_;
    std::vector<Limits> limits_;
    std::vector<int> held_;
    std::vector<std::pair<size_t, int>> waiting_;  // arrival order
};

Time at(int ms) {
    return Time{} + std::chrono::milliseconds(ms);
}

TEST(Admission, ReserveSurvivesAFlood) {
    // api reserves 3 of 10; background floods.
    ModelPool pool(10, {{3, INT_MAX, 10}, {0, INT_MAX, 0}});
    int granted_bg = 0;
    for (int i = 0; i < 50; ++i) {
        granted_bg += pool.arrive(1, i, at(i)) ? 1 : 0;
    }
    EXPECT_EQ(granted_bg, 7);  // everything but the reserve
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(pool.arrive(0, 100 + i, at(100 + i))) << i;  // api never waits
    }
    EXPECT_FALSE(pool.arrive(0, 200, at(200)));  // beyond its reserve it competes
}

TEST(Admission, CapWaitsEvenWithRoom) {
    ModelPool pool(10, {{0, 2, 0}});
    EXPECT_TRUE(pool.arrive(0, 1, at(1)));
    EXPECT_TRUE(pool.arrive(0, 2, at(2)));
    EXPECT_FALSE(pool.arrive(0, 3, at(3)));  // 8 free, but the class is at its cap
    EXPECT_EQ(pool.release(0), std::vector<int>{3});
}

TEST(Admission, HigherPriorityFirstThenFifo) {
    ModelPool pool(1, {{0, INT_MAX, 0}, {0, INT_MAX, 5}});
    EXPECT_TRUE(pool.arrive(0, 1, at(1)));
    EXPECT_FALSE(pool.arrive(0, 2, at(2)));
    EXPECT_FALSE(pool.arrive(1, 3, at(3)));
    EXPECT_FALSE(pool.arrive(1, 4, at(4)));
    EXPECT_FALSE(pool.arrive(0, 5, at(5)));
    EXPECT_EQ(pool.release(0), std::vector<int>{3});  // priority beats arrival
    EXPECT_EQ(pool.release(1), std::vector<int>{4});
    EXPECT_EQ(pool.release(1), std::vector<int>{2});  // then FIFO: 2 before 5
    EXPECT_EQ(pool.release(0), std::vector<int>{5});
}

TEST(Admission, EqualPriorityOldestHeadFirst) {
    ModelPool pool(1, {{0, INT_MAX, 0}, {0, INT_MAX, 0}});
    EXPECT_TRUE(pool.arrive(0, 1, at(1)));
    EXPECT_FALSE(pool.arrive(1, 2, at(2)));
    EXPECT_FALSE(pool.arrive(0, 3, at(3)));
    EXPECT_EQ(pool.release(0), std::vector<int>{2});
    EXPECT_EQ(pool.release(1), std::vector<int>{3});
}

TEST(Admission, NewcomerDoesNotOvertakeQueue) {
    ModelPool pool(2, {{0, INT_MAX, 0}, {0, 1, 0}});
    EXPECT_TRUE(pool.arrive(1, 1, at(1)));
    EXPECT_FALSE(pool.arrive(1, 2, at(2)));  // capped
    // Class 0 may pass the capped class 1: its waiter could not take the slot anyway.
    EXPECT_TRUE(pool.arrive(0, 3, at(3)));
    EXPECT_FALSE(pool.arrive(0, 4, at(4)));  // pool full
    EXPECT_EQ(pool.release(0), std::vector<int>{4});
}

TEST(Admission, LowerPriorityMayUseRoomHigherCannot) {
    // Class 0 (high priority) is capped at 1; class 1 can use the rest.
    ModelPool pool(3, {{0, 1, 9}, {0, INT_MAX, 0}});
    EXPECT_TRUE(pool.arrive(0, 1, at(1)));
    EXPECT_FALSE(pool.arrive(0, 2, at(2)));
    EXPECT_TRUE(pool.arrive(1, 3, at(3)));
    EXPECT_TRUE(pool.arrive(1, 4, at(4)));
}

TEST(Admission, ReserveBlocksOthersEvenWhenItsClassIsIdle) {
    ModelPool pool(4, {{2, INT_MAX, 0}, {0, INT_MAX, 0}});
    EXPECT_TRUE(pool.arrive(1, 1, at(1)));
    EXPECT_TRUE(pool.arrive(1, 2, at(2)));
    EXPECT_FALSE(pool.arrive(1, 3, at(3)));  // the last two are class 0's
    EXPECT_TRUE(pool.arrive(0, 4, at(4)));
    EXPECT_TRUE(pool.arrive(0, 5, at(5)));
    // A connection class 0 gives back is still its reserve: class 1 keeps waiting.
    EXPECT_EQ(pool.release(0), std::vector<int>{});
    // One class 1 gives back is class 1's to reuse.
    EXPECT_EQ(pool.release(1), std::vector<int>{3});
}

TEST(Admission, ZeroFreeNeverGrants) {
    std::vector<Slot> slots(1);
    slots[0].waiters.push_back(std::make_shared<FakeWaiter>(FakeWaiter{1, at(0)}));
    EXPECT_FALSE(next_class(slots, 3, 3));
    EXPECT_FALSE(may_enter(slots, 0, 3, 3));
}

struct Scenario {
    int pool_size;
    std::vector<Limits> limits;
};

Scenario random_scenario(std::mt19937& rng) {
    Scenario s;
    s.pool_size = std::uniform_int_distribution(1, 12)(rng);
    const int classes = std::uniform_int_distribution(1, 4)(rng);
    int reserve_left = s.pool_size;
    for (int c = 0; c < classes; ++c) {
        Limits l;
        l.reserve = std::uniform_int_distribution(0, std::min(reserve_left, 4))(rng);
        reserve_left -= l.reserve;
        l.max = std::uniform_int_distribution(0, 2)(rng) == 0
                    ? INT_MAX
                    : std::uniform_int_distribution(std::max(1, l.reserve), s.pool_size)(rng);
        l.priority = std::uniform_int_distribution(0, 2)(rng);
        s.limits.push_back(l);
    }
    return s;
}

void check_invariants(const ModelPool& pool, int pool_size) {
    int held = 0;
    int unmet = 0;
    for (const auto& s : pool.slots()) {
        ASSERT_LE(s.held, s.limits.max);
        ASSERT_GE(s.held, 0);
        held += s.held;
        unmet += unmet_reserve(s.limits, s.held);
    }
    ASSERT_LE(held, pool_size);
    ASSERT_GE(pool_size - held, unmet) << "a reserve was given away";
    // Work-conserving: nobody waits who could be served.
    const int free = pool_size - held;
    for (size_t c = 0; c < pool.slots().size(); ++c) {
        const auto& s = pool.slots()[c];
        if (!s.waiters.empty()) {
            ASSERT_FALSE(may_take(pool.slots(), c, free, unmet)) << "class " << c << " starved";
            // A class below its reserve (and cap) is never kept waiting.
            ASSERT_GE(s.held, std::min(s.limits.reserve, s.limits.max));
        }
    }
}

TEST(AdmissionProperty, MatchesReferenceModel) {
    std::mt19937 rng(20261128);
    for (int round = 0; round < 1500; ++round) {
        const auto sc = random_scenario(rng);
        ModelPool model(sc.pool_size, sc.limits);
        ReferencePool ref(sc.pool_size, sc.limits);
        std::vector<std::pair<size_t, int>> waiting;  // (class, id)
        std::vector<size_t> holding;                  // class of each held connection
        int next_id = 0;
        int now = 0;
        for (int step = 0; step < 200; ++step) {
            ++now;
            const int action = std::uniform_int_distribution(0, 9)(rng);
            if (action < 5 || holding.empty()) {
                const auto c = std::uniform_int_distribution<size_t>(0, sc.limits.size() - 1)(rng);
                const int id = next_id++;
                const bool got = model.arrive(c, id, at(now));
                ASSERT_EQ(got, ref.arrive(c, id)) << "round " << round << " step " << step;
                if (got) {
                    holding.push_back(c);
                } else {
                    waiting.emplace_back(c, id);
                }
            } else if (action < 9) {
                const auto i = std::uniform_int_distribution<size_t>(0, holding.size() - 1)(rng);
                const size_t c = holding[i];
                holding.erase(holding.begin() + static_cast<std::ptrdiff_t>(i));
                const auto granted = model.release(c);
                ASSERT_EQ(granted, ref.release(c)) << "round " << round << " step " << step;
                for (int id : granted) {
                    auto it = std::find_if(waiting.begin(), waiting.end(),
                                           [&](const auto& w) { return w.second == id; });
                    ASSERT_NE(it, waiting.end());
                    holding.push_back(it->first);
                    waiting.erase(it);
                }
            } else if (!waiting.empty()) {
                const auto i = std::uniform_int_distribution<size_t>(0, waiting.size() - 1)(rng);
                const auto [c, id] = waiting[i];
                waiting.erase(waiting.begin() + static_cast<std::ptrdiff_t>(i));
                ASSERT_TRUE(model.time_out(c, id));
                ref.time_out(id);
            }
            check_invariants(model, sc.pool_size);
            if (::testing::Test::HasFatalFailure()) {
                return;
            }
        }
    }
}

}  // namespace
}  // namespace pgwarden::pool::admission
