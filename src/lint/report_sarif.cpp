#include "lint/report.hpp"

#include "lint/rule_info.hpp"

#include <nlohmann/json.hpp>

#include <string>

namespace pgwarden::lint {

namespace {

// SARIF wants URIs: relative paths with forward slashes, percent-encoding what is not safe.
std::string to_uri(std::string_view path) {
    while (path.starts_with("./")) {
        path.remove_prefix(2);
    }
    std::string out;
    if (path.starts_with("/")) {
        out = "file://";
    }
    static constexpr char kHex[] = "0123456789ABCDEF";
    for (char ch : path) {
        auto c = static_cast<unsigned char>(ch);
        bool safe = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '/' || c == '-' || c == '_' || c == '.' || c == '~';
        if (safe) {
            out.push_back(ch);
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
    return out;
}

}  // namespace

std::string format_sarif(const LintResult& result, std::string_view tool_version) {
    nlohmann::json rules = nlohmann::json::array();
    auto all = all_rules();
    for (const RuleInfo& r : all) {
        std::string markdown = std::string(r.summary) + "\n\n" + std::string(r.help) +
                               "\n\nBad:\n\n```go\n" + std::string(r.bad) +
                               "\n```\n\nGood:\n\n```go\n" + std::string(r.good) + "\n```\n";
        rules.push_back({
            {"id", r.id},
            {"name", r.id},
            {"shortDescription", {{"text", r.summary}}},
            {"fullDescription", {{"text", std::string(r.summary) + ". " + std::string(r.help)}}},
            {"help", {{"text", r.help}, {"markdown", markdown}}},
            {"defaultConfiguration", {{"level", r.id == kParseErrorRule ? "error" : "warning"}}},
            {"properties", {{"tags", {"go", "database", "reliability"}}}},
        });
    }
    nlohmann::json results = nlohmann::json::array();
    for (const Finding& f : result.findings) {
        int index = 0;
        for (std::size_t i = 0; i < all.size(); ++i) {
            if (all[i].id == f.rule) {
                index = static_cast<int>(i);
            }
        }
        bool absolute = f.path.starts_with("/");
        nlohmann::json artifact = {{"uri", to_uri(f.path)}};
        if (!absolute) {
            artifact["uriBaseId"] = "%SRCROOT%";
        }
        nlohmann::json res = {
            {"ruleId", f.rule},
            {"ruleIndex", index},
            {"level", f.rule == kParseErrorRule ? "error" : "warning"},
            {"message", {{"text", f.message}}},
            {"locations",
             {{{"physicalLocation",
                {{"artifactLocation", artifact},
                 {"region", {{"startLine", f.line}, {"startColumn", f.column}}}}}}}},
        };
        if (!f.fingerprint.empty()) {
            // Lets code scanning follow an alert when lines above it move.
            res["partialFingerprints"] = {{"pgwardenLint/v1", f.fingerprint}};
        }
        results.push_back(std::move(res));
    }
    nlohmann::json doc = {
        {"$schema", "https://json.schemastore.org/sarif-2.1.0.json"},
        {"version", "2.1.0"},
        {"runs",
         {{{"tool",
            {{"driver",
              {{"name", "pgwarden-lint"},
               {"version", tool_version},
               {"semanticVersion", tool_version},
               {"rules", std::move(rules)}}}}},
           {"results", std::move(results)}}}},
    };
    return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace pgwarden::lint
