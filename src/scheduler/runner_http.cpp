#include "scheduler/runner.hpp"

#include "net/asio.hpp"

#include <fmt/format.h>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <optional>
#include <string>

// kind = "http": one request to the application's own endpoint (plain http:// only: this is
// for "POST /tasks/cleanup" on localhost, not for the internet). Asio runs on this worker
// thread with a private io_context, in slices, so a cancel is noticed within 100 ms.
namespace pgwarden::scheduler {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

struct Url {
    std::string host;
    std::string port = "80";
    std::string target = "/";
};

std::optional<Url> parse_http_url(std::string_view url) {
    constexpr std::string_view kScheme = "http://";
    if (!url.starts_with(kScheme)) {
        return std::nullopt;
    }
    url.remove_prefix(kScheme.size());
    Url out;
    const auto slash = url.find('/');
    std::string_view authority = url.substr(0, slash);
    if (slash != std::string_view::npos) {
        out.target = std::string(url.substr(slash));
    }
    if (authority.starts_with('[')) {
        const auto close = authority.find(']');
        if (close == std::string_view::npos) {
            return std::nullopt;
        }
        out.host = std::string(authority.substr(1, close - 1));
        authority.remove_prefix(close + 1);
        if (authority.starts_with(':')) {
            out.port = std::string(authority.substr(1));
        }
    } else {
        const auto colon = authority.rfind(':');
        out.host = std::string(authority.substr(0, colon));
        if (colon != std::string_view::npos) {
            out.port = std::string(authority.substr(colon + 1));
        }
    }
    if (out.host.empty() || out.port.empty()) {
        return std::nullopt;
    }
    return out;
}

}  // namespace

RunReport run_http(const RunContext& context) {
    const auto& job = context.spec->config;
    RunReport report;
    const auto url = parse_http_url(job.url);
    if (!url) {
        report.outcome = RunOutcome::Failed;
        report.error = fmt::format("not an http:// URL: {}", job.url);
        return report;
    }
    asio::io_context io;
    tcp::resolver resolver(io);
    beast::tcp_stream stream(io);
    beast::flat_buffer buffer;
    http::request<http::string_body> request{http::string_to_verb(job.method), url->target, 11};
    request.set(http::field::host, url->host);
    request.set(http::field::user_agent, "pgwarden-scheduler");
    request.set("X-Pgwarden-Job", job.name);
    request.prepare_payload();
    http::response_parser<http::string_body> parser;
    // Beyond output_limit the body is discarded anyway; the slack lets a response a little
    // larger than the limit still succeed (and be truncated) instead of failing the run.
    constexpr std::uint64_t kBodySlack = std::uint64_t{1024} * 1024;
    parser.body_limit(static_cast<std::uint64_t>(job.output_limit) + kBodySlack);

    std::optional<beast::error_code> result;
    auto fail = [&](beast::error_code ec) { result = ec; };
    resolver.async_resolve(
        url->host, url->port,
        [&](beast::error_code ec, const tcp::resolver::results_type& endpoints) {
            if (ec) {
                return fail(ec);
            }
            stream.async_connect(endpoints, [&](beast::error_code ec2, const tcp::endpoint&) {
                if (ec2) {
                    return fail(ec2);
                }
                http::async_write(stream, request, [&](beast::error_code ec3, std::size_t) {
                    if (ec3) {
                        return fail(ec3);
                    }
                    http::async_read(stream, buffer, parser,
                                     [&](beast::error_code ec4, std::size_t) { fail(ec4); });
                });
            });
        });
    const auto start = std::chrono::steady_clock::now();
    while (!result) {
        io.run_one_for(std::chrono::milliseconds(100));
        if (result) {
            break;
        }
        const bool cancelled = context.cancel != nullptr && context.cancel->load();
        const bool expired =
            job.timeout.count() > 0 && std::chrono::steady_clock::now() - start >= job.timeout;
        if (cancelled || expired) {
            report.timed_out = expired && !cancelled;
            report.outcome = cancelled ? RunOutcome::Cancelled : RunOutcome::Failed;
            report.error =
                cancelled ? "cancelled" : fmt::format("timed out after {} ms", job.timeout.count());
            resolver.cancel();
            beast::error_code ignored;
            stream.socket().close(ignored);
            io.run_for(std::chrono::milliseconds(200));  // let the handlers see the close
            return report;
        }
    }
    if (*result) {
        report.outcome = RunOutcome::Failed;
        report.error = fmt::format("{} {}: {}", job.method, job.url, result->message());
        return report;
    }
    const auto& response = parser.get();
    bool truncated = false;
    append_bounded(report.output, response.body(), job.output_limit, truncated);
    const unsigned status = response.result_int();
    if (status < 200 || status >= 300) {
        report.outcome = RunOutcome::Failed;
        report.error = fmt::format("{} {}: HTTP status {}", job.method, job.url, status);
    }
    return report;
}

RunReport run_job(const RunContext& context) {
    switch (context.spec->config.kind) {
    case config::JobKind::Sql:
        return run_sql(context);
    case config::JobKind::Command:
        return run_command(context);
    case config::JobKind::Http:
        return run_http(context);
    }
    return RunReport{RunOutcome::Failed, false, "unknown job kind", {}};
}

}  // namespace pgwarden::scheduler
