#include "scheduler/runner.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

extern char** environ;

// kind = "command": fork/exec in a new process group with DATABASE_URL and PG* pointing at
// pgwarden, so the program's connections are classified and attributed to the job. Everything
// that allocates (argv, envp, the program's path) is prepared before fork(): the child of a
// multi-threaded process may only call async-signal-safe functions.
namespace pgwarden::scheduler {

namespace {

using Clock = std::chrono::steady_clock;

// How long a process group gets between SIGTERM and SIGKILL after a timeout or cancel.
constexpr auto kKillGrace = std::chrono::seconds(2);

class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) : fd_(fd) {}
    Fd(Fd&& other) noexcept : fd_(other.release()) {}
    Fd& operator=(Fd&& other) noexcept {
        reset(other.release());
        return *this;
    }
    ~Fd() { reset(-1); }
    int get() const { return fd_; }
    int release() {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }
    void reset(int fd) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

bool make_pipe(Fd& read_end, Fd& write_end) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        return false;
    }
    read_end.reset(fds[0]);
    write_end.reset(fds[1]);
    return true;
}

bool is_executable_file(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
           ::access(path.c_str(), X_OK) == 0;
}

// The program's path as execve needs it: PATH is searched here, in the parent, because
// execvp in the child may allocate.
std::optional<std::string> resolve_program(const std::string& name) {
    if (name.find('/') != std::string::npos) {
        return is_executable_file(name) ? std::optional<std::string>(name) : std::nullopt;
    }
    const char* path = std::getenv("PATH");
    std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        const std::size_t end = std::min(dirs.find(':', start), dirs.size());
        std::string dir = dirs.substr(start, end - start);
        const std::string candidate = (dir.empty() ? std::string(".") : dir) + "/" + name;
        if (is_executable_file(candidate)) {
            return candidate;
        }
        start = end + 1;
    }
    return std::nullopt;
}

std::string describe_status(int status) {
    if (WIFEXITED(status)) {
        return fmt::format("exit status {}", WEXITSTATUS(status));
    }
    if (WIFSIGNALED(status)) {
        return fmt::format("killed by signal {} ({})", WTERMSIG(status),
                           ::strsignal(WTERMSIG(status)));
    }
    return fmt::format("wait status {}", status);
}

std::string percent_encode(std::string_view text) {
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += fmt::format("%{:02X}", c);
        }
    }
    return out;
}

}  // namespace

void append_bounded(std::string& out, std::string_view data, int64_t limit, bool& truncated) {
    const auto room = limit > static_cast<int64_t>(out.size())
                          ? static_cast<std::size_t>(limit) - out.size()
                          : std::size_t{0};
    if (data.size() <= room) {
        out.append(data);
        return;
    }
    out.append(data.substr(0, room));
    if (!truncated) {
        truncated = true;
        out += "\n[output truncated at output_limit]\n";
    }
}

std::string database_url(const ProxyEndpoint& proxy, const std::string& user,
                         const std::string& database, const std::string& application_name) {
    const bool socket_dir = !proxy.host.empty() && proxy.host.front() == '/';
    std::string host = socket_dir ? "" : proxy.host;
    if (host.find(':') != std::string::npos) {
        host = "[" + host + "]";
    }
    std::string credentials = percent_encode(user);
    if (!proxy.password.empty()) {
        credentials += ":" + percent_encode(proxy.password);
    }
    std::string url =
        fmt::format("postgresql://{}@{}:{}/{}?application_name={}", credentials, host, proxy.port,
                    percent_encode(database), percent_encode(application_name));
    if (socket_dir) {
        url += "&host=" + percent_encode(proxy.host);
    }
    return url;
}

std::vector<std::string> command_environment(const RunContext& context) {
    const auto& job = context.spec->config;
    std::vector<std::string> env{
        "DATABASE_URL=" + database_url(context.proxy, context.user, job.database, job.name),
        "PGHOST=" + context.proxy.host,
        fmt::format("PGPORT={}", context.proxy.port),
        "PGDATABASE=" + job.database,
        "PGUSER=" + context.user,
        "PGAPPNAME=" + job.name,
        "PGWARDEN_JOB=" + job.name,
    };
    if (!context.proxy.password.empty()) {
        env.push_back("PGPASSWORD=" + context.proxy.password);
    }
    return env;
}

RunReport run_command(const RunContext& context) {
    const auto& job = context.spec->config;
    RunReport report;
    std::vector<std::string> args;
    std::string program;
    if (job.command_shell) {
        program = "/bin/sh";
        args = {"sh", "-c", job.command.front()};
    } else {
        auto resolved = resolve_program(job.command.front());
        if (!resolved) {
            report.outcome = RunOutcome::Failed;
            report.error =
                fmt::format("command not found or not executable: {}", job.command.front());
            return report;
        }
        program = *resolved;
        args = job.command;
    }
    // The job's variables replace any inherited ones of the same name.
    const std::vector<std::string> mine = command_environment(context);
    std::vector<std::string> env_strings = mine;
    for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
        const std::string_view entry(*e);
        const auto eq = entry.find('=');
        if (eq == std::string_view::npos) {
            continue;
        }
        const auto name = entry.substr(0, eq + 1);  // "NAME="
        const bool overridden = std::any_of(mine.begin(), mine.end(), [&](const std::string& m) {
            return std::string_view(m).starts_with(name);
        });
        if (!overridden) {
            env_strings.emplace_back(entry);
        }
    }
    std::vector<char*> argv;
    argv.reserve(args.size() + 1);
    for (auto& a : args) {
        argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    std::vector<char*> envp;
    envp.reserve(env_strings.size() + 1);
    for (auto& e : env_strings) {
        envp.push_back(e.data());
    }
    envp.push_back(nullptr);

    Fd out_read, out_write, err_read, err_write;
    if (!make_pipe(out_read, out_write) || !make_pipe(err_read, err_write)) {
        report.outcome = RunOutcome::Failed;
        report.error = fmt::format("cannot create a pipe: {}", std::strerror(errno));
        return report;
    }
    const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    const pid_t pid = ::fork();
    if (pid < 0) {
        if (devnull >= 0) {
            ::close(devnull);
        }
        report.outcome = RunOutcome::Failed;
        report.error = fmt::format("fork failed: {}", std::strerror(errno));
        return report;
    }
    if (pid == 0) {
        // Child: only async-signal-safe calls from here on.
        ::setpgid(0, 0);
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);  // serve blocks signals in its threads
        ::signal(SIGPIPE, SIG_DFL);
        if (devnull >= 0) {
            ::dup2(devnull, STDIN_FILENO);
        }
        ::dup2(out_write.get(), STDOUT_FILENO);
        ::dup2(out_write.get(), STDERR_FILENO);
        ::execve(program.c_str(), argv.data(), envp.data());
        const int error = errno;
        (void)!::write(err_write.get(), &error, sizeof error);
        ::_exit(127);
    }
    // The parent sets the group too, so a kill right after fork finds it.
    ::setpgid(pid, pid);
    if (devnull >= 0) {
        ::close(devnull);
    }
    out_write.reset(-1);
    err_write.reset(-1);

    int exec_errno = 0;
    if (::read(err_read.get(), &exec_errno, sizeof exec_errno) != sizeof exec_errno) {
        exec_errno = 0;  // EOF: execve succeeded and closed the CLOEXEC pipe
    }
    ::fcntl(out_read.get(), F_SETFL, O_NONBLOCK);

    std::optional<Clock::time_point> deadline;
    if (job.timeout.count() > 0) {
        deadline = Clock::now() + job.timeout;
    }
    std::optional<Clock::time_point> kill_at;
    bool truncated = false;
    bool exited = false;
    int status = 0;
    char buffer[8192];
    while (!exited) {
        if (out_read.get() >= 0) {
            pollfd fd{out_read.get(), POLLIN, 0};
            ::poll(&fd, 1, 100);
            for (;;) {
                const ssize_t n = ::read(out_read.get(), buffer, sizeof buffer);
                if (n > 0) {
                    append_bounded(report.output,
                                   std::string_view(buffer, static_cast<std::size_t>(n)),
                                   job.output_limit, truncated);
                    continue;
                }
                if (n == 0) {
                    out_read.reset(-1);  // every writer closed
                }
                break;
            }
        } else {
            ::usleep(50'000);
        }
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid) {
            exited = true;
            break;
        }
        const auto now = Clock::now();
        if (!kill_at) {
            const bool cancelled = context.cancel != nullptr && context.cancel->load();
            const bool expired = deadline && now >= *deadline;
            if (cancelled || expired) {
                report.timed_out = expired && !cancelled;
                report.outcome = cancelled ? RunOutcome::Cancelled : RunOutcome::Failed;
                ::kill(-pid, SIGTERM);
                kill_at = now + kKillGrace;
            }
        } else if (now >= *kill_at) {
            ::kill(-pid, SIGKILL);
            kill_at = Clock::time_point::max();
        }
    }
    // What the program wrote just before exiting is still in the pipe.
    while (out_read.get() >= 0) {
        const ssize_t n = ::read(out_read.get(), buffer, sizeof buffer);
        if (n <= 0) {
            break;
        }
        append_bounded(report.output, std::string_view(buffer, static_cast<std::size_t>(n)),
                       job.output_limit, truncated);
    }
    // The job's process group ends with it: a background process it left behind would hold
    // connections nobody accounts for.
    ::kill(-pid, SIGKILL);
    if (exec_errno != 0) {
        report.outcome = RunOutcome::Failed;
        report.error = fmt::format("cannot execute {}: {}", program, std::strerror(exec_errno));
        return report;
    }
    if (report.timed_out) {
        report.error = fmt::format("timed out after {} ms; process group killed ({})",
                                   job.timeout.count(), describe_status(status));
    } else if (report.outcome == RunOutcome::Cancelled) {
        report.error = "cancelled; process group killed";
    } else if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
        report.outcome = RunOutcome::Failed;
        report.error = describe_status(status);
    }
    return report;
}

}  // namespace pgwarden::scheduler
