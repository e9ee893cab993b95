// Following rows into helpers across the files of a package: summaries are per package,
// computed once per (function, parameter), and bounded in depth.
#include "lint/analysis.hpp"
#include "lint/linter.hpp"
#include "lint/package_scope.hpp"
#include "lint/parser.hpp"
#include "lint/walker.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace pgwarden::lint {
namespace {

namespace fs = std::filesystem;

class PackageTree : public ::testing::Test {
protected:
    void SetUp() override {
        root_ = fs::temp_directory_path() /
                ("pgwarden_lint_helpers_" +
                 std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(root_);
        fs::create_directories(root_);
    }
    void TearDown() override { fs::remove_all(root_); }
    void write(const std::string& rel, const std::string& text) {
        fs::path p = root_ / rel;
        fs::create_directories(p.parent_path());
        std::ofstream(p) << text;
    }
    LintResult lint(bool tests = true) {
        WalkOptions w;
        w.include_tests = tests;
        auto pkgs = expand_paths({root_.string() + "/..."}, w);
        EXPECT_TRUE(pkgs.ok());
        LintOptions o;
        o.walk = w;
        return lint_packages(*pkgs, o);
    }
    fs::path root_;
};

const char* kCaller =
    "package store\n"
    "\n"
    "import \"database/sql\"\n"
    "\n"
    "func list(db *sql.DB) error {\n"
    "\trows, err := db.Query(\"SELECT 1\")\n"
    "\tif err != nil {\n"
    "\t\treturn err\n"
    "\t}\n"
    "\treturn finish(rows)\n"
    "}\n";

const char* kPartialHelper =
    "package store\n"
    "\n"
    "import \"database/sql\"\n"
    "\n"
    "func finish(rows *sql.Rows) error {\n"
    "\tfor rows.Next() {\n"
    "\t\tif err := rows.Scan(); err != nil {\n"
    "\t\t\treturn err\n"
    "\t\t}\n"
    "\t}\n"
    "\tif err := rows.Err(); err != nil {\n"
    "\t\treturn err\n"
    "\t}\n"
    "\treturn rows.Close()\n"
    "}\n";

TEST_F(PackageTree, HelperInSiblingFileIsFollowedAndNamed) {
    write("store/list.go", kCaller);
    write("store/scan.go", kPartialHelper);
    LintResult r = lint();
    ASSERT_EQ(r.findings.size(), 1u);
    const Finding& f = r.findings[0];
    EXPECT_EQ(f.rule, "rows-not-closed");
    EXPECT_NE(f.path.find("list.go"), std::string::npos);
    EXPECT_EQ(f.line, 6u);
    EXPECT_EQ(f.function, "list");
    EXPECT_NE(f.message.find("passed to finish (line 10)"), std::string::npos) << f.message;
    EXPECT_NE(f.message.find("the return at line 8 of scan.go"), std::string::npos) << f.message;
}

TEST_F(PackageTree, ClosingHelperInSiblingFileIsNotBlamed) {
    write("store/list.go", kCaller);
    write("store/scan.go",
          "package store\n\nimport \"database/sql\"\n\n"
          "func finish(rows *sql.Rows) error {\n\tdefer rows.Close()\n\treturn rows.Err()\n}\n");
    EXPECT_TRUE(lint().findings.empty());
}

// An external test package shares the directory, not the functions: its leaky `finish`
// is not the one list() calls (here list() calls one defined elsewhere).
TEST_F(PackageTree, ExternalTestPackageIsAnotherScope) {
    write("store/list.go", kCaller);
    write("store/scan_test.go", std::string(kPartialHelper).replace(8, 5, "store_test"));
    for (const Finding& f : lint().findings) {
        EXPECT_EQ(f.path.find("list.go"), std::string::npos) << f.message;
    }
}

// `scan.Finish(rows)` with `scan` an imported package is a call into another package (an
// escape), even when this package has a method named Finish.
TEST_F(PackageTree, QualifiedCallIsAnEscapeDespiteSameNamedMethod) {
    write("store/list.go", R"go(package store

import (
	"database/sql"

	scan "example.com/rowscan"
)

func list(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	return scan.Finish(rows)
}
)go");
    write("store/t.go", R"go(package store

import "database/sql"

type T struct{}

func (T) Finish(rows *sql.Rows) error { return rows.Err() }
)go");
    EXPECT_TRUE(lint().findings.empty());
    // The same call on a value is a method call, and that method never closes.
    write("store/list.go", R"go(package store

import "database/sql"

func list(db *sql.DB, scan T) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	return scan.Finish(rows)
}
)go");
    LintResult r = lint();
    ASSERT_EQ(r.findings.size(), 1u);
    EXPECT_NE(r.findings[0].message.find("scan.Finish"), std::string::npos);
}

std::string many_callers(int callers) {
    std::string src = std::string(kPartialHelper).substr(0, std::string(kPartialHelper).size());
    for (int i = 0; i < callers; ++i) {
        src += "\nfunc caller" + std::to_string(i) +
               "(db *sql.DB) error {\n\trows, err := db.Query(\"SELECT 1\")\n\tif err != nil "
               "{\n\t\treturn err\n\t}\n\treturn finish(rows)\n}\n";
    }
    return src;
}

TEST(HelperSummaries, EachFunctionIsSummarisedOnce) {
    std::string src = many_callers(5);
    ParsedFile parsed = parse_file(src);
    ASSERT_TRUE(parsed.errors.empty());
    LineIndex lines(parsed.source);
    PackageScope scope({PackageFile{&parsed, &lines, "a.go"}});
    FileContext ctx{&parsed, &lines, true, &scope};
    std::vector<RawFinding> out;
    analyze_file(ctx, out);
    int leaks = 0;
    for (const RawFinding& f : out) {
        leaks += f.rule == "rows-not-closed" ? 1 : 0;
    }
    EXPECT_EQ(leaks, 5);
    EXPECT_EQ(scope.summaries(), 1u);  // finish's parameter 0, reused by every caller
    const Node* finish = parsed.file->list[1];
    ASSERT_EQ(finish->text, "finish");
    const RowsSummary* s = scope.cached(finish, 0);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->fate, RowsFate::ClosesSome);
    EXPECT_EQ(s->exit, LeakExit::Return);
    EXPECT_EQ(s->line, 8u);
}

TEST(HelperSummaries, WithoutAPackageScopeEveryCallIsAnEscape) {
    std::string src = many_callers(1);
    ParsedFile parsed = parse_file(src);
    LineIndex lines(parsed.source);
    FileContext ctx{&parsed, &lines, true, nullptr};
    std::vector<RawFinding> out;
    analyze_file(ctx, out);
    for (const RawFinding& f : out) {
        EXPECT_NE(f.rule, "rows-not-closed") << f.message;
    }
}

// A long chain of helpers, each handing the rows to the next: summaries nest on the stack,
// so past a depth limit the callee is opaque (an escape) instead of a stack overflow.
TEST(HelperSummaries, DeepChainsAreBounded) {
    std::string src = "package p\n\nimport \"database/sql\"\n\n";
    int n = 5000;
    for (int i = 0; i < n; ++i) {
        src +=
            "func h" + std::to_string(i) + "(r *sql.Rows) { h" + std::to_string(i + 1) + "(r) }\n";
    }
    src += "func h" + std::to_string(n) + "(r *sql.Rows) {}\n";
    src +=
        "func use(db *sql.DB) {\n\trows, err := db.Query(\"q\")\n\tif err != nil {\n\t\treturn\n"
        "\t}\n\th0(rows)\n}\n";
    auto findings = lint_source("p.go", src);
    EXPECT_TRUE(findings.empty());  // h16 onwards is out of sight: no blame, no crash
}

TEST(HelperSummaries, ShortChainsAreFollowedToTheEnd) {
    std::string src = "package p\n\nimport \"database/sql\"\n\n";
    int n = 8;
    for (int i = 0; i < n; ++i) {
        src +=
            "func h" + std::to_string(i) + "(r *sql.Rows) { h" + std::to_string(i + 1) + "(r) }\n";
    }
    src += "func h" + std::to_string(n) + "(r *sql.Rows) {}\n";
    src +=
        "func use(db *sql.DB) {\n\trows, err := db.Query(\"q\")\n\tif err != nil {\n\t\treturn\n"
        "\t}\n\th0(rows)\n}\n";
    auto findings = lint_source("p.go", src);
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0].rule, "rows-not-closed");
    EXPECT_NE(findings[0].message.find("h0"), std::string::npos);
}

// The helper is named only for leaks on exits after the call to it.
TEST(HelperSummaries, EarlierLeakIsNotBlamedOnTheHelper) {
    std::string src = std::string(kPartialHelper) + R"go(
func early(db *sql.DB, skip bool) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	if skip {
		return nil
	}
	return finish(rows)
}
)go";
    auto findings = lint_source("p.go", src);
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0].message.find("passed to"), std::string::npos) << findings[0].message;
    EXPECT_NE(findings[0].message.find("the return at line 23"), std::string::npos)
        << findings[0].message;
}

TEST(PackageScopeNames, DefaultImportNames) {
    EXPECT_EQ(default_import_name("database/sql"), "sql");
    EXPECT_EQ(default_import_name("github.com/jackc/pgx/v5"), "pgx");
    EXPECT_EQ(default_import_name("github.com/jackc/pgx/v5/pgxpool"), "pgxpool");
    EXPECT_EQ(default_import_name("gopkg.in/yaml.v3"), "yaml");
    EXPECT_EQ(default_import_name("fmt"), "fmt");
}

TEST(PackageScopeNames, ParamNames) {
    ParsedFile f =
        parse_file("package p\nfunc a(x, y int, _ string, z ...any) {}\nfunc b(int, string) {}\n");
    ASSERT_TRUE(f.errors.empty());
    bool variadic = false;
    auto a = param_names(f.file->list[0]->y, variadic);
    EXPECT_EQ(a, (std::vector<std::string_view>{"x", "y", "_", "z"}));
    EXPECT_TRUE(variadic);
    auto b = param_names(f.file->list[1]->y, variadic);
    EXPECT_EQ(b, (std::vector<std::string_view>{"", ""}));
    EXPECT_FALSE(variadic);
}

}  // namespace
}  // namespace pgwarden::lint
