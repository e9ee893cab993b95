#pragma once

#include "common/result.hpp"
#include "config/config.hpp"
#include "cron/schedule.hpp"
#include "scheduler/job_state.hpp"

#include <memory>

namespace pgwarden::scheduler {

// A configured job made ready to schedule: its config, its Schedule (time zone loaded) and
// the JobState policy. Immutable after construction; shared by the service and its runners.
struct JobSpec {
    config::JobConfig config;
    cron::Schedule schedule;
    JobPolicy policy;
};

// Builds the spec for one [jobs.NAME] table. Does I/O (reads the time zone file), so it runs
// at service start, not per tick. Errors only for configs the loader has not validated.
common::Result<std::shared_ptr<const JobSpec>> make_job_spec(const config::JobConfig& job);

// The config's overlap/misfire names as the scheduler's enums.
OverlapPolicy to_overlap_policy(config::JobOverlap overlap);
MisfirePolicy to_misfire_policy(config::JobMisfire misfire);

}  // namespace pgwarden::scheduler
