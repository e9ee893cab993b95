#include "config/config.hpp"

#include <fmt/format.h>

#include <cctype>
#include <cstdint>
#include <limits>

namespace pgwarden::config {

namespace {

struct Unit {
    std::string_view suffix;
    int64_t ms;
};

// "ms" must be tried before "m", or "250ms" would read as 250 minutes followed by junk.
constexpr Unit kUnits[] = {
    {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000},
};

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

bool is_digit(char c) {
    return std::isdigit(static_cast<unsigned char>(c)) != 0;
}

// One "<digits>[.<digits>]" number scaled by `unit_ms`; nullopt when it is not a whole
// number of milliseconds or does not fit.
std::optional<int64_t> scaled(std::string_view whole, std::string_view fraction, int64_t unit_ms) {
    int64_t w = 0;
    for (char c : whole) {
        if (w > (kMax - 9) / 10) {
            return std::nullopt;
        }
        w = w * 10 + (c - '0');
    }
    if (w > kMax / unit_ms) {
        return std::nullopt;
    }
    int64_t total = w * unit_ms;
    if (fraction.empty()) {
        return total;
    }
    // Nine fraction digits times a day in ms stays far below int64's limit.
    if (fraction.size() > 9) {
        return std::nullopt;
    }
    int64_t f = 0;
    int64_t scale = 1;
    for (char c : fraction) {
        f = f * 10 + (c - '0');
        scale *= 10;
    }
    const int64_t numerator = f * unit_ms;
    if (numerator % scale != 0) {
        return std::nullopt;
    }
    if (total > kMax - numerator / scale) {
        return std::nullopt;
    }
    return total + numerator / scale;
}

}  // namespace

std::optional<Duration> parse_duration(std::string_view text) {
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
        text.remove_prefix(1);
    }
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
        text.remove_suffix(1);
    }
    if (text.empty()) {
        return std::nullopt;
    }
    int64_t total = 0;
    bool first = true;
    while (!text.empty()) {
        size_t i = 0;
        while (i < text.size() && is_digit(text[i])) {
            ++i;
        }
        std::string_view whole = text.substr(0, i);
        std::string_view fraction;
        if (i < text.size() && text[i] == '.') {
            size_t j = i + 1;
            while (j < text.size() && is_digit(text[j])) {
                ++j;
            }
            fraction = text.substr(i + 1, j - i - 1);
            if (fraction.empty()) {
                return std::nullopt;
            }
            i = j;
        }
        if (whole.empty() && fraction.empty()) {
            return std::nullopt;
        }
        text.remove_prefix(i);
        int64_t unit_ms = 0;
        if (text.empty() && first) {
            unit_ms = 1000;  // a bare number is seconds, like PgBouncer's settings
        } else {
            for (const auto& unit : kUnits) {
                if (text.starts_with(unit.suffix)) {
                    unit_ms = unit.ms;
                    text.remove_prefix(unit.suffix.size());
                    break;
                }
            }
            if (unit_ms == 0) {
                return std::nullopt;
            }
        }
        auto part = scaled(whole.empty() ? std::string_view("0") : whole, fraction, unit_ms);
        if (!part || total > kMax - *part) {
            return std::nullopt;
        }
        total += *part;
        first = false;
    }
    return Duration(total);
}

std::string format_duration(Duration duration) {
    const int64_t ms = duration.count();
    if (ms == 0) {
        return "0";
    }
    for (auto it = std::rbegin(kUnits); it != std::rend(kUnits); ++it) {
        if (ms % it->ms == 0) {
            return fmt::format("{}{}", ms / it->ms, it->suffix);
        }
    }
    return fmt::format("{}ms", ms);
}

}  // namespace pgwarden::config
