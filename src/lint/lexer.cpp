#include "lint/lexer.hpp"

#include <algorithm>
#include <array>

namespace pgwarden::lint {

namespace {

// Character classes for the hot loop; bytes >= 0x80 are parts of UTF-8 sequences, which we
// accept as identifier characters (Go allows Unicode letters; a linter need not validate).
enum : std::uint8_t { kLetter = 1, kDigit = 2, kHex = 4, kSpace = 8 };

constexpr std::array<std::uint8_t, 256> make_classes() {
    std::array<std::uint8_t, 256> c{};
    for (int i = 'a'; i <= 'z'; ++i) {
        c[i] |= kLetter;
    }
    for (int i = 'A'; i <= 'Z'; ++i) {
        c[i] |= kLetter;
    }
    c['_'] |= kLetter;
    for (int i = 0x80; i < 256; ++i) {
        c[i] |= kLetter;
    }
    for (int i = '0'; i <= '9'; ++i) {
        c[i] |= kDigit | kHex;
    }
    for (int i = 'a'; i <= 'f'; ++i) {
        c[i] |= kHex;
    }
    for (int i = 'A'; i <= 'F'; ++i) {
        c[i] |= kHex;
    }
    c[' '] |= kSpace;
    c['\t'] |= kSpace;
    c['\r'] |= kSpace;
    return c;
}

constexpr std::array<std::uint8_t, 256> kClass = make_classes();

bool is_letter(unsigned char ch) {
    return (kClass[ch] & kLetter) != 0;
}
bool is_digit(unsigned char ch) {
    return (kClass[ch] & kDigit) != 0;
}
bool is_hex(unsigned char ch) {
    return (kClass[ch] & kHex) != 0;
}

struct Keyword {
    std::string_view text;
    TokenKind kind;
};

constexpr std::array<Keyword, 25> kKeywords{{
    {"break", TokenKind::Break},
    {"case", TokenKind::Case},
    {"chan", TokenKind::Chan},
    {"const", TokenKind::Const},
    {"continue", TokenKind::Continue},
    {"default", TokenKind::Default},
    {"defer", TokenKind::Defer},
    {"else", TokenKind::Else},
    {"fallthrough", TokenKind::Fallthrough},
    {"for", TokenKind::For},
    {"func", TokenKind::Func},
    {"go", TokenKind::Go},
    {"goto", TokenKind::Goto},
    {"if", TokenKind::If},
    {"import", TokenKind::Import},
    {"interface", TokenKind::Interface},
    {"map", TokenKind::Map},
    {"package", TokenKind::Package},
    {"range", TokenKind::Range},
    {"return", TokenKind::Return},
    {"select", TokenKind::Select},
    {"struct", TokenKind::Struct},
    {"switch", TokenKind::Switch},
    {"type", TokenKind::Type},
    {"var", TokenKind::Var},
}};

TokenKind keyword_or_ident(std::string_view word) {
    // Keywords are 2..11 lowercase ASCII letters; most identifiers fail these cheap tests.
    if (word.size() < 2 || word.size() > 11 || word[0] < 'b' || word[0] > 'v') {
        return TokenKind::Ident;
    }
    for (const auto& k : kKeywords) {
        if (k.text == word) {
            return k.kind;
        }
    }
    return TokenKind::Ident;
}

// After these tokens a newline ends the statement (spec: "Semicolons").
bool ends_statement(TokenKind kind) {
    switch (kind) {
    case TokenKind::Ident:
    case TokenKind::Int:
    case TokenKind::Float:
    case TokenKind::Imag:
    case TokenKind::Char:
    case TokenKind::String:
    case TokenKind::Break:
    case TokenKind::Continue:
    case TokenKind::Fallthrough:
    case TokenKind::Return:
    case TokenKind::Inc:
    case TokenKind::Dec:
    case TokenKind::RParen:
    case TokenKind::RBrack:
    case TokenKind::RBrace:
        return true;
    default:
        return false;
    }
}

class Lexer {
public:
    explicit Lexer(std::string_view src) : src_(src), n_(static_cast<std::uint32_t>(src.size())) {}

    LexResult run() {
        // A file is about one token per 4-5 bytes; reserving avoids regrowth in the hot loop.
        out_.tokens.reserve(src_.size() / 4 + 16);
        std::uint32_t i = 0;
        if (n_ >= 3 && src_.substr(0, 3) == "\xEF\xBB\xBF") {
            i = 3;  // a byte order mark is allowed as the first character
        }
        while (true) {
            while (i < n_ && (kClass[static_cast<unsigned char>(src_[i])] & kSpace) != 0) {
                ++i;
            }
            if (i >= n_) {
                break;
            }
            char c = src_[i];
            if (c == '\n') {
                if (need_semi_) {
                    push(TokenKind::Semicolon, i, 1);
                }
                ++i;
                continue;
            }
            if (c == '/' && i + 1 < n_ && (src_[i + 1] == '/' || src_[i + 1] == '*')) {
                i = comment(i);
                continue;
            }
            i = token(i);
        }
        if (need_semi_) {
            push(TokenKind::Semicolon, n_, 0);
        }
        out_.tokens.push_back(Token{TokenKind::Eof, n_, 0});
        return std::move(out_);
    }

private:
    void push(TokenKind kind, std::uint32_t start, std::uint32_t len) {
        out_.tokens.push_back(Token{kind, start, len});
        need_semi_ = ends_statement(kind);
    }

    void error(std::uint32_t at, std::string message) {
        out_.errors.push_back(LexError{at, std::move(message)});
    }

    std::uint32_t comment(std::uint32_t i) {
        std::uint32_t start = i;
        if (src_[i + 1] == '/') {
            std::size_t nl = src_.find('\n', i);
            std::uint32_t end = nl == std::string_view::npos ? n_ : static_cast<std::uint32_t>(nl);
            out_.comments.push_back(Comment{start, end - start});
            // The newline itself (or EOF) inserts the semicolon, as if the comment were absent.
            return end;
        }
        std::size_t close = src_.find("*/", i + 2);
        std::uint32_t end;
        if (close == std::string_view::npos) {
            error(start, "comment not terminated");
            end = n_;
        } else {
            end = static_cast<std::uint32_t>(close) + 2;
        }
        out_.comments.push_back(Comment{start, end - start});
        // A general comment containing newlines acts like a newline.
        if (need_semi_ && src_.substr(start, end - start).find('\n') != std::string_view::npos) {
            push(TokenKind::Semicolon, start, 0);
        }
        return end;
    }

    std::uint32_t token(std::uint32_t i) {
        const auto uc = static_cast<unsigned char>(src_[i]);
        if (is_letter(uc)) {
            std::uint32_t j = i + 1;
            while (j < n_ && (kClass[static_cast<unsigned char>(src_[j])] & (kLetter | kDigit))) {
                ++j;
            }
            push(keyword_or_ident(src_.substr(i, j - i)), i, j - i);
            return j;
        }
        if (is_digit(uc) || (uc == '.' && i + 1 < n_ && is_digit(src_[i + 1]))) {
            return number(i);
        }
        switch (uc) {
        case '"':
            return string_lit(i);
        case '`':
            return raw_string(i);
        case '\'':
            return rune_lit(i);
        default:
            return op(i);
        }
    }

    // Consumes digits of the given base (and `_` separators); returns the end and whether a
    // digit outside the base was seen (reported, as Go does, but the literal is kept).
    std::uint32_t digits(std::uint32_t j, int base, bool& bad_digit, bool& any) {
        while (j < n_) {
            auto ch = static_cast<unsigned char>(src_[j]);
            if (ch == '_') {
                ++j;
                continue;
            }
            int v;
            if (is_digit(ch)) {
                v = ch - '0';
            } else if (base == 16 && is_hex(ch)) {
                v = 10;
            } else {
                break;
            }
            if (v >= base) {
                bad_digit = true;
            }
            any = true;
            ++j;
        }
        return j;
    }

    std::uint32_t number(std::uint32_t i) {
        std::uint32_t j = i;
        int base = 10;
        bool bad = false;
        bool any = false;
        bool is_float = false;
        bool legacy_octal = false;
        if (src_[j] == '0' && j + 1 < n_) {
            char p = static_cast<char>(src_[j + 1] | 0x20);
            if (p == 'x') {
                base = 16;
                j += 2;
            } else if (p == 'o') {
                base = 8;
                j += 2;
            } else if (p == 'b') {
                base = 2;
                j += 2;
            } else {
                legacy_octal = true;
            }
        }
        if (j >= n_ || src_[j] != '.') {
            // Legacy octal literals may still turn out to be floats (09.5), so scan as decimal.
            j = digits(j, base == 10 ? 10 : base, bad, any);
        }
        bool mantissa_digits = any || legacy_octal;
        if (j < n_ && src_[j] == '.') {
            is_float = true;
            ++j;
            j = digits(j, base == 16 ? 16 : 10, bad, any);
        }
        if (!any && !mantissa_digits) {
            error(i, "number has no digits");
        }
        if (j < n_) {
            char e = static_cast<char>(src_[j] | 0x20);
            if ((e == 'e' && base == 10) || (e == 'p' && base == 16)) {
                is_float = true;
                ++j;
                if (j < n_ && (src_[j] == '+' || src_[j] == '-')) {
                    ++j;
                }
                bool exp_bad = false;
                bool exp_any = false;
                j = digits(j, 10, exp_bad, exp_any);
                if (!exp_any) {
                    error(i, "exponent has no digits");
                }
            } else if (base == 16 && is_float) {
                error(i, "hexadecimal mantissa requires a 'p' exponent");
            }
        } else if (base == 16 && is_float) {
            error(i, "hexadecimal mantissa requires a 'p' exponent");
        }
        if (is_float && (base == 2 || base == 8)) {
            error(i, "invalid radix point in number");
        }
        bool imag = j < n_ && src_[j] == 'i';
        if (legacy_octal && !is_float && !imag) {
            // 0777 is octal; 089 is an error unless it is a float or imaginary (089i is fine).
            for (std::uint32_t k = i; k < j; ++k) {
                if (src_[k] == '8' || src_[k] == '9') {
                    bad = true;
                }
            }
        }
        if (bad && (base != 10 || legacy_octal)) {
            error(i, "invalid digit in number literal");
        }
        if (src_[j - 1] == '_' || src_.substr(i, j - i).find("__") != std::string_view::npos) {
            error(i, "'_' must separate successive digits");
        }
        TokenKind kind = is_float ? TokenKind::Float : TokenKind::Int;
        if (imag) {
            kind = TokenKind::Imag;
            ++j;
        }
        push(kind, i, j - i);
        return j;
    }

    // Validates one escape after a backslash at j; returns the index after it.
    std::uint32_t escape(std::uint32_t j, char quote) {
        if (j >= n_) {
            return j;
        }
        char c = src_[j];
        int count = 0;
        int base = 0;
        switch (c) {
        case 'a':
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
        case 'v':
        case '\\':
            return j + 1;
        case 'x':
            count = 2;
            base = 16;
            ++j;
            break;
        case 'u':
            count = 4;
            base = 16;
            ++j;
            break;
        case 'U':
            count = 8;
            base = 16;
            ++j;
            break;
        default:
            if (c == quote) {
                return j + 1;
            }
            if (c >= '0' && c <= '7') {
                count = 3;
                base = 8;
                break;
            }
            error(j - 1, "unknown escape sequence");
            return c == '\n' ? j : j + 1;
        }
        for (int k = 0; k < count; ++k, ++j) {
            if (j >= n_) {
                error(j, "escape sequence not terminated");
                return j;
            }
            auto d = static_cast<unsigned char>(src_[j]);
            bool ok = base == 8 ? (d >= '0' && d <= '7') : is_hex(d);
            if (!ok) {
                error(j, "invalid character in escape sequence");
                return j;
            }
        }
        return j;
    }

    std::uint32_t string_lit(std::uint32_t i) {
        std::uint32_t j = i + 1;
        while (true) {
            if (j >= n_ || src_[j] == '\n') {
                error(i, "string literal not terminated");
                break;
            }
            char c = src_[j];
            if (c == '"') {
                ++j;
                break;
            }
            if (c == '\\') {
                j = escape(j + 1, '"');
                continue;
            }
            ++j;
        }
        push(TokenKind::String, i, j - i);
        return j;
    }

    std::uint32_t raw_string(std::uint32_t i) {
        std::size_t close = src_.find('`', i + 1);
        std::uint32_t j;
        if (close == std::string_view::npos) {
            error(i, "raw string literal not terminated");
            j = n_;
        } else {
            j = static_cast<std::uint32_t>(close) + 1;
        }
        push(TokenKind::String, i, j - i);
        return j;
    }

    std::uint32_t rune_lit(std::uint32_t i) {
        std::uint32_t j = i + 1;
        int chars = 0;
        while (true) {
            if (j >= n_ || src_[j] == '\n') {
                error(i, "rune literal not terminated");
                break;
            }
            char c = src_[j];
            if (c == '\'') {
                ++j;
                if (chars != 1) {
                    error(i, chars == 0 ? "empty rune literal"
                                        : "more than one character in rune literal");
                }
                break;
            }
            ++chars;
            if (c == '\\') {
                j = escape(j + 1, '\'');
                continue;
            }
            // Skip a whole UTF-8 sequence so that 'é' counts as one character.
            auto uc = static_cast<unsigned char>(c);
            std::uint32_t len = uc < 0x80    ? 1
                                : uc >= 0xF0 ? 4
                                : uc >= 0xE0 ? 3
                                : uc >= 0xC0 ? 2
                                             : 1;
            j = std::min(n_, j + len);
        }
        push(TokenKind::Char, i, j - i);
        return j;
    }

    std::uint32_t op(std::uint32_t i) {
        auto at = [&](std::uint32_t k) -> char { return i + k < n_ ? src_[i + k] : '\0'; };
        char c = src_[i];
        char c1 = at(1);
        char c2 = at(2);
        TokenKind kind = TokenKind::Illegal;
        std::uint32_t len = 1;
        // Picks the longest of op, op= (and op op / op op = for doubled operators).
        auto choose = [&](TokenKind single, TokenKind assign) {
            if (c1 == '=') {
                kind = assign;
                len = 2;
            } else {
                kind = single;
            }
        };
        switch (c) {
        case '+':
            if (c1 == '+') {
                kind = TokenKind::Inc;
                len = 2;
            } else {
                choose(TokenKind::Add, TokenKind::AddAssign);
            }
            break;
        case '-':
            if (c1 == '-') {
                kind = TokenKind::Dec;
                len = 2;
            } else {
                choose(TokenKind::Sub, TokenKind::SubAssign);
            }
            break;
        case '*':
            choose(TokenKind::Mul, TokenKind::MulAssign);
            break;
        case '/':
            choose(TokenKind::Quo, TokenKind::QuoAssign);
            break;
        case '%':
            choose(TokenKind::Rem, TokenKind::RemAssign);
            break;
        case '^':
            choose(TokenKind::Xor, TokenKind::XorAssign);
            break;
        case '&':
            if (c1 == '&') {
                kind = TokenKind::LAnd;
                len = 2;
            } else if (c1 == '^') {
                kind = c2 == '=' ? TokenKind::AndNotAssign : TokenKind::AndNot;
                len = c2 == '=' ? 3 : 2;
            } else {
                choose(TokenKind::And, TokenKind::AndAssign);
            }
            break;
        case '|':
            if (c1 == '|') {
                kind = TokenKind::LOr;
                len = 2;
            } else {
                choose(TokenKind::Or, TokenKind::OrAssign);
            }
            break;
        case '<':
            if (c1 == '-') {
                kind = TokenKind::Arrow;
                len = 2;
            } else if (c1 == '<') {
                kind = c2 == '=' ? TokenKind::ShlAssign : TokenKind::Shl;
                len = c2 == '=' ? 3 : 2;
            } else {
                choose(TokenKind::Lss, TokenKind::Leq);
            }
            break;
        case '>':
            if (c1 == '>') {
                kind = c2 == '=' ? TokenKind::ShrAssign : TokenKind::Shr;
                len = c2 == '=' ? 3 : 2;
            } else {
                choose(TokenKind::Gtr, TokenKind::Geq);
            }
            break;
        case '=':
            choose(TokenKind::Assign, TokenKind::Eql);
            break;
        case '!':
            choose(TokenKind::Not, TokenKind::Neq);
            break;
        case ':':
            choose(TokenKind::Colon, TokenKind::Define);
            break;
        case '.':
            if (c1 == '.' && c2 == '.') {
                kind = TokenKind::Ellipsis;
                len = 3;
            } else {
                kind = TokenKind::Period;
            }
            break;
        case '(':
            kind = TokenKind::LParen;
            break;
        case ')':
            kind = TokenKind::RParen;
            break;
        case '[':
            kind = TokenKind::LBrack;
            break;
        case ']':
            kind = TokenKind::RBrack;
            break;
        case '{':
            kind = TokenKind::LBrace;
            break;
        case '}':
            kind = TokenKind::RBrace;
            break;
        case ',':
            kind = TokenKind::Comma;
            break;
        case ';':
            kind = TokenKind::Semicolon;
            break;
        case '~':
            kind = TokenKind::Tilde;
            break;
        default:
            error(i, "invalid character in source");
            break;
        }
        push(kind, i, len);
        return i + len;
    }

    std::string_view src_;
    std::uint32_t n_;
    LexResult out_;
    bool need_semi_ = false;
};

}  // namespace

LexResult tokenize(std::string_view source) {
    // Offsets are 32-bit; a larger file is treated as ending at 4 GiB, which no Go file nears.
    if (source.size() >= 0xFFFFFFF0u) {
        source = source.substr(0, 0xFFFFFFF0u);
    }
    return Lexer(source).run();
}

std::string_view token_kind_name(TokenKind kind) {
    static constexpr std::array<std::string_view, kTokenKindCount> kNames{
        "EOF",
        "illegal character",
        "identifier",
        "integer literal",
        "floating-point literal",
        "imaginary literal",
        "rune literal",
        "string literal",
        "+",
        "-",
        "*",
        "/",
        "%",
        "&",
        "|",
        "^",
        "<<",
        ">>",
        "&^",
        "+=",
        "-=",
        "*=",
        "/=",
        "%=",
        "&=",
        "|=",
        "^=",
        "<<=",
        ">>=",
        "&^=",
        "&&",
        "||",
        "<-",
        "++",
        "--",
        "==",
        "<",
        ">",
        "=",
        "!",
        "!=",
        "<=",
        ">=",
        ":=",
        "...",
        "(",
        "[",
        "{",
        ",",
        ".",
        ")",
        "]",
        "}",
        ";",
        ":",
        "~",
        "break",
        "case",
        "chan",
        "const",
        "continue",
        "default",
        "defer",
        "else",
        "fallthrough",
        "for",
        "func",
        "go",
        "goto",
        "if",
        "import",
        "interface",
        "map",
        "package",
        "range",
        "return",
        "select",
        "struct",
        "switch",
        "type",
        "var",
    };
    return kNames[static_cast<int>(kind)];
}

LineIndex::LineIndex(std::string_view source) {
    starts_.reserve(source.size() / 32 + 1);
    starts_.push_back(0);
    const char* base = source.data();
    const char* p = base;
    const char* end = base + source.size();
    while (true) {
        const void* nl = std::char_traits<char>::find(p, static_cast<std::size_t>(end - p), '\n');
        if (nl == nullptr) {
            break;
        }
        p = static_cast<const char*>(nl) + 1;
        starts_.push_back(static_cast<std::uint32_t>(p - base));
    }
}

LineCol LineIndex::locate(std::uint32_t offset) const {
    auto it = std::upper_bound(starts_.begin(), starts_.end(), offset);
    auto line = static_cast<std::uint32_t>(it - starts_.begin());
    return LineCol{line, offset - starts_[line - 1] + 1};
}

}  // namespace pgwarden::lint
