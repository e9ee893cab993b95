#include "config/config.hpp"

#include <fmt/format.h>

#include <cctype>
#include <charconv>

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

// A standard base64 string (with padding) that decodes to `bytes` bytes, or to at least
// one byte when `bytes` is 0.
bool is_base64(std::string_view text, size_t bytes) {
    if (text.empty() || text.size() % 4 != 0) {
        return false;
    }
    size_t padding = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '=') {
            if (i + 2 < text.size()) {
                return false;
            }
            ++padding;
            continue;
        }
        if (padding > 0) {
            return false;
        }
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/') {
            return false;
        }
    }
    const size_t decoded = text.size() / 4 * 3 - padding;
    return bytes == 0 ? decoded > 0 : decoded == bytes;
}

// "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>", as in pg_authid.
bool is_valid_scram(std::string_view secret) {
    constexpr std::string_view kPrefix = "SCRAM-SHA-256$";
    secret.remove_prefix(kPrefix.size());
    auto dollar = secret.find('$');
    if (dollar == std::string_view::npos) {
        return false;
    }
    auto head = secret.substr(0, dollar);
    auto keys = secret.substr(dollar + 1);
    auto colon = head.find(':');
    auto key_colon = keys.find(':');
    if (colon == std::string_view::npos || key_colon == std::string_view::npos) {
        return false;
    }
    int iterations = 0;
    auto iter_text = head.substr(0, colon);
    auto [end, ec] = std::from_chars(iter_text.data(), iter_text.data() + iter_text.size(),
                                     iterations);
    if (ec != std::errc() || end != iter_text.data() + iter_text.size() || iterations < 1) {
        return false;
    }
    return is_base64(head.substr(colon + 1), 0) && is_base64(keys.substr(0, key_colon), 32) &&
           is_base64(keys.substr(key_colon + 1), 32);
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
            fail(line_no, p.column(), "unexpected text after the secret",
                 std::string(kLineHint));
            continue;
        }
        if (secret->starts_with("SCRAM-SHA-256$") && !is_valid_scram(*secret)) {
            fail(line_no, secret_column,
                 fmt::format("malformed SCRAM-SHA-256 verifier for user \"{}\"", *name),
                 "expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>, "
                 "as in pg_authid.rolpassword");
            continue;
        }
        if (auto it = first_line.find(*name); it != first_line.end()) {
            fail(line_no, name_column,
                 fmt::format("user \"{}\" is listed twice (first on line {})", *name,
                             it->second),
                 "keep one line per user");
            continue;
        }
        first_line.emplace(*name, line_no);
        users.emplace(*name, UserEntry{*name, std::move(*secret)});
    }
    return users;
}

}  // namespace pgwarden::config
