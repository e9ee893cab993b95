#include "cron/cron.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <optional>
#include <vector>

namespace pgwarden::cron {

namespace {

using common::make_error;

constexpr std::int64_t kDay = 86'400;

struct FieldSpec {
    std::string_view name;
    int min;
    int max;
    int star_max;  // '*' for day-of-week means 0-6, though 7 (Sunday again) is accepted
    const std::array<std::string_view, 13>* names;  // index = value; empty = no name
    std::string_view names_hint;
};

constexpr std::array<std::string_view, 13> kMonthNames = {
    "", "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 13> kDayNames = {
    "sun", "mon", "tue", "wed", "thu", "fri", "sat", "", "", "", "", "", ""};

constexpr FieldSpec kSecond{"second", 0, 59, 59, nullptr, ""};
constexpr FieldSpec kMinute{"minute", 0, 59, 59, nullptr, ""};
constexpr FieldSpec kHour{"hour", 0, 23, 23, nullptr, ""};
constexpr FieldSpec kDayOfMonth{"day-of-month", 1, 31, 31, nullptr, ""};
constexpr FieldSpec kMonth{"month", 1, 12, 12, &kMonthNames, " or month name (JAN-DEC)"};
constexpr FieldSpec kDayOfWeek{"day-of-week", 0, 7, 6, &kDayNames, " or day name (SUN-SAT)"};

struct Macro {
    std::string_view name;
    std::string_view expansion;
};

constexpr Macro kMacros[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) != 0;
    });
}

// Parses one field ("1-30/2,MON") into a bit mask. `number` is the field's 1-based position in
// the expression as written, so errors point where the user looks.
class FieldParser {
public:
    FieldParser(const FieldSpec& spec, int number, std::string_view text)
        : spec_(spec), number_(number), text_(text) {}

    common::Result<std::uint64_t> parse() {
        std::uint64_t mask = 0;
        std::size_t start = 0;
        for (;;) {
            const std::size_t comma = text_.find(',', start);
            const std::string_view item =
                text_.substr(start, comma == std::string_view::npos ? comma : comma - start);
            if (item.empty()) {
                return fail(fmt::format("empty list element in '{}'", text_));
            }
            auto bits = parse_item(item);
            if (!bits) {
                return std::move(bits).error();
            }
            mask |= *bits;
            if (comma == std::string_view::npos) {
                break;
            }
            start = comma + 1;
        }
        return mask;
    }

private:
    common::Error fail(std::string what) const {
        return make_error("cron", fmt::format("field {} ({}): {}", number_, spec_.name, what));
    }

    common::Result<int> value(std::string_view token) const {
        if (all_digits(token)) {
            // More than 4 digits cannot be in any field's range and could overflow int.
            if (token.size() > 4) {
                return fail(fmt::format("{} is out of range {}-{}", token, spec_.min, spec_.max));
            }
            int v = 0;
            for (char c : token) {
                v = v * 10 + (c - '0');
            }
            if (v < spec_.min || v > spec_.max) {
                return fail(fmt::format("{} is out of range {}-{}", v, spec_.min, spec_.max));
            }
            return v;
        }
        if (spec_.names != nullptr) {
            const std::string l = lower(token);
            for (std::size_t i = 0; i < spec_.names->size(); ++i) {
                if (!(*spec_.names)[i].empty() && (*spec_.names)[i] == l) {
                    return static_cast<int>(i);
                }
            }
        }
        return fail(fmt::format("'{}' is not a number{}", token, spec_.names_hint));
    }

    common::Result<std::uint64_t> parse_item(std::string_view item) const {
        std::string_view base = item;
        int step = 1;
        bool has_step = false;
        if (const auto slash = item.find('/'); slash != std::string_view::npos) {
            base = item.substr(0, slash);
            const std::string_view step_text = item.substr(slash + 1);
            const int max_step = spec_.max - spec_.min;
            if (!all_digits(step_text)) {
                return fail(fmt::format("step '{}' in '{}' is not a number", step_text, item));
            }
            step = step_text.size() > 4 ? max_step + 1 : std::stoi(std::string(step_text));
            if (step < 1 || step > max_step) {
                return fail(
                    fmt::format("step {} in '{}' is out of range 1-{}", step_text, item, max_step));
            }
            has_step = true;
            if (base.empty()) {
                return fail(fmt::format("'{}' has no range before the '/'", item));
            }
        }
        int lo = 0;
        int hi = 0;
        if (base == "*") {
            lo = spec_.min;
            hi = spec_.star_max;
        } else if (const auto dash = base.find('-'); dash != std::string_view::npos) {
            const std::string_view a = base.substr(0, dash);
            const std::string_view b = base.substr(dash + 1);
            if (a.empty() || b.empty() || b.find('-') != std::string_view::npos) {
                return fail(fmt::format("'{}' is not a valid value, range or step", item));
            }
            auto va = value(a);
            if (!va) {
                return std::move(va).error();
            }
            auto vb = value(b);
            if (!vb) {
                return std::move(vb).error();
            }
            lo = *va;
            hi = *vb;
            if (lo > hi) {
                return fail(fmt::format("range {} is reversed (start must not exceed end)", base));
            }
        } else {
            auto v = value(base);
            if (!v) {
                return std::move(v).error();
            }
            lo = *v;
            // "5/15" means "from 5 to the end of the range, every 15" (as in cronie).
            hi = has_step ? spec_.max : *v;
        }
        std::uint64_t mask = 0;
        for (int v = lo; v <= hi; v += step) {
            mask |= std::uint64_t{1} << v;
        }
        return mask;
    }

    const FieldSpec& spec_;
    int number_;
    std::string_view text_;
};

std::vector<std::string_view> split_fields(std::string_view text) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])) != 0) {
            ++i;
        }
        const std::size_t start = i;
        while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i])) == 0) {
            ++i;
        }
        if (i > start) {
            out.push_back(text.substr(start, i - start));
        }
    }
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())) != 0) {
        s.remove_prefix(1);
    }
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())) != 0) {
        s.remove_suffix(1);
    }
    return s;
}

// The lowest set bit of `mask` at or above `from`, or -1.
int next_bit(std::uint64_t mask, std::int64_t from) {
    if (from >= 64) {
        return -1;
    }
    const std::uint64_t rest = mask & (~std::uint64_t{0} << from);
    return rest == 0 ? -1 : std::countr_zero(rest);
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    const std::int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

}  // namespace

common::Result<CronExpr> parse_cron(std::string_view text) {
    const std::string_view trimmed = trim(text);
    if (trimmed.empty()) {
        return make_error("cron", "empty cron expression");
    }
    std::string_view fields_text = trimmed;
    if (trimmed.front() == '@') {
        const std::string l = lower(trimmed);
        const auto* macro = std::find_if(std::begin(kMacros), std::end(kMacros),
                                         [&](const Macro& m) { return m.name == l; });
        if (macro == std::end(kMacros)) {
            return make_error("cron", fmt::format("unknown macro '{}' (allowed: @yearly @annually "
                                                  "@monthly @weekly @daily @midnight @hourly)",
                                                  trimmed));
        }
        fields_text = macro->expansion;
    }
    const std::vector<std::string_view> fields = split_fields(fields_text);
    if (fields.size() != 5 && fields.size() != 6) {
        return make_error("cron", fmt::format("expected 5 fields (minute hour day-of-month month "
                                              "day-of-week) or 6 (seconds first), got {} in '{}'",
                                              fields.size(), trimmed));
    }
    CronExpr expr;
    expr.text_ = std::string(trimmed);
    const std::size_t shift = fields.size() == 6 ? 1 : 0;
    const FieldSpec* specs[] = {&kMinute, &kHour, &kDayOfMonth, &kMonth, &kDayOfWeek};
    std::uint64_t masks[5] = {};
    for (std::size_t i = 0; i < 5; ++i) {
        FieldParser p(*specs[i], static_cast<int>(i + shift + 1), fields[i + shift]);
        auto mask = p.parse();
        if (!mask) {
            return std::move(mask).error();
        }
        masks[i] = *mask;
    }
    if (shift == 1) {
        auto mask = FieldParser(kSecond, 1, fields[0]).parse();
        if (!mask) {
            return std::move(mask).error();
        }
        expr.seconds_ = *mask;
    } else {
        expr.seconds_ = 1;
    }
    expr.minutes_ = masks[0];
    expr.hours_ = static_cast<std::uint32_t>(masks[1]);
    expr.days_ = static_cast<std::uint32_t>(masks[2]);
    expr.months_ = static_cast<std::uint16_t>(masks[3]);
    // Day 7 is Sunday, like day 0.
    expr.weekdays_ = static_cast<std::uint8_t>((masks[4] | (masks[4] >> 7)) & 0x7f);
    expr.hour_star_ = fields[1 + shift].front() == '*';
    expr.dom_star_ = fields[2 + shift].front() == '*';
    expr.dow_star_ = fields[4 + shift].front() == '*';
    return expr;
}

bool CronExpr::operator==(const CronExpr& other) const {
    return seconds_ == other.seconds_ && minutes_ == other.minutes_ && hours_ == other.hours_ &&
           days_ == other.days_ && months_ == other.months_ && weekdays_ == other.weekdays_ &&
           dom_star_ == other.dom_star_ && dow_star_ == other.dow_star_ &&
           hour_star_ == other.hour_star_;
}

bool CronExpr::day_matches(std::chrono::sys_days day) const {
    const std::chrono::year_month_day ymd(day);
    const bool dom = (days_ >> static_cast<unsigned>(ymd.day()) & 1U) != 0;
    const bool dow = (weekdays_ >> std::chrono::weekday(day).c_encoding() & 1U) != 0;
    // Vixie cron: two restricted day fields widen the match; a '*' in either narrows it.
    if (dom_star_ || dow_star_) {
        return dom && dow;
    }
    return dom || dow;
}

std::optional<std::int64_t> CronExpr::first_time_of_day(std::int64_t second_of_day) const {
    std::int64_t h = second_of_day / 3600;
    std::int64_t m = second_of_day % 3600 / 60;
    std::int64_t s = second_of_day % 60;
    for (int hour = next_bit(hours_, h); hour >= 0; hour = next_bit(hours_, hour + 1)) {
        if (hour != h) {
            m = 0;
            s = 0;
        }
        for (int minute = next_bit(minutes_, m); minute >= 0;
             minute = next_bit(minutes_, minute + 1)) {
            if (minute != m) {
                s = 0;
            }
            const int second = next_bit(seconds_, s);
            if (second >= 0) {
                return std::int64_t{hour} * 3600 + minute * 60 + second;
            }
            s = 0;
            m = minute + 1;
        }
        m = 0;
        s = 0;
        h = hour + 1;
    }
    return std::nullopt;
}

std::optional<std::int64_t> CronExpr::first_local_match(std::int64_t from,
                                                        std::int64_t limit) const {
    using namespace std::chrono;
    std::int64_t t = from;
    while (t < limit) {
        const std::int64_t day_number = floor_div(t, kDay);
        const sys_days day{days(day_number)};
        const year_month_day ymd(day);
        if ((months_ >> static_cast<unsigned>(ymd.month()) & 1U) == 0) {
            const sys_days next_month = sys_days((ymd.year() / ymd.month() / 1) + months(1));
            t = next_month.time_since_epoch().count() * kDay;
            continue;
        }
        if (!day_matches(day)) {
            t = (day_number + 1) * kDay;
            continue;
        }
        if (auto tod = first_time_of_day(t - day_number * kDay)) {
            return day_number * kDay + *tod;
        }
        t = (day_number + 1) * kDay;
    }
    return std::nullopt;
}

common::Result<SysSeconds> CronExpr::next_after(SysSeconds after, const TimeZone& zone) const {
    using std::chrono::seconds;
    ZoneSegment seg = zone.segment_at(after);
    std::int64_t offset = seg.offset.count();
    const std::int64_t after_s = after.time_since_epoch().count();
    std::int64_t local_from = after_s + 1 + offset;
    // Starting inside the second pass of an overlap: a fixed-hour job already had its chance
    // at these local times during the first pass.
    if (!hour_star_ && seg.previous_offset > seg.offset) {
        local_from = std::max(local_from,
                              seg.begin.time_since_epoch().count() + seg.previous_offset.count());
    }
    const std::int64_t limit = after_s + offset + kCronSearchYears * 366 * kDay;
    // Each round crosses one zone transition; real zones have a few per year.
    for (int round = 0; round < 64 * kCronSearchYears; ++round) {
        const auto local = first_local_match(local_from, limit);
        if (!local) {
            break;
        }
        const std::int64_t instant = *local - offset;
        const std::int64_t end = seg.end.time_since_epoch().count();
        if (instant < end) {
            return SysSeconds(seconds(instant));
        }
        const ZoneSegment next = zone.segment_at(seg.end);
        const std::int64_t next_offset = next.offset.count();
        if (!hour_star_ && next_offset > offset && *local < end + next_offset) {
            // The local time falls in a spring-forward gap: fire as the gap ends.
            return seg.end;
        }
        local_from = hour_star_ ? end + next_offset : end + std::max(offset, next_offset);
        seg = next;
        offset = next_offset;
    }
    return make_error("cron", fmt::format("'{}' has no fire time within {} years after {} "
                                          "(does the day of month exist in the months given?)",
                                          text_, kCronSearchYears, format_utc(after)));
}

}  // namespace pgwarden::cron
