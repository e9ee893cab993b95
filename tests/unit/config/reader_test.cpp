#include "config/reader.hpp"

#include <gtest/gtest.h>

#include <string>

namespace pgwarden::config::detail {
namespace {

struct DistanceCase {
    const char* a;
    const char* b;
    size_t distance;
};

class EditDistance : public ::testing::TestWithParam<DistanceCase> {};

TEST_P(EditDistance, Symmetric) {
    EXPECT_EQ(edit_distance(GetParam().a, GetParam().b), GetParam().distance);
    EXPECT_EQ(edit_distance(GetParam().b, GetParam().a), GetParam().distance);
}

INSTANTIATE_TEST_SUITE_P(
    Pairs, EditDistance,
    ::testing::Values(DistanceCase{"", "", 0}, DistanceCase{"", "abc", 3},
                      DistanceCase{"port", "port", 0}, DistanceCase{"prot", "port", 1},
                      DistanceCase{"defualt", "default", 1}, DistanceCase{"kitten", "sitting", 3},
                      DistanceCase{"usr", "user", 1}, DistanceCase{"ca", "abc", 3}));

TEST(Nearest, PicksTheClosestWithinALimitThatGrowsWithLength) {
    const std::string_view keys[] = {"default_pool_size", "min_pool_size", "listen_port", "host",
                                     "port"};
    EXPECT_EQ(nearest("defualt_pool_size", keys), "default_pool_size");
    EXPECT_EQ(nearest("DEFAULT_POOL_SIZE", keys), "default_pool_size");
    EXPECT_EQ(nearest("listen_prot", keys), "listen_port");
    EXPECT_EQ(nearest("hots", keys), "host");
    EXPECT_EQ(nearest("xy", keys), "");
    EXPECT_EQ(nearest("pool_size", keys), "");
    EXPECT_EQ(did_you_mean("prt", keys), "did you mean `port`?");
    EXPECT_EQ(did_you_mean("zzz", keys), "");
}

TEST(Dotted, QuotesKeysThatAreNotBare) {
    EXPECT_EQ(dotted("", "pgwarden"), "pgwarden");
    EXPECT_EQ(dotted("databases", "app"), "databases.app");
    EXPECT_EQ(dotted("databases", "*"), "databases.\"*\"");
    EXPECT_EQ(dotted("databases", "my.db"), "databases.\"my.db\"");
    EXPECT_EQ(dotted("databases", "a\"b"), "databases.\"a\\\"b\"");
    EXPECT_EQ(dotted("databases", ""), "databases.\"\"");
}

}  // namespace
}  // namespace pgwarden::config::detail
