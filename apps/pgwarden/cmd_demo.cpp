// `pgwarden demo`: a self-contained comparison of pgbench directly against PostgreSQL and
// through `pgwarden serve`, on a throwaway PostgreSQL. Structured as a Demo with steps so later
// scenarios (the Feb-19 incident replay) can add steps without touching the plumbing.
#include "commands.hpp"

#include "common/result.hpp"
#include "embedded/embedded_postgres.hpp"
#include "embedded/port.hpp"
#include "embedded/process.hpp"
#include "embedded/temp_dir.hpp"

#include <fmt/format.h>

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace pgwarden::app {
namespace {

using namespace std::chrono_literals;

constexpr const char* kDemoUser = "demo";
constexpr const char* kDemoPassword = "demo_pw";
constexpr const char* kDemoDb = "pgbench";
constexpr int kExitInterrupted = 130;

struct DemoOptions {
    int duration_seconds = 10;
    int clients = 16;
    int pool_size = 10;
    bool keep = false;
};

// What one pgbench run reported.
struct BenchStats {
    std::string label;
    double tps = 0;
    double latency_ms = 0;
    long failed = 0;
    long processed = 0;
};

// Blocks SIGINT/SIGTERM/SIGHUP for the whole process and waits for them on a dedicated
// thread, which records the interruption and SIGTERMs the registered child process groups.
// The steps poll interrupted() between bounded waits, and RAII owners do the cleanup, so a
// Ctrl-C never leaves a server, a proxy or a temp directory behind.
class SignalWatcher {
public:
    SignalWatcher() {
        sigemptyset(&set_);
        sigaddset(&set_, SIGINT);
        sigaddset(&set_, SIGTERM);
        sigaddset(&set_, SIGHUP);
        pthread_sigmask(SIG_BLOCK, &set_, &old_);
        thread_ = std::thread([this] { watch(); });
    }
    SignalWatcher(const SignalWatcher&) = delete;
    SignalWatcher& operator=(const SignalWatcher&) = delete;
    ~SignalWatcher() {
        stop_ = true;
        thread_.join();
        pthread_sigmask(SIG_SETMASK, &old_, nullptr);
    }

    bool interrupted() const { return signal_.load() != 0; }
    int signal_number() const { return signal_.load(); }
    // Process groups to SIGTERM on interruption (0 = empty slot).
    void watch_group(int slot, pid_t pgid) { groups_[slot].store(pgid); }

private:
    void watch() {
        timespec tick{0, 100'000'000};
        // Ends when the owner sets stop_ (at most one tick later).
        while (!stop_) {
            int sig = sigtimedwait(&set_, nullptr, &tick);
            if (sig > 0) {
                signal_.store(sig);
                for (auto& g : groups_) {
                    if (pid_t p = g.load(); p > 0) {
                        ::kill(-p, SIGTERM);
                    }
                }
            }
        }
    }

    sigset_t set_{};
    sigset_t old_{};
    std::atomic<bool> stop_{false};
    std::atomic<int> signal_{0};
    std::atomic<pid_t> groups_[2] = {0, 0};
    std::thread thread_;
};

enum Slot { kSlotServe = 0, kSlotBench = 1 };

class Demo {
public:
    explicit Demo(DemoOptions options) : options_(options) {}

    int run() {
        std::vector<std::pair<const char*, common::Status (Demo::*)()>> steps = {
            {"start PostgreSQL", &Demo::start_postgres},
            {"load pgbench data", &Demo::load_data},
            {"write pgwarden config", &Demo::write_config},
            {"start pgwarden serve", &Demo::start_pgwarden},
            {"pgbench direct", &Demo::bench_direct},
            {"pgbench through pgwarden", &Demo::bench_pgwarden},
        };
        for (auto& [name, step] : steps) {
            if (signals_.interrupted()) {
                break;
            }
            fmt::print("==> {}\n", name);
            std::fflush(stdout);
            auto st = (this->*step)();
            if (signals_.interrupted()) {
                break;
            }
            if (!st) {
                fmt::print(stderr, "pgwarden demo: {} failed: {}\n", name, st.error().message);
                cleanup();
                return 1;
            }
        }
        if (signals_.interrupted()) {
            fmt::print(stderr, "pgwarden demo: interrupted by signal {}, cleaning up\n",
                       signals_.signal_number());
            cleanup();
            return kExitInterrupted;
        }
        print_table();
        cleanup();
        return 0;
    }

private:
    common::Status start_postgres() {
        auto dir = embedded::TempDir::create("/tmp/pgwarden-demo-");
        if (!dir) {
            return std::move(dir).error();
        }
        work_ = std::move(*dir);
        embedded::EmbeddedPostgres::Options opts;
        opts.auth_method = "scram-sha-256";
        opts.max_connections = std::max(100, options_.clients + options_.pool_size + 10);
        opts.users = {{kDemoUser, kDemoPassword, "scram-sha-256"}};
        opts.databases = {{kDemoDb, kDemoUser}};
        opts.keep_dir = options_.keep;
        auto pg = embedded::EmbeddedPostgres::start(opts);
        if (!pg) {
            return std::move(pg).error();
        }
        pg_.emplace(std::move(*pg));
        fmt::print("    PostgreSQL 15 on 127.0.0.1:{} (data in {})\n", pg_->port(),
                   pg_->data_dir());
        return common::ok_status();
    }

    common::Status load_data() {
        auto r = run_pgbench({"-i", "-s", "5", "-q", "-h", "127.0.0.1", "-p",
                              std::to_string(pg_->port()), "-U", kDemoUser, kDemoDb},
                             "pgbench-init.log", 300s);
        if (!r) {
            return std::move(r).error();
        }
        return common::ok_status();
    }

    common::Status write_config() {
        auto listen = embedded::pick_free_port();
        auto stats = embedded::pick_free_port();
        if (!listen || !stats) {
            return common::make_error("demo", "no free loopback port");
        }
        listen_port_ = *listen;
        std::string auth_file = work_.path() + "/userlist.txt";
        std::ofstream(auth_file) << fmt::format("\"{}\" \"{}\"\n", kDemoUser, kDemoPassword);
        config_path_ = work_.path() + "/pgwarden.toml";
        std::ofstream config(config_path_);
        config << "# Written by `pgwarden demo`.\n[pgwarden]\n"
               << "listen_addr = [\"127.0.0.1\"]\n"
               << fmt::format("listen_port = {}\n", listen_port_)
               << "auth_type = \"scram-sha-256\"\n"
               << fmt::format("auth_file = \"{}\"\n", auth_file) << "pool_mode = \"transaction\"\n"
               << fmt::format("default_pool_size = {}\n", options_.pool_size)
               << fmt::format("max_client_conn = {}\n", options_.clients * 4 + 10)
               << fmt::format("stats_listen = \"127.0.0.1:{}\"\n", *stats)
               << "shutdown_timeout = \"2s\"\n\n"
               << fmt::format("[databases.{}]\n", kDemoDb) << "host = \"127.0.0.1\"\n"
               << fmt::format("port = {}\n", pg_->port())
               << fmt::format("dbname = \"{}\"\nuser = \"{}\"\npassword = \"{}\"\n", kDemoDb,
                              kDemoUser, kDemoPassword);
        config.close();
        if (!config) {
            return common::make_error("demo", fmt::format("cannot write {}", config_path_));
        }
        fmt::print("    {}\n", config_path_);
        return common::ok_status();
    }

    common::Status start_pgwarden() {
        std::error_code ec;
        auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
        if (ec) {
            return common::make_error("demo", "cannot find my own binary (/proc/self/exe)");
        }
        serve_log_ = work_.path() + "/pgwarden.log";
        embedded::SpawnOptions spawn;
        spawn.argv = {self.string(), "serve", "--config", config_path_};
        spawn.stdout_path = serve_log_;
        spawn.stderr_path = serve_log_;
        auto proc = embedded::Process::spawn(spawn);
        if (!proc) {
            return std::move(proc).error();
        }
        serve_.emplace(std::move(*proc));
        signals_.watch_group(kSlotServe, serve_->pid());
        auto deadline = std::chrono::steady_clock::now() + 10s;
        // Bounded by 10 s; ends early when serve exits or we are interrupted.
        while (std::chrono::steady_clock::now() < deadline && !signals_.interrupted()) {
            if (embedded::port_accepts("127.0.0.1", listen_port_)) {
                fmt::print("    pgwarden on 127.0.0.1:{} (pool_size {}, transaction mode)\n",
                           listen_port_, options_.pool_size);
                return common::ok_status();
            }
            if (auto status = serve_->try_wait()) {
                return common::make_error(
                    "demo", fmt::format("pgwarden serve exited with status {}; log tail:\n{}",
                                        *status, embedded::tail_file(serve_log_, 30)));
            }
            std::this_thread::sleep_for(50ms);
        }
        return common::make_error(
            "demo", fmt::format("pgwarden serve did not accept connections on port {} within "
                                "10 s; log tail:\n{}",
                                listen_port_, embedded::tail_file(serve_log_, 30)));
    }

    common::Status bench_direct() { return bench("direct", pg_->port()); }
    common::Status bench_pgwarden() { return bench("pgwarden", listen_port_); }

    common::Status bench(const std::string& label, uint16_t port) {
        int threads = std::min(options_.clients, 4);
        auto out = run_pgbench(
            {"-S", "-n", "-c", std::to_string(options_.clients), "-j", std::to_string(threads),
             "-T", std::to_string(options_.duration_seconds), "-h", "127.0.0.1", "-p",
             std::to_string(port), "-U", kDemoUser, kDemoDb},
            "pgbench-" + label + ".log", std::chrono::seconds(options_.duration_seconds + 60));
        if (!out) {
            if (label == "pgwarden" && !serve_log_.empty()) {
                return common::make_error(
                    "demo",
                    fmt::format("{}\n--- pgwarden log tail ({}) ---\n{}", out.error().message,
                                serve_log_, embedded::tail_file(serve_log_, 20)));
            }
            return std::move(out).error();
        }
        BenchStats stats = parse_pgbench(label, *out);
        fmt::print("    {:.0f} tps, {:.3f} ms average latency, {} failed\n", stats.tps,
                   stats.latency_ms, stats.failed);
        results_.push_back(stats);
        return common::ok_status();
    }

    // Runs pgbench with its output in work_/log_name; returns the output, or an Error with its
    // tail. SIGTERMed by the signal watcher on Ctrl-C.
    common::Result<std::string> run_pgbench(std::vector<std::string> args,
                                            const std::string& log_name,
                                            std::chrono::seconds timeout) {
        std::string log = work_.path() + "/" + log_name;
        embedded::SpawnOptions spawn;
        spawn.argv = {"pgbench"};
        spawn.argv.insert(spawn.argv.end(), args.begin(), args.end());
        spawn.env = {std::string("PGPASSWORD=") + kDemoPassword, "PGCONNECT_TIMEOUT=10"};
        spawn.unset_env = {"PGHOST", "PGPORT", "PGUSER", "PGDATABASE", "PGSERVICE"};
        spawn.stdout_path = log;
        spawn.stderr_path = log;
        auto proc = embedded::Process::spawn(spawn);
        if (!proc) {
            return std::move(proc).error();
        }
        signals_.watch_group(kSlotBench, proc->pid());
        auto status = proc->wait_for(timeout);
        signals_.watch_group(kSlotBench, 0);
        if (!status) {
            proc->terminate(2s);
            return common::make_error("demo",
                                      fmt::format("pgbench timed out after {} s", timeout.count()));
        }
        std::ifstream in(log);
        std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (*status != 0 && !signals_.interrupted()) {
            return common::make_error("demo", fmt::format("pgbench exited with {}:\n{}", *status,
                                                          embedded::tail_file(log, 20)));
        }
        return text;
    }

    static BenchStats parse_pgbench(const std::string& label, const std::string& out) {
        BenchStats s;
        s.label = label;
        std::smatch m;
        if (std::regex_search(out, m, std::regex(R"(tps = ([0-9.]+))"))) {
            s.tps = std::stod(m[1]);
        }
        if (std::regex_search(out, m, std::regex(R"(latency average = ([0-9.]+) ms)"))) {
            s.latency_ms = std::stod(m[1]);
        }
        if (std::regex_search(out, m, std::regex(R"(number of failed transactions: ([0-9]+))"))) {
            s.failed = std::stol(m[1]);
        }
        if (std::regex_search(
                out, m, std::regex(R"(number of transactions actually processed: ([0-9]+))"))) {
            s.processed = std::stol(m[1]);
        }
        return s;
    }

    void print_table() const {
        fmt::print("\npgbench -S, {} clients, {} s, scale 5 (pgwarden pool_size {})\n",
                   options_.clients, options_.duration_seconds, options_.pool_size);
        fmt::print("{:<10} {:>12} {:>16} {:>10} {:>14}\n", "target", "TPS", "avg latency", "failed",
                   "transactions");
        for (const auto& r : results_) {
            fmt::print("{:<10} {:>12.0f} {:>13.3f} ms {:>10} {:>14}\n", r.label, r.tps,
                       r.latency_ms, r.failed, r.processed);
        }
        if (options_.keep) {
            fmt::print("\nkept: {} (config, logs) and {}\n", work_.path(),
                       pg_ ? pg_->socket_dir() : std::string("-"));
        }
    }

    // Stops pgwarden, then PostgreSQL, then removes the temp dirs (unless --keep). Runs on
    // every exit path; the destructors would do the same, this just does it in a good order.
    void cleanup() {
        if (serve_) {
            signals_.watch_group(kSlotServe, 0);
            serve_->terminate(5s);
            serve_.reset();
        }
        pg_.reset();
        if (options_.keep) {
            work_.keep();
        }
        work_ = embedded::TempDir();
    }

    DemoOptions options_;
    SignalWatcher signals_;
    embedded::TempDir work_;
    std::optional<embedded::EmbeddedPostgres> pg_;
    std::optional<embedded::Process> serve_;
    std::string config_path_;
    std::string serve_log_;
    uint16_t listen_port_ = 0;
    std::vector<BenchStats> results_;
};

}  // namespace

Runner register_demo(CLI::App& root) {
    auto options = std::make_shared<DemoOptions>();
    CLI::App* sub = root.add_subcommand(
        "demo", "Run pgbench directly and through pgwarden on a throwaway PostgreSQL 15");
    sub->add_option("--duration", options->duration_seconds, "Seconds per pgbench run")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();
    sub->add_option("--clients", options->clients, "pgbench clients")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    sub->add_option("--pool-size", options->pool_size, "pgwarden default_pool_size")
        ->check(CLI::Range(1, 1000))
        ->capture_default_str();
    sub->add_flag("--keep", options->keep, "Keep the temporary directories (config, logs, data)");
    return [options]() { return Demo(*options).run(); };
}

}  // namespace pgwarden::app
