#include "scheduler/job_spec.hpp"

#include <fmt/format.h>

namespace pgwarden::scheduler {

OverlapPolicy to_overlap_policy(config::JobOverlap overlap) {
    switch (overlap) {
    case config::JobOverlap::Skip:
        return OverlapPolicy::Skip;
    case config::JobOverlap::QueueOne:
        return OverlapPolicy::QueueOne;
    case config::JobOverlap::Allow:
        return OverlapPolicy::Allow;
    case config::JobOverlap::CancelPrevious:
        return OverlapPolicy::CancelPrevious;
    }
    return OverlapPolicy::Skip;
}

MisfirePolicy to_misfire_policy(config::JobMisfire misfire) {
    return misfire == config::JobMisfire::Skip ? MisfirePolicy::Skip : MisfirePolicy::RunOnce;
}

common::Result<std::shared_ptr<const JobSpec>> make_job_spec(const config::JobConfig& job) {
    cron::ScheduleOptions options;
    options.jitter = job.jitter;
    common::Result<cron::Schedule> schedule = common::make_error("schedule", "no schedule");
    if (job.every) {
        schedule = cron::Schedule::every(*job.every, job.name, options);
    } else {
        auto cron = cron::parse_cron(job.schedule);
        if (!cron) {
            return common::make_error("schedule",
                                      fmt::format("job {}: {}", job.name, cron.error().message));
        }
        auto zone = cron::TimeZone::load(job.timezone);
        if (!zone) {
            return common::make_error("schedule", fmt::format("job {}: time zone {}: {}", job.name,
                                                              job.timezone, zone.error().message));
        }
        schedule = cron::Schedule::cron(std::move(*cron),
                                        std::make_shared<const cron::TimeZone>(std::move(*zone)),
                                        job.name, options);
    }
    if (!schedule) {
        return std::move(schedule).error();
    }
    JobPolicy policy;
    policy.overlap = to_overlap_policy(job.overlap);
    policy.misfire = to_misfire_policy(job.misfire);
    // A due time noticed later than this counts as missed. Short intervals get a grace of
    // one interval, so a scheduler that was busy for a second does not "misfire".
    policy.misfire_grace = std::chrono::seconds(60);
    if (job.every && *job.every < policy.misfire_grace) {
        policy.misfire_grace = *job.every;
    }
    policy.retry.max_retries = job.retries;
    policy.retry.initial_backoff = job.retry_backoff;
    policy.retry.max_backoff = job.retry_backoff_max;
    policy.max_staleness = job.max_staleness;
    policy.priority = job.priority;
    policy.queue = job.queue;
    return std::make_shared<const JobSpec>(JobSpec{job, std::move(*schedule), std::move(policy)});
}

}  // namespace pgwarden::scheduler
