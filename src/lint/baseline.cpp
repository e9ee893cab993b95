#include "lint/baseline.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>

namespace pgwarden::lint {

namespace {

// FNV-1a: the fingerprint only needs to be stable and well spread, not secret.
void mix(std::uint64_t& h, std::string_view s) {
    for (unsigned char c : s) {
        h ^= c;
        h *= 0x100000001b3ULL;
    }
    h ^= 0xff;  // field separator: ("ab","c") and ("a","bc") differ
    h *= 0x100000001b3ULL;
}

std::string_view relative(std::string_view path) {
    while (path.starts_with("./")) {
        path.remove_prefix(2);
    }
    return path;
}

}  // namespace

std::string fingerprint(std::string_view rule, std::string_view path, std::string_view function,
                        std::string_view code, std::size_t occurrence) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    mix(h, rule);
    mix(h, relative(path));
    mix(h, function);
    mix(h, code);
    mix(h, std::to_string(occurrence));
    return fmt::format("{:016x}", h);
}

std::string line_code(std::string_view source, std::uint32_t offset,
                      const std::vector<Comment>& comments) {
    std::size_t at = std::min<std::size_t>(offset, source.size());
    std::size_t begin = 0;
    if (at > 0) {
        std::size_t nl = source.rfind('\n', at - 1);
        begin = nl == std::string_view::npos ? 0 : nl + 1;
    }
    std::size_t end = source.find('\n', at);
    end = end == std::string_view::npos ? source.size() : end;
    // The first comment that ends after the line begins.
    auto it = std::partition_point(comments.begin(), comments.end(),
                                   [&](const Comment& c) { return c.offset + c.length <= begin; });
    std::string out;
    for (std::size_t i = begin; i < end; ++i) {
        while (it != comments.end() && it->offset + it->length <= i) {
            ++it;
        }
        if (it != comments.end() && it->offset <= i) {
            continue;  // inside a comment
        }
        char c = source[i];
        if (c != ' ' && c != '\t' && c != '\r') {
            out.push_back(c);
        }
    }
    return out;
}

common::Result<Baseline> Baseline::parse(std::string_view json) {
    nlohmann::json doc = nlohmann::json::parse(json, nullptr, false);
    if (doc.is_discarded() || !doc.is_object() || !doc.contains("findings") ||
        !doc["findings"].is_array()) {
        return common::make_error("baseline",
                                  "not a pgwarden lint baseline (expected a JSON object with a "
                                  "\"findings\" array)");
    }
    Baseline b;
    for (const auto& e : doc["findings"]) {
        if (!e.is_object() || !e.contains("rule") || !e["rule"].is_string() ||
            !e.contains("fingerprint") || !e["fingerprint"].is_string()) {
            return common::make_error("baseline",
                                      "baseline entry without a \"rule\" and \"fingerprint\"");
        }
        std::string function = e.contains("function") && e["function"].is_string()
                                   ? e["function"].get<std::string>()
                                   : std::string();
        b.accepted_[Key{e["rule"].get<std::string>(), std::move(function),
                        e["fingerprint"].get<std::string>()}] += 1;
        b.size_ += 1;
    }
    return b;
}

std::string Baseline::to_json(const std::vector<Finding>& findings) {
    nlohmann::json list = nlohmann::json::array();
    for (const Finding& f : findings) {
        // file, line and message are for the reader; matching uses rule, function and
        // fingerprint only.
        list.push_back({{"rule", f.rule},
                        {"file", std::string(relative(f.path))},
                        {"function", f.function},
                        {"fingerprint", f.fingerprint},
                        {"line", f.line},
                        {"message", f.message}});
    }
    nlohmann::json doc = {{"tool", "pgwarden lint"}, {"version", 1}, {"findings", list}};
    // Replace invalid UTF-8 (file names are bytes) instead of throwing.
    return doc.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::size_t Baseline::filter(std::vector<Finding>& findings) const {
    std::map<Key, std::size_t> left = accepted_;
    std::size_t removed = 0;
    auto keep = std::remove_if(findings.begin(), findings.end(), [&](const Finding& f) {
        auto it = left.find(Key{f.rule, f.function, f.fingerprint});
        if (it == left.end() || it->second == 0) {
            return false;
        }
        it->second -= 1;
        ++removed;
        return true;
    });
    findings.erase(keep, findings.end());
    return removed;
}

}  // namespace pgwarden::lint
