#pragma once

#include "lint/finding.hpp"
#include "lint/walker.hpp"

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pgwarden::lint {

struct LintOptions {
    WalkOptions walk;
    std::vector<std::string> disabled_rules;  // rule ids not to report
};

// The outcome of linting a set of paths.
struct LintResult {
    std::vector<Finding> findings;  // sorted by path, line, column
    std::size_t files = 0;
    std::size_t lines = 0;
    std::size_t bytes = 0;
    std::vector<std::string> read_errors;  // files that could not be read
};

// Lints one in-memory file. `db_package` says whether the file's package imports a database
// library; when false the file's own imports decide.
std::vector<Finding> lint_source(std::string_view path, std::string_view source,
                                 bool db_package = false);

// Lints already-expanded packages; reading, parsing and analysing never throw.
LintResult lint_packages(const std::vector<Package>& packages, const LintOptions& options);

}  // namespace pgwarden::lint
