#include "pool/pool.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace pgwarden::pool {
namespace {

TEST(WaitHistogram, BucketsSumAndQuantiles) {
    WaitHistogram h;
    EXPECT_EQ(h.quantile(0.99), 0);
    for (int i = 0; i < 98; ++i) {
        h.observe(0);  // immediate grants
    }
    h.observe(0.003);
    h.observe(0.7);
    EXPECT_EQ(h.count, 100);
    EXPECT_NEAR(h.sum_seconds, 0.703, 1e-9);
    EXPECT_EQ(h.buckets[0], 98);
    EXPECT_EQ(h.buckets[3], 1);   // (0.0025, 0.005]
    EXPECT_EQ(h.buckets[10], 1);  // (0.5, 1]
    EXPECT_EQ(h.quantile(0.5), 0.0005);
    EXPECT_EQ(h.quantile(0.98), 0.0005);
    EXPECT_EQ(h.quantile(0.99), 0.005);
    EXPECT_EQ(h.quantile(1.0), 1.0);
    h.observe(100);  // beyond the last bound
    EXPECT_EQ(h.buckets[kAdmissionWaitBuckets - 1], 1);
    EXPECT_TRUE(std::isinf(h.quantile(1.0)));
}

TEST(WaitHistogram, BoundaryGoesToItsOwnBucket) {
    WaitHistogram h;
    h.observe(0.001);  // le 0.001, as Prometheus buckets are
    EXPECT_EQ(h.buckets[1], 1);
}

}  // namespace
}  // namespace pgwarden::pool
