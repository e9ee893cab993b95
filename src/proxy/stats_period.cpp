#include "proxy/stats_period.hpp"

namespace pgwarden::proxy {

void add_totals(observe::ClassTotals& into, const observe::ClassTotals& t) {
    into.transactions += t.transactions;
    into.queries += t.queries;
    into.received_bytes += t.received_bytes;
    into.sent_bytes += t.sent_bytes;
    into.transaction_seconds += t.transaction_seconds;
    into.query_seconds += t.query_seconds;
    into.wait_seconds += t.wait_seconds;
    into.waits += t.waits;
}

namespace {

// later - earlier, field by field; counters only grow, so a database that appeared during the
// period simply has no `earlier`.
observe::ClassTotals minus(const observe::ClassTotals& later, const observe::ClassTotals* earlier) {
    if (earlier == nullptr) {
        return later;
    }
    observe::ClassTotals d;
    const auto sub = [](uint64_t a, uint64_t b) { return a > b ? a - b : 0; };
    const auto subd = [](double a, double b) { return a > b ? a - b : 0.0; };
    d.transactions = sub(later.transactions, earlier->transactions);
    d.queries = sub(later.queries, earlier->queries);
    d.received_bytes = sub(later.received_bytes, earlier->received_bytes);
    d.sent_bytes = sub(later.sent_bytes, earlier->sent_bytes);
    d.transaction_seconds = subd(later.transaction_seconds, earlier->transaction_seconds);
    d.query_seconds = subd(later.query_seconds, earlier->query_seconds);
    d.wait_seconds = subd(later.wait_seconds, earlier->wait_seconds);
    d.waits = sub(later.waits, earlier->waits);
    return d;
}

}  // namespace

void StatsPeriods::roll(Totals totals, std::chrono::steady_clock::time_point at) {
    std::lock_guard lock(mu_);
    previous_ = std::move(last_);
    last_.emplace(std::move(totals), at);
}

std::optional<std::pair<StatsPeriods::Totals, double>> StatsPeriods::last_period() const {
    std::lock_guard lock(mu_);
    if (!previous_ || !last_) {
        return std::nullopt;
    }
    Totals out;
    for (const auto& [db, t] : last_->first) {
        auto it = previous_->first.find(db);
        out[db] = minus(t, it == previous_->first.end() ? nullptr : &it->second);
    }
    const double seconds = std::chrono::duration<double>(last_->second - previous_->second).count();
    return std::make_pair(std::move(out), seconds > 0 ? seconds : 1.0);
}

StatsPeriods::Totals totals_by_database(observe::ProxyMetrics& metrics) {
    StatsPeriods::Totals out;
    for (const auto& t : metrics.totals()) {
        add_totals(out[t.database], t);
    }
    return out;
}

}  // namespace pgwarden::proxy
