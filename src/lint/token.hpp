#pragma once

#include <cstdint>
#include <string_view>

namespace pgwarden::lint {

// Every token of the Go lexical grammar (https://go.dev/ref/spec#Lexical_elements).
// Comments are not tokens: the lexer hands them to a side list (suppressions, `// want`).
enum class TokenKind : std::uint8_t {
    Eof,      // end of input; the parser sees it forever after the last token
    Illegal,  // a byte sequence that is no token; the lexer also records an error
    Ident,    // identifier, including the blank identifier `_`
    Int,      // 42, 0x2A, 0o52, 0b101010, 052, 4_2
    Float,    // 1.5, .5, 1e9, 0x1p-2
    Imag,     // 1i, 1.5i, 0x1p-2i
    Char,     // rune literal 'a', '\n', '\u00e9'
    String,   // interpreted "..." or raw `...` string literal
    // Operators and punctuation.
    Add,
    Sub,
    Mul,
    Quo,
    Rem,  // + - * / %
    And,
    Or,
    Xor,
    Shl,
    Shr,
    AndNot,  // & | ^ << >> &^
    AddAssign,
    SubAssign,
    MulAssign,
    QuoAssign,
    RemAssign,  // += -= *= /= %=
    AndAssign,
    OrAssign,
    XorAssign,
    ShlAssign,
    ShrAssign,     // &= |= ^= <<= >>=
    AndNotAssign,  // &^=
    LAnd,
    LOr,
    Arrow,
    Inc,
    Dec,  // && || <- ++ --
    Eql,
    Lss,
    Gtr,
    Assign,
    Not,  // == < > = !
    Neq,
    Leq,
    Geq,
    Define,
    Ellipsis,  // != <= >= := ...
    LParen,
    LBrack,
    LBrace,
    Comma,
    Period,  // ( [ { , .
    RParen,
    RBrack,
    RBrace,
    Semicolon,
    Colon,  // ) ] } ; :
    Tilde,  // ~
    // Keywords.
    Break,
    Case,
    Chan,
    Const,
    Continue,
    Default,
    Defer,
    Else,
    Fallthrough,
    For,
    Func,
    Go,
    Goto,
    If,
    Import,
    Interface,
    Map,
    Package,
    Range,
    Return,
    Select,
    Struct,
    Switch,
    Type,
    Var,
};

// Number of TokenKind values, for tables indexed by kind.
inline constexpr int kTokenKindCount = static_cast<int>(TokenKind::Var) + 1;

// A token is a kind plus the byte range it covers in the source. An automatically inserted
// semicolon has length 0 (or covers the newline that caused it, length 1, text "\n").
struct Token {
    TokenKind kind = TokenKind::Eof;
    std::uint32_t offset = 0;
    std::uint32_t length = 0;
};

// Spelling of a token kind for messages: "identifier", "+=", "func"...
std::string_view token_kind_name(TokenKind kind);

inline bool is_keyword(TokenKind kind) {
    return kind >= TokenKind::Break && kind <= TokenKind::Var;
}

inline bool is_literal(TokenKind kind) {
    return kind >= TokenKind::Int && kind <= TokenKind::String;
}

}  // namespace pgwarden::lint
