#include "lint/report.hpp"

#include <fmt/format.h>

namespace pgwarden::lint {

std::string format_text(const LintResult& result) {
    std::string out;
    for (const Finding& f : result.findings) {
        fmt::format_to(std::back_inserter(out), "{}:{}:{}: {}: {}\n", f.path, f.line, f.column,
                       f.rule, f.message);
    }
    return out;
}

}  // namespace pgwarden::lint
