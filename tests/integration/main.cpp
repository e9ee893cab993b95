#include "harness.hpp"

#include <gtest/gtest.h>

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    // Owned by gtest; started once before the first test, stopped after the last.
    ::testing::AddGlobalTestEnvironment(new pgwarden::itest::PostgresEnvironment);
    return RUN_ALL_TESTS();
}
