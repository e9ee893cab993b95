#pragma once

#include "scheduler/scheduler_service.hpp"

#include <string>
#include <vector>

namespace pgwarden::scheduler {

// SHOW JOBS as the admin console sends it: column names and text rows (PgBouncer's SHOW
// commands are text tables too), one row per job in config order. Pure: formats a snapshot.
struct JobTable {
    std::vector<std::string> columns;
    std::vector<std::vector<std::string>> rows;
};

JobTable show_jobs(const std::vector<JobSnapshot>& jobs);

}  // namespace pgwarden::scheduler
