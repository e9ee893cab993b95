#include "config/config.hpp"

#include "pgwire/scram.hpp"

#include <fmt/format.h>

// PgBouncer's auth_file format (https://www.pgbouncer.org/config.html#authentication-file-format):
// one `"user" "secret"` pair per line, `""` for a quote inside a field. Unlike PgBouncer we
// reject trailing text and malformed SCRAM verifiers instead of skipping them, because a
// silently ignored line shows up later as a login failure nobody can explain.
namespace pgwarden::config {

namespace {

constexpr std::string_view kLineHint = "each line is \"user\" \"secret\"";

bool is_blank(char c) {
    return c == ' ' || c == '\t';
}

struct LineParser {
    std::string_view line;
    size_t pos = 0;

    void skip_blanks() {
        while (pos < line.size() && is_blank(line[pos])) {
            ++pos;
        }
    }
    bool at_end() const { return pos >= line.size(); }
    int column() const { return static_cast<int>(pos) + 1; }

    // Reads a quoted field starting at `pos`; nullopt when the closing quote is missing.
    std::optional<std::string> quoted() {
        std::string out;
        ++pos;
        while (pos < line.size()) {
            const char c = line[pos++];
            if (c != '"') {
                out += c;
                continue;
            }
            if (pos < line.size() && line[pos] == '"') {
                out += '"';
                ++pos;
                continue;
            }
            return out;
        }
        return std::nullopt;
    }
};

}  // namespace

std::map<std::string, UserEntry> parse_userlist(std::string_view text, const std::string& path,
                                                std::vector<Diagnostic>& errors) {
    std::map<std::string, UserEntry> users;
    std::map<std::string, int> first_line;
    auto fail = [&](int line, int column, std::string message, std::string hint) {
        errors.push_back(Diagnostic{path, line, column, {}, std::move(message), std::move(hint)});
    };
    int line_no = 0;
    while (!text.empty()) {
        ++line_no;
        auto newline = text.find('\n');
        std::string_view line = text.substr(0, newline);
        text.remove_prefix(newline == std::string_view::npos ? text.size() : newline + 1);
        if (!line.empty() && line.back() == '\r') {
            line.remove_suffix(1);
        }
        LineParser p{line};
        p.skip_blanks();
        if (p.at_end() || line[p.pos] == ';' || line[p.pos] == '#') {
            continue;
        }
        if (line[p.pos] != '"') {
            fail(line_no, p.column(), "expected a quoted user name", std::string(kLineHint));
            continue;
        }
        const int name_column = p.column();
        auto name = p.quoted();
        if (!name) {
            fail(line_no, name_column, "unterminated quoted user name",
                 "close it with \" (write \"\" for a quote inside)");
            continue;
        }
        if (name->empty()) {
            fail(line_no, name_column, "empty user name", std::string(kLineHint));
            continue;
        }
        const size_t after_name = p.pos;
        p.skip_blanks();
        if (p.at_end()) {
            fail(line_no, p.column(), fmt::format("missing secret for user \"{}\"", *name),
                 std::string(kLineHint));
            continue;
        }
        if (line[p.pos] != '"' || p.pos == after_name) {
            fail(line_no, p.column(),
                 fmt::format("expected a quoted secret after user \"{}\"", *name),
                 std::string(kLineHint));
            continue;
        }
        const int secret_column = p.column();
        auto secret = p.quoted();
        if (!secret) {
            fail(line_no, secret_column,
                 fmt::format("unterminated quoted secret for user \"{}\"", *name),
                 "close it with \" (write \"\" for a quote inside)");
            continue;
        }
        p.skip_blanks();
        if (!p.at_end()) {
            fail(line_no, p.column(), "unexpected text after the secret", std::string(kLineHint));
            continue;
        }
        // Validated with the proxy's own parser, so `pgwarden check` passing means every
        // verifier will also work at login.
        if (secret->starts_with("SCRAM-SHA-256$")) {
            if (auto parsed = pgwire::scram::parse_secret(*secret); !parsed) {
                std::string_view why = parsed.error().message;
                constexpr std::string_view kPrefix = "invalid SCRAM secret: ";
                if (why.starts_with(kPrefix)) {
                    why.remove_prefix(kPrefix.size());
                }
                fail(
                    line_no, secret_column,
                    fmt::format("malformed SCRAM-SHA-256 verifier for user \"{}\": {}", *name, why),
                    "expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, "
                    "as in pg_authid.rolpassword");
                continue;
            }
        }
        if (auto it = first_line.find(*name); it != first_line.end()) {
            fail(line_no, name_column,
                 fmt::format("user \"{}\" is listed twice (first on line {})", *name, it->second),
                 "keep one line per user");
            continue;
        }
        first_line.emplace(*name, line_no);
        users.emplace(*name, UserEntry{*name, std::move(*secret)});
    }
    return users;
}

}  // namespace pgwarden::config
