#include "cron/timezone.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <limits>

namespace pgwarden::cron {

namespace {

using common::make_error;
using std::chrono::seconds;

// Far enough to stand for "forever" while leaving room to add offsets without overflow.
constexpr std::int64_t kForever = std::int64_t{1} << 60;
constexpr std::int64_t kSecondsPerDay = 86'400;
constexpr std::size_t kMaxTzifSize = 1 << 20;

SysSeconds at_unix(std::int64_t s) {
    return SysSeconds(seconds(s));
}

// ---- POSIX TZ strings (POSIX.1-2017 8.3, with the RFC 8536 3.3.1 extensions) ----

class TzCursor {
public:
    explicit TzCursor(std::string_view text) : text_(text) {}

    bool done() const { return pos_ >= text_.size(); }
    char peek() const { return done() ? '\0' : text_[pos_]; }
    bool eat(char c) {
        if (peek() == c) {
            ++pos_;
            return true;
        }
        return false;
    }

    // "EST" or "<+0545>": the quoted form allows digits and signs.
    std::optional<std::string> abbrev() {
        if (eat('<')) {
            const auto close = text_.find('>', pos_);
            if (close == std::string_view::npos || close == pos_) {
                return std::nullopt;
            }
            std::string out(text_.substr(pos_, close - pos_));
            pos_ = close + 1;
            return out;
        }
        const std::size_t start = pos_;
        while (!done() && std::isalpha(static_cast<unsigned char>(peek())) != 0) {
            ++pos_;
        }
        if (pos_ - start < 3) {
            return std::nullopt;
        }
        return std::string(text_.substr(start, pos_ - start));
    }

    // [+-]hh[:mm[:ss]], hours up to `max_hours`; returns the signed seconds as written.
    std::optional<std::int64_t> hms(int max_hours) {
        std::int64_t sign = 1;
        if (eat('-')) {
            sign = -1;
        } else {
            eat('+');
        }
        auto h = number(0, max_hours);
        if (!h) {
            return std::nullopt;
        }
        std::int64_t total = *h * 3600;
        if (eat(':')) {
            auto m = number(0, 59);
            if (!m) {
                return std::nullopt;
            }
            total += *m * 60;
            if (eat(':')) {
                auto s = number(0, 59);
                if (!s) {
                    return std::nullopt;
                }
                total += *s;
            }
        }
        return sign * total;
    }

    std::optional<int> number(int lo, int hi) {
        const std::size_t start = pos_;
        int value = 0;
        while (!done() && std::isdigit(static_cast<unsigned char>(peek())) != 0) {
            value = value * 10 + (peek() - '0');
            ++pos_;
            if (value > hi) {
                return std::nullopt;
            }
        }
        if (pos_ == start || value < lo) {
            return std::nullopt;
        }
        return value;
    }

    std::optional<PosixTz::Rule> rule() {
        PosixTz::Rule r;
        if (eat('M')) {
            r.kind = PosixTz::Rule::Kind::MonthWeekDay;
            auto m = number(1, 12);
            if (!m || !eat('.')) {
                return std::nullopt;
            }
            auto w = number(1, 5);
            if (!w || !eat('.')) {
                return std::nullopt;
            }
            auto d = number(0, 6);
            if (!d) {
                return std::nullopt;
            }
            r.month = *m;
            r.week = *w;
            r.day = *d;
        } else if (eat('J')) {
            r.kind = PosixTz::Rule::Kind::JulianNoLeap;
            auto d = number(1, 365);
            if (!d) {
                return std::nullopt;
            }
            r.day = *d;
        } else {
            r.kind = PosixTz::Rule::Kind::ZeroBasedDay;
            auto d = number(0, 365);
            if (!d) {
                return std::nullopt;
            }
            r.day = *d;
        }
        if (eat('/')) {
            // RFC 8536 allows -167..167 hours so rules like "M3.5.0/-2" can be written.
            auto t = hms(167);
            if (!t) {
                return std::nullopt;
            }
            r.time = seconds(*t);
        }
        return r;
    }

private:
    std::string_view text_;
    std::size_t pos_ = 0;
};

// The local calendar day (days since 1970-01-01) on which `rule` switches in `year`.
std::int64_t rule_day(const PosixTz::Rule& rule, int year) {
    using namespace std::chrono;
    const sys_days jan1 = sys_days(std::chrono::year(year) / January / 1);
    switch (rule.kind) {
    case PosixTz::Rule::Kind::JulianNoLeap: {
        int index = rule.day - 1;
        if (std::chrono::year(year).is_leap() && rule.day >= 60) {
            ++index;
        }
        return (jan1 + days(index)).time_since_epoch().count();
    }
    case PosixTz::Rule::Kind::ZeroBasedDay:
        return (jan1 + days(rule.day)).time_since_epoch().count();
    case PosixTz::Rule::Kind::MonthWeekDay: {
        const auto ym = std::chrono::year(year) / month(static_cast<unsigned>(rule.month));
        const sys_days first = sys_days(ym / 1);
        const unsigned first_wd = weekday(first).c_encoding();
        const int to_first = (rule.day - static_cast<int>(first_wd) + 7) % 7;
        sys_days day = first + days(to_first + (rule.week - 1) * 7);
        const sys_days last = sys_days(ym / std::chrono::last);
        while (day > last) {
            day -= days(7);  // week 5 means "the last such weekday"
        }
        return day.time_since_epoch().count();
    }
    }
    return 0;
}

// Big-endian reads with bounds checks; a short file yields nullopt rather than a wild read.
class ByteReader {
public:
    explicit ByteReader(std::string_view bytes) : bytes_(bytes) {}

    bool skip(std::size_t n) {
        if (bytes_.size() - pos_ < n) {
            return false;
        }
        pos_ += n;
        return true;
    }
    std::optional<std::int64_t> be(std::size_t width) {
        if (bytes_.size() - pos_ < width) {
            return std::nullopt;
        }
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < width; ++i) {
            v = (v << 8) | static_cast<unsigned char>(bytes_[pos_ + i]);
        }
        pos_ += width;
        // Sign-extend: TZif times and offsets are two's complement.
        if (width < 8 && (v & (std::uint64_t{1} << (width * 8 - 1))) != 0) {
            v |= ~std::uint64_t{0} << (width * 8);
        }
        return static_cast<std::int64_t>(v);
    }
    std::size_t pos() const { return pos_; }
    std::string_view rest() const { return bytes_.substr(pos_); }

private:
    std::string_view bytes_;
    std::size_t pos_ = 0;
};

struct TzifCounts {
    std::int64_t isut = 0;
    std::int64_t isstd = 0;
    std::int64_t leap = 0;
    std::int64_t time = 0;
    std::int64_t type = 0;
    std::int64_t chars = 0;
};

std::optional<TzifCounts> read_header(ByteReader& r, char& version) {
    if (r.rest().substr(0, 4) != "TZif" || r.rest().size() < 44) {
        return std::nullopt;
    }
    version = r.rest()[4];
    r.skip(20);
    TzifCounts c;
    for (std::int64_t* field : {&c.isut, &c.isstd, &c.leap, &c.time, &c.type, &c.chars}) {
        auto v = r.be(4);
        if (!v || *v < 0) {
            return std::nullopt;
        }
        *field = *v;
    }
    return c;
}

bool valid_zone_name(std::string_view name) {
    if (name.empty() || name.size() > 255 || name.front() == '/') {
        return false;
    }
    std::size_t start = 0;
    while (start <= name.size()) {
        std::size_t slash = name.find('/', start);
        if (slash == std::string_view::npos) {
            slash = name.size();
        }
        const std::string_view part = name.substr(start, slash - start);
        if (part.empty() || part == "." || part == "..") {
            return false;
        }
        for (char c : part) {
            const bool ok = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' ||
                            c == '-' || c == '+' || c == '.';
            if (!ok) {
                return false;
            }
        }
        start = slash + 1;
    }
    return true;
}

}  // namespace

std::string format_utc(SysSeconds t) {
    using namespace std::chrono;
    const sys_days day = floor<days>(t);
    const year_month_day ymd(day);
    const hh_mm_ss<seconds> hms(t - day);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", static_cast<int>(ymd.year()),
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                       hms.hours().count(), hms.minutes().count(), hms.seconds().count());
}

common::Result<PosixTz> parse_posix_tz(std::string_view text) {
    TzCursor c(text);
    PosixTz tz;
    auto bad = [&](std::string_view what) {
        return make_error("tz", fmt::format("TZ rule '{}': {}", text, what));
    };
    auto std_name = c.abbrev();
    if (!std_name) {
        return bad("expected a standard-time abbreviation (3+ letters or <...>)");
    }
    tz.std_abbrev = *std_name;
    auto std_off = c.hms(24);
    if (!std_off) {
        return bad("expected a UTC offset after the standard-time abbreviation");
    }
    tz.std_offset = seconds(-*std_off);  // POSIX counts hours west of Greenwich
    if (c.done()) {
        return tz;
    }
    auto dst_name = c.abbrev();
    if (!dst_name) {
        return bad("expected a daylight-time abbreviation");
    }
    tz.dst_abbrev = *dst_name;
    tz.dst_offset = tz.std_offset + seconds(3600);
    if (c.peek() != ',' && !c.done()) {
        auto dst_off = c.hms(24);
        if (!dst_off) {
            return bad("expected a daylight-time UTC offset");
        }
        tz.dst_offset = seconds(-*dst_off);
    }
    if (c.done()) {
        // POSIX leaves the default rule to the implementation; glibc uses the US rule.
        tz.dst_start = PosixTz::Rule{PosixTz::Rule::Kind::MonthWeekDay, 0, 2, 3, seconds(7200)};
        tz.dst_end = PosixTz::Rule{PosixTz::Rule::Kind::MonthWeekDay, 0, 1, 11, seconds(7200)};
        return tz;
    }
    if (!c.eat(',')) {
        return bad("expected ',' before the DST start rule");
    }
    auto start = c.rule();
    if (!start) {
        return bad("malformed DST start rule (Jn, n or Mm.w.d, optionally /time)");
    }
    if (!c.eat(',')) {
        return bad("expected ',' before the DST end rule");
    }
    auto end = c.rule();
    if (!end) {
        return bad("malformed DST end rule (Jn, n or Mm.w.d, optionally /time)");
    }
    if (!c.done()) {
        return bad("unexpected text after the DST end rule");
    }
    tz.dst_start = *start;
    tz.dst_end = *end;
    return tz;
}

TimeZone TimeZone::utc() {
    TimeZone tz;
    tz.name_ = "UTC";
    return tz;
}

common::Result<TimeZone> TimeZone::from_tzif(std::string name, std::string_view bytes) {
    auto bad = [&](std::string_view what) {
        return make_error("tz", fmt::format("time zone {}: {}", name, what));
    };
    ByteReader r(bytes);
    char version = 0;
    auto v1 = read_header(r, version);
    if (!v1) {
        return bad("not a TZif file");
    }
    if (version < '2') {
        return bad("TZif version 1 files are not supported (no 64-bit data)");
    }
    // Skip the 32-bit block; the v2+ block after it repeats the data with 64-bit times.
    const std::int64_t v1_size =
        v1->time * 5 + v1->type * 6 + v1->chars + v1->leap * 8 + v1->isstd + v1->isut;
    if (!r.skip(static_cast<std::size_t>(v1_size))) {
        return bad("truncated version 1 data block");
    }
    char version2 = 0;
    auto c = read_header(r, version2);
    if (!c) {
        return bad("missing version 2+ header");
    }
    if (c->leap != 0) {
        return bad("leap-second (\"right/\") zones are not supported");
    }
    if (c->type < 1 || c->type > 256) {
        return bad("invalid local time type count");
    }
    std::vector<std::int64_t> times;
    times.reserve(static_cast<std::size_t>(c->time));
    for (std::int64_t i = 0; i < c->time; ++i) {
        auto t = r.be(8);
        if (!t) {
            return bad("truncated transition times");
        }
        if (!times.empty() && *t <= times.back()) {
            return bad("transition times are not ascending");
        }
        times.push_back(*t);
    }
    std::vector<std::int64_t> indices;
    for (std::int64_t i = 0; i < c->time; ++i) {
        auto idx = r.be(1);
        if (!idx) {
            return bad("truncated transition types");
        }
        indices.push_back(*idx & 0xff);
    }
    std::vector<LocalType> types;
    for (std::int64_t i = 0; i < c->type; ++i) {
        auto off = r.be(4);
        auto dst = r.be(1);
        auto abbr = r.be(1);
        if (!off || !dst || !abbr) {
            return bad("truncated local time types");
        }
        if (*off < -89'999 || *off > 93'599) {
            return bad("UTC offset out of range");
        }
        types.push_back(LocalType{seconds(*off), *dst != 0});
    }
    if (!r.skip(static_cast<std::size_t>(c->chars + c->isstd + c->isut))) {
        return bad("truncated abbreviations or indicators");
    }

    TimeZone tz;
    tz.name_ = name;
    tz.initial_ = types[0];
    for (std::size_t i = 0; i < times.size(); ++i) {
        if (indices[i] >= static_cast<std::int64_t>(types.size())) {
            return bad("transition refers to a missing local time type");
        }
        const LocalType& lt = types[static_cast<std::size_t>(indices[i])];
        tz.transitions_.push_back(Transition{times[i], lt.offset.count(), lt.is_dst});
    }
    const std::string_view rest = r.rest();
    if (rest.size() >= 2 && rest.front() == '\n') {
        const auto nl = rest.find('\n', 1);
        if (nl == std::string_view::npos) {
            return bad("unterminated footer");
        }
        const std::string_view footer = rest.substr(1, nl - 1);
        if (!footer.empty()) {
            auto posix = parse_posix_tz(footer);
            if (!posix) {
                return bad(posix.error().message);
            }
            tz.footer_ = std::move(posix.value());
        }
    }
    return tz;
}

common::Result<TimeZone> TimeZone::load(std::string_view name, std::string_view dir) {
    if (name == "UTC" || name == "Etc/UTC") {
        return utc();
    }
    if (!valid_zone_name(name)) {
        return make_error("tz", fmt::format("'{}' is not a valid IANA time zone name "
                                            "(like Europe/Berlin)",
                                            name));
    }
    const std::string path = fmt::format("{}/{}", dir, name);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        return make_error("tz", fmt::format("unknown time zone '{}' (no file {})", name, path));
    }
    std::string bytes;
    bytes.resize(kMaxTzifSize + 1);
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    bytes.resize(static_cast<std::size_t>(in.gcount()));
    if (bytes.size() > kMaxTzifSize) {
        return make_error("tz", fmt::format("time zone file {} is too large", path));
    }
    return from_tzif(std::string(name), bytes);
}

void TimeZone::footer_transitions(int year, std::vector<Transition>& out) const {
    const PosixTz& f = *footer_;
    const std::int64_t start_local =
        rule_day(f.dst_start, year) * kSecondsPerDay + f.dst_start.time.count();
    const std::int64_t end_local =
        rule_day(f.dst_end, year) * kSecondsPerDay + f.dst_end.time.count();
    // The start is written in standard time, the end in daylight time (POSIX 8.3).
    out.push_back(Transition{start_local - f.std_offset.count(), f.dst_offset.count(), true});
    out.push_back(Transition{end_local - f.dst_offset.count(), f.std_offset.count(), false});
}

ZoneSegment TimeZone::footer_segment(SysSeconds t, const Transition& last_table) const {
    const PosixTz& f = *footer_;
    ZoneSegment seg;
    seg.end = at_unix(kForever);
    if (!f.has_dst()) {
        seg.begin = at_unix(last_table.at);
        seg.offset = f.std_offset;
        seg.previous_offset = seconds(last_table.offset);
        return seg;
    }
    const auto y = static_cast<int>(
        std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(t)).year());
    std::vector<Transition> list;
    list.reserve(6);
    for (int year = y - 1; year <= y + 1; ++year) {
        footer_transitions(year, list);
    }
    // On a tie (all-year DST written as "0/0,J365/25") the end sorts first so DST stays on.
    std::sort(list.begin(), list.end(), [](const Transition& a, const Transition& b) {
        return a.at != b.at ? a.at < b.at : (!a.is_dst && b.is_dst);
    });
    Transition previous = last_table;
    Transition current = last_table;
    const std::int64_t now = t.time_since_epoch().count();
    std::int64_t next = kForever;
    for (const Transition& tr : list) {
        if (tr.at <= last_table.at) {
            continue;
        }
        if (tr.at <= now) {
            previous = current;
            current = tr;
        } else {
            next = tr.at;
            break;
        }
    }
    seg.begin = at_unix(current.at);
    seg.end = at_unix(next);
    seg.offset = seconds(current.offset);
    seg.is_dst = current.is_dst;
    seg.previous_offset = seconds(previous.offset);
    return seg;
}

ZoneSegment TimeZone::segment_at(SysSeconds t) const {
    const std::int64_t now = t.time_since_epoch().count();
    auto it = std::upper_bound(transitions_.begin(), transitions_.end(), now,
                               [](std::int64_t v, const Transition& tr) { return v < tr.at; });
    ZoneSegment seg;
    if (it == transitions_.begin()) {
        const Transition before{-kForever, initial_.offset.count(), initial_.is_dst};
        if (transitions_.empty() && footer_) {
            return footer_segment(t, before);
        }
        seg.begin = at_unix(-kForever);
        seg.end = at_unix(transitions_.empty() ? kForever : transitions_.front().at);
        seg.offset = initial_.offset;
        seg.previous_offset = initial_.offset;
        seg.is_dst = initial_.is_dst;
        return seg;
    }
    const auto idx = static_cast<std::size_t>(std::distance(transitions_.begin(), it) - 1);
    const Transition& cur = transitions_[idx];
    const std::int64_t prev_offset =
        idx > 0 ? transitions_[idx - 1].offset : initial_.offset.count();
    if (idx + 1 == transitions_.size() && footer_) {
        ZoneSegment fs = footer_segment(t, cur);
        if (fs.begin.time_since_epoch().count() == cur.at) {
            fs.previous_offset = seconds(prev_offset);
        }
        return fs;
    }
    seg.begin = at_unix(cur.at);
    seg.end = at_unix(idx + 1 < transitions_.size() ? transitions_[idx + 1].at : kForever);
    seg.offset = seconds(cur.offset);
    seg.previous_offset = seconds(prev_offset);
    seg.is_dst = cur.is_dst;
    return seg;
}

}  // namespace pgwarden::cron
