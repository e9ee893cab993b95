#include "proxy/admin_state.hpp"
#include "proxy/admin_commands.hpp"

#include <gtest/gtest.h>

namespace pgwarden::proxy {
namespace {

TEST(PauseState, DatabaseAndGlobalPauses) {
    PauseState p;
    EXPECT_FALSE(p.paused("a"));
    p.pause("a");
    EXPECT_TRUE(p.paused("a"));
    EXPECT_FALSE(p.paused("b"));
    p.pause("");  // PAUSE without a name: every database
    EXPECT_TRUE(p.paused("b"));
    p.resume("a");  // a is still covered by the global pause
    EXPECT_TRUE(p.paused("a"));
    p.resume("");  // RESUME without a name ends every pause, per-database ones too
    EXPECT_FALSE(p.paused("a"));
    EXPECT_FALSE(p.paused("b"));
    p.pause("b");
    p.resume("b");
    EXPECT_FALSE(p.paused("b"));
}

TEST(AdminRole, AdminListWinsOverStatsList) {
    config::Config cfg;
    cfg.settings.admin_users = {"root"};
    cfg.settings.stats_users = {"root", "monitor"};
    EXPECT_EQ(admin_role(cfg, "root"), AdminRole::Admin);
    EXPECT_EQ(admin_role(cfg, "monitor"), AdminRole::Stats);
    EXPECT_EQ(admin_role(cfg, "app"), AdminRole::None);
}

}  // namespace
}  // namespace pgwarden::proxy
