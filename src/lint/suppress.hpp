#pragma once

#include "lint/lexer.hpp"
#include "lint/parser.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pgwarden::lint {

// The suppression comments of one file. `//nolint`, `//nolint:pgwarden`,
// `//nolint:RULE[,RULE]` (golangci-lint style) and `//pgwarden:ignore [RULE[,RULE]]` silence
// findings on the comment's own line and on the line below it.
class Suppressions {
public:
    Suppressions(const ParsedFile& file, const LineIndex& lines);

    bool suppressed(std::uint32_t line, std::string_view rule) const;

private:
    struct Entry {
        std::uint32_t line = 0;
        bool all = false;
        std::vector<std::string> rules;
    };
    std::vector<Entry> entries_;  // sorted by line
};

}  // namespace pgwarden::lint
