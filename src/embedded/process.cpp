#include "embedded/process.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <thread>

extern char** environ;

namespace pgwarden::embedded {
namespace {

using Clock = std::chrono::steady_clock;

int decode_status(int status) {
    if (WIFEXITED(status)) {
        return WEXITSTATUS(status);
    }
    if (WIFSIGNALED(status)) {
        return 128 + WTERMSIG(status);
    }
    return -1;
}

// Resolved before fork(): the child may only make async-signal-safe calls.
std::string resolve_program(const std::string& name) {
    if (name.find('/') != std::string::npos) {
        return name;
    }
    const char* path = ::getenv("PATH");
    std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        std::size_t end = dirs.find(':', start);
        if (end == std::string::npos) {
            end = dirs.size();
        }
        // Built with append(): g++ 12 reports a false -Wrestrict on operator+ chains here.
        std::string candidate;
        if (end == start) {
            candidate = ".";
        } else {
            candidate.assign(dirs, start, end - start);
        }
        candidate.append("/").append(name);
        if (::access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
        start = end + 1;
    }
    return name;
}

std::vector<std::string> build_env(const SpawnOptions& options) {
    auto key_of = [](const std::string& entry) { return entry.substr(0, entry.find('=')); };
    std::vector<std::string> result;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        std::string entry = *e;
        std::string key = key_of(entry);
        bool dropped = std::find(options.unset_env.begin(), options.unset_env.end(), key) !=
                       options.unset_env.end();
        bool replaced = std::any_of(options.env.begin(), options.env.end(),
                                    [&](const std::string& o) { return key_of(o) == key; });
        if (!dropped && !replaced) {
            result.push_back(std::move(entry));
        }
    }
    result.insert(result.end(), options.env.begin(), options.env.end());
    return result;
}

std::vector<char*> to_c_array(std::vector<std::string>& strings) {
    std::vector<char*> out;
    out.reserve(strings.size() + 1);
    for (auto& s : strings) {
        out.push_back(s.data());
    }
    out.push_back(nullptr);
    return out;
}

// Everything the child does between fork() and exec(): only async-signal-safe calls.
// Reports errno through `err_fd` (close-on-exec) when a step fails.
[[noreturn]] void child_exec(const SpawnOptions& options, const char* program, char** argv,
                             char** envp, int stdin_fd, int stdout_fd, int stderr_fd, int err_fd) {
    auto fail = [err_fd]() {
        int e = errno;
        [[maybe_unused]] auto n = ::write(err_fd, &e, sizeof e);
        ::_exit(127);
    };
    // The parent may block signals (the demo does, to read them from a flag); the child must
    // start with a clean mask and default dispositions or it could not be stopped.
    sigset_t empty;
    sigemptyset(&empty);
    ::sigprocmask(SIG_SETMASK, &empty, nullptr);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGQUIT, SIGCHLD}) {
        ::signal(sig, SIG_DFL);
    }
    if (options.new_process_group && ::setpgid(0, 0) != 0) {
        fail();
    }
    if (stdin_fd >= 0 && ::dup2(stdin_fd, 0) < 0) {
        fail();
    }
    if (stdout_fd >= 0 && ::dup2(stdout_fd, 1) < 0) {
        fail();
    }
    if (stderr_fd >= 0 && ::dup2(stderr_fd, 2) < 0) {
        fail();
    }
    // Keep only 0-2 and the error pipe (which is close-on-exec anyway).
    for (int fd = 3; fd < 1024; ++fd) {
        if (fd != err_fd) {
            ::close(fd);
        }
    }
    if (!options.cwd.empty() && ::chdir(options.cwd.c_str()) != 0) {
        fail();
    }
    if (options.gid != static_cast<gid_t>(-1)) {
        gid_t groups[1] = {options.gid};
        if (::setgroups(1, groups) != 0 ||
            ::setresgid(options.gid, options.gid, options.gid) != 0) {
            fail();
        }
    }
    if (options.uid != static_cast<uid_t>(-1) &&
        ::setresuid(options.uid, options.uid, options.uid) != 0) {
        fail();
    }
    ::execve(program, argv, envp);
    fail();
    ::_exit(127);
}

int open_output(const std::string& path) {
    return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

struct Fd {
    int fd = -1;
    explicit Fd(int f = -1) : fd(f) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { close(); }
    void close() {
        if (fd >= 0) {
            ::close(fd);
            fd = -1;
        }
    }
};

// Forks and execs; the given fds (or -1 to inherit) become the child's 0/1/2.
common::Result<pid_t> fork_exec(const SpawnOptions& options, int stdin_fd, int stdout_fd,
                                int stderr_fd) {
    if (options.argv.empty()) {
        return common::make_error("spawn", "empty argv");
    }
    std::string program = resolve_program(options.argv[0]);
    std::vector<std::string> argv_strings = options.argv;
    std::vector<std::string> env_strings = build_env(options);
    std::vector<char*> argv = to_c_array(argv_strings);
    std::vector<char*> envp = to_c_array(env_strings);

    int err_pipe[2];
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
        return common::make_error("spawn", fmt::format("pipe: {}", std::strerror(errno)));
    }
    Fd err_read(err_pipe[0]);
    Fd err_write(err_pipe[1]);
    pid_t pid = ::fork();
    if (pid < 0) {
        return common::make_error("spawn", fmt::format("fork: {}", std::strerror(errno)));
    }
    if (pid == 0) {
        child_exec(options, program.c_str(), argv.data(), envp.data(), stdin_fd, stdout_fd,
                   stderr_fd, err_write.fd);
    }
    // Also set the group from the parent side, so a signal sent right after spawn reaches
    // the group even if the child has not run yet (both calls are allowed; one wins).
    if (options.new_process_group) {
        ::setpgid(pid, pid);
    }
    err_write.close();
    int child_errno = 0;
    ssize_t n = 0;
    do {
        n = ::read(err_read.fd, &child_errno, sizeof child_errno);
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof child_errno)) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        return common::make_error(
            "spawn", fmt::format("cannot run {}: {}", options.argv[0], std::strerror(child_errno)));
    }
    return pid;
}

}  // namespace

common::Result<Process> Process::spawn(const SpawnOptions& options) {
    Fd in(::open(options.stdin_path.empty() ? "/dev/null" : options.stdin_path.c_str(),
                 O_RDONLY | O_CLOEXEC));
    if (in.fd < 0) {
        return common::make_error(
            "spawn", fmt::format("open {}: {}", options.stdin_path, std::strerror(errno)));
    }
    Fd out;
    Fd err;
    if (!options.stdout_path.empty()) {
        out.fd = open_output(options.stdout_path);
        if (out.fd < 0) {
            return common::make_error(
                "spawn", fmt::format("open {}: {}", options.stdout_path, std::strerror(errno)));
        }
    }
    if (!options.stderr_path.empty()) {
        err.fd = options.stderr_path == options.stdout_path ? ::dup(out.fd)
                                                            : open_output(options.stderr_path);
        if (err.fd < 0) {
            return common::make_error(
                "spawn", fmt::format("open {}: {}", options.stderr_path, std::strerror(errno)));
        }
    }
    auto pid = fork_exec(options, in.fd, out.fd, err.fd);
    if (!pid) {
        return std::move(pid).error();
    }
    return Process(*pid, options.new_process_group);
}

Process::Process(Process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)), group_(other.group_), status_(other.status_) {}

Process& Process::operator=(Process&& other) noexcept {
    if (this != &other) {
        reset();
        pid_ = std::exchange(other.pid_, -1);
        group_ = other.group_;
        status_ = other.status_;
    }
    return *this;
}

Process::~Process() {
    reset();
}

void Process::reset() noexcept {
    if (pid_ > 0 && !status_) {
        signal(SIGKILL);
        int status = 0;
        ::waitpid(pid_, &status, 0);
    }
    // A finished leader's group is left alone: daemons it started on purpose (pg_ctl start's
    // postmaster) live on in it, and the pid may be reused.
    pid_ = -1;
    status_.reset();
}

std::optional<int> Process::try_wait() {
    if (status_ || pid_ <= 0) {
        return status_;
    }
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
        status_ = decode_status(status);
    } else if (r < 0 && errno == ECHILD) {
        status_ = -1;
    }
    return status_;
}

bool Process::running() {
    return !try_wait().has_value();
}

std::optional<int> Process::wait_for(std::chrono::milliseconds timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        if (auto s = try_wait()) {
            return s;
        }
        if (Clock::now() >= deadline) {
            return std::nullopt;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

void Process::signal(int sig) {
    if (pid_ <= 0) {
        return;
    }
    if (group_) {
        ::kill(-pid_, sig);
    } else if (!status_) {
        ::kill(pid_, sig);
    }
}

int Process::terminate(std::chrono::milliseconds grace) {
    if (auto s = try_wait()) {
        return *s;
    }
    signal(SIGTERM);
    if (auto s = wait_for(grace)) {
        return *s;
    }
    signal(SIGKILL);
    auto s = wait_for(std::chrono::seconds(10));
    return s.value_or(-1);
}

common::Result<RunResult> run_process(SpawnOptions options, std::chrono::milliseconds timeout,
                                      const std::string& stdin_text) {
    int in_pipe[2];
    int out_pipe[2];
    int err_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0) {
        return common::make_error("spawn", "pipe failed");
    }
    Fd in_r(in_pipe[0]);
    Fd in_w(in_pipe[1]);
    if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
        return common::make_error("spawn", "pipe failed");
    }
    Fd out_r(out_pipe[0]);
    Fd out_w(out_pipe[1]);
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
        return common::make_error("spawn", "pipe failed");
    }
    Fd err_r(err_pipe[0]);
    Fd err_w(err_pipe[1]);
    options.new_process_group = true;

    auto pid = fork_exec(options, in_r.fd, out_w.fd, err_w.fd);
    if (!pid) {
        return std::move(pid).error();
    }
    Process proc = Process::adopt(*pid, true);
    in_r.close();
    out_w.close();
    err_w.close();
    for (int fd : {in_w.fd, out_r.fd, err_r.fd}) {
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    }
    if (stdin_text.empty()) {
        in_w.close();
    }

    RunResult result;
    std::size_t written = 0;
    auto deadline = Clock::now() + timeout;
    std::optional<Clock::time_point> drain_deadline;
    char buf[65536];
    // Bounded by the deadline: after the child exits, pipes still held by grandchildren are
    // read for at most 200 ms more.
    for (;;) {
        auto now = Clock::now();
        if (!result.timed_out && now >= deadline && proc.running()) {
            result.timed_out = true;
            proc.signal(SIGKILL);
            proc.wait_for(std::chrono::seconds(5));
        }
        if (!drain_deadline && !proc.running()) {
            drain_deadline = now + std::chrono::milliseconds(200);
        }
        if (drain_deadline && now >= *drain_deadline) {
            break;
        }
        if (out_r.fd < 0 && err_r.fd < 0) {
            if (drain_deadline) {
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            continue;
        }
        pollfd fds[3];
        nfds_t count = 0;
        for (int fd : {out_r.fd, err_r.fd}) {
            if (fd >= 0) {
                fds[count++] = pollfd{fd, POLLIN, 0};
            }
        }
        if (in_w.fd >= 0) {
            fds[count++] = pollfd{in_w.fd, POLLOUT, 0};
        }
        ::poll(fds, count, 20);
        for (nfds_t i = 0; i < count; ++i) {
            if (fds[i].revents == 0) {
                continue;
            }
            if (fds[i].fd == in_w.fd) {
                ssize_t n =
                    ::write(in_w.fd, stdin_text.data() + written, stdin_text.size() - written);
                if (n > 0) {
                    written += static_cast<std::size_t>(n);
                }
                if ((n < 0 && errno != EAGAIN) || written == stdin_text.size()) {
                    in_w.close();
                }
                continue;
            }
            Fd& src = fds[i].fd == out_r.fd ? out_r : err_r;
            std::string& dst = fds[i].fd == out_r.fd ? result.out : result.err;
            ssize_t n = ::read(src.fd, buf, sizeof buf);
            if (n > 0) {
                dst.append(buf, static_cast<std::size_t>(n));
            } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                src.close();
            }
        }
    }
    result.exit_code = proc.try_wait().value_or(-1);
    return result;
}

common::Result<RunResult> run_process(const std::vector<std::string>& argv,
                                      std::chrono::milliseconds timeout) {
    SpawnOptions options;
    options.argv = argv;
    return run_process(std::move(options), timeout);
}

std::string tail_file(const std::string& path, std::size_t max_lines) {
    std::ifstream in(path);
    if (!in) {
        return fmt::format("({} is not readable)", path);
    }
    std::deque<std::string> lines;
    std::string line;
    // Bounded by the file's size; only the last lines are kept.
    while (std::getline(in, line)) {
        lines.push_back(std::move(line));
        if (lines.size() > max_lines) {
            lines.pop_front();
        }
    }
    std::string out;
    for (const auto& l : lines) {
        out += l;
        out += '\n';
    }
    return out;
}

}  // namespace pgwarden::embedded
