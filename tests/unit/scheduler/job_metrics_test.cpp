// collect_job_metrics against a stand-in for the observe module's scrape types.
#include "scheduler/job_metrics.hpp"

#include <gtest/gtest.h>

#include <fmt/format.h>

#include <initializer_list>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace pgwarden::scheduler {
namespace {

enum class FakeType { Counter, Gauge, Histogram };

struct FakeLabels {
    FakeLabels(std::initializer_list<std::pair<std::string_view, std::string_view>> labels) {
        for (const auto& [k, v] : labels) {
            text += fmt::format("{}{}=\"{}\"", text.empty() ? "" : ",", k, v);
        }
    }
    std::string text;
};

struct FakeHistogram {
    std::vector<std::uint64_t> cumulative;
    double sum = 0;
    std::uint64_t count = 0;
};

struct FakeFamily {
    FakeType type = FakeType::Counter;
    std::vector<std::string> lines;
    void sample(const FakeLabels& l, double v) {
        lines.push_back(fmt::format("{{{}}} {}", l.text, v));
    }
    void sample(const FakeLabels& l, std::string_view k, std::string_view val, double v) {
        lines.push_back(fmt::format("{{{},{}=\"{}\"}} {}", l.text, k, val, v));
    }
    void histogram(const FakeLabels& l, const std::vector<double>& bounds, const FakeHistogram& h) {
        EXPECT_EQ(h.cumulative.size(), bounds.size() + 1);
        lines.push_back(fmt::format("{{{}}} count={} sum={} inf={}", l.text, h.count, h.sum,
                                    h.cumulative.back()));
    }
};

struct FakeBuilder {
    std::map<std::string, FakeFamily> families;
    FakeFamily& family(std::string_view name, FakeType type, std::string_view help) {
        EXPECT_FALSE(help.empty());
        auto& f = families[std::string(name)];
        f.type = type;
        return f;
    }
};

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
    FakeBuilder b;
    collect_job_metrics<FakeLabels, FakeType, FakeHistogram>({a}, b);
    EXPECT_EQ(b.families.size(), 9u);
    const auto& runs = b.families["pgwarden_job_runs_total"].lines;
    ASSERT_EQ(runs.size(), 4u);
    EXPECT_EQ(runs[0], "{job=\"cleanup\",outcome=\"succeeded\"} 3");
    EXPECT_EQ(runs[1], "{job=\"cleanup\",outcome=\"failed\"} 1");
    EXPECT_EQ(b.families["pgwarden_job_duration_seconds"].type, FakeType::Histogram);
    EXPECT_EQ(b.families["pgwarden_job_duration_seconds"].lines[0],
              "{job=\"cleanup\"} count=4 sum=4000.25 inf=4");
    EXPECT_EQ(b.families["pgwarden_job_deferrals_total"].lines[0], "{job=\"cleanup\"} 2");
    EXPECT_EQ(b.families["pgwarden_job_skipped_overlaps_total"].lines[0], "{job=\"cleanup\"} 4");
    EXPECT_EQ(b.families["pgwarden_job_lag_seconds"].type, FakeType::Gauge);
    EXPECT_EQ(b.families["pgwarden_job_lag_seconds"].lines[0], "{job=\"cleanup\"} 1.5");
    EXPECT_EQ(b.families["pgwarden_job_paused"].lines[0], "{job=\"cleanup\"} 1");
}

}  // namespace
}  // namespace pgwarden::scheduler
