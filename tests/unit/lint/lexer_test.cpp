#include "lint/lexer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pgwarden::lint {
namespace {

using K = TokenKind;

std::vector<K> kinds(std::string_view src) {
    std::vector<K> out;
    for (const Token& t : tokenize(src).tokens) {
        out.push_back(t.kind);
    }
    return out;
}

std::vector<std::string> texts(std::string_view src) {
    std::vector<std::string> out;
    for (const Token& t : tokenize(src).tokens) {
        out.emplace_back(src.substr(t.offset, t.length));
    }
    return out;
}

struct OneToken {
    const char* src;
    K kind;
};

// Every token kind, each alone on a line (so a semicolon may follow).
const OneToken kEveryKind[] = {
    {"x", K::Ident},
    {"_", K::Ident},
    {"héllo", K::Ident},
    {"x9_", K::Ident},
    {"42", K::Int},
    {"4_2", K::Int},
    {"0x2A", K::Int},
    {"0X_2a", K::Int},
    {"0o52", K::Int},
    {"0O52", K::Int},
    {"052", K::Int},
    {"0b101", K::Int},
    {"0B_1", K::Int},
    {"0", K::Int},
    {"1.5", K::Float},
    {".5", K::Float},
    {"1.", K::Float},
    {"1e9", K::Float},
    {"1E-9", K::Float},
    {"0x1p-2", K::Float},
    {"0x1.8p1", K::Float},
    {"09.5", K::Float},
    {"1_0.2_5", K::Float},
    {"1i", K::Imag},
    {"1.5i", K::Imag},
    {"0x1p-2i", K::Imag},
    {"089i", K::Imag},
    {"0i", K::Imag},
    {"'a'", K::Char},
    {"'\\n'", K::Char},
    {"'\\''", K::Char},
    {"'\\x41'", K::Char},
    {"'\\u00e9'", K::Char},
    {"'\\U0001F600'", K::Char},
    {"'\\377'", K::Char},
    {"'é'", K::Char},
    {"\"\"", K::String},
    {"\"a\\\"b\"", K::String},
    {"\"\\t\\u00e9\"", K::String},
    {"`raw`", K::String},
    {"`multi\nline`", K::String},
    {"`back\\slash`", K::String},
    {"+", K::Add},
    {"-", K::Sub},
    {"*", K::Mul},
    {"/", K::Quo},
    {"%", K::Rem},
    {"&", K::And},
    {"|", K::Or},
    {"^", K::Xor},
    {"<<", K::Shl},
    {">>", K::Shr},
    {"&^", K::AndNot},
    {"+=", K::AddAssign},
    {"-=", K::SubAssign},
    {"*=", K::MulAssign},
    {"/=", K::QuoAssign},
    {"%=", K::RemAssign},
    {"&=", K::AndAssign},
    {"|=", K::OrAssign},
    {"^=", K::XorAssign},
    {"<<=", K::ShlAssign},
    {">>=", K::ShrAssign},
    {"&^=", K::AndNotAssign},
    {"&&", K::LAnd},
    {"||", K::LOr},
    {"<-", K::Arrow},
    {"++", K::Inc},
    {"--", K::Dec},
    {"==", K::Eql},
    {"<", K::Lss},
    {">", K::Gtr},
    {"=", K::Assign},
    {"!", K::Not},
    {"!=", K::Neq},
    {"<=", K::Leq},
    {">=", K::Geq},
    {":=", K::Define},
    {"...", K::Ellipsis},
    {"(", K::LParen},
    {"[", K::LBrack},
    {"{", K::LBrace},
    {",", K::Comma},
    {".", K::Period},
    {")", K::RParen},
    {"]", K::RBrack},
    {"}", K::RBrace},
    {";", K::Semicolon},
    {":", K::Colon},
    {"~", K::Tilde},
    {"break", K::Break},
    {"case", K::Case},
    {"chan", K::Chan},
    {"const", K::Const},
    {"continue", K::Continue},
    {"default", K::Default},
    {"defer", K::Defer},
    {"else", K::Else},
    {"fallthrough", K::Fallthrough},
    {"for", K::For},
    {"func", K::Func},
    {"go", K::Go},
    {"goto", K::Goto},
    {"if", K::If},
    {"import", K::Import},
    {"interface", K::Interface},
    {"map", K::Map},
    {"package", K::Package},
    {"range", K::Range},
    {"return", K::Return},
    {"select", K::Select},
    {"struct", K::Struct},
    {"switch", K::Switch},
    {"type", K::Type},
    {"var", K::Var},
};

TEST(Lexer, EveryTokenKind) {
    bool seen[kTokenKindCount] = {};
    for (const auto& c : kEveryKind) {
        LexResult r = tokenize(c.src);
        ASSERT_GE(r.tokens.size(), 2u) << c.src;
        EXPECT_EQ(r.tokens[0].kind, c.kind) << c.src;
        EXPECT_EQ(r.tokens[0].offset, 0u) << c.src;
        EXPECT_EQ(r.tokens[0].length, std::string_view(c.src).size()) << c.src;
        EXPECT_TRUE(r.errors.empty()) << c.src << ": " << r.errors[0].message;
        EXPECT_EQ(r.tokens.back().kind, K::Eof);
        seen[static_cast<int>(c.kind)] = true;
    }
    for (int k = static_cast<int>(K::Ident); k < kTokenKindCount; ++k) {
        EXPECT_TRUE(seen[k]) << "no case for " << token_kind_name(static_cast<K>(k));
    }
}

TEST(Lexer, KeywordsAreNotPrefixes) {
    EXPECT_EQ(kinds("format"), (std::vector<K>{K::Ident, K::Semicolon, K::Eof}));
    EXPECT_EQ(kinds("gopher"), (std::vector<K>{K::Ident, K::Semicolon, K::Eof}));
    EXPECT_EQ(kinds("if_"), (std::vector<K>{K::Ident, K::Semicolon, K::Eof}));
}

TEST(Lexer, SemicolonInsertionAfterLineEndingTokens) {
    // Spec: after an identifier, literal, break/continue/fallthrough/return, ++ -- ) ] }.
    for (const char* end : {"x", "1", "1.5", "1i", "'a'", "\"s\"", "`r`", "break", "continue",
                            "fallthrough", "return", "x++", "x--", "f()", "a[1]", "{}"}) {
        std::string src = std::string(end) + "\nnext";
        std::vector<K> ks = kinds(src);
        // The token before `next` must be an inserted semicolon.
        ASSERT_GE(ks.size(), 4u) << end;
        EXPECT_EQ(ks[ks.size() - 4], K::Semicolon) << end;
    }
}

TEST(Lexer, NoSemicolonAfterOtherTokens) {
    for (const char* end : {"+", "(", "[", "{", ",", ".", "=", ":=", "func", "if", "&&"}) {
        std::string src = std::string("a ") + end + "\nb";
        // Only the final semicolon, after `b`.
        std::vector<K> ks = kinds(src);
        int semis = 0;
        for (K k : ks) {
            semis += k == K::Semicolon;
        }
        EXPECT_EQ(semis, 1) << end;
    }
}

TEST(Lexer, SemicolonAtEofAndAroundComments) {
    EXPECT_EQ(kinds("return"), (std::vector<K>{K::Return, K::Semicolon, K::Eof}));
    // A line comment ends the line: semicolon still inserted.
    EXPECT_EQ(kinds("x // c\ny"),
              (std::vector<K>{K::Ident, K::Semicolon, K::Ident, K::Semicolon, K::Eof}));
    // A general comment spanning lines acts like a newline.
    EXPECT_EQ(kinds("x /* a\nb */ y"),
              (std::vector<K>{K::Ident, K::Semicolon, K::Ident, K::Semicolon, K::Eof}));
    // A one-line general comment is just space.
    EXPECT_EQ(kinds("x /* a */ + y"),
              (std::vector<K>{K::Ident, K::Add, K::Ident, K::Semicolon, K::Eof}));
    LexResult r = tokenize("a // one\n/* two */ b");
    ASSERT_EQ(r.comments.size(), 2u);
    EXPECT_EQ(r.comments[0].offset, 2u);
    EXPECT_EQ(r.comments[0].length, 6u);
}

TEST(Lexer, LongestMatch) {
    EXPECT_EQ(texts("a<<=b&^=c...d"),
              (std::vector<std::string>{"a", "<<=", "b", "&^=", "c", "...", "d", "", ""}));
    EXPECT_EQ(texts("x&^y"), (std::vector<std::string>{"x", "&^", "y", "", ""}));
    EXPECT_EQ(texts("c<-x"), (std::vector<std::string>{"c", "<-", "x", "", ""}));
    EXPECT_EQ(texts("a..b"), (std::vector<std::string>{"a", ".", ".", "b", "", ""}));
    EXPECT_EQ(texts("x.5"), (std::vector<std::string>{"x", ".5", "", ""}));
    EXPECT_EQ(texts("1..2"), (std::vector<std::string>{"1.", ".2", "", ""}));
}

TEST(Lexer, ByteOrderMarkAndCarriageReturns) {
    EXPECT_EQ(kinds("\xEF\xBB\xBFpackage p\r\n"),
              (std::vector<K>{K::Package, K::Ident, K::Semicolon, K::Eof}));
}

struct Bad {
    const char* src;
    const char* fragment;  // expected in the first error message
};

const Bad kMalformed[] = {
    {"\"abc", "string literal not terminated"},
    {"\"abc\ndef\"", "string literal not terminated"},
    {"`abc", "raw string literal not terminated"},
    {"/* abc", "comment not terminated"},
    {"'a", "rune literal not terminated"},
    {"''", "empty rune literal"},
    {"'ab'", "more than one character"},
    {"\"\\q\"", "unknown escape"},
    {"'\\x4'", "invalid character in escape"},
    {"\"\\u12\"", "invalid character in escape"},
    {"'\\4x'", "invalid character in escape"},
    {"0b102", "invalid digit"},
    {"0o8", "invalid digit"},
    {"089", "invalid digit"},
    {"0x", "no digits"},
    {"1e", "exponent has no digits"},
    {"0x1.5", "'p' exponent"},
    {"1__0", "'_' must separate"},
    {"1_", "'_' must separate"},
    {"0b1.0", "invalid radix point"},
    {"@", "invalid character"},
    {"$x", "invalid character"},
    {"a ? b", "invalid character"},
    {"#", "invalid character"},
};

TEST(Lexer, MalformedInputsAreErrorsNotCrashes) {
    for (const auto& c : kMalformed) {
        LexResult r = tokenize(c.src);
        ASSERT_FALSE(r.errors.empty()) << c.src;
        EXPECT_NE(r.errors[0].message.find(c.fragment), std::string::npos)
            << c.src << " -> " << r.errors[0].message;
        EXPECT_EQ(r.tokens.back().kind, K::Eof);
    }
    std::string nul("a\0b", 3);
    EXPECT_FALSE(tokenize(nul).errors.empty());
}

const char* kSample = R"go(package main

import "fmt"

// comment /* not nested */
func main() {
	x := []int{1, 0x2, 0o3, 4.5e1, 6i}
	s := `raw
string` + "esc\"aped\n" + string('\'')
	x[0] <<= 2; x[1] &^= 3
	if x[0] != 0 && !false || x[1]>=-1 {
		fmt.Println(s, x, ...)
	}
	/* multi
	   line */ ch := make(chan<- int)
	_ = ch
}
)go";

// Every prefix of a file tokenizes without failing, and any token that ends a few bytes
// (the longest lookahead) before the cut is identical to the full file's token.
TEST(Lexer, EveryByteOffsetSplit) {
    std::string_view src = kSample;
    LexResult full = tokenize(src);
    ASSERT_TRUE(full.errors.empty()) << full.errors[0].message;
    for (std::size_t cut = 0; cut <= src.size(); ++cut) {
        LexResult part = tokenize(src.substr(0, cut));
        ASSERT_EQ(part.tokens.back().kind, K::Eof);
        std::size_t j = 0;
        for (const Token& t : part.tokens) {
            ASSERT_LE(t.offset + t.length, cut);
            if (t.kind == K::Semicolon || t.kind == K::Eof || t.offset + t.length + 3 > cut) {
                continue;
            }
            while (j < full.tokens.size() && full.tokens[j].offset < t.offset) {
                ++j;
            }
            ASSERT_LT(j, full.tokens.size()) << "cut " << cut;
            // Tokens inside an unterminated raw string or comment in the prefix differ.
            if (full.tokens[j].offset == t.offset) {
                EXPECT_EQ(full.tokens[j].kind, t.kind) << "cut " << cut << " at " << t.offset;
                EXPECT_EQ(full.tokens[j].length, t.length) << "cut " << cut << " at " << t.offset;
            }
        }
    }
}

TEST(Lexer, LineIndex) {
    std::string_view src = "ab\ncd\n\nx";
    LineIndex li(src);
    EXPECT_EQ(li.locate(0).line, 1u);
    EXPECT_EQ(li.locate(1).column, 2u);
    EXPECT_EQ(li.locate(3).line, 2u);
    EXPECT_EQ(li.locate(3).column, 1u);
    EXPECT_EQ(li.locate(7).line, 4u);
    EXPECT_EQ(li.line_count(), 4u);
}

}  // namespace
}  // namespace pgwarden::lint
