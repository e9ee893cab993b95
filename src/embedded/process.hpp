#pragma once

#include "common/result.hpp"

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace pgwarden::embedded {

// How to start a child process. The program is executed directly from `argv` (no shell), so
// nothing in an argument is ever interpreted.
struct SpawnOptions {
    std::vector<std::string> argv;  // argv[0] is the program (looked up in PATH if no '/')
    // Extra "KEY=VALUE" entries; they replace inherited variables of the same name.
    std::vector<std::string> env;
    std::vector<std::string> unset_env;  // inherited variables to drop (e.g. PGHOST)
    std::string cwd;                     // empty: inherit
    std::string stdin_path = "/dev/null";
    std::string stdout_path;  // empty: inherit; else the file is created/appended
    std::string stderr_path;  // empty: inherit; may equal stdout_path
    // Runs the child as this user (root only); -1 keeps the current identity.
    uid_t uid = static_cast<uid_t>(-1);
    gid_t gid = static_cast<gid_t>(-1);
    // The child leads a new process group, so a timeout can kill everything it started.
    bool new_process_group = true;
};

// A running (or finished) child process. Move-only; the destructor kills the child's process
// group with SIGKILL if it is still running and reaps it, so no child outlives its owner.
// Not thread-safe: one owner thread at a time.
class Process {
public:
    static common::Result<Process> spawn(const SpawnOptions& options);

    Process(Process&& other) noexcept;
    Process& operator=(Process&& other) noexcept;
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    ~Process();

    pid_t pid() const noexcept { return pid_; }
    bool running();
    // The exit status once the child has ended: the exit code, or 128 + signal number.
    std::optional<int> try_wait();
    // Waits at most `timeout`; nullopt when the child is still running then.
    std::optional<int> wait_for(std::chrono::milliseconds timeout);
    // Sends `sig` to the child's process group (or just the child without one).
    void signal(int sig);
    // SIGTERM, wait up to `grace`, then SIGKILL; returns the exit status.
    int terminate(std::chrono::milliseconds grace);

    // Takes ownership of an already started child (run_process uses it).
    static Process adopt(pid_t pid, bool group) { return Process(pid, group); }

private:
    Process(pid_t pid, bool group) : pid_(pid), group_(group) {}
    void reset() noexcept;

    pid_t pid_ = -1;
    bool group_ = false;
    std::optional<int> status_;
};

struct RunResult {
    int exit_code = -1;      // 128 + signal when killed by a signal
    bool timed_out = false;  // the process group was killed because the deadline passed
    std::string out;
    std::string err;
    bool ok() const { return exit_code == 0 && !timed_out; }
};

// Runs a command to completion, capturing stdout and stderr, killing its whole process group
// if it runs longer than `timeout`. `stdout_path`/`stderr_path`/`stdin_path` in `options` are
// ignored (output is captured; stdin is `stdin_text`). An Error only when it cannot start.
// Output left in the pipes by grandchildren that outlive the child is read for a bounded time.
common::Result<RunResult> run_process(SpawnOptions options, std::chrono::milliseconds timeout,
                                      const std::string& stdin_text = {});

// Convenience: argv only, inherited environment.
common::Result<RunResult> run_process(const std::vector<std::string>& argv,
                                      std::chrono::milliseconds timeout);

// The last `max_lines` lines of a file (for error messages showing a log tail).
std::string tail_file(const std::string& path, std::size_t max_lines);

}  // namespace pgwarden::embedded
