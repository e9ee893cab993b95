#include "proxy/session_params.hpp"

#include <algorithm>

#include "common/ascii.hpp"

namespace pgwarden::proxy {

const std::vector<std::string>& tracked_parameters() {
    static const std::vector<std::string> names{"application_name", "client_encoding",
                                                "DateStyle",        "TimeZone",
                                                "IntervalStyle",    "standard_conforming_strings",
                                                "search_path"};
    return names;
}

using common::ascii_alnum;
using common::ascii_space;
using common::iequals;

bool is_tracked(std::string_view name) {
    const auto& names = tracked_parameters();
    return std::any_of(names.begin(), names.end(),
                       [&](const std::string& n) { return iequals(n, name); });
}

std::string quote_literal(std::string_view value) {
    // E'' with doubled backslashes means the same whatever standard_conforming_strings is,
    // and that setting is itself carried between servers, so it may be off.
    std::string out = "E'";
    for (char c : value) {
        if (c == '\'') {
            out += "''";
        } else if (c == '\\') {
            out += "\\\\";
        } else {
            out += c;
        }
    }
    out += '\'';
    return out;
}

std::string sync_query(const std::map<std::string, std::string>& wanted,
                       std::map<std::string, std::string>& server,
                       const std::map<std::string, std::string>& wanted_extra,
                       std::map<std::string, std::string>& server_extra) {
    std::string q;
    for (const auto& [name, value] : wanted) {
        auto it = server.find(name);
        if (it != server.end() && it->second == value) {
            continue;
        }
        if (name == "search_path") {
            if (value.empty()) {
                if (it == server.end() || it->second.empty()) {
                    continue;
                }
                q += "RESET search_path;";
            } else {
                // search_path is kept as the client wrote it (identifiers, maybe quoted).
                q += "SET search_path TO " + value + ";";
            }
        } else {
            q += "SET " + name + " TO " + quote_literal(value) + ";";
        }
        server[name] = value;
    }
    for (auto it = server_extra.begin(); it != server_extra.end();) {
        if (wanted_extra.count(it->first) == 0) {
            q += "RESET " + it->first + ";";
            it = server_extra.erase(it);
        } else {
            ++it;
        }
    }
    for (const auto& [name, value] : wanted_extra) {
        auto it = server_extra.find(name);
        if (it != server_extra.end() && it->second == value) {
            continue;
        }
        q += "SET " + name + " TO " + quote_literal(value) + ";";
        server_extra[name] = value;
    }
    return q;
}

std::shared_ptr<const ParamSet> ParamSetCache::intern(ParamSet set) {
    std::lock_guard lock(mu_);
    for (auto it = sets_.begin(); it != sets_.end(); ++it) {
        if (**it == set) {
            auto found = *it;
            sets_.erase(it);
            sets_.push_back(found);
            return found;
        }
    }
    if (sets_.size() >= kMaxSets) {
        sets_.erase(sets_.begin());
    }
    sets_.push_back(std::make_shared<const ParamSet>(std::move(set)));
    return sets_.back();
}

bool parse_set_search_path(std::string_view query, std::string& value) {
    size_t i = 0;
    auto skip_ws = [&] {
        while (i < query.size() && ascii_space(query[i])) {
            ++i;
        }
    };
    auto keyword = [&](std::string_view kw) {
        skip_ws();
        if (query.size() - i >= kw.size() &&
            common::iequals_lower(query.substr(i, kw.size()), kw) &&
            (i + kw.size() == query.size() || !ascii_alnum(query[i + kw.size()]))) {
            i += kw.size();
            return true;
        }
        return false;
    };
    // Every query passes through here: reject all that cannot start with SET, RESET or
    // DISCARD (SELECT among them) by their first three letters before the full parse.
    skip_ws();
    if (query.size() - i < 3) {
        return false;
    }
    const char first = common::ascii_lower(query[i]);
    const std::string_view head = first == 's' ? "set" : first == 'r' ? "res" : "dis";
    if (!common::iequals_lower(query.substr(i, 3), head)) {
        return false;
    }
    if (keyword("reset") || keyword("discard")) {
        // RESET search_path, RESET ALL and DISCARD ALL all return it to the default.
        if (!keyword("search_path") && !keyword("all")) {
            return false;
        }
        skip_ws();
        while (i < query.size() && (query[i] == ';' || ascii_space(query[i]))) {
            ++i;
        }
        if (i != query.size()) {
            return false;
        }
        value.clear();
        return true;
    }
    if (!keyword("set")) {
        return false;
    }
    if (keyword("local")) {
        return false;  // transaction-scoped: nothing to carry over
    }
    keyword("session");
    if (!keyword("search_path")) {
        return false;
    }
    skip_ws();
    if (keyword("to")) {
    } else if (i < query.size() && query[i] == '=') {
        ++i;
    } else {
        return false;
    }
    skip_ws();
    std::string_view rest = query.substr(i);
    while (!rest.empty() && (ascii_space(rest.back()) || rest.back() == ';')) {
        rest.remove_suffix(1);
    }
    // Only a single statement without further semicolons or comments is understood; a
    // comment would swallow whatever pgwarden appends after the value.
    if (rest.empty() || rest.find(';') != std::string_view::npos ||
        rest.find("--") != std::string_view::npos || rest.find("/*") != std::string_view::npos) {
        return false;
    }
    value = common::iequals_lower(rest, "default") ? std::string() : std::string(rest);
    return true;
}

}  // namespace pgwarden::proxy
