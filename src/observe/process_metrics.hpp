#pragma once

#include "observe/metrics.hpp"

#include <cstdint>
#include <optional>

namespace pgwarden::observe {

// What /proc/self says about this process. Fields the kernel does not provide stay empty.
struct ProcessStats {
    std::optional<uint64_t> open_fds;
    std::optional<uint64_t> max_fds;
    std::optional<uint64_t> resident_memory_bytes;
    std::optional<uint64_t> virtual_memory_bytes;
    std::optional<double> cpu_seconds;
    std::optional<double> start_time_seconds;  // Unix time
    std::optional<uint64_t> threads;
};

// Reads /proc/self/{stat,fd,limits} and /proc/stat. These are in-memory kernel files (tens of
// microseconds, never a disk wait), which is why a scrape may read them on an event loop.
ProcessStats read_process_stats();

// Writes the standard process_* families (the names every Prometheus client library uses,
// so stock dashboards work) plus pgwarden_process_threads.
void write_process_metrics(ScrapeBuilder& out, const ProcessStats& stats);

}  // namespace pgwarden::observe
