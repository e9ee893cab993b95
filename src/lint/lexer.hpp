#pragma once

#include "lint/token.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pgwarden::lint {

// A comment's byte range, including its `//` or `/* */` delimiters.
struct Comment {
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
};

// A lexical error: malformed literal, stray byte, unterminated comment or string.
struct LexError {
    std::uint32_t offset = 0;
    std::string message;
};

// The whole token stream of one file. Tokens end with exactly one Eof token. Semicolons
// that the spec inserts automatically are real Semicolon tokens (length 0 at end of input,
// or length 1 covering the newline that caused them).
struct LexResult {
    std::vector<Token> tokens;
    std::vector<Comment> comments;
    std::vector<LexError> errors;
};

// Tokenizes Go source. Never fails: bad input becomes Illegal tokens plus LexErrors, and
// tokenizing always finishes in time linear in the input.
LexResult tokenize(std::string_view source);

// 1-based line and byte column, as go vet prints them.
struct LineCol {
    std::uint32_t line = 1;
    std::uint32_t column = 1;
};

// Maps byte offsets to lines and columns; built once per file.
class LineIndex {
public:
    explicit LineIndex(std::string_view source);
    LineCol locate(std::uint32_t offset) const;
    std::uint32_t line_of(std::uint32_t offset) const { return locate(offset).line; }
    std::uint32_t line_count() const { return static_cast<std::uint32_t>(starts_.size()); }

private:
    std::vector<std::uint32_t> starts_;  // offset of the first byte of each line
};

}  // namespace pgwarden::lint
