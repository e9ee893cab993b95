#pragma once

#include "scheduler/job_spec.hpp"
#include "scheduler/job_state.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace pgwarden::scheduler {

// Where a job's own connections go: pgwarden's listen address, so the proxy classifies, caps
// and attributes them like any client (application_name = the job's name).
struct ProxyEndpoint {
    std::string host = "127.0.0.1";  // an IP address or a Unix socket directory
    uint16_t port = 6432;
    std::string password;  // for the job's user; empty when none is known (trust, .pgpass)
};

// Everything one run needs. The runner reads `cancel` at least every 100 ms and stops the
// work (PQcancel, SIGTERM/SIGKILL of the process group, closing the socket) when it is set.
struct RunContext {
    std::shared_ptr<const JobSpec> spec;
    ProxyEndpoint proxy;
    std::string user;  // the job's effective user
    const std::atomic<bool>* cancel = nullptr;
};

// How one run ended: the outcome, a one-line error for logs and history, and the output kept
// (bounded by output_limit).
struct RunReport {
    RunOutcome outcome = RunOutcome::Succeeded;
    bool timed_out = false;
    std::string error;
    std::string output;
};

// Runs one attempt of a job, blocking the calling thread (a scheduler worker thread, never an
// event loop) until it ends, times out or is cancelled. Never throws.
using RunFn = std::function<RunReport(const RunContext&)>;

// The runner for each kind; `run_job` picks by the spec's kind.
RunReport run_sql(const RunContext& context);
RunReport run_command(const RunContext& context);
RunReport run_http(const RunContext& context);
RunReport run_job(const RunContext& context);

// The environment a command job gets on top of pgwarden's own: DATABASE_URL, PGHOST, PGPORT,
// PGDATABASE, PGUSER, PGAPPNAME (and PGPASSWORD when known), all pointing at pgwarden.
std::vector<std::string> command_environment(const RunContext& context);

// "postgresql://user:pass@host:port/db?application_name=job", percent-encoded.
std::string database_url(const ProxyEndpoint& proxy, const std::string& user,
                         const std::string& database, const std::string& application_name);

// Appends to `out` at most up to `limit` bytes in total; notes truncation once.
void append_bounded(std::string& out, std::string_view data, int64_t limit, bool& truncated);

}  // namespace pgwarden::scheduler
