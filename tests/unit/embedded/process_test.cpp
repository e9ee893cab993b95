#include "embedded/process.hpp"
#include "embedded/temp_dir.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>

namespace pgwarden::embedded {
namespace {

using namespace std::chrono_literals;

TEST(RunProcess, CapturesOutputAndExitCode) {
    auto r = run_process({"sh", "-c", "echo out; echo err >&2; exit 3"}, 10s);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->exit_code, 3);
    EXPECT_FALSE(r->timed_out);
    EXPECT_EQ(r->out, "out\n");
    EXPECT_EQ(r->err, "err\n");
}

TEST(RunProcess, ArgumentsAreNotInterpretedByAShell) {
    auto r = run_process({"printf", "%s", "$(echo no); `x` 'q'"}, 10s);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->out, "$(echo no); `x` 'q'");
}

TEST(RunProcess, FeedsStdin) {
    SpawnOptions o;
    o.argv = {"cat"};
    auto r = run_process(o, 10s, "hello\nworld\n");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->out, "hello\nworld\n");
}

TEST(RunProcess, TimeoutKillsTheWholeGroup) {
    auto start = std::chrono::steady_clock::now();
    // The grandchild (sleep) would keep stdout open; the group kill must end it too.
    auto r = run_process({"sh", "-c", "sleep 30 & sleep 30"}, 300ms);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->timed_out);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(RunProcess, MissingProgramIsAnError) {
    auto r = run_process({"/nonexistent/program"}, 1s);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("/nonexistent/program"), std::string::npos);
}

TEST(RunProcess, EnvironmentOverridesAndUnsets) {
    ::setenv("PGWARDEN_TEST_DROP", "x", 1);
    SpawnOptions o;
    o.argv = {"sh", "-c", "echo \"$PGWARDEN_TEST_SET/${PGWARDEN_TEST_DROP:-unset}\""};
    o.env = {"PGWARDEN_TEST_SET=yes"};
    o.unset_env = {"PGWARDEN_TEST_DROP"};
    auto r = run_process(o, 10s);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->out, "yes/unset\n");
}

TEST(Process, TerminateStopsALongRunningChild) {
    SpawnOptions o;
    o.argv = {"sleep", "30"};
    auto p = Process::spawn(o);
    ASSERT_TRUE(p.ok());
    EXPECT_TRUE(p->running());
    int status = p->terminate(2s);
    EXPECT_EQ(status, 128 + 15);
    EXPECT_FALSE(p->running());
}

TEST(Process, WritesOutputToFiles) {
    auto dir = TempDir::create("/tmp/pgwarden-test-");
    ASSERT_TRUE(dir.ok());
    SpawnOptions o;
    o.argv = {"sh", "-c", "echo a; echo b >&2"};
    o.stdout_path = dir->path() + "/log";
    o.stderr_path = o.stdout_path;
    auto p = Process::spawn(o);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->wait_for(10s), 0);
    EXPECT_EQ(tail_file(o.stdout_path, 10), "a\nb\n");
    EXPECT_EQ(tail_file(o.stdout_path, 1), "b\n");
}

TEST(TempDir, RemovedOnDestructionUnlessKept) {
    std::string path;
    std::string kept;
    {
        auto dir = TempDir::create("/tmp/pgwarden-test-");
        ASSERT_TRUE(dir.ok());
        path = dir->path();
        std::ofstream(path + "/f") << "x";
        EXPECT_TRUE(std::filesystem::exists(path + "/f"));
        auto k = TempDir::create("/tmp/pgwarden-test-");
        ASSERT_TRUE(k.ok());
        k->keep();
        kept = k->path();
    }
    EXPECT_FALSE(std::filesystem::exists(path));
    EXPECT_TRUE(std::filesystem::exists(kept));
    std::filesystem::remove_all(kept);
}

}  // namespace
}  // namespace pgwarden::embedded
