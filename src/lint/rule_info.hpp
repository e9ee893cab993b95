#pragma once

#include <span>
#include <string_view>

namespace pgwarden::lint {

// Static description of one rule: what `--list-rules`, SARIF and docs/lint.md show.
struct RuleInfo {
    std::string_view id;       // stable id used in output and suppressions
    std::string_view summary;  // one line: what is wrong
    std::string_view help;     // what to do about it
    std::string_view bad;      // Go code that the rule reports
    std::string_view good;     // the same code fixed
};

// Every rule, in documentation order.
std::span<const RuleInfo> all_rules();

// The rule with this id, or nullptr.
const RuleInfo* find_rule(std::string_view id);

// Pseudo-rule id under which files that do not parse are reported.
inline constexpr std::string_view kParseErrorRule = "parse-error";

}  // namespace pgwarden::lint
