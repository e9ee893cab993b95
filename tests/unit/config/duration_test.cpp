#include "config/config.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace pgwarden::config {
namespace {

struct GoodDuration {
    const char* text;
    int64_t ms;
};

class ParseDurationGood : public ::testing::TestWithParam<GoodDuration> {};

TEST_P(ParseDurationGood, Parses) {
    auto d = parse_duration(GetParam().text);
    ASSERT_TRUE(d.has_value()) << GetParam().text;
    EXPECT_EQ(d->count(), GetParam().ms) << GetParam().text;
}

INSTANTIATE_TEST_SUITE_P(
    Units, ParseDurationGood,
    ::testing::Values(GoodDuration{"250ms", 250}, GoodDuration{"0ms", 0},
                      GoodDuration{"30s", 30'000}, GoodDuration{"5m", 300'000},
                      GoodDuration{"1h", 3'600'000}, GoodDuration{"2d", 172'800'000},
                      GoodDuration{"0", 0}, GoodDuration{"30", 30'000},
                      GoodDuration{"  45s\t", 45'000}, GoodDuration{"1h30m", 5'400'000},
                      GoodDuration{"1m500ms", 60'500}, GoodDuration{"1.5s", 1'500},
                      GoodDuration{"0.5m", 30'000}, GoodDuration{".25s", 250},
                      GoodDuration{"2.5", 2'500}, GoodDuration{"1500ms", 1'500},
                      GoodDuration{"0.001s", 1}, GoodDuration{"007s", 7'000}));

class ParseDurationBad : public ::testing::TestWithParam<const char*> {};

TEST_P(ParseDurationBad, Rejects) {
    EXPECT_EQ(parse_duration(GetParam()), std::nullopt) << GetParam();
}

INSTANTIATE_TEST_SUITE_P(Forms, ParseDurationBad,
                         ::testing::Values("", "   ", "s", "ms", "5x", "5 s", "-5s", "-5", "+5s",
                                           "5S", "5min", "1h30", "1.s", ".s", "1..5s", "0.0001s",
                                           "1.5ms", "abc", "5s5", "s5", "1e3",
                                           "99999999999999999999s", "9223372036854775807d",
                                           "0.1234567891s"));

struct Formatted {
    int64_t ms;
    const char* text;
};

class FormatDuration : public ::testing::TestWithParam<Formatted> {};

TEST_P(FormatDuration, ShortestUnitAndRoundTrip) {
    const Duration d(GetParam().ms);
    EXPECT_EQ(format_duration(d), GetParam().text);
    EXPECT_EQ(parse_duration(format_duration(d)), d);
}

INSTANTIATE_TEST_SUITE_P(Units, FormatDuration,
                         ::testing::Values(Formatted{0, "0"}, Formatted{250, "250ms"},
                                           Formatted{1'500, "1500ms"}, Formatted{30'000, "30s"},
                                           Formatted{90'000, "90s"}, Formatted{300'000, "5m"},
                                           Formatted{3'600'000, "1h"}, Formatted{5'400'000, "90m"},
                                           Formatted{172'800'000, "2d"}));

}  // namespace
}  // namespace pgwarden::config
