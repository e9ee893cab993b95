#include "scheduler/show_jobs.hpp"

#include <fmt/format.h>

namespace pgwarden::scheduler {

namespace {

std::string when(const std::optional<cron::WallTime>& t) {
    if (!t) {
        return "";
    }
    return cron::format_utc(std::chrono::floor<std::chrono::seconds>(*t));
}

}  // namespace

JobTable show_jobs(const std::vector<JobSnapshot>& jobs) {
    JobTable table;
    table.columns = {"job",
                     "kind",
                     "schedule",
                     "queue",
                     "state",
                     "running",
                     "pending",
                     "next_run",
                     "last_run",
                     "last_outcome",
                     "succeeded",
                     "failed",
                     "timeouts",
                     "cancelled",
                     "deferrals",
                     "skipped_overlaps",
                     "skipped_elsewhere",
                     "misfires",
                     "lag_s",
                     "last_error"};
    for (const auto& j : jobs) {
        const std::string state = !j.enabled ? "disabled" : j.paused ? "paused" : "active";
        table.rows.push_back({j.name,
                              j.kind,
                              j.schedule,
                              j.queue,
                              state,
                              std::to_string(j.running),
                              j.pending ? "1" : "0",
                              when(j.next_run),
                              when(j.last_run),
                              j.last_outcome,
                              std::to_string(j.runs_succeeded),
                              std::to_string(j.runs_failed),
                              std::to_string(j.runs_timeout),
                              std::to_string(j.runs_cancelled),
                              std::to_string(j.deferrals),
                              std::to_string(j.skipped_overlaps),
                              std::to_string(j.skipped_elsewhere),
                              std::to_string(j.misfires),
                              fmt::format("{:.3f}", j.last_lag_seconds),
                              j.last_error});
    }
    return table;
}

}  // namespace pgwarden::scheduler
