// show_jobs: the SHOW JOBS table built from snapshots.
#include "scheduler/show_jobs.hpp"

#include <gtest/gtest.h>

#include <string>

namespace pgwarden::scheduler {
namespace {

TEST(ShowJobs, OneTextRowPerJob) {
    JobSnapshot a;
    a.name = "cleanup";
    a.kind = "sql";
    a.schedule = "every 10m";
    a.queue = "default";
    a.paused = true;
    a.runs_succeeded = 7;
    a.deferrals = 2;
    a.last_lag_seconds = 0.25;
    a.next_run = cron::WallTime(std::chrono::seconds(1'800'000'000));
    a.last_outcome = "succeeded";
    JobSnapshot b;
    b.name = "off";
    b.enabled = false;
    const JobTable t = show_jobs({a, b});
    ASSERT_EQ(t.rows.size(), 2u);
    ASSERT_EQ(t.rows[0].size(), t.columns.size());
    auto cell = [&](std::size_t row, const std::string& column) {
        for (std::size_t i = 0; i < t.columns.size(); ++i) {
            if (t.columns[i] == column) {
                return t.rows[row][i];
            }
        }
        ADD_FAILURE() << "no column " << column;
        return std::string();
    };
    EXPECT_EQ(cell(0, "job"), "cleanup");
    EXPECT_EQ(cell(0, "state"), "paused");
    EXPECT_EQ(cell(0, "succeeded"), "7");
    EXPECT_EQ(cell(0, "deferrals"), "2");
    EXPECT_EQ(cell(0, "lag_s"), "0.250");
    EXPECT_EQ(cell(0, "next_run"), "2027-01-15T08:00:00Z");
    EXPECT_EQ(cell(0, "last_run"), "");
    EXPECT_EQ(cell(1, "state"), "disabled");
}

}  // namespace
}  // namespace pgwarden::scheduler
