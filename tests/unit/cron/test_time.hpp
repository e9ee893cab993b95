#pragma once

#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <string_view>

#include "cron/timezone.hpp"

namespace pgwarden::cron::testing {

// "2026-03-08T03:00:00-04:00" or "...Z" to an instant; the tables read as local times with the
// offset written next to them, and a wrong offset in a table is an error in the table.
inline SysSeconds at(std::string_view text) {
    using namespace std::chrono;
    auto num = [&](std::size_t pos, std::size_t len) {
        return std::stoi(std::string(text.substr(pos, len)));
    };
    const year_month_day ymd{year(num(0, 4)), month(static_cast<unsigned>(num(5, 2))),
                             day(static_cast<unsigned>(num(8, 2)))};
    std::int64_t s = sys_days(ymd).time_since_epoch().count() * 86'400 + num(11, 2) * 3600 +
                     num(14, 2) * 60 + num(17, 2);
    const std::string_view zone = text.substr(19);
    if (zone != "Z") {
        const int sign = zone[0] == '-' ? -1 : 1;
        s -= sign * (num(20, 2) * 3600 + num(23, 2) * 60);
    }
    return SysSeconds(seconds(s));
}

// Zones are read once per test binary: loading is I/O and the tables use a handful.
inline const TimeZone& zone(const std::string& name) {
    static std::map<std::string, TimeZone> cache;
    auto it = cache.find(name);
    if (it == cache.end()) {
        auto tz = TimeZone::load(name);
        if (!tz) {
            std::abort();
        }
        it = cache.emplace(name, std::move(tz.value())).first;
    }
    return it->second;
}

}  // namespace pgwarden::cron::testing
