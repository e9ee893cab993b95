// collect_job_metrics through the observe module's real ScrapeBuilder: the text a scrape
// serves, checked as Prometheus would read it.
#include "scheduler/job_metrics.hpp"

#include <gtest/gtest.h>

#include <string>

namespace pgwarden::scheduler {
namespace {

bool has_line(const std::string& text, const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(JobMetrics, EveryFamilyPerJob) {
    JobSnapshot a;
    a.name = "cleanup";
    a.runs_succeeded = 3;
    a.runs_failed = 1;
    a.deferrals = 2;
    a.skipped_overlaps = 4;
    a.last_lag_seconds = 1.5;
    a.duration_buckets[0] = 3;
    a.duration_buckets[kDurationBuckets.size()] = 1;  // one run longer than the last bound
    a.duration_sum_seconds = 4000.25;
    a.paused = true;
    observe::ScrapeBuilder b;
    collect_job_metrics({a}, b);
    const std::string text = "\n" + b.finish();
    ASSERT_TRUE(observe::check_exposition(text.substr(1))) << text;
    for (const char* family :
         {"pgwarden_job_runs_total counter", "pgwarden_job_duration_seconds histogram",
          "pgwarden_job_deferrals_total counter", "pgwarden_job_skipped_overlaps_total counter",
          "pgwarden_job_skipped_elsewhere_total counter", "pgwarden_job_misfires_total counter",
          "pgwarden_job_lag_seconds gauge", "pgwarden_job_running gauge",
          "pgwarden_job_paused gauge"}) {
        EXPECT_TRUE(has_line(text, std::string("# TYPE ") + family)) << family << "\n" << text;
    }
    EXPECT_TRUE(has_line(text, R"(pgwarden_job_runs_total{job="cleanup",outcome="succeeded"} 3)"))
        << text;
    EXPECT_TRUE(has_line(text, R"(pgwarden_job_runs_total{job="cleanup",outcome="failed"} 1)"));
    EXPECT_TRUE(has_line(text, R"(pgwarden_job_duration_seconds_count{job="cleanup"} 4)"));
    EXPECT_TRUE(has_line(text, R"(pgwarden_job_duration_seconds_sum{job="cleanup"} 4000.25)"));
    EXPECT_TRUE(
        has_line(text, R"(pgwarden_job_duration_seconds_bucket{job="cleanup",le="+Inf"} 4)"));
    EXPECT_TRUE(has_line(text, R"(pgwarden_job_deferrals_total{job="cleanup"} 2)"));
    EXPECT_TRUE(has_line(text, R"(pgwarden_job_skipped_overlaps_total{job="cleanup"} 4)"));
    EXPECT_TRUE(has_line(text, R"(pgwarden_job_lag_seconds{job="cleanup"} 1.5)"));
    EXPECT_TRUE(has_line(text, R"(pgwarden_job_paused{job="cleanup"} 1)"));
}

}  // namespace
}  // namespace pgwarden::scheduler
