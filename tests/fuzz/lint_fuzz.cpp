// libFuzzer target for the Go tokenizer, parser and rules: any byte string must be linted
// without a crash, a hang or a sanitizer report. The database-import gate is forced open so
// the path analysis runs on every function the parser produces.
#include "lint/lexer.hpp"
#include "lint/linter.hpp"
#include "lint/parser.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view src(reinterpret_cast<const char*>(data), size);
    pgwarden::lint::LexResult lex = pgwarden::lint::tokenize(src);
    // Invariants the parser relies on: one final Eof, every token inside the input, in order.
    if (lex.tokens.empty() || lex.tokens.back().kind != pgwarden::lint::TokenKind::Eof) {
        std::abort();
    }
    std::uint32_t prev = 0;
    for (const auto& t : lex.tokens) {
        if (t.offset < prev || t.offset + t.length > size) {
            std::abort();
        }
        prev = t.offset;
    }
    auto findings = pgwarden::lint::lint_source("fuzz.go", src, true);
    for (const auto& f : findings) {
        if (f.line == 0 || f.column == 0 || f.rule.empty() || f.fingerprint.size() != 16) {
            std::abort();
        }
    }
    return 0;
}
