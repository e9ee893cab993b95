#pragma once

#include "lint/linter.hpp"

#include <string>
#include <string_view>

namespace pgwarden::lint {

// `file:line:col: rule: message`, one per line, as go vet prints.
std::string format_text(const LintResult& result);

// {"findings":[{file,line,column,rule,message}...],"files":N,"lines":N}
std::string format_json(const LintResult& result);

// SARIF 2.1.0 with one run, every rule described, one result per finding; paths are emitted
// relative to the source root (%SRCROOT%) so GitHub code scanning can place them.
std::string format_sarif(const LintResult& result, std::string_view tool_version);

}  // namespace pgwarden::lint
