#include "config/workload_class.hpp"

#include <fmt/format.h>

#include <arpa/inet.h>
#include <fnmatch.h>

#include <cctype>
#include <charconv>
#include <cstring>

namespace pgwarden::config {

namespace {

bool glob_any(const std::vector<std::string>& globs, std::string_view value) {
    if (globs.empty()) {
        return true;
    }
    const std::string text(value);
    for (const auto& g : globs) {
        if (::fnmatch(g.c_str(), text.c_str(), 0) == 0) {
            return true;
        }
    }
    return false;
}

std::optional<std::array<uint8_t, 16>> parse_address(std::string_view text) {
    std::string s(text);
    // Link-local scope ids ("fe80::1%eth0") are not part of the address.
    if (auto pct = s.find('%'); pct != std::string::npos) {
        s.resize(pct);
    }
    std::array<uint8_t, 16> out{};
    in_addr v4{};
    if (::inet_pton(AF_INET, s.c_str(), &v4) == 1) {
        out[10] = 0xff;
        out[11] = 0xff;
        std::memcpy(out.data() + 12, &v4, 4);
        return out;
    }
    in6_addr v6{};
    if (::inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
        std::memcpy(out.data(), &v6, 16);
        return out;
    }
    return std::nullopt;
}

}  // namespace

int PoolShare::resolve(int pool_size) const {
    if (!percent) {
        return value;
    }
    const int n = static_cast<int>(static_cast<int64_t>(pool_size) * value / 100);
    return value > 0 && n == 0 ? 1 : n;
}

std::string PoolShare::to_string() const {
    return percent ? fmt::format("{}%", value) : fmt::format("{}", value);
}

std::optional<Cidr> Cidr::parse(std::string_view text) {
    const auto slash = text.find('/');
    const auto addr_text = text.substr(0, slash);
    const bool v4 = addr_text.find(':') == std::string_view::npos;
    auto addr = parse_address(addr_text);
    if (!addr) {
        return std::nullopt;
    }
    int bits = v4 ? 32 : 128;
    if (slash != std::string_view::npos) {
        const auto p = text.substr(slash + 1);
        int value = -1;
        auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
        if (ec != std::errc() || end != p.data() + p.size() || p.empty() || value < 0 ||
            value > bits) {
            return std::nullopt;
        }
        bits = value;
    }
    Cidr c;
    c.prefix = v4 ? bits + 96 : bits;
    c.bytes = *addr;
    // Host bits are ignored, as PostgreSQL's pg_hba does not allow them but people write them.
    for (int i = c.prefix; i < 128; ++i) {
        c.bytes[static_cast<size_t>(i / 8)] &= static_cast<uint8_t>(~(0x80u >> (i % 8)));
    }
    return c;
}

bool Cidr::contains(std::string_view address) const {
    auto addr = parse_address(address);
    if (!addr) {
        return false;
    }
    for (int i = 0; i < prefix; ++i) {
        const auto byte = static_cast<size_t>(i / 8);
        const auto mask = static_cast<uint8_t>(0x80u >> (i % 8));
        if (((*addr)[byte] & mask) != (bytes[byte] & mask)) {
            return false;
        }
    }
    return true;
}

bool WorkloadClass::matches(std::string_view app, std::string_view user_name, std::string_view db,
                            std::string_view address) const {
    if (!glob_any(application_name, app) || !glob_any(user, user_name) || !glob_any(database, db)) {
        return false;
    }
    if (client_addr.empty()) {
        return true;
    }
    for (const auto& c : client_addr) {
        if (c.contains(address)) {
            return true;
        }
    }
    return false;
}

std::string_view to_string(LeakAction action) {
    switch (action) {
    case LeakAction::Report:
        return "report";
    case LeakAction::Cancel:
        return "cancel";
    case LeakAction::Terminate:
        return "terminate";
    }
    return "report";
}

std::string mask_sql_literals(std::string_view sql) {
    std::string out;
    out.reserve(sql.size());
    size_t i = 0;
    auto is_ident = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '$';
    };
    while (i < sql.size()) {
        const char c = sql[i];
        if (c == '\'') {
            // '...' with '' escapes (and E'...' with backslash escapes: the E stays as is).
            const bool backslash = i > 0 && (sql[i - 1] == 'E' || sql[i - 1] == 'e');
            ++i;
            while (i < sql.size()) {
                if (backslash && sql[i] == '\\' && i + 1 < sql.size()) {
                    i += 2;
                    continue;
                }
                if (sql[i] == '\'') {
                    if (i + 1 < sql.size() && sql[i + 1] == '\'') {
                        i += 2;
                        continue;
                    }
                    ++i;
                    break;
                }
                ++i;
            }
            out += '?';
            continue;
        }
        if (c == '"') {
            // A quoted identifier is a name, not data: keep it.
            const size_t end = sql.find('"', i + 1);
            const size_t stop = end == std::string_view::npos ? sql.size() : end + 1;
            out.append(sql.substr(i, stop - i));
            i = stop;
            continue;
        }
        if (c == '$' && (i == 0 || !is_ident(sql[i - 1]))) {
            // $tag$...$tag$ body; $1 parameters are kept.
            size_t j = i + 1;
            while (j < sql.size() &&
                   (std::isalnum(static_cast<unsigned char>(sql[j])) != 0 || sql[j] == '_')) {
                ++j;
            }
            if (j < sql.size() && sql[j] == '$' &&
                (j == i + 1 || std::isdigit(static_cast<unsigned char>(sql[i + 1])) == 0)) {
                const std::string_view tag = sql.substr(i, j - i + 1);
                const size_t close = sql.find(tag, j + 1);
                i = close == std::string_view::npos ? sql.size() : close + tag.size();
                out += '?';
                continue;
            }
        }
        if (std::isdigit(static_cast<unsigned char>(c)) != 0 && (i == 0 || !is_ident(sql[i - 1]))) {
            while (i < sql.size() && (std::isalnum(static_cast<unsigned char>(sql[i])) != 0 ||
                                      sql[i] == '.' || sql[i] == '_')) {
                ++i;
            }
            out += '?';
            continue;
        }
        if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
            // A comment may hold anything; drop it.
            const size_t nl = sql.find('\n', i);
            i = nl == std::string_view::npos ? sql.size() : nl;
            continue;
        }
        out += c;
        ++i;
    }
    return out;
}

}  // namespace pgwarden::config
