#pragma once

#include "observe/metrics.hpp"
#include "scheduler/scheduler_service.hpp"

#include <vector>

namespace pgwarden::scheduler {

// Emits the per-job Prometheus families from SchedulerService::snapshot():
//   pgwarden_job_runs_total{job,outcome}        counter
//   pgwarden_job_duration_seconds{job}          histogram (kDurationBuckets)
//   pgwarden_job_deferrals_total{job}           counter
//   pgwarden_job_skipped_overlaps_total{job}    counter
//   pgwarden_job_skipped_elsewhere_total{job}   counter (the slot ran on another instance)
//   pgwarden_job_misfires_total{job}            counter
//   pgwarden_job_lag_seconds{job}               gauge (start minus due time, last run)
//   pgwarden_job_running{job}                   gauge
//   pgwarden_job_paused{job}                    gauge (0/1)
void collect_job_metrics(const std::vector<JobSnapshot>& jobs, observe::ScrapeBuilder& builder);

}  // namespace pgwarden::scheduler
