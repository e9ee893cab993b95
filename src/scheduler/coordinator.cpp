#include "scheduler/coordinator.hpp"

namespace pgwarden::scheduler {

// Overlap on a single instance is the JobState's business, so `exclusive` needs no check here.
common::Result<ClaimResult> LocalCoordinator::claim(const SlotKey& key, int attempt,
                                                    bool /*exclusive*/) {
    auto it = attempts_.find(key);
    if (it != attempts_.end() && it->second >= attempt) {
        return ClaimResult::Taken;
    }
    attempts_[key] = attempt;
    // Only the latest slots matter for duplicate detection on one instance.
    while (attempts_.size() > 4096) {
        attempts_.erase(attempts_.begin());
    }
    return ClaimResult::Claimed;
}

}  // namespace pgwarden::scheduler
