#include "proxy/governor.hpp"

#include "pgwire/sqlstate.hpp"
#include "proxy/client_session.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

namespace pgwarden::proxy {

namespace {

constexpr size_t kReportedStatement = 200;

double seconds(pool::Clock::duration d) {
    return std::chrono::duration<double>(d).count();
}

std::string shown_statement(const config::WorkloadClass& cls, const std::string& sql) {
    std::string text = cls.mask_literals ? config::mask_sql_literals(sql) : sql;
    if (text.size() > kReportedStatement) {
        text.resize(kReportedStatement);
        text += "...";
    }
    return text;
}

}  // namespace

void Governor::tick(const net::Executor& exec, pool::Clock::time_point now) {
    ++pass_;
    int current = 0;
    for (const auto& session : rt_.sessions.all()) {
        const auto& cls = session->workload_class();
        const auto a = session->activity();
        auto& marks = marks_[session->id()];
        marks.seen = pass_;
        if (!a.attached) {
            continue;
        }
        const bool running = a.query_since != pool::Clock::time_point{};

        if (cls.query_timeout.count() > 0 && running && now - a.query_since >= cls.query_timeout &&
            marks.cancelled_query != a.query_seq && a.server) {
            marks.cancelled_query = a.query_seq;
            if (rt_.metrics != nullptr) {
                rt_.metrics->for_class(session->database(), session->user(), cls.name)
                    .timeout(observe::TimeoutKind::Query);
            }
            spdlog::warn(
                "conn={} class={} app={} user={} db={}: query_timeout ({}) exceeded "
                "after {:.1f} s; cancelling: {}",
                session->id(), cls.name, a.application_name, session->user(), session->database(),
                config::format_duration(cls.query_timeout), seconds(now - a.query_since),
                shown_statement(cls, a.last_statement));
            net::asio::co_spawn(exec, send_cancel(*a.server), net::asio::detached);
        }

        std::optional<LeakKind> kind;
        const bool in_transaction = a.transaction_state == 'T' || a.transaction_state == 'E';
        if (cls.idle_transaction_timeout.count() > 0 && !running && in_transaction &&
            now - a.idle_since >= cls.idle_transaction_timeout) {
            kind = LeakKind::IdleInTransaction;
        } else if (cls.max_checkout_time.count() > 0 &&
                   now - a.checkout_since >= cls.max_checkout_time) {
            kind = LeakKind::CheckoutTime;
        }
        if (!kind) {
            continue;
        }
        ++current;
        if (marks.leak_checkout == a.checkout_seq) {
            continue;  // one report per checkout
        }
        marks.leak_checkout = a.checkout_seq;

        LeakRecord r;
        r.detected = std::chrono::system_clock::now();
        r.kind = *kind;
        r.session_id = session->id();
        r.class_name = cls.name;
        r.application_name = a.application_name;
        r.user = session->user();
        r.database = session->database();
        std::tie(r.client_addr, r.client_port) = split_peer(session->peer());
        r.held_seconds = seconds(now - a.checkout_since);
        r.idle_seconds = running ? 0.0 : seconds(now - a.idle_since);
        r.transaction_state = a.transaction_state;
        r.last_statement = shown_statement(cls, a.last_statement);
        r.action = cls.leak_action;

        const std::string limit =
            *kind == LeakKind::IdleInTransaction
                ? fmt::format(
                      "idle in transaction for {:.1f} s, over idle_transaction_timeout "
                      "({})",
                      r.idle_seconds, config::format_duration(cls.idle_transaction_timeout))
                : fmt::format(
                      "held a server connection for {:.1f} s, over max_checkout_time "
                      "({})",
                      r.held_seconds, config::format_duration(cls.max_checkout_time));
        spdlog::warn(
            "suspected leak: conn={} class={} app={} user={} db={} client={}:{} {}; "
            "transaction={} last statement: {}; action={}",
            r.session_id, r.class_name, r.application_name, r.user, r.database, r.client_addr,
            r.client_port, limit, r.transaction_state, r.last_statement,
            config::to_string(r.action));

        switch (cls.leak_action) {
        case config::LeakAction::Report:
            break;
        case config::LeakAction::Cancel:
            if (running && a.server) {
                net::asio::co_spawn(exec, send_cancel(*a.server), net::asio::detached);
            }
            break;
        case config::LeakAction::Terminate:
            session->request_terminate(
                *kind == LeakKind::IdleInTransaction
                    ? pgwire::sqlstate::kIdleInTransactionTimeout
                    : pgwire::sqlstate::kConfigurationLimitExceeded,
                fmt::format("terminating connection: {} (class \"{}\"); pgwarden rolled back the "
                            "transaction and took the server connection back",
                            limit, cls.name));
            break;
        }
        if (rt_.metrics != nullptr) {
            auto& m = rt_.metrics->for_class(r.database, r.user, r.class_name);
            m.suspected_leaks.inc();
            if (r.kind == LeakKind::IdleInTransaction) {
                m.timeout(observe::TimeoutKind::IdleInTransaction);
            }
        }
        rt_.leaks.record(std::move(r));
    }
    std::erase_if(marks_, [&](const auto& entry) { return entry.second.seen != pass_; });
    rt_.leaks.set_current(current);
}

}  // namespace pgwarden::proxy
