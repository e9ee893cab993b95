#include "commands.hpp"

#include "config/config.hpp"
#include "scheduler/job_spec.hpp"
#include "scheduler/scheduler_service.hpp"
#include "scheduler/state_store.hpp"

#include <fmt/format.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>

// `pgwarden jobs`: the scheduler's shared state in PostgreSQL, read and changed directly, so
// it works with any number of serving instances (or none).
namespace pgwarden::app {

namespace {

struct JobsOptions {
    std::string config_path;
    std::string action;
    std::string name;
    int limit = 20;
};

std::string when(const std::optional<cron::WallTime>& t) {
    if (!t) {
        return "-";
    }
    return cron::format_utc(std::chrono::floor<std::chrono::seconds>(*t));
}

std::string one_line(std::string text, std::size_t width) {
    for (auto& c : text) {
        if (c == '\n' || c == '\t') {
            c = ' ';
        }
    }
    if (text.size() > width) {
        text = text.substr(0, width - 3) + "...";
    }
    return text;
}

int list(const config::Config& config, scheduler::StateStore& store) {
    auto records = store.records();
    if (!records) {
        std::cerr << "pgwarden jobs: " << records.error().message << "\n";
        return 1;
    }
    const auto now =
        std::chrono::time_point_cast<std::chrono::milliseconds>(std::chrono::system_clock::now());
    std::cout << fmt::format("{:<24} {:<8} {:<22} {:<9} {:<21} {:<10} {:<21} {}\n", "JOB", "KIND",
                             "SCHEDULE", "STATE", "LAST RUN", "OUTCOME", "NEXT RUN", "RUNNING ON");
    for (const auto& [name, job] : config.jobs) {
        const auto it = records->find(name);
        const scheduler::JobRecord record =
            it == records->end() ? scheduler::JobRecord{} : it->second;
        std::string schedule =
            job.every ? "every " + config::format_duration(*job.every) : job.schedule;
        std::string next = "-";
        if (auto spec = scheduler::make_job_spec(job)) {
            if (auto fire = (*spec)->schedule.next_after(now)) {
                next = when(fire->nominal);
            }
        }
        const std::string state = !job.enabled ? "disabled" : record.paused ? "paused" : "active";
        std::string running;
        for (const auto& instance : record.running) {
            running += running.empty() ? instance : ", " + instance;
        }
        std::cout << fmt::format(
            "{:<24} {:<8} {:<22} {:<9} {:<21} {:<10} {:<21} {}\n", one_line(name, 24),
            config::to_string(job.kind), one_line(schedule, 22), state,
            record.last ? when(record.last->started_at) : "-",
            record.last ? record.last->outcome : "-", next, running.empty() ? "-" : running);
    }
    return 0;
}

int history(scheduler::StateStore& store, const std::string& name, int limit) {
    auto rows = store.history(name, limit);
    if (!rows) {
        std::cerr << "pgwarden jobs: " << rows.error().message << "\n";
        return 1;
    }
    std::cout << fmt::format("{:<21} {:<24} {:<24} {:<9} {:<10} {:>7} {:>9}  {}\n", "SLOT", "JOB",
                             "INSTANCE", "STATE", "OUTCOME", "ATTEMPT", "DURATION", "ERROR");
    for (const auto& row : *rows) {
        std::string duration = "-";
        if (row.started_at && row.finished_at) {
            duration = fmt::format(
                "{:.2f}s",
                std::chrono::duration<double>(*row.finished_at - *row.started_at).count());
        }
        std::cout << fmt::format("{:<21} {:<24} {:<24} {:<9} {:<10} {:>7} {:>9}  {}\n",
                                 when(row.slot), one_line(row.job, 24),
                                 one_line(row.instance.empty() ? "-" : row.instance, 24), row.state,
                                 row.outcome.empty() ? "-" : row.outcome, row.attempt, duration,
                                 one_line(row.error, 80));
    }
    return 0;
}

int run_jobs(const JobsOptions& options) {
    const auto loaded = config::load_file(options.config_path);
    if (!loaded.ok()) {
        for (const auto& d : loaded.errors) {
            std::cerr << d.to_string() << "\n";
        }
        std::cerr << "pgwarden jobs: configuration " << options.config_path << " has errors\n";
        return 1;
    }
    const auto& config = *loaded.config;
    const bool needs_name =
        options.action == "pause" || options.action == "resume" || options.action == "run";
    if (needs_name && options.name.empty()) {
        std::cerr << fmt::format("pgwarden jobs {}: name the job (pgwarden jobs {} NAME -c FILE)\n",
                                 options.action, options.action);
        return 2;
    }
    if (!options.name.empty() && config.jobs.find(options.name) == config.jobs.end()) {
        std::cerr << fmt::format("pgwarden jobs: no job \"{}\" in {}\n", options.name,
                                 options.config_path);
        return 1;
    }
    auto connection = scheduler::state_connection(config);
    if (!connection) {
        std::cerr << "pgwarden jobs: " << connection.error().message << "\n";
        return 1;
    }
    const std::string instance = "cli:" + scheduler::default_instance_id();
    scheduler::StateStore store(*connection, instance, config.scheduler.lease);
    if (options.action == "list") {
        return list(config, store);
    }
    if (options.action == "history") {
        return history(store, options.name, options.limit);
    }
    if (options.action == "pause" || options.action == "resume") {
        const bool pause = options.action == "pause";
        if (auto ok = store.set_paused(options.name, pause); !ok) {
            std::cerr << "pgwarden jobs: " << ok.error().message << "\n";
            return 1;
        }
        std::cout << fmt::format("job {} {} on every instance{}\n", options.name,
                                 pause ? "paused" : "resumed",
                                 pause ? " (a run in progress finishes)" : "");
        return 0;
    }
    auto slot = store.request_run(options.name);
    if (!slot) {
        std::cerr << "pgwarden jobs: " << slot.error().message << "\n";
        return 1;
    }
    std::cout << fmt::format(
        "run of job {} requested (slot {}); one serving instance will pick "
        "it up within a second\n",
        options.name, when(*slot));
    if (auto records = store.records()) {
        if (auto it = records->find(options.name); it != records->end() && it->second.paused) {
            std::cout << fmt::format(
                "note: job {} is paused; the run waits until it is "
                "resumed\n",
                options.name);
        }
    }
    return 0;
}

}  // namespace

Runner register_jobs(CLI::App& root) {
    auto* cmd = root.add_subcommand(
        "jobs",
        "Inspect and control scheduled jobs across every instance (state is kept in "
        "PostgreSQL: see docs/scheduler.md)");
    auto options = std::make_shared<JobsOptions>();
    cmd->add_option("action", options->action,
                    "list | pause NAME | resume NAME | run NAME | history [NAME]")
        ->required()
        ->check(CLI::IsMember({"list", "pause", "resume", "run", "history"}));
    cmd->add_option("name", options->name, "The job ([jobs.NAME] in the config)");
    cmd->add_option("-c,--config", options->config_path, "TOML configuration file")
        ->required()
        ->option_text("FILE");
    cmd->add_option("-n,--limit", options->limit, "history: how many runs to show")
        ->check(CLI::Range(1, 100000));
    cmd->footer(
        "Exit codes: 0 done, 1 failed (bad config, unknown job, database unreachable), "
        "2 usage error.");
    return [options] { return run_jobs(*options); };
}

}  // namespace pgwarden::app
