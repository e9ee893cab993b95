#include "lint/report.hpp"

#include <nlohmann/json.hpp>

namespace pgwarden::lint {

std::string format_json(const LintResult& result) {
    nlohmann::json findings = nlohmann::json::array();
    for (const Finding& f : result.findings) {
        findings.push_back({{"file", f.path},
                            {"line", f.line},
                            {"column", f.column},
                            {"rule", f.rule},
                            {"message", f.message},
                            {"function", f.function},
                            {"fingerprint", f.fingerprint}});
    }
    nlohmann::json doc = {
        {"findings", std::move(findings)}, {"files", result.files}, {"lines", result.lines}};
    // Replace invalid UTF-8 (file names are bytes) instead of throwing.
    return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace pgwarden::lint
