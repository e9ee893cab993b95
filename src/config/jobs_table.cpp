#include "config/tables.hpp"

#include "cron/cron.hpp"
#include "cron/timezone.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <set>
#include <vector>

// [jobs.NAME] and [scheduler] tables. Everything a job needs to be scheduled is checked here,
// at load time (cron text, time zone, database, budget), so a bad job is a `pgwarden check`
// error with its line, never a surprise at 3 a.m. when it first fires.
namespace pgwarden::config::detail {

namespace {

constexpr int64_t kMaxInt = std::numeric_limits<int>::max();

constexpr std::pair<std::string_view, JobKind> kJobKinds[] = {
    {"sql", JobKind::Sql},
    {"command", JobKind::Command},
    {"http", JobKind::Http},
};

constexpr std::pair<std::string_view, JobOverlap> kOverlaps[] = {
    {"skip", JobOverlap::Skip},
    {"queue_one", JobOverlap::QueueOne},
    {"allow", JobOverlap::Allow},
    {"cancel_previous", JobOverlap::CancelPrevious},
};

constexpr std::pair<std::string_view, JobMisfire> kMisfires[] = {
    {"run_once", JobMisfire::RunOnce},
    {"skip", JobMisfire::Skip},
};

constexpr std::pair<std::string_view, std::string_view> kMethods[] = {
    {"GET", "GET"}, {"POST", "POST"}, {"PUT", "PUT"}, {"DELETE", "DELETE"}, {"HEAD", "HEAD"},
};

// Names users bring from cron, Kubernetes CronJob, pg_cron and Sidekiq.
constexpr std::pair<std::string_view, std::string_view> kJobAliases[] = {
    {"cron", "schedule"},
    {"interval", "every"},
    {"tz", "timezone"},
    {"time_zone", "timezone"},
    {"concurrency_policy", "overlap"},
    {"concurrency", "overlap"},
    {"query", "sql"},
    {"statements", "sql"},
    {"cmd", "command"},
    {"dbname", "database"},
    {"db", "database"},
    {"workload_class", "class"},
    {"type", "kind"},
    {"max_retries", "retries"},
    {"backoff", "retry_backoff"},
    {"deadline", "timeout"},
    {"active_deadline", "timeout"},
};

constexpr std::string_view kCronHint =
    "5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, or "
    "@hourly/@daily/@weekly/@monthly/@yearly; e.g. \"*/10 * * * *\"";

void read_schedule(Reader& r, const toml::node& n, const std::string& key, JobConfig& job) {
    auto text = r.string(n, key);
    if (!text) {
        return;
    }
    auto cron = cron::parse_cron(*text);
    if (!cron) {
        r.error(n.source(), key,
                fmt::format("invalid cron expression \"{}\": {}", *text, cron.error().message),
                std::string(kCronHint));
        return;
    }
    job.schedule = std::move(*text);
}

void read_every(Reader& r, const toml::node& n, const std::string& key, JobConfig& job) {
    auto d = r.duration(n, key);
    if (!d) {
        return;
    }
    if (d->count() <= 0) {
        r.error(n.source(), key, "must be longer than 0", "e.g. every = \"10m\"");
        return;
    }
    job.every = *d;
}

void read_timezone(Reader& r, const toml::node& n, const std::string& key, JobConfig& job) {
    auto name = r.string(n, key);
    if (!name) {
        return;
    }
    auto zone = cron::TimeZone::load(*name);
    if (!zone) {
        r.error(n.source(), key,
                fmt::format("unknown time zone \"{}\": {}", *name, zone.error().message),
                "an IANA name such as \"UTC\", \"Europe/Berlin\" or \"America/New_York\"");
        return;
    }
    job.timezone = std::move(*name);
}

void read_optional_duration(Reader& r, const toml::node& n, const std::string& key,
                            std::optional<Duration>& out) {
    if (auto d = r.duration(n, key)) {
        out = *d;
    }
}

void read_sql(Reader& r, const toml::node& n, const std::string& key, JobConfig& job) {
    std::vector<std::string> statements;
    if (n.is_string()) {
        statements.push_back(std::string(*n.value<std::string_view>()));
    } else if (const auto* array = n.as_array()) {
        for (const auto& item : *array) {
            if (!item.is_string()) {
                r.error(item.source(), key,
                        fmt::format("expected a string, got {}", type_phrase(item)),
                        "sql = [\"DELETE ...\", \"VACUUM ...\"]");
                return;
            }
            statements.push_back(std::string(*item.value<std::string_view>()));
        }
    } else {
        r.error(n.source(), key,
                fmt::format("expected a string or an array of strings, got {}", type_phrase(n)),
                "sql = \"DELETE FROM sessions WHERE expires < now()\"");
        return;
    }
    const bool blank = std::all_of(statements.begin(), statements.end(), [](const auto& s) {
        return s.find_first_not_of(" \t\r\n;") == std::string::npos;
    });
    if (statements.empty() || blank) {
        r.error(n.source(), key, "no statement to run", "sql = \"SELECT ...\"");
        return;
    }
    job.sql = std::move(statements);
}

void read_command(Reader& r, const toml::node& n, const std::string& key, JobConfig& job) {
    if (n.is_string()) {
        std::string text(*n.value<std::string_view>());
        if (text.find_first_not_of(" \t") == std::string::npos) {
            r.error(n.source(), key, "must not be empty", "command = [\"/usr/bin/app\", \"task\"]");
            return;
        }
        job.command = {std::move(text)};
        job.command_shell = true;
        return;
    }
    const auto* array = n.as_array();
    if (array == nullptr) {
        r.error(n.source(), key,
                fmt::format("expected an array of strings or a string, got {}", type_phrase(n)),
                "command = [\"/usr/bin/app\", \"task\"] runs without a shell; a string runs "
                "through /bin/sh -c");
        return;
    }
    std::vector<std::string> argv;
    for (const auto& item : *array) {
        if (!item.is_string()) {
            r.error(item.source(), key,
                    fmt::format("expected a string, got {}", type_phrase(item)));
            return;
        }
        argv.push_back(std::string(*item.value<std::string_view>()));
    }
    if (argv.empty() || argv.front().empty()) {
        r.error(n.source(), key, "needs a program to run",
                "command = [\"/usr/bin/app\", \"task\"]");
        return;
    }
    job.command = std::move(argv);
    job.command_shell = false;
}

void read_url(Reader& r, const toml::node& n, const std::string& key, JobConfig& job) {
    auto url = r.string(n, key);
    if (!url) {
        return;
    }
    if (!url->starts_with("http://") || url->size() <= 7) {
        r.error(n.source(), key, fmt::format("\"{}\" is not an http:// URL", *url),
                "only plain http:// to the application's own endpoint is supported, e.g. "
                "\"http://127.0.0.1:8080/tasks/cleanup\"");
        return;
    }
    job.url = std::move(*url);
}

void read_method(Reader& r, const toml::node& n, const std::string& key, JobConfig& job) {
    auto v = r.string(n, key);
    if (!v) {
        return;
    }
    std::string upper = *v;
    for (auto& c : upper) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    for (const auto& [name, method] : kMethods) {
        if (name == upper) {
            job.method = std::string(method);
            return;
        }
    }
    r.error(n.source(), key, fmt::format("unknown method \"{}\"", *v),
            "one of GET, POST, PUT, DELETE, HEAD");
}

void read_class(Reader& r, const toml::node& n, const std::string& key, JobConfig& job) {
    if (auto v = r.string(n, key)) {
        job.workload_class = std::move(*v);
    }
}

void read_name(Reader& r, const toml::node& n, const std::string& key, std::string& out,
               std::string_view example) {
    auto v = r.string(n, key);
    if (!v) {
        return;
    }
    if (v->empty()) {
        r.error(n.source(), key, "must not be empty", std::string(example));
        return;
    }
    out = std::move(*v);
}

const std::vector<Field<JobConfig>>& job_fields() {
    static const std::vector<Field<JobConfig>> kFields = {
        {"schedule", &read_schedule},
        {"every", &read_every},
        {"timezone", &read_timezone},
        duration_field("jitter", &JobConfig::jitter),
        choice_field("kind", &JobConfig::kind,
                     std::span<const std::pair<std::string_view, JobKind>>(kJobKinds)),
        {"sql", &read_sql},
        {"command", &read_command},
        {"url", &read_url},
        {"method", &read_method},
        {"database",
         [](Reader& r, const toml::node& n, const std::string& k, JobConfig& j) {
             read_name(r, n, k, j.database, "database = \"app\" (a [databases.NAME] name)");
         }},
        string_field("user", &JobConfig::user),
        {"class", &read_class},
        int_field("connections", &JobConfig::connections, 1, 1000),
        {"queue", [](Reader& r, const toml::node& n, const std::string& k,
                     JobConfig& j) { read_name(r, n, k, j.queue, "queue = \"reports\""); }},
        choice_field("overlap", &JobConfig::overlap,
                     std::span<const std::pair<std::string_view, JobOverlap>>(kOverlaps)),
        {"max_staleness", [](Reader& r, const toml::node& n, const std::string& k,
                             JobConfig& j) { read_optional_duration(r, n, k, j.max_staleness); }},
        int_field("priority", &JobConfig::priority, -1000, 1000),
        choice_field("misfire", &JobConfig::misfire,
                     std::span<const std::pair<std::string_view, JobMisfire>>(kMisfires)),
        int_field("retries", &JobConfig::retries, 0, 100),
        duration_field("retry_backoff", &JobConfig::retry_backoff),
        duration_field("retry_backoff_max", &JobConfig::retry_backoff_max),
        duration_field("timeout", &JobConfig::timeout),
        bool_field("transaction", &JobConfig::transaction),
        bool_field("enabled", &JobConfig::enabled),
        int_field("output_limit", &JobConfig::output_limit, 0, 64LL * 1024 * 1024),
    };
    return kFields;
}

std::string job_fallback_hint(std::string_view key) {
    return unknown_key_hint(key, "jobs", job_keys());
}

// Checks among the keys of one job, once they are all read.
void check_job_shape(Reader& reader, const toml::table& table, const std::string& key,
                     const toml::node& node, JobConfig& job) {
    const bool has_schedule = table.contains("schedule");
    const bool has_every = table.contains("every");
    if (has_schedule && has_every) {
        reader.error(node.source(), key, "has both `schedule` and `every`",
                     "keep one: a cron expression or a fixed interval");
    } else if (!has_schedule && !has_every) {
        reader.error(
            node.source(), key, "missing required key `schedule` or `every`",
            fmt::format("add schedule = \"*/10 * * * *\" or every = \"10m\"; {}", kCronHint));
    }
    if (!table.contains("database")) {
        reader.error(node.source(), key, "missing required key `database`",
                     "database = \"NAME\" of a [databases.NAME] table; sql jobs connect to it "
                     "through pgwarden, command jobs get it in DATABASE_URL");
    }
    struct Needs {
        JobKind kind;
        std::string_view key;
        std::string_view example;
    };
    static constexpr Needs kNeeds[] = {
        {JobKind::Sql, "sql", "sql = \"DELETE FROM sessions WHERE expires < now()\""},
        {JobKind::Command, "command", "command = [\"/usr/bin/app\", \"cleanup\"]"},
        {JobKind::Http, "url", "url = \"http://127.0.0.1:8080/tasks/cleanup\""},
    };
    for (const auto& need : kNeeds) {
        if (job.kind == need.kind && !table.contains(need.key)) {
            reader.error(node.source(), key,
                         fmt::format("kind = \"{}\" needs `{}`", to_string(need.kind), need.key),
                         std::string(need.example));
        }
    }
    for (const auto& other : kNeeds) {
        if (job.kind != other.kind && table.contains(other.key)) {
            const auto* where = table.get(other.key);
            reader.error(
                where->source(), dotted(key, other.key),
                fmt::format("`{}` is for kind = \"{}\", but this job is kind = \"{}\"", other.key,
                            to_string(other.kind), to_string(job.kind)),
                fmt::format("set kind = \"{}\" or remove `{}`", to_string(other.kind), other.key));
        }
    }
    if (job.every && job.jitter >= *job.every) {
        const auto* where = table.get("jitter");
        reader.error(where != nullptr ? where->source() : node.source(), key + ".jitter",
                     fmt::format("jitter {} must be shorter than the interval {}",
                                 format_duration(job.jitter), format_duration(*job.every)),
                     "jitter spreads a fire within its interval; lower it");
    }
    if (job.retry_backoff_max < job.retry_backoff) {
        const auto* where = table.get("retry_backoff_max");
        reader.error(
            where != nullptr ? where->source() : node.source(), key + ".retry_backoff_max",
            fmt::format("retry_backoff_max ({}) is shorter than retry_backoff ({})",
                        format_duration(job.retry_backoff_max), format_duration(job.retry_backoff)),
            "raise retry_backoff_max or lower retry_backoff");
    }
}

void load_job(Reader& reader, const std::string& name, const toml::node& node, Config& config) {
    const std::string key = dotted("jobs", name);
    const auto* table = node.as_table();
    if (table == nullptr) {
        reader.error(node.source(), key, fmt::format("expected a table, got {}", type_phrase(node)),
                     fmt::format("write a [{}] line followed by schedule, kind, database", key));
        return;
    }
    if (name.empty()) {
        reader.error(node.source(), key, "a job needs a name", "use [jobs.NAME]");
        return;
    }
    JobConfig job;
    job.name = name;
    job.config_line = static_cast<int>(node.source().begin.line);
    apply_fields<JobConfig>(reader, *table, key, job_fields(), kJobAliases, &job_fallback_hint,
                            job);
    check_job_shape(reader, *table, key, node, job);
    config.jobs.insert_or_assign(name, std::move(job));
}

void read_queues(Reader& r, const toml::node& n, const std::string& key, SchedulerConfig& s) {
    const auto* table = n.as_table();
    if (table == nullptr) {
        r.error(n.source(), key, fmt::format("expected a table, got {}", type_phrase(n)),
                "write [scheduler.queues] followed by lines like reports = 2");
        return;
    }
    for (const auto& [queue, limit] : *table) {
        const std::string full = dotted(key, queue.str());
        r.remember(full, limit.source());
        if (auto v = r.integer(limit, full, 1, kMaxInt)) {
            s.queues.insert_or_assign(std::string(queue.str()), static_cast<int>(*v));
        }
    }
}

void read_utilization(Reader& r, const toml::node& n, const std::string& key, SchedulerConfig& s) {
    std::optional<double> v;
    if (auto d = n.value<double>(); d && (n.is_floating_point() || n.is_integer())) {
        v = *d;
    }
    if (!v || *v <= 0.0 || *v > 1.0) {
        r.error(n.source(), key, "must be a number above 0 and at most 1",
                "the pool utilization (server connections in use / pool_size) at which due "
                "runs with a max_staleness start to be deferred, e.g. 0.7");
        return;
    }
    s.pressure_utilization = *v;
}

void read_lease(Reader& r, const toml::node& n, const std::string& key, SchedulerConfig& s) {
    auto d = r.duration(n, key);
    if (!d) {
        return;
    }
    if (*d < std::chrono::seconds(1)) {
        r.error(n.source(), key, "must be at least 1s",
                "how long a claimed run stays claimed without renewal; the running instance "
                "renews it every third of it");
        return;
    }
    s.lease = *d;
}

const std::vector<Field<SchedulerConfig>>& scheduler_fields() {
    static const std::vector<Field<SchedulerConfig>> kFields = {
        bool_field("enabled", &SchedulerConfig::enabled),
        int_field("max_concurrency", &SchedulerConfig::max_concurrency, 1, 10000),
        {"queues", &read_queues},
        {"pressure_utilization", &read_utilization},
        duration_field("history_retention", &SchedulerConfig::history_retention),
        {"lease", &read_lease},
        string_field("instance_id", &SchedulerConfig::instance_id),
        string_field("database", &SchedulerConfig::database),
        string_field("user", &SchedulerConfig::user),
    };
    return kFields;
}

constexpr std::pair<std::string_view, std::string_view> kSchedulerAliases[] = {
    {"concurrency", "max_concurrency"},
    {"max_running", "max_concurrency"},
    {"retention", "history_retention"},
    {"utilization", "pressure_utilization"},
};

// The user a job's connections log in as, or empty when neither the job nor its database
// names one.
std::string effective_user(const JobConfig& job, const DatabaseConfig& db) {
    return job.user.empty() ? db.user : job.user;
}

}  // namespace

std::span<const std::string_view> job_keys() {
    static const auto kKeys = field_names(job_fields());
    return kKeys;
}

std::span<const std::string_view> scheduler_keys() {
    static const auto kKeys = field_names(scheduler_fields());
    return kKeys;
}

void load_jobs(Reader& reader, const toml::node& node, Config& config) {
    const auto* table = node.as_table();
    if (table == nullptr) {
        reader.error(node.source(), "jobs",
                     fmt::format("expected a table, got {}", type_phrase(node)),
                     "write one [jobs.NAME] table per job");
        return;
    }
    for (const auto& [name, entry] : *table) {
        reader.remember(dotted("jobs", name.str()), entry.source());
        load_job(reader, std::string(name.str()), entry, config);
    }
}

void load_scheduler(Reader& reader, const toml::node& node, Config& config) {
    const auto* table = node.as_table();
    if (table == nullptr) {
        reader.error(node.source(), "scheduler",
                     fmt::format("expected a table, got {}", type_phrase(node)),
                     "write a [scheduler] line followed by max_concurrency, lease, ...");
        return;
    }
    apply_fields<SchedulerConfig>(
        reader, *table, "scheduler", scheduler_fields(), kSchedulerAliases,
        [](std::string_view k) {
            auto elsewhere = belongs_elsewhere(k, "scheduler");
            return elsewhere.empty() ? std::string("docs/scheduler.md lists every key") : elsewhere;
        },
        config.scheduler);
}

void check_jobs(Reader& reader, Config& config) {
    auto where = [&](const std::string& key, int fallback_line) -> std::pair<int, int> {
        if (const auto* at = reader.location(key)) {
            return {static_cast<int>(at->begin.line), static_cast<int>(at->begin.column)};
        }
        return {fallback_line, 0};
    };
    std::vector<std::string_view> databases;
    for (const auto& [name, db] : config.databases) {
        if (name != "*") {
            databases.push_back(name);
        }
    }
    auto& s = config.scheduler;
    for (auto& [name, job] : config.jobs) {
        const std::string base = dotted("jobs", name);
        if (!job.database.empty()) {
            const auto db = config.databases.find(job.database);
            if (db == config.databases.end() || job.database == "*") {
                const auto [line, column] = where(base + ".database", job.config_line);
                std::string hint = did_you_mean(job.database, databases);
                reader.error(
                    line, column, base + ".database",
                    fmt::format("no [databases.{}] table", job.database),
                    hint.empty() ? "a job names one of the [databases.NAME] tables" : hint);
            } else if (effective_user(job, db->second).empty()) {
                const auto [line, column] = where(base, job.config_line);
                reader.error(
                    line, column, base, "no user to run as",
                    fmt::format("set user = \"...\" here or in [databases.{}]", job.database));
            }
        }
        if (job.connections > s.max_concurrency) {
            const auto [line, column] = where(base + ".connections", job.config_line);
            reader.error(line, column, base + ".connections",
                         fmt::format("the job needs {} connections but [scheduler] "
                                     "max_concurrency is {}",
                                     job.connections, s.max_concurrency),
                         "lower connections or raise max_concurrency: it could never start");
        }
        if (auto q = s.queues.find(job.queue); q != s.queues.end() && job.connections > q->second) {
            const auto [line, column] = where(base + ".connections", job.config_line);
            reader.error(line, column, base + ".connections",
                         fmt::format("the job needs {} connections but queue \"{}\" allows {}",
                                     job.connections, job.queue, q->second),
                         "lower connections or raise the [scheduler.queues] limit");
        }
    }
    if (!s.database.empty() && config.databases.find(s.database) == config.databases.end()) {
        const auto [line, column] = where("scheduler.database", 0);
        std::string hint = did_you_mean(s.database, databases);
        reader.error(line, column, "scheduler.database",
                     fmt::format("no [databases.{}] table", s.database),
                     hint.empty() ? "the database the job state tables live in" : hint);
    }
}

}  // namespace pgwarden::config::detail

namespace pgwarden::config {

namespace {

template <typename E, std::size_t N>
std::string_view job_name_of(E value, const std::pair<std::string_view, E> (&table)[N]) {
    for (const auto& [name, v] : table) {
        if (v == value) {
            return name;
        }
    }
    return "?";
}

}  // namespace

std::string_view to_string(JobKind kind) {
    return job_name_of(kind, detail::kJobKinds);
}
std::string_view to_string(JobOverlap overlap) {
    return job_name_of(overlap, detail::kOverlaps);
}
std::string_view to_string(JobMisfire misfire) {
    return job_name_of(misfire, detail::kMisfires);
}

}  // namespace pgwarden::config
