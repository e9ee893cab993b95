#pragma once

#include "lint/ast.hpp"
#include "lint/lexer.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pgwarden::lint {

// A syntax error at a byte offset of the file.
struct ParseError {
    std::uint32_t offset = 0;
    std::string message;
};

// One parsed file. The AST points into `source` (not owned: the caller keeps the text alive)
// and into `arena`. A file with syntax errors still yields every top-level declaration that
// parsed: the parser resynchronizes at the next declaration that starts a line.
struct ParsedFile {
    std::string_view source;
    Arena arena;
    std::vector<Token> tokens;
    std::vector<Comment> comments;
    std::vector<ParseError> errors;  // lexical errors first, then syntax errors
    const Node* file = nullptr;      // NodeKind::File; never null
};

// Tokenizes and parses a Go source file. Never throws, never recurses without bound: nesting
// deeper than kMaxNesting is a syntax error.
ParsedFile parse_file(std::string_view source);

inline constexpr int kMaxNesting = 1000;
// Longest left-deep chain (`a + b + ...`, `x.f().g()...`) accepted in one expression; such
// chains are parsed iteratively but still make trees that analysis walks recursively.
inline constexpr int kMaxChain = 20000;

// Text of a node's import path without quotes, for ImportSpec nodes.
std::string_view import_path(const Node* spec);

}  // namespace pgwarden::lint
