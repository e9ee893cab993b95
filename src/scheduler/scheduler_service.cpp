#include "scheduler/scheduler_service.hpp"

#include "scheduler/planner.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <utility>

namespace pgwarden::scheduler {

namespace {

using TimePointT = common::Clock::time_point;
using std::chrono::milliseconds;

// How many events one job may produce in one tick: poll() consumes one event per call, and
// a job that keeps producing them is a bug, not a reason to spin.
constexpr int kMaxEventsPerPoll = 16;

}  // namespace

std::string default_instance_id() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) {
        std::snprintf(host, sizeof host, "localhost");
    }
    return fmt::format("{}:{}", host, ::getpid());
}

namespace {

double seconds_of(common::Clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

std::string describe_schedule(const config::JobConfig& job) {
    if (job.every) {
        return "every " + config::format_duration(*job.every);
    }
    return job.timezone == "UTC" ? job.schedule
                                 : fmt::format("{} ({})", job.schedule, job.timezone);
}

std::string_view outcome_name(const RunReport& report) {
    if (report.timed_out) {
        return "timeout";
    }
    switch (report.outcome) {
    case RunOutcome::Succeeded:
        return "succeeded";
    case RunOutcome::Failed:
        return "failed";
    case RunOutcome::Cancelled:
        return "cancelled";
    }
    return "failed";
}

// The password a job's connections log in to pgwarden with: a plain auth_file secret first
// (that is what pgwarden checks), else the database table's password for that user.
std::string proxy_password(const config::Config& config, const std::string& user,
                           const std::string& database) {
    if (auto it = config.users.find(user); it != config.users.end()) {
        const auto& secret = it->second.secret;
        const bool hashed = (secret.size() == 35 && secret.starts_with("md5")) ||
                            secret.starts_with("SCRAM-SHA-256$");
        if (!hashed) {
            return secret;
        }
    }
    if (auto db = config.databases.find(database); db != config.databases.end()) {
        if (db->second.user == user || db->second.user.empty()) {
            return db->second.password;
        }
    }
    return {};
}

// "2026-03-08T07:00:00Z", or with milliseconds ("...:00.250Z") for sub-second slots.
std::string format_wall(cron::WallTime t) {
    const auto seconds = std::chrono::floor<std::chrono::seconds>(t);
    std::string text = cron::format_utc(seconds);
    const auto ms = (t - seconds).count();
    if (ms != 0 && !text.empty() && text.back() == 'Z') {
        text.pop_back();
        text += fmt::format(".{:03}Z", ms);
    }
    return text;
}

}  // namespace

// One configured job and what the scheduler thread knows about it.
struct SchedulerService::Job {
    std::shared_ptr<const JobSpec> spec;
    std::string user;                            // effective user of its connections
    std::string password;                        // for logging in to pgwarden as `user`, if known
    std::optional<JobState> state;               // built on the thread, after reading last slots
    std::map<TimePointT, cron::WallTime> slots;  // due time -> the slot it stands for
    cron::WallTime retry_slot{};                 // the slot a scheduled retry belongs to
    bool paused = false;
    bool logged_deferral = false;  // the current pending run's deferral was logged
    JobSnapshot stats;
};

struct SchedulerService::ActiveRun {
    std::size_t job = 0;
    SlotKey slot;
    RunTicket ticket;
    TimePointT started{};
    int connections = 1;
    std::atomic<bool> cancel{false};
    std::thread thread;
};

struct SchedulerService::Completion {
    std::uint64_t id = 0;
    RunReport report;
};

common::Result<std::unique_ptr<SchedulerService>> SchedulerService::create(
    std::shared_ptr<const config::Config> config, ServiceOptions options) {
    std::unique_ptr<SchedulerService> service(
        new SchedulerService(std::move(config), std::move(options)));
    for (const auto& [name, job] : service->config_->jobs) {
        auto spec = make_job_spec(job);
        if (!spec) {
            return std::move(spec).error();
        }
        auto entry = std::make_unique<Job>();
        entry->spec = std::move(*spec);
        entry->user = job.user;
        if (entry->user.empty()) {
            if (auto db = service->config_->databases.find(job.database);
                db != service->config_->databases.end()) {
                entry->user = db->second.user;
            }
        }
        entry->password = proxy_password(*service->config_, entry->user, job.database);
        entry->stats.name = name;
        entry->stats.kind = std::string(config::to_string(job.kind));
        entry->stats.schedule = describe_schedule(job);
        entry->stats.queue = job.queue;
        entry->stats.enabled = job.enabled;
        service->job_index_.emplace(name, service->jobs_.size());
        service->jobs_.push_back(std::move(entry));
    }
    service->stats_.reserve(service->jobs_.size());
    for (const auto& job : service->jobs_) {
        service->stats_.push_back(job->stats);
    }
    return service;
}

SchedulerService::SchedulerService(std::shared_ptr<const config::Config> config,
                                   ServiceOptions options)
    : config_(std::move(config)), options_(std::move(options)) {
    instance_id_ = !options_.instance_id.empty()             ? options_.instance_id
                   : !config_->scheduler.instance_id.empty() ? config_->scheduler.instance_id
                                                             : default_instance_id();
    coordinator_ = options_.coordinator ? std::move(options_.coordinator)
                                        : std::make_unique<LocalCoordinator>();
    clock_ = options_.clock != nullptr ? options_.clock : &steady_;
    if (!options_.runner) {
        options_.runner = &run_job;
    }
}

SchedulerService::~SchedulerService() {
    stop();
}

void SchedulerService::start() {
    std::lock_guard lock(mu_);
    if (started_) {
        return;
    }
    started_ = true;
    started_flag_.store(true);
    thread_ = std::thread([this] {
        loop();
        stopped_.store(true);
    });
}

void SchedulerService::request_stop() {
    std::lock_guard lock(mu_);
    stopping_ = true;
    wake_.notify_all();
}

void SchedulerService::stop() {
    request_stop();
    if (thread_.joinable()) {
        thread_.join();
    }
}

cron::WallTime SchedulerService::wall_now() const {
    if (options_.wall_clock) {
        return options_.wall_clock();
    }
    return std::chrono::time_point_cast<milliseconds>(std::chrono::system_clock::now());
}

std::vector<JobSnapshot> SchedulerService::snapshot() const {
    std::lock_guard lock(stats_mu_);
    return stats_;
}

void SchedulerService::publish(std::size_t index) {
    Job& job = *jobs_[index];
    JobSnapshot& s = job.stats;
    s.paused = job.paused;
    if (job.state) {
        s.running = job.state->running();
        s.pending = job.state->pending().has_value();
        s.deferrals = job.state->deferrals();
        const auto next = job.state->next_due();
        s.next_run = next ? std::optional<cron::WallTime>(base_.to_wall(*next)) : std::nullopt;
        if (auto slot = next ? job.slots.find(*next) : job.slots.end(); slot != job.slots.end()) {
            s.next_run = slot->second;  // the nominal time, as the schedule states it
        }
    }
    std::lock_guard lock(stats_mu_);
    stats_[index] = s;
}

std::optional<TimePointT> SchedulerService::next_due(std::size_t index, TimePointT after) {
    Job& job = *jobs_[index];
    auto fire = job.spec->schedule.next_after(base_.to_wall(after));
    if (!fire) {
        spdlog::error("job {}: {}; it will not run again", job.spec->config.name,
                      fire.error().message);
        return std::nullopt;
    }
    const TimePointT due = base_.to_steady(fire->start);
    job.slots[due] = fire->nominal;
    return due;
}

void SchedulerService::loop() {
    const TimePointT start = clock_->now();
    base_ = cron::TimeBase{start, wall_now()};
    std::map<std::string, cron::WallTime> last;
    if (auto ok = coordinator_->prepare(); !ok) {
        spdlog::warn("scheduler: {}; runs wait until the job state database is reachable",
                     ok.error().message);
        coordinator_retry_ = start + options_.state_retry;
    } else {
        coordinator_ready_ = true;
        if (auto slots = coordinator_->last_slots()) {
            last = std::move(*slots);
        } else {
            spdlog::warn("scheduler: {}", slots.error().message);
        }
    }
    for (std::size_t i = 0; i < jobs_.size(); ++i) {
        Job& job = *jobs_[i];
        if (!job.spec->config.enabled) {
            continue;
        }
        // The first due time follows the last recorded slot, so the downtime in between is
        // seen as a misfire (misfire policy); without history it is the next fire from now.
        std::optional<TimePointT> first;
        if (auto it = last.find(job.spec->config.name); it != last.end()) {
            auto fire = job.spec->schedule.next_after(it->second);
            if (fire) {
                first = base_.to_steady(fire->start);
                job.slots[*first] = fire->nominal;
            }
        }
        if (!first) {
            first = next_due(i, start);
        }
        job.state.emplace(job.spec->config.name, job.spec->policy, first);
        publish(i);
    }
    spdlog::info("scheduler: {} job(s), instance {}, max_concurrency {}", jobs_.size(),
                 instance_id_, config_->scheduler.max_concurrency);
    for (;;) {
        const TimePointT now = clock_->now();
        tick(now);
        const auto wake = next_wake(now);
        std::unique_lock lock(mu_);
        if (stopping_) {
            break;
        }
        if (!completions_.empty()) {
            continue;
        }
        // A fake clock does not advance while we sleep: poll it in small steps instead.
        auto wait = wake ? *wake - now : common::Clock::duration(std::chrono::hours(1));
        if (clock_ != &steady_) {
            wait = std::min<common::Clock::duration>(wait, milliseconds(5));
        }
        wait = std::max<common::Clock::duration>(wait, milliseconds(1));
        wake_.wait_for(lock, wait, [this] { return stopping_ || !completions_.empty(); });
        if (stopping_) {
            break;
        }
    }
    // Shutdown: cancel what runs, wait for it, and record it, so other instances need not wait
    // for the lease to expire.
    for (auto& [id, run] : active_) {
        run->cancel.store(true);
    }
    for (auto& [id, run] : active_) {
        if (run->thread.joinable()) {
            run->thread.join();
        }
    }
    collect_completions(clock_->now());
    spdlog::info("scheduler stopped");
}

std::optional<TimePointT> SchedulerService::next_wake(TimePointT now) const {
    std::optional<TimePointT> wake;
    auto consider = [&](std::optional<TimePointT> t) {
        if (t && (!wake || *t < *wake)) {
            wake = t;
        }
    };
    for (const auto& job : jobs_) {
        if (!job->state) {
            continue;
        }
        consider(job->state->next_due());
        consider(job->state->retry_at());
        if (job->state->pending() || job->state->has_queued_run()) {
            consider(now + options_.tick);
        }
    }
    consider(next_sweep_);
    if (!active_.empty()) {
        consider(next_renew_);
    }
    return wake;
}

void SchedulerService::tick(TimePointT now) {
    collect_completions(now);
    if (now >= next_sweep_) {
        sweep(now);
    }
    if (!active_.empty() && now >= next_renew_) {
        std::vector<SlotKey> held;
        for (const auto& [id, run] : active_) {
            held.push_back(run->slot);
        }
        if (auto ok = coordinator_->renew(held); !ok) {
            spdlog::warn("scheduler: renewing leases: {}", ok.error().message);
        }
        next_renew_ = now + config_->scheduler.lease / 3;
    }
    for (std::size_t i = 0; i < jobs_.size(); ++i) {
        poll_job(i, now);
    }
    plan_and_start(now);
}

void SchedulerService::poll_job(std::size_t index, TimePointT now) {
    Job& job = *jobs_[index];
    if (!job.state) {
        return;
    }
    const NextDueFn next = [this, index](TimePointT after) { return next_due(index, after); };
    const std::string& name = job.spec->config.name;
    bool changed = false;
    for (int i = 0; i < kMaxEventsPerPoll; ++i) {
        const PollEvent event = job.state->poll(now, next);
        if (event == PollEvent::NothingDue) {
            break;
        }
        changed = true;
        switch (event) {
        case PollEvent::OverlapSkipped:
        case PollEvent::OverlapQueueFull:
            ++job.stats.skipped_overlaps;
            spdlog::info("job {}: due while still running; skipped (overlap = {})", name,
                         config::to_string(job.spec->config.overlap));
            break;
        case PollEvent::MissedSkipped:
        case PollEvent::MissedRunOnce:
            ++job.stats.misfires;
            spdlog::warn("job {}: due time(s) missed (pgwarden down or paused); {}", name,
                         event == PollEvent::MissedSkipped ? "skipped (misfire = skip)"
                                                           : "one catch-up run "
                                                             "(misfire = run_once)");
            break;
        case PollEvent::ScheduleEnded:
            spdlog::warn("job {}: the schedule has no further fire times", name);
            break;
        default:
            spdlog::debug("job {}: {}", name, to_string(event));
            break;
        }
    }
    if (job.paused && job.state->pending()) {
        job.state->drop_pending();
        spdlog::info("job {}: paused; run skipped", name);
        changed = true;
    }
    // Slots older than anything still waiting are done with.
    std::optional<TimePointT> keep;
    if (job.state->pending()) {
        keep = job.state->pending()->due;
    }
    if (auto n = job.state->next_due(); n && (!keep || *n < *keep)) {
        keep = n;
    }
    while (!job.state->has_queued_run() && !job.slots.empty() &&
           (!keep || job.slots.begin()->first < *keep) && job.slots.size() > 1) {
        job.slots.erase(job.slots.begin());
    }
    if (changed) {
        publish(index);
    }
}

void SchedulerService::plan_and_start(TimePointT now) {
    std::vector<Candidate> candidates;
    std::map<std::pair<std::string, std::string>, bool> pressure_of;
    const double threshold = config_->scheduler.pressure_utilization;
    for (std::size_t i = 0; i < jobs_.size(); ++i) {
        const Job& job = *jobs_[i];
        if (!job.state || !job.state->pending()) {
            continue;
        }
        Candidate c = make_candidate(i, *job.state);
        c.connections = job.spec->config.connections;
        if (options_.pressure) {
            const auto key = std::make_pair(job.spec->config.database, job.user);
            auto it = pressure_of.find(key);
            if (it == pressure_of.end()) {
                const Pressure p = options_.pressure(key.first, key.second);
                it = pressure_of
                         .emplace(key, p.utilization >= threshold || p.higher_priority_waiting)
                         .first;
                if (it->second) {
                    spdlog::debug(
                        "scheduler: pool {}/{} under pressure (utilization {:.2f}, "
                        "higher priority waiting: {})",
                        key.first, key.second, p.utilization, p.higher_priority_waiting);
                }
            }
            c.under_pressure = it->second;
        }
        candidates.push_back(c);
    }
    if (candidates.empty()) {
        return;
    }
    Budget budget;
    budget.max_running = config_->scheduler.max_concurrency;
    for (const auto& [queue, limit] : config_->scheduler.queues) {
        budget.per_queue.emplace(queue, limit);
    }
    Load load;
    for (const auto& [id, run] : active_) {
        load.running += run->connections;
        load.per_queue[jobs_[run->job]->spec->config.queue] += run->connections;
    }
    const Planner planner(std::move(budget));
    PlanInput input;
    input.now = now;
    input.tick = options_.tick;
    const auto decisions = planner.plan(input, load, candidates);
    for (const auto& d : decisions) {
        Job& job = *jobs_[d.job];
        const std::string& name = job.spec->config.name;
        const PendingRun pending = *job.state->pending();
        if (!d.start()) {
            job.state->on_deferred();
            const auto waited = seconds_of(now - pending.due);
            const auto& window = job.spec->config.max_staleness;
            const std::string message = fmt::format(
                "job {}: run due {:.1f}s ago deferred ({}{})", name, waited, to_string(d.reason),
                window ? fmt::format(", freshness window {}", config::format_duration(*window))
                       : std::string());
            if (!job.logged_deferral) {
                spdlog::info("{}", message);
                job.logged_deferral = true;
            } else {
                spdlog::debug("{}", message);
            }
            publish(d.job);
            continue;
        }
        SlotKey slot{name, base_.to_wall(pending.due)};
        if (pending.attempt > 1) {
            slot.slot = job.retry_slot;
        } else if (auto it = job.slots.find(pending.due); it != job.slots.end()) {
            slot.slot = it->second;
        }
        const auto overlap = job.spec->config.overlap;
        const bool exclusive =
            overlap == config::JobOverlap::Skip || overlap == config::JobOverlap::QueueOne;
        auto claim = coordinator_ready_ ? coordinator_->claim(slot, pending.attempt, exclusive)
                                        : common::Result<ClaimResult>(common::make_error(
                                              "state", "job state database not reachable yet"));
        if (!claim) {
            // Fail closed: without the shared state a run could be a duplicate. Runs stay
            // pending; the sweep re-checks the database every 5 s and claims resume then.
            if (coordinator_ready_) {
                spdlog::warn(
                    "job {}: cannot claim slot {}: {}; due runs wait for the job "
                    "state database",
                    name, format_wall(slot.slot), claim.error().message);
                coordinator_ready_ = false;
                coordinator_retry_ = now + options_.state_retry;
            }
            continue;
        }
        switch (*claim) {
        case ClaimResult::Claimed:
            job.logged_deferral = false;
            if (d.reason != PlanReason::StartedOnTime) {
                spdlog::info("job {}: starting ({})", name, to_string(d.reason));
            }
            start_run(d.job, now, slot);
            break;
        case ClaimResult::Taken:
            job.state->drop_pending();
            job.logged_deferral = false;
            ++job.stats.skipped_elsewhere;
            spdlog::debug("job {}: slot {} runs or ran on another instance", name,
                          format_wall(slot.slot));
            publish(d.job);
            break;
        case ClaimResult::Busy:
            if (overlap == config::JobOverlap::Skip) {
                job.state->drop_pending();
                job.logged_deferral = false;
                ++job.stats.skipped_overlaps;
                spdlog::info(
                    "job {}: slot {} skipped: another instance is still running "
                    "the job (overlap = skip)",
                    name, format_wall(slot.slot));
                publish(d.job);
            }
            break;  // queue_one: stays pending until the other run ends
        }
    }
}

void SchedulerService::start_run(std::size_t index, TimePointT now, const SlotKey& slot) {
    Job& job = *jobs_[index];
    const bool cancel_previous = job.state->pending()->cancel_previous;
    if (cancel_previous) {
        for (auto& [id, run] : active_) {
            if (run->job == index) {
                run->cancel.store(true);
                spdlog::info("job {}: cancelling the run of slot {} (overlap = cancel_previous)",
                             job.spec->config.name, format_wall(run->slot.slot));
            }
        }
    }
    auto run = std::make_unique<ActiveRun>();
    run->job = index;
    run->slot = slot;
    run->ticket = job.state->on_started(now);
    run->started = now;
    run->connections = job.spec->config.connections;
    const double lag = seconds_of(now - run->ticket.due);
    job.stats.last_lag_seconds = lag > 0 ? lag : 0;
    job.stats.last_run = wall_now();
    spdlog::info("job {}: run of slot {} started (attempt {}, {:.1f}s after due)",
                 job.spec->config.name, format_wall(slot.slot), run->ticket.attempt,
                 job.stats.last_lag_seconds);
    const std::uint64_t id = next_run_id_++;
    RunContext context;
    context.spec = job.spec;
    context.proxy = options_.proxy;
    context.proxy.password = job.password;
    context.user = job.user;
    context.cancel = &run->cancel;
    // The thread only touches the run's own context and the completion queue.
    run->thread = std::thread([this, id, context, runner = options_.runner] {
        RunReport report;
        try {
            report = runner(context);
        } catch (const std::exception& e) {
            report = RunReport{RunOutcome::Failed, false, fmt::format("runner: {}", e.what()), {}};
        }
        std::lock_guard lock(mu_);
        completions_.push_back(Completion{id, std::move(report)});
        wake_.notify_all();
    });
    active_.emplace(id, std::move(run));
    // Renew soon after the first start, so a short lease is extended in time.
    if (active_.size() == 1) {
        next_renew_ = now + config_->scheduler.lease / 3;
    }
    publish(index);
}

void SchedulerService::collect_completions(TimePointT now) {
    std::vector<Completion> done;
    {
        std::lock_guard lock(mu_);
        done.swap(completions_);
    }
    for (auto& c : done) {
        auto it = active_.find(c.id);
        if (it == active_.end()) {
            continue;
        }
        std::unique_ptr<ActiveRun> run = std::move(it->second);
        active_.erase(it);
        if (run->thread.joinable()) {
            run->thread.join();
        }
        Job& job = *jobs_[run->job];
        const std::string& name = job.spec->config.name;
        const RunReport& report = c.report;
        const std::string outcome(outcome_name(report));
        const double duration = seconds_of(now - run->started);
        if (auto ok =
                coordinator_->finish(FinishRecord{run->slot, outcome, report.error, report.output});
            !ok) {
            spdlog::warn("job {}: recording the run of slot {}: {}", name,
                         format_wall(run->slot.slot), ok.error().message);
        }
        const FinishResult result = job.state->on_finished(now, run->ticket, report.outcome);
        if (result.event == FinishEvent::FailedRetryScheduled) {
            job.retry_slot = run->slot.slot;
        }
        JobSnapshot& s = job.stats;
        s.last_outcome = outcome;
        s.last_error = report.error;
        s.last_duration_seconds = duration;
        s.duration_sum_seconds += duration;
        const auto bucket = static_cast<std::size_t>(
            std::lower_bound(kDurationBuckets.begin(), kDurationBuckets.end(), duration) -
            kDurationBuckets.begin());
        ++s.duration_buckets[bucket];
        if (report.timed_out) {
            ++s.runs_timeout;
        } else if (report.outcome == RunOutcome::Succeeded) {
            ++s.runs_succeeded;
        } else if (report.outcome == RunOutcome::Failed) {
            ++s.runs_failed;
        } else {
            ++s.runs_cancelled;
        }
        if (report.outcome == RunOutcome::Succeeded) {
            spdlog::info("job {}: run of slot {} succeeded in {:.2f}s", name,
                         format_wall(run->slot.slot), duration);
        } else {
            spdlog::warn("job {}: run of slot {} {} after {:.2f}s: {} ({})", name,
                         format_wall(run->slot.slot), outcome, duration, report.error,
                         to_string(result.event));
        }
        publish(run->job);
    }
}

void SchedulerService::sweep(TimePointT now) {
    next_sweep_ = now + options_.sweep_interval;
    if (!coordinator_ready_) {
        if (now < coordinator_retry_) {
            return;
        }
        if (auto ok = coordinator_->prepare(); !ok) {
            spdlog::warn("scheduler: {}", ok.error().message);
            coordinator_retry_ = now + options_.state_retry;
            return;
        }
        coordinator_ready_ = true;
        spdlog::info("scheduler: job state database reachable");
    }
    auto found = coordinator_->sweep();
    if (!found) {
        spdlog::warn("scheduler: {}", found.error().message);
        return;
    }
    for (std::size_t i = 0; i < jobs_.size(); ++i) {
        Job& job = *jobs_[i];
        const bool paused = found->paused.contains(job.spec->config.name);
        if (paused != job.paused) {
            job.paused = paused;
            spdlog::info("job {}: {}", job.spec->config.name, paused ? "paused" : "resumed");
            publish(i);
        }
    }
    for (const auto& open : found->open) {
        auto it = job_index_.find(open.key.job);
        if (it == job_index_.end()) {
            continue;  // a job this instance does not have
        }
        Job& job = *jobs_[it->second];
        if (!job.state || job.paused || job.state->pending()) {
            continue;  // a pending run is served first; the row is found again next sweep
        }
        const bool ours = std::any_of(active_.begin(), active_.end(), [&](const auto& entry) {
            return entry.second->slot == open.key;
        });
        if (ours) {
            continue;
        }
        const PollEvent event = job.state->request_run(now);
        const bool accepted = event == PollEvent::BecameDue || event == PollEvent::OverlapQueued ||
                              event == PollEvent::OverlapAllowed ||
                              event == PollEvent::OverlapCancelsPrevious;
        if (accepted) {
            job.slots[now] = open.key.slot;
            spdlog::info("job {}: {} slot {}", open.key.job,
                         open.requested ? "run requested for" : "lease expired; taking over",
                         format_wall(open.key.slot));
        } else {
            spdlog::debug("job {}: open slot {} waits ({})", open.key.job,
                          format_wall(open.key.slot), to_string(event));
        }
        publish(it->second);
    }
    if (now >= next_purge_) {
        next_purge_ = now + std::chrono::minutes(1);
        if (auto ok = coordinator_->purge(config_->scheduler.history_retention); !ok) {
            spdlog::warn("scheduler: purging run history: {}", ok.error().message);
        }
    }
}

}  // namespace pgwarden::scheduler
