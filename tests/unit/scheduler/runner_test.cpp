// The command runner on real processes (no database needed): environment, bounded output,
// exit statuses, a missing program, and the timeout that kills the whole process group.
#include "scheduler/runner.hpp"

#include "scheduler/job_spec.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>

namespace pgwarden::scheduler {
namespace {

using namespace std::chrono_literals;

std::shared_ptr<const JobSpec> command_job(std::vector<std::string> command, bool shell,
                                           config::Duration timeout = 10s,
                                           int64_t output_limit = 65536) {
    config::JobConfig job;
    job.name = "nightly";
    job.every = 1h;
    job.kind = config::JobKind::Command;
    job.command = std::move(command);
    job.command_shell = shell;
    job.database = "app";
    job.timeout = timeout;
    job.output_limit = output_limit;
    auto spec = make_job_spec(job);
    EXPECT_TRUE(spec.ok());
    return *spec;
}

RunReport run(std::shared_ptr<const JobSpec> spec, const std::atomic<bool>* cancel = nullptr) {
    static const std::atomic<bool> never{false};
    RunContext context;
    context.spec = std::move(spec);
    context.proxy = ProxyEndpoint{"127.0.0.1", 6543, "s3cret/pw"};
    context.user = "app";
    context.cancel = cancel != nullptr ? cancel : &never;
    return run_command(context);
}

TEST(CommandRunner, GetsAnEnvironmentPointingAtPgwarden) {
    auto r = run(command_job({"echo $PGHOST $PGPORT $PGDATABASE $PGUSER $PGAPPNAME $PGPASSWORD; "
                              "echo $DATABASE_URL"},
                             true));
    EXPECT_EQ(r.outcome, RunOutcome::Succeeded) << r.error;
    EXPECT_EQ(r.output,
              "127.0.0.1 6543 app app nightly s3cret/pw\n"
              "postgresql://app:s3cret%2Fpw@127.0.0.1:6543/app?application_name=nightly\n");
}

TEST(CommandRunner, ArgvRunsWithoutAShellAndPathIsSearched) {
    auto r = run(command_job({"printf", "%s|", "a b", "$HOME"}, false));
    EXPECT_EQ(r.outcome, RunOutcome::Succeeded) << r.error;
    EXPECT_EQ(r.output, "a b|$HOME|");
}

TEST(CommandRunner, NonZeroExitFailsTheRunWithItsStatus) {
    auto r = run(command_job({"echo oops >&2; exit 3"}, true));
    EXPECT_EQ(r.outcome, RunOutcome::Failed);
    EXPECT_EQ(r.error, "exit status 3");
    EXPECT_EQ(r.output, "oops\n");  // stderr is captured too
}

TEST(CommandRunner, AMissingProgramFailsTheRunClearly) {
    auto r = run(command_job({"/nonexistent/program", "x"}, false));
    EXPECT_EQ(r.outcome, RunOutcome::Failed);
    EXPECT_EQ(r.error, "command not found or not executable: /nonexistent/program");
    auto p = run(command_job({"pgwarden-no-such-program-on-path"}, false));
    EXPECT_EQ(p.outcome, RunOutcome::Failed);
    EXPECT_NE(p.error.find("command not found"), std::string::npos);
}

TEST(CommandRunner, OutputIsBounded) {
    auto r = run(command_job({"head -c 100000 /dev/zero | tr '\\0' x"}, true, 10s, 100));
    EXPECT_EQ(r.outcome, RunOutcome::Succeeded) << r.error;
    EXPECT_EQ(r.output.substr(0, 100), std::string(100, 'x'));
    EXPECT_NE(r.output.find("[output truncated at output_limit]"), std::string::npos);
    EXPECT_LT(r.output.size(), 200u);
}

TEST(CommandRunner, TimeoutKillsTheWholeProcessGroup) {
    const auto start = std::chrono::steady_clock::now();
    // A child that ignores SIGTERM and a grandchild: both must be gone.
    auto r = run(command_job({"trap '' TERM; sleep 30 & sleep 30"}, true, 300ms));
    EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
    EXPECT_EQ(r.outcome, RunOutcome::Failed);
    EXPECT_TRUE(r.timed_out);
    EXPECT_NE(r.error.find("timed out after 300 ms"), std::string::npos) << r.error;
}

TEST(CommandRunner, CancelStopsTheRun) {
    std::atomic<bool> cancel{false};
    std::thread canceller([&] {
        std::this_thread::sleep_for(200ms);
        cancel = true;
    });
    auto r = run(command_job({"sleep 30"}, true), &cancel);
    canceller.join();
    EXPECT_EQ(r.outcome, RunOutcome::Cancelled);
    EXPECT_FALSE(r.timed_out);
}

TEST(Runner, DatabaseUrlEncodesAndHandlesSocketsAndIpv6) {
    EXPECT_EQ(database_url({"::1", 6432, ""}, "a@b", "my db", "job 1"),
              "postgresql://a%40b@[::1]:6432/my%20db?application_name=job%201");
    EXPECT_EQ(database_url({"/run/pgwarden", 6432, "pw"}, "u", "d", "j"),
              "postgresql://u:pw@:6432/d?application_name=j&host=%2Frun%2Fpgwarden");
}

TEST(Runner, AppendBoundedNotesTruncationOnce) {
    std::string out;
    bool truncated = false;
    append_bounded(out, "abc", 4, truncated);
    append_bounded(out, "def", 4, truncated);
    append_bounded(out, "ghi", 4, truncated);
    EXPECT_TRUE(truncated);
    EXPECT_EQ(out, "abcd\n[output truncated at output_limit]\n");
}

TEST(JobStateRequests, ARequestedRunFollowsTheOverlapPolicy) {
    JobPolicy policy;
    JobState job("j", policy, std::nullopt);
    const TimePoint t0{std::chrono::seconds(100)};
    EXPECT_EQ(job.request_run(t0), PollEvent::BecameDue);
    ASSERT_TRUE(job.pending());
    const RunTicket ticket = job.on_started(t0);
    EXPECT_EQ(job.request_run(t0 + 1s), PollEvent::OverlapSkipped);
    EXPECT_FALSE(job.pending());
    (void)job.on_finished(t0 + 2s, ticket, RunOutcome::Succeeded);
    EXPECT_EQ(job.request_run(t0 + 3s), PollEvent::BecameDue);
    job.drop_pending();
    EXPECT_FALSE(job.pending());
}

}  // namespace
}  // namespace pgwarden::scheduler

namespace pgwarden::scheduler {
namespace {

// A one-connection HTTP server on loopback: answers with `response` (or never, when empty)
// and keeps the request it read.
class TinyHttpServer {
public:
    explicit TinyHttpServer(std::string response) : response_(std::move(response)) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
        socklen_t len = sizeof addr;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        ::listen(fd_, 4);
        thread_ = std::thread([this] { serve(); });
    }
    ~TinyHttpServer() {
        ::shutdown(fd_, SHUT_RDWR);
        ::close(fd_);
        thread_.join();
    }
    uint16_t port() const { return port_; }
    std::string request() {
        std::lock_guard lock(mu_);
        return request_;
    }

private:
    void serve() {
        const int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0) {
            return;
        }
        timeval tv{5, 0};
        ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char buf[4096];
        std::string got;
        while (got.find("\r\n\r\n") == std::string::npos) {
            const ssize_t n = ::recv(c, buf, sizeof buf, 0);
            if (n <= 0) {
                break;
            }
            got.append(buf, static_cast<std::size_t>(n));
        }
        {
            std::lock_guard lock(mu_);
            request_ = got;
        }
        if (!response_.empty()) {
            (void)::send(c, response_.data(), response_.size(), MSG_NOSIGNAL);
        } else {
            (void)::recv(c, buf, sizeof buf, 0);  // hold the connection until the client goes
        }
        ::close(c);
    }

    std::string response_;
    int fd_ = -1;
    uint16_t port_ = 0;
    std::thread thread_;
    std::mutex mu_;
    std::string request_;
};

std::shared_ptr<const JobSpec> http_job(const std::string& url, const std::string& method,
                                        config::Duration timeout = 10s) {
    config::JobConfig job;
    job.name = "ping";
    job.every = 1h;
    job.kind = config::JobKind::Http;
    job.url = url;
    job.method = method;
    job.database = "app";
    job.timeout = timeout;
    auto spec = make_job_spec(job);
    EXPECT_TRUE(spec.ok());
    return *spec;
}

RunReport run_http_job(std::shared_ptr<const JobSpec> spec) {
    static const std::atomic<bool> never{false};
    RunContext context;
    context.spec = std::move(spec);
    context.cancel = &never;
    return run_http(context);
}

TEST(HttpRunner, A2xxResponseSucceedsAndItsBodyIsKept) {
    TinyHttpServer server("HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\ndone");
    auto r = run_http_job(
        http_job("http://127.0.0.1:" + std::to_string(server.port()) + "/tasks/x?a=1", "POST"));
    EXPECT_EQ(r.outcome, RunOutcome::Succeeded) << r.error;
    EXPECT_EQ(r.output, "done");
    EXPECT_NE(server.request().find("POST /tasks/x?a=1 HTTP/1.1"), std::string::npos)
        << server.request();
    EXPECT_NE(server.request().find("X-Pgwarden-Job: ping"), std::string::npos);
}

TEST(HttpRunner, AnErrorStatusFailsTheRun) {
    TinyHttpServer server(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    auto r = run_http_job(http_job("http://127.0.0.1:" + std::to_string(server.port()), "GET"));
    EXPECT_EQ(r.outcome, RunOutcome::Failed);
    EXPECT_NE(r.error.find("HTTP status 503"), std::string::npos) << r.error;
}

TEST(HttpRunner, ASilentServerTimesOut) {
    TinyHttpServer server("");
    auto r = run_http_job(
        http_job("http://127.0.0.1:" + std::to_string(server.port()) + "/", "GET", 300ms));
    EXPECT_EQ(r.outcome, RunOutcome::Failed);
    EXPECT_TRUE(r.timed_out);
    EXPECT_NE(r.error.find("timed out after 300 ms"), std::string::npos) << r.error;
}

TEST(HttpRunner, ARefusedConnectionFailsTheRun) {
    uint16_t port = 0;
    {
        TinyHttpServer probe("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        port = probe.port();
        // Connect once so the server thread ends; the port is then closed.
        auto ok = run_http_job(http_job("http://127.0.0.1:" + std::to_string(port), "GET"));
        (void)ok;
    }
    auto r = run_http_job(http_job("http://127.0.0.1:" + std::to_string(port), "GET"));
    EXPECT_EQ(r.outcome, RunOutcome::Failed);
    EXPECT_NE(r.error.find("GET http://127.0.0.1:"), std::string::npos) << r.error;
}

}  // namespace
}  // namespace pgwarden::scheduler
