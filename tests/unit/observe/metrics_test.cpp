#include "observe/metrics.hpp"

#include <gtest/gtest.h>

namespace pgwarden::observe {
namespace {

TEST(MetricsPlaceholder, Builds) { SUCCEED(); }

}  // namespace
}  // namespace pgwarden::observe
