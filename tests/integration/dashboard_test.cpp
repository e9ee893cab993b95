// The live dashboard in a real browser: Debian's headless chromium loads / from a running
// pgwarden under generated traffic, runs the page's script, and the rendered DOM must show
// the chart with its 70% line and the checkouts of that traffic, the long one highlighted.
#include "observe_util.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

namespace pgwarden::itest {
namespace {

using namespace std::chrono_literals;

std::string chromium_binary() {
    for (const char* path : {"/usr/bin/chromium", "/usr/bin/chromium-browser"}) {
        if (std::filesystem::exists(path)) {
            return path;
        }
    }
    return {};
}

size_t count(const std::string& text, const std::string& needle) {
    size_t n = 0;
    for (size_t at = text.find(needle); at != std::string::npos;
         at = text.find(needle, at + needle.size())) {
        ++n;
    }
    return n;
}

TEST(DashboardTest, HeadlessChromiumShowsChartAndCheckouts) {
    ASSERT_EQ(pgwarden_problem(), "");
    const auto chromium = chromium_binary();
    if (chromium.empty()) {
        GTEST_SKIP() << "chromium is not installed (scripts/install-deps.sh installs it); "
                        "the dashboard was NOT tested in a browser";
    }
    PgwardenOptions options;
    options.pool_size = 4;
    // The leak detector flags the leaker (class jobs, max_checkout_time); long_checkout is
    // off so the highlight comes from the detector alone.
    options.extra_tables =
        "[alerts]\nlong_checkout = \"0\"\n\n"
        "[classes.jobs]\napplication_name = \"leaky-endpoint\"\n"
        "max_checkout_time = \"3s\"\n\n"
        "[classes.reports]\napplication_name = \"report-job\"\n\n"
        "[classes.api]\napplication_name = \"api\"\n";
    auto p = PgwardenProcess::start(options);
    ASSERT_TRUE(p.ok()) << p.error().message;
    auto& proxy = *p;

    // Traffic: one client holding a transaction for the whole test (the "leak"), two more
    // holding shorter ones, and a loop of short transactions.
    auto open = [&](const std::string& app) {
        auto c =
            PgConn::connect(proxy.dsn(kAppDb, kAppUser, kAppPassword) + " application_name=" + app);
        if (!c.ok()) {
            throw std::runtime_error(c.error().message);
        }
        return std::move(*c);
    };
    auto leaker = open("leaky-endpoint");
    ASSERT_TRUE(leaker.exec("BEGIN").ok);
    ASSERT_TRUE(leaker.exec("SELECT current_user AS forgotten_rows_close").ok);
    std::this_thread::sleep_for(3500ms);  // older than max_checkout_time
    std::vector<PgConn> holders;
    for (int i = 0; i < 2; ++i) {
        holders.push_back(open("report-job"));
        ASSERT_TRUE(holders.back().exec("BEGIN").ok);
        ASSERT_TRUE(holders.back().exec("SELECT current_database() AS job_step").ok);
    }
    std::atomic<bool> stop{false};
    std::thread load([&] {
        auto c = open("api");
        for (int i = 0; i < 5000 && !stop; ++i) {
            c.exec("SELECT 1");
        }
    });

    const std::string url = "http://127.0.0.1:" + std::to_string(proxy.layout().stats_port) + "/";
    const std::string shot = std::string(PGWARDEN_BINARY_DIR) + "/dashboard.png";
    const std::string profile = proxy.layout().dir + "/chromium-profile";
    const std::vector<std::string> common = {chromium,
                                             "--headless",
                                             "--no-sandbox",
                                             "--disable-gpu",
                                             "--disable-dev-shm-usage",
                                             "--user-data-dir=" + profile,
                                             "--virtual-time-budget=5000"};
    auto dump_argv = common;
    dump_argv.push_back("--dump-dom");
    dump_argv.push_back(url);
    auto dom = run_command(dump_argv, {}, 90s);
    auto shot_argv = common;
    shot_argv.push_back("--window-size=1280,1100");
    shot_argv.push_back("--screenshot=" + shot);
    shot_argv.push_back(url);
    auto screenshot = run_command(shot_argv, {}, 90s);
    stop = true;
    load.join();

    ASSERT_EQ(dom.exit_code, 0) << describe(dom);
    const auto& html = dom.out;
    // The chart: the 70% threshold line and a series for the pool's class.
    EXPECT_NE(html.find("id=\"threshold-line\""), std::string::npos) << html;
    EXPECT_NE(html.find("data-key=\"appdb/app/jobs\""), std::string::npos) << html;
    EXPECT_NE(html.find("data-key=\"appdb/app/reports\""), std::string::npos) << html;
    EXPECT_NE(html.find("data-key=\"appdb/app/api\""), std::string::npos) << html;
    EXPECT_NE(html.find("<polyline"), std::string::npos);
    // The checkouts of the traffic, the leaker first (oldest) and highlighted.
    const auto leak_row = html.find("class=\"checkout leak\"");
    ASSERT_NE(leak_row, std::string::npos) << html;
    EXPECT_NE(html.find("leaky-endpoint", leak_row), std::string::npos);
    EXPECT_NE(html.find("SELECT current_user AS forgotten_rows_close"), std::string::npos);
    EXPECT_GE(count(html, "report-job"), 2u) << html;
    // Only the old checkout is highlighted; the younger ones are plain rows.
    EXPECT_EQ(count(html, "class=\"checkout leak\""), 1u) << html;
    EXPECT_GE(count(html, "class=\"checkout\""), 2u) << html;
    EXPECT_LT(html.find("leaky-endpoint"), html.find("report-job"));  // oldest first
    EXPECT_NE(html.find("updated "), std::string::npos) << "the page's script did not run";

    EXPECT_EQ(screenshot.exit_code, 0) << describe(screenshot);
    EXPECT_TRUE(std::filesystem::exists(shot)) << describe(screenshot);
    if (std::filesystem::exists(shot)) {
        EXPECT_GT(std::filesystem::file_size(shot), 10000u);
    }
    ASSERT_TRUE(leaker.exec("ROLLBACK").ok);
}

}  // namespace
}  // namespace pgwarden::itest
