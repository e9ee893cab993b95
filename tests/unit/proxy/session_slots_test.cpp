// The counts a session holds from login to logout: given back exactly once, by release() or
// by destruction, and never by a moved-from holder.
#include "proxy/session_slots.hpp"

#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <utility>

namespace pgwarden::proxy {
namespace {

struct GiveCount {
    int* given = nullptr;
    void operator()() const noexcept { ++*given; }
};

TEST(Held, GivesBackOnceOnReleaseAndNotAgainOnDestruction) {
    int given = 0;
    {
        Held<GiveCount> h(GiveCount{&given});
        EXPECT_TRUE(h);
        h.release();
        EXPECT_FALSE(h);
        EXPECT_EQ(given, 1);
        h.release();
        EXPECT_EQ(given, 1);
    }
    EXPECT_EQ(given, 1);
}

TEST(Held, AMovedFromHolderGivesNothingBack) {
    int given = 0;
    {
        Held<GiveCount> a(GiveCount{&given});
        Held<GiveCount> b(std::move(a));
        EXPECT_FALSE(a);  // NOLINT(bugprone-use-after-move): the point of the test
        EXPECT_TRUE(b);
        Held<GiveCount> c;
        EXPECT_FALSE(c);
        c = std::move(b);
        EXPECT_EQ(given, 0);
    }
    EXPECT_EQ(given, 1);
}

TEST(Held, AssigningOverAHeldCountGivesTheOldOneBack) {
    int first = 0;
    int second = 0;
    Held<GiveCount> a(GiveCount{&first});
    a = Held<GiveCount>(GiveCount{&second});
    EXPECT_EQ(first, 1);
    EXPECT_EQ(second, 0);
    a.release();
    EXPECT_EQ(second, 1);
}

std::shared_ptr<const config::Config> config_with_limit() {
    auto cfg = std::make_shared<config::Config>();
    return cfg;
}

TEST(ClientSlot, RefusedAtTheLimitAndGivenBackWhenDropped) {
    Runtime rt(config_with_limit(), 1);
    auto a = take_client_slot(rt, 2);
    auto b = take_client_slot(rt, 2);
    ASSERT_TRUE(a && b);
    EXPECT_EQ(rt.clients_active.load(), 2);
    EXPECT_FALSE(take_client_slot(rt, 2));
    EXPECT_EQ(rt.clients_active.load(), 2);  // a refusal leaves no count behind
    a.reset();
    EXPECT_EQ(rt.clients_active.load(), 1);
    EXPECT_TRUE(take_client_slot(rt, 2));  // taken and dropped at once
    EXPECT_EQ(rt.clients_active.load(), 1);
}

TEST(ClassSeat, CountsPerClassAndGivesBack) {
    ClassClients clients;
    auto a = take_class_seat(clients, "jobs", 1);
    ASSERT_TRUE(a);
    EXPECT_FALSE(take_class_seat(clients, "jobs", 1));
    auto api = take_class_seat(clients, "api", 1);
    EXPECT_TRUE(api);
    EXPECT_EQ(clients.counts().at("jobs"), 1);
    a->release();
    EXPECT_EQ(clients.counts().count("jobs"), 0u);
    EXPECT_TRUE(take_class_seat(clients, "jobs", 1));
}

}  // namespace
}  // namespace pgwarden::proxy
