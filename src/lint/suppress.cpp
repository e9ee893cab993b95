#include "lint/suppress.hpp"

namespace pgwarden::lint {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    return s;
}

// Splits "a,b c" at commas up to the first space: anything after a space is an explanation.
std::vector<std::string> split_rules(std::string_view s) {
    std::vector<std::string> out;
    std::size_t space = s.find_first_of(" \t");
    s = s.substr(0, space);
    while (!s.empty()) {
        std::size_t comma = s.find(',');
        std::string_view item = trim(s.substr(0, comma));
        if (!item.empty()) {
            out.emplace_back(item);
        }
        if (comma == std::string_view::npos) {
            break;
        }
        s.remove_prefix(comma + 1);
    }
    return out;
}

}  // namespace

Suppressions::Suppressions(const ParsedFile& file, const LineIndex& lines) {
    for (const Comment& c : file.comments) {
        std::string_view text = file.source.substr(c.offset, c.length);
        if (!text.starts_with("//")) {
            continue;
        }
        text = trim(text.substr(2));
        Entry e;
        e.line = lines.line_of(c.offset);
        if (text.starts_with("nolint")) {
            std::string_view rest = text.substr(6);
            if (rest.empty() || rest.front() == ' ' || rest.front() == '\t') {
                e.all = true;  // bare //nolint silences every linter, us included
            } else if (rest.front() == ':') {
                for (auto& r : split_rules(rest.substr(1))) {
                    if (r == "pgwarden" || r == "all") {
                        e.all = true;
                    } else {
                        e.rules.push_back(std::move(r));
                    }
                }
                if (!e.all && e.rules.empty()) {
                    continue;
                }
            } else {
                continue;
            }
        } else if (text.starts_with("pgwarden:ignore")) {
            e.rules = split_rules(trim(text.substr(15)));
            e.all = e.rules.empty();
        } else {
            continue;
        }
        entries_.push_back(std::move(e));
    }
}

bool Suppressions::suppressed(std::uint32_t line, std::string_view rule) const {
    for (const Entry& e : entries_) {
        if (e.line != line && e.line + 1 != line) {
            continue;
        }
        if (e.all) {
            return true;
        }
        for (const auto& r : e.rules) {
            if (r == rule) {
                return true;
            }
        }
    }
    return false;
}

}  // namespace pgwarden::lint
