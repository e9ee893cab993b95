#include "observe/process_metrics.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace pgwarden::observe {

namespace {

std::optional<std::string> read_small_file(const char* path) {
    FILE* f = std::fopen(path, "re");
    if (f == nullptr) {
        return std::nullopt;
    }
    std::string out;
    char buf[4096];
    size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
        out.append(buf, n);
    }
    std::fclose(f);
    return out;
}

std::optional<uint64_t> count_open_fds() {
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) {
        return std::nullopt;
    }
    uint64_t count = 0;
    while (const dirent* entry = ::readdir(dir)) {
        if (entry->d_name[0] != '.') {
            ++count;
        }
    }
    ::closedir(dir);
    // The directory stream itself holds one descriptor while we count.
    return count > 0 ? count - 1 : 0;
}

std::optional<uint64_t> max_open_fds() {
    rlimit limit{};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) {
        return std::nullopt;
    }
    return static_cast<uint64_t>(limit.rlim_cur);
}

std::optional<double> read_boot_time();

// /proc/stat is regenerated on every read with a line per CPU and per interrupt (hundreds of
// microseconds on a large machine), and the boot time in it never changes: read it once.
std::optional<double> boot_time_seconds() {
    static const std::optional<double> cached = [] { return read_boot_time(); }();
    return cached;
}

std::optional<double> read_boot_time() {
    auto stat = read_small_file("/proc/stat");
    if (!stat) {
        return std::nullopt;
    }
    auto pos = stat->find("\nbtime ");
    if (pos == std::string::npos) {
        return std::nullopt;
    }
    return std::strtod(stat->c_str() + pos + 7, nullptr);
}

}  // namespace

ProcessStats read_process_stats() {
    ProcessStats out;
    out.open_fds = count_open_fds();
    out.max_fds = max_open_fds();
    auto stat = read_small_file("/proc/self/stat");
    if (!stat) {
        return out;
    }
    // The command name (field 2) may hold spaces and parentheses: fields resume after the
    // last ')'. Field numbers below are those of proc(5), starting at 3 for `state`.
    auto close = stat->rfind(')');
    if (close == std::string::npos) {
        return out;
    }
    const char* p = stat->c_str() + close + 2;
    unsigned long long fields[53] = {};
    int field = 3;
    while (*p != '\0' && field < 53) {
        while (*p == ' ') {
            ++p;
        }
        char* end = nullptr;
        fields[field] = std::strtoull(p, &end, 10);
        if (end == p) {
            // Non-numeric field (state): skip the token.
            while (*p != '\0' && *p != ' ') {
                ++p;
            }
        } else {
            p = end;
        }
        ++field;
    }
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const auto page = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
    out.cpu_seconds = static_cast<double>(fields[14] + fields[15]) / ticks;  // utime + stime
    out.threads = fields[20];
    out.virtual_memory_bytes = fields[23];
    out.resident_memory_bytes = fields[24] * page;
    if (auto btime = boot_time_seconds()) {
        out.start_time_seconds = *btime + static_cast<double>(fields[22]) / ticks;
    }
    return out;
}

void write_process_metrics(ScrapeBuilder& out, const ProcessStats& stats) {
    const LabelSet none;
    auto put = [&](std::string_view name, MetricType type, std::string_view help, auto value) {
        if (value) {
            out.family(name, type, help).sample(none, static_cast<double>(*value));
        }
    };
    put("process_cpu_seconds_total", MetricType::Counter,
        "Total user and system CPU time spent in seconds.", stats.cpu_seconds);
    put("process_open_fds", MetricType::Gauge, "Number of open file descriptors.", stats.open_fds);
    put("process_max_fds", MetricType::Gauge, "Maximum number of open file descriptors.",
        stats.max_fds);
    put("process_resident_memory_bytes", MetricType::Gauge, "Resident memory size in bytes.",
        stats.resident_memory_bytes);
    put("process_virtual_memory_bytes", MetricType::Gauge, "Virtual memory size in bytes.",
        stats.virtual_memory_bytes);
    put("process_start_time_seconds", MetricType::Gauge,
        "Start time of the process since unix epoch in seconds.", stats.start_time_seconds);
    put("pgwarden_process_threads", MetricType::Gauge, "Number of OS threads in the process.",
        stats.threads);
}

}  // namespace pgwarden::observe
