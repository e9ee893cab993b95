#include "scheduler/job_metrics.hpp"

#include <array>
#include <cstdint>
#include <string_view>
#include <utility>

namespace pgwarden::scheduler {

void collect_job_metrics(const std::vector<JobSnapshot>& jobs, observe::ScrapeBuilder& builder) {
    using observe::HistogramSnapshot;
    using observe::LabelSet;
    using observe::MetricType;
    auto& runs = builder.family("pgwarden_job_runs_total", MetricType::Counter,
                                "Finished runs of scheduled jobs on this instance, by outcome.");
    auto& duration = builder.family("pgwarden_job_duration_seconds", MetricType::Histogram,
                                    "Duration of finished runs of scheduled jobs.");
    auto& deferrals = builder.family(
        "pgwarden_job_deferrals_total", MetricType::Counter,
        "Times a due run was deferred (pool pressure inside the freshness window, or budget).");
    auto& overlaps = builder.family("pgwarden_job_skipped_overlaps_total", MetricType::Counter,
                                    "Due runs dropped because the job was still running.");
    auto& elsewhere = builder.family("pgwarden_job_skipped_elsewhere_total", MetricType::Counter,
                                     "Due runs not run here because another instance claimed "
                                     "the slot.");
    auto& misfires = builder.family("pgwarden_job_misfires_total", MetricType::Counter,
                                    "Times due runs were found missed (downtime, pause).");
    auto& lag = builder.family("pgwarden_job_lag_seconds", MetricType::Gauge,
                               "How late the last run started behind its due time.");
    auto& running = builder.family("pgwarden_job_running", MetricType::Gauge,
                                   "Runs of the job in progress on this instance.");
    auto& paused = builder.family("pgwarden_job_paused", MetricType::Gauge,
                                  "1 when the job is paused cluster-wide.");
    const std::vector<double> bounds(kDurationBuckets.begin(), kDurationBuckets.end());
    for (const auto& job : jobs) {
        const LabelSet labels{{"job", job.name}};
        const std::array<std::pair<std::string_view, std::uint64_t>, 4> outcomes{{
            {"succeeded", job.runs_succeeded},
            {"failed", job.runs_failed},
            {"timeout", job.runs_timeout},
            {"cancelled", job.runs_cancelled},
        }};
        for (const auto& [outcome, count] : outcomes) {
            runs.sample(labels, "outcome", outcome, static_cast<double>(count));
        }
        HistogramSnapshot histogram;
        std::uint64_t total = 0;
        for (auto n : job.duration_buckets) {
            total += n;
            histogram.cumulative.push_back(total);
        }
        histogram.sum = job.duration_sum_seconds;
        histogram.count = total;
        duration.histogram(labels, bounds, histogram);
        deferrals.sample(labels, static_cast<double>(job.deferrals));
        overlaps.sample(labels, static_cast<double>(job.skipped_overlaps));
        elsewhere.sample(labels, static_cast<double>(job.skipped_elsewhere));
        misfires.sample(labels, static_cast<double>(job.misfires));
        lag.sample(labels, job.last_lag_seconds);
        running.sample(labels, static_cast<double>(job.running));
        paused.sample(labels, job.paused ? 1.0 : 0.0);
    }
}

}  // namespace pgwarden::scheduler
