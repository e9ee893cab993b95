#include "common/ascii.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <string>

namespace pgwarden::common {
namespace {

// In the C locale (pgwarden never calls setlocale) the libc functions are ASCII-only too:
// the inline versions must agree with them on every byte.
TEST(Ascii, AgreesWithTheCLocaleOnEveryByte) {
    for (int b = 0; b < 256; ++b) {
        const char c = static_cast<char>(b);
        SCOPED_TRACE(b);
        EXPECT_EQ(ascii_lower(c), static_cast<char>(std::tolower(b)));
        EXPECT_EQ(ascii_space(c), std::isspace(b) != 0);
        EXPECT_EQ(ascii_alnum(c), std::isalnum(b) != 0);
    }
}

TEST(Ascii, Iequals) {
    EXPECT_TRUE(iequals("SELECT", "select"));
    EXPECT_TRUE(iequals("DateStyle", "DATESTYLE"));
    EXPECT_TRUE(iequals("", ""));
    EXPECT_FALSE(iequals("select", "selec"));
    EXPECT_FALSE(iequals("select", "selecu"));
    EXPECT_FALSE(iequals("[", "{"));                // 0x5b and 0x7b differ only in the case bit
    EXPECT_FALSE(iequals("\xc3\x89", "\xc3\xa9"));  // non-ASCII letters are not folded
    EXPECT_TRUE(iequals_lower("DeAlLoCaTe", "deallocate"));
    EXPECT_FALSE(iequals_lower("deallocate", "DEALLOCATE"));  // second must be lower case
    EXPECT_FALSE(iequals_lower("dealloc", "deallocate"));
}

static_assert(ascii_lower('Q') == 'q' && ascii_lower('@') == '@' && ascii_lower('[') == '[');
static_assert(iequals("Search_Path", "search_PATH"));

}  // namespace
}  // namespace pgwarden::common
