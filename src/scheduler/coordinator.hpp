#pragma once

#include "common/result.hpp"
#include "cron/schedule.hpp"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace pgwarden::scheduler {

// One run of one job, as instances agree on it: the job and the nominal time of its slot.
struct SlotKey {
    std::string job;
    cron::WallTime slot;
    auto operator<=>(const SlotKey&) const = default;
};

// What a claim came to.
enum class ClaimResult : std::uint8_t {
    Claimed,  // this instance runs the slot and holds its lease
    Taken,    // the slot is running or done elsewhere (or already here): do not run it
    Busy,     // an exclusive job (overlap other than allow) has another live run elsewhere
};

// A row another instance left behind or a user asked for, to be adopted by whoever claims it.
struct OpenSlot {
    SlotKey key;
    bool requested = false;  // `pgwarden jobs run`; otherwise a run whose lease expired
};

// What one sweep of the shared state found.
struct SweepResult {
    std::set<std::string> paused;
    std::vector<OpenSlot> open;
};

// How a finished run is recorded.
struct FinishRecord {
    SlotKey key;
    std::string outcome;  // "succeeded", "failed", "timeout", "cancelled"
    std::string error;
    std::string output;
};

// Cluster-wide agreement on who runs which slot, so several pgwarden instances with the same
// config run each slot once between them. Called only from the scheduler's own thread (the
// implementations do blocking I/O); never from an event loop.
class Coordinator {
public:
    virtual ~Coordinator() = default;

    // Creates what the implementation needs (tables); called once before the first claim and
    // again after a lost connection.
    virtual common::Status prepare() = 0;

    // Claims `key` for this instance with a lease. `exclusive`: refuse (Busy) while another
    // slot of the same job runs under a live lease. A row left open (requested, or running
    // with an expired lease) is adopted; a finished row is never run again, except by its
    // own instance for a retry (`attempt` > the recorded attempt).
    virtual common::Result<ClaimResult> claim(const SlotKey& key, int attempt, bool exclusive) = 0;

    // Extends the leases of the runs this instance holds.
    virtual common::Status renew(const std::vector<SlotKey>& running) = 0;

    // Records the end of a run this instance held.
    virtual common::Status finish(const FinishRecord& record) = 0;

    // Paused jobs, requested runs and runs whose lease expired.
    virtual common::Result<SweepResult> sweep() = 0;

    // The latest recorded slot per job, so misfires after downtime are noticed.
    virtual common::Result<std::map<std::string, cron::WallTime>> last_slots() = 0;

    // Deletes finished rows older than the retention.
    virtual common::Status purge(std::chrono::milliseconds retention) = 0;
};

// A single instance without shared state: every claim succeeds once per slot. Used when no
// state database is configured for the scheduler, and by tests and benchmarks.
class LocalCoordinator final : public Coordinator {
public:
    common::Status prepare() override { return common::ok_status(); }
    common::Result<ClaimResult> claim(const SlotKey& key, int attempt, bool exclusive) override;
    common::Status renew(const std::vector<SlotKey>&) override { return common::ok_status(); }
    common::Status finish(const FinishRecord&) override { return common::ok_status(); }
    common::Result<SweepResult> sweep() override { return SweepResult{}; }
    common::Result<std::map<std::string, cron::WallTime>> last_slots() override {
        return std::map<std::string, cron::WallTime>{};
    }
    common::Status purge(std::chrono::milliseconds) override { return common::ok_status(); }

private:
    std::map<SlotKey, int> attempts_;  // claimed slots with their attempt; the latest 4096
};

}  // namespace pgwarden::scheduler
