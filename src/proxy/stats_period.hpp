#pragma once

#include "observe/proxy_metrics.hpp"

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

namespace pgwarden::proxy {

// Per-database traffic totals at the end of each stats period, so SHOW STATS averages cover
// the last completed period as PgBouncer's do (its stats_period, 60 s), not the whole uptime.
// Thread-safe: rolled on loop 0, read by admin consoles on any loop.
class StatsPeriods {
public:
    using Totals = std::map<std::string, observe::ClassTotals>;
    static constexpr std::chrono::seconds kPeriod{60};

    void roll(Totals totals, std::chrono::steady_clock::time_point at);
    // The last completed period: what each database did in it, and its length in seconds;
    // nothing before two rolls.
    std::optional<std::pair<Totals, double>> last_period() const;

private:
    mutable std::mutex mu_;
    std::optional<std::pair<Totals, std::chrono::steady_clock::time_point>> previous_;
    std::optional<std::pair<Totals, std::chrono::steady_clock::time_point>> last_;
};

// Adds `t`'s counts and sums into `into`.
void add_totals(observe::ClassTotals& into, const observe::ClassTotals& t);

// Every class's totals summed per database.
StatsPeriods::Totals totals_by_database(observe::ProxyMetrics& metrics);

}  // namespace pgwarden::proxy
