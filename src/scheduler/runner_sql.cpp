#include "scheduler/runner.hpp"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <poll.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

// kind = "sql": the statements go through pgwarden's own listen address like any client's,
// so the proxy's pools, caps and attribution apply to them. libpq runs in non-blocking mode
// on this worker thread so that a timeout or a cancel can interrupt a long statement with
// PQcancel instead of waiting for it.
namespace pgwarden::scheduler {

namespace {

using Clock = std::chrono::steady_clock;

// How long a statement may keep running after its cancel request before the connection is
// dropped instead: a timeout waits for PostgreSQL's clean "canceling statement" error; a
// cancel (shutdown, cancel_previous) must not hold things up when the cancel request cannot
// get through (a draining proxy no longer accepts connections).
constexpr auto kTimeoutCancelGrace = std::chrono::seconds(5);
constexpr auto kCancelGrace = std::chrono::seconds(1);

struct ConnCloser {
    void operator()(PGconn* c) const { PQfinish(c); }
};
using ConnPtr = std::unique_ptr<PGconn, ConnCloser>;

struct ResultCloser {
    void operator()(PGresult* r) const { PQclear(r); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultCloser>;

std::string one_line(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) {
        text.pop_back();
    }
    for (auto& c : text) {
        if (c == '\n') {
            c = ' ';
        }
    }
    return text;
}

void send_cancel(PGconn* conn) {
    if (PGcancel* cancel = PQgetCancel(conn)) {
        char buffer[256];
        PQcancel(cancel, buffer, sizeof buffer);
        PQfreeCancel(cancel);
    }
}

// What executing one statement came to.
struct StatementResult {
    bool ok = true;
    std::string error;
};

// Sends `sql` and drains every result, cancelling the statement when the deadline passes or
// the run is cancelled. Rows of the last result set are appended to `report.output`.
StatementResult execute(PGconn* conn, const std::string& sql, const RunContext& context,
                        std::optional<Clock::time_point> deadline, RunReport& report,
                        bool& truncated) {
    if (PQsendQuery(conn, sql.c_str()) == 0) {
        return {false, one_line(PQerrorMessage(conn))};
    }
    bool cancel_sent = false;
    Clock::time_point cancel_sent_at{};
    StatementResult result;
    for (;;) {
        while (PQisBusy(conn) == 0) {
            ResultPtr r(PQgetResult(conn));
            if (!r) {
                return result;
            }
            const auto status = PQresultStatus(r.get());
            if (status == PGRES_TUPLES_OK) {
                const int rows = PQntuples(r.get());
                const int cols = PQnfields(r.get());
                for (int i = 0; i < rows; ++i) {
                    std::string line;
                    for (int j = 0; j < cols; ++j) {
                        line += j == 0 ? "" : "\t";
                        line += PQgetisnull(r.get(), i, j) != 0 ? "" : PQgetvalue(r.get(), i, j);
                    }
                    line += '\n';
                    append_bounded(report.output, line, context.spec->config.output_limit,
                                   truncated);
                }
            } else if (status != PGRES_COMMAND_OK && status != PGRES_EMPTY_QUERY && result.ok) {
                const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
                result.ok = false;
                const std::string code = state != nullptr ? fmt::format("{}: ", state) : "";
                result.error = code + one_line(PQresultErrorMessage(r.get()));
            }
        }
        if (!cancel_sent) {
            const bool cancelled = context.cancel != nullptr && context.cancel->load();
            const bool expired = deadline && Clock::now() >= *deadline;
            if (cancelled || expired) {
                report.timed_out = expired && !cancelled;
                report.outcome = cancelled ? RunOutcome::Cancelled : RunOutcome::Failed;
                send_cancel(conn);
                cancel_sent = true;
                cancel_sent_at = Clock::now();
            }
        } else if (Clock::now() - cancel_sent_at >
                   (report.timed_out ? kTimeoutCancelGrace : kCancelGrace)) {
            // The cancel was not honoured (the proxy is shutting down, the network is gone):
            // give up; closing the connection ends the statement server-side.
            return {false, "the statement did not end after a cancel request"};
        }
        pollfd fd{PQsocket(conn), POLLIN, 0};
        if (fd.fd < 0) {
            return {false, "connection lost"};
        }
        ::poll(&fd, 1, 100);
        if (PQconsumeInput(conn) == 0) {
            return {false, one_line(PQerrorMessage(conn))};
        }
    }
}

}  // namespace

RunReport run_sql(const RunContext& context) {
    const auto& job = context.spec->config;
    RunReport report;
    std::optional<Clock::time_point> deadline;
    if (job.timeout.count() > 0) {
        deadline = Clock::now() + job.timeout;
    }
    const std::string port = std::to_string(context.proxy.port);
    // A connection that takes longer than this is not going to help a periodic job; the
    // proxy's own query_wait_timeout bounds waiting for a server connection after login.
    const std::string connect_timeout = "10";
    std::vector<const char*> keys{"host",           "port", "dbname", "user", "application_name",
                                  "connect_timeout"};
    std::vector<const char*> values{context.proxy.host.c_str(), port.c_str(),
                                    job.database.c_str(),       context.user.c_str(),
                                    job.name.c_str(),           connect_timeout.c_str()};
    if (!context.proxy.password.empty()) {
        keys.push_back("password");
        values.push_back(context.proxy.password.c_str());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    ConnPtr conn(PQconnectdbParams(keys.data(), values.data(), 0));
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
        report.outcome = RunOutcome::Failed;
        report.error = fmt::format("cannot connect through pgwarden ({}:{}): {}",
                                   context.proxy.host, context.proxy.port,
                                   conn ? one_line(PQerrorMessage(conn.get())) : "out of memory");
        return report;
    }
    PQsetnonblocking(conn.get(), 1);
    std::vector<std::string> statements;
    if (job.transaction) {
        statements.push_back("BEGIN");
    }
    statements.insert(statements.end(), job.sql.begin(), job.sql.end());
    if (job.transaction) {
        statements.push_back("COMMIT");
    }
    bool truncated = false;
    for (std::size_t i = 0; i < statements.size(); ++i) {
        auto result = execute(conn.get(), statements[i], context, deadline, report, truncated);
        if (!result.ok || report.outcome != RunOutcome::Succeeded) {
            if (report.outcome == RunOutcome::Succeeded) {
                report.outcome = RunOutcome::Failed;
            }
            const std::size_t number = job.transaction ? i : i + 1;
            if (report.timed_out) {
                report.error =
                    fmt::format("timed out after {} ms; statement cancelled", job.timeout.count());
            } else if (report.outcome == RunOutcome::Cancelled) {
                report.error = "cancelled";
            } else {
                report.error = fmt::format("statement {}: {}", number, result.error);
            }
            // The transaction, if any, is rolled back when the connection closes.
            return report;
        }
    }
    return report;
}

}  // namespace pgwarden::scheduler
