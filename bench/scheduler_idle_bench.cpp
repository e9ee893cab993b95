// The idle cost of the scheduler runtime: a SchedulerService with 10,000 configured jobs
// (hourly-to-daily intervals and daily cron schedules in several time zones), measured with
// getrusage over a window after start-up. The bar: under 1% of one core.
//
// Usage: scheduler_idle_bench [jobs] [seconds]
#include "config/config.hpp"
#include "scheduler/scheduler_service.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

namespace {

double cpu_seconds() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    auto seconds = [](const timeval& tv) {
        return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) * 1e-6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

}  // namespace

int main(int argc, char** argv) {
    const int jobs = argc > 1 ? std::atoi(argv[1]) : 10000;
    const int window = argc > 2 ? std::atoi(argv[2]) : 10;
    spdlog::set_level(spdlog::level::warn);
    const char* zones[] = {"UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo",
                           "Australia/Sydney"};
    std::string text =
        "[pgwarden]\nauth_type = \"trust\"\n[databases.app]\nhost = \"127.0.0.1\"\n"
        "user = \"app\"\n";
    for (int i = 0; i < jobs; ++i) {
        text += fmt::format("[jobs.job{}]\ndatabase = \"app\"\nsql = \"SELECT 1\"\n", i);
        if (i % 2 == 0) {
            text += fmt::format("every = \"{}h\"\n", 1 + i % 24);
        } else {
            text += fmt::format("schedule = \"{} {} * * *\"\ntimezone = \"{}\"\n", i % 60,
                                (i / 60) % 24, zones[i % 5]);
        }
    }
    const auto load_start = std::chrono::steady_clock::now();
    auto loaded = pgwarden::config::load_string(text, "bench.toml");
    if (!loaded.ok()) {
        fmt::print(stderr, "config: {}\n", loaded.errors.front().to_string());
        return 1;
    }
    std::atomic<int> runs{0};
    pgwarden::scheduler::ServiceOptions options;
    options.runner = [&runs](const pgwarden::scheduler::RunContext&) {
        ++runs;
        return pgwarden::scheduler::RunReport{};
    };
    auto service = pgwarden::scheduler::SchedulerService::create(loaded.config, std::move(options));
    if (!service) {
        fmt::print(stderr, "service: {}\n", service.error().message);
        return 1;
    }
    (*service)->start();
    // Start-up (first fire time of every job) is not idle cost: let it finish first.
    std::this_thread::sleep_for(std::chrono::seconds(2));
    const double setup =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - load_start).count();
    const double cpu_before = cpu_seconds();
    const auto wall_before = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(window));
    const double cpu = cpu_seconds() - cpu_before;
    const double wall =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_before).count();
    (*service)->stop();
    const double share = 100.0 * cpu / wall;
    fmt::print(
        "scheduler idle: {} jobs, {:.1f}s window: {:.4f}s CPU = {:.3f}% of one core "
        "({} runs fired in the window or before; load + start {:.1f}s) -> {}\n",
        jobs, wall, cpu, share, runs.load(), setup, share < 1.0 ? "PASS (<1%)" : "FAIL");
    return share < 1.0 ? 0 : 1;
}
