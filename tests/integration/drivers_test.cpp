// Compiled-language and node drivers (Go lib/pq and pgx v4, JDBC, node `pg`), each run
// directly against PostgreSQL and through pgwarden. A missing toolchain skips visibly.
#include "client_fixture.hpp"
#include "harness.hpp"

#include "embedded/temp_dir.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace pgwarden::itest {
namespace {

using namespace std::chrono_literals;

bool on_path(const std::string& program) {
    return run_command({"sh", "-c", "command -v \"$0\"", program}, {}, 10s).exit_code == 0;
}

// Go builds offline from Debian's packaged sources (golang-github-lib-pq-dev,
// golang-github-jackc-pgx-v4-dev install them under /usr/share/gocode) in GOPATH mode.
std::vector<std::string> go_env() {
    return {"GO111MODULE=off", "GOPATH=/usr/share/gocode",
            "GOFLAGS=",        "GOPROXY=off",
            "CGO_ENABLED=0",   std::string("GOCACHE=") + PGWARDEN_BINARY_DIR + "/go-cache"};
}

class GoTest : public TargetTest {
protected:
    void run_driver(const std::string& driver) {
        if (!on_path("go")) {
            GTEST_SKIP() << "go not installed (golang-go); Go client test skipped";
        }
        auto dir = embedded::TempDir::create("/tmp/pgwarden-go-");
        ASSERT_TRUE(dir.ok());
        std::string binary = dir->path() + "/pgclient";
        auto build =
            run_command({"go", "build", "-o", binary, client_path("go/main.go")}, go_env(), 240s);
        ASSERT_EQ(build.exit_code, 0) << "go build failed (needs golang-github-lib-pq-dev and "
                                         "golang-github-jackc-pgx-v4-dev)\n"
                                      << describe(build);
        auto r = run_command({binary, "-driver", driver, url()}, {}, 120s);
        EXPECT_EQ(r.exit_code, 0) << describe(r);
        EXPECT_NE(r.out.find("all checks passed"), std::string::npos) << describe(r);
    }
};

TEST_P(GoTest, Pgx) {
    run_driver("pgx");
}
TEST_P(GoTest, LibPq) {
    run_driver("pq");
}

INSTANTIATE_TEST_SUITE_P(Targets, GoTest, ::testing::Values(Target::Direct, Target::Pgwarden),
                         TargetName());

class JdbcTest : public TargetTest {};

TEST_P(JdbcTest, PreparedBatchCancel) {
    const std::string jar = "/usr/share/java/postgresql.jar";
    if (!on_path("javac") || !std::filesystem::exists(jar)) {
        GTEST_SKIP() << "javac or " << jar
                     << " missing (default-jdk-headless, libpostgresql-jdbc-java); JDBC test "
                        "skipped";
    }
    auto dir = embedded::TempDir::create("/tmp/pgwarden-jdbc-");
    ASSERT_TRUE(dir.ok());
    auto build = run_command(
        {"javac", "-cp", jar, "-d", dir->path(), client_path("java/PgClient.java")}, {}, 180s);
    ASSERT_EQ(build.exit_code, 0) << describe(build);
    auto r = run_command({"java", "-cp", jar + ":" + dir->path(), "PgClient", url()}, {}, 120s);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find("all checks passed"), std::string::npos) << describe(r);
}

INSTANTIATE_TEST_SUITE_P(Targets, JdbcTest, ::testing::Values(Target::Direct, Target::Pgwarden),
                         TargetName());

class NodeTest : public TargetTest {};

TEST_P(NodeTest, NamedQueriesAcrossTransactions) {
    std::string node_dir = client_path("node");
    if (!on_path("node")) {
        GTEST_SKIP() << "node not installed (nodejs); node client test skipped";
    }
    if (!std::filesystem::exists(node_dir + "/node_modules/pg")) {
        GTEST_SKIP() << "node `pg` is not installed in " << node_dir
                     << " (scripts/test.sh runs `npm ci` there; it failed or was not run)";
    }
    auto r = run_command({"node", node_dir + "/client.js", url()}, {}, 120s);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find("all checks passed"), std::string::npos) << describe(r);
}

INSTANTIATE_TEST_SUITE_P(Targets, NodeTest, ::testing::Values(Target::Direct, Target::Pgwarden),
                         TargetName());

}  // namespace
}  // namespace pgwarden::itest
