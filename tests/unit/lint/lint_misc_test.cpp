// Suppressions, path expansion, package-level import gate and the three report formats.
#include "lint/linter.hpp"
#include "lint/parser.hpp"
#include "lint/report.hpp"
#include "lint/rule_info.hpp"
#include "lint/suppress.hpp"
#include "lint/walker.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <string>

namespace pgwarden::lint {
namespace {

namespace fs = std::filesystem;

TEST(Suppressions, FormsAndScope) {
    std::string src =
        "package p\n"
        "//nolint:pgwarden\n"                             // 2: covers 2-3
        "var a = 1 //pgwarden:ignore rows-not-closed\n"   // 3: covers 3-4
        "//nolint:errcheck,rows-err-unchecked because\n"  // 4: covers 4-5
        "//nolint\n"                                      // 5: covers 5-6
        "//nolintx\n"                                     // 6: not a suppression
        "// nolint:other\n";                              // 7: other linters only
    ParsedFile f = parse_file(src);
    LineIndex lines(src);
    Suppressions s(f, lines);
    EXPECT_TRUE(s.suppressed(3, "tx-not-finished"));
    EXPECT_TRUE(s.suppressed(4, "rows-not-closed"));
    EXPECT_TRUE(s.suppressed(4, "rows-err-unchecked"));
    EXPECT_TRUE(s.suppressed(6, "stmt-not-closed"));
    EXPECT_FALSE(s.suppressed(7, "stmt-not-closed"));
    EXPECT_FALSE(s.suppressed(8, "rows-not-closed"));
    EXPECT_FALSE(s.suppressed(1, "rows-not-closed"));
}

class TempTree : public ::testing::Test {
protected:
    void SetUp() override {
        root_ =
            fs::temp_directory_path() /
            ("pgwarden_lint_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(root_);
        fs::create_directories(root_);
    }
    void TearDown() override { fs::remove_all(root_); }
    void write(const std::string& rel, const std::string& text) {
        fs::path p = root_ / rel;
        fs::create_directories(p.parent_path());
        std::ofstream(p) << text;
    }
    fs::path root_;
};

std::vector<std::string> all_files(const std::vector<Package>& pkgs) {
    std::vector<std::string> out;
    for (const auto& p : pkgs) {
        for (const auto& f : p.files) {
            out.push_back(fs::path(f).filename().string());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

TEST_F(TempTree, WalkerLikeGoTools) {
    write("a.go", "package a\n");
    write("a_test.go", "package a\n");
    write("notes.txt", "x");
    write("sub/b.go", "package b\n");
    write("vendor/v/v.go", "package v\n");
    write("testdata/t.go", "package t\n");
    write(".hidden/h.go", "package h\n");
    write("_skip/s.go", "package s\n");
    write("_x.go", "package a\n");

    auto rec = expand_paths({root_.string() + "/..."}, WalkOptions{});
    ASSERT_TRUE(rec.ok());
    EXPECT_EQ(all_files(*rec), (std::vector<std::string>{"a.go", "b.go"}));

    auto with = expand_paths({root_.string() + "/..."}, WalkOptions{true, true});
    ASSERT_TRUE(with.ok());
    EXPECT_EQ(all_files(*with),
              (std::vector<std::string>{"a.go", "a_test.go", "b.go", "t.go", "v.go"}));

    auto dir = expand_paths({root_.string()}, WalkOptions{});
    ASSERT_TRUE(dir.ok());
    EXPECT_EQ(all_files(*dir), (std::vector<std::string>{"a.go"}));

    auto file = expand_paths({(root_ / "a_test.go").string()}, WalkOptions{});
    ASSERT_TRUE(file.ok());
    EXPECT_EQ(all_files(*file), (std::vector<std::string>{"a_test.go"}));

    auto missing = expand_paths({(root_ / "nope").string()}, WalkOptions{});
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, "usage");
}

const char* kLeaky =
    "package store\n"
    "\n"
    "func list(db *DB) error {\n"
    "\trows, err := db.Query(\"SELECT 1\")\n"
    "\tif err != nil {\n"
    "\t\treturn err\n"
    "\t}\n"
    "\t_ = rows\n"
    "\treturn nil\n"
    "}\n";

// The import that makes `db.Query` a database call can live in a sibling file.
TEST_F(TempTree, ImportGateIsPerPackage) {
    write("store/db.go", "package store\n\nimport \"database/sql\"\n\ntype DB = sql.DB\n");
    write("store/users.go", kLeaky);
    write("other/users.go", kLeaky);
    auto pkgs = expand_paths({root_.string() + "/..."}, WalkOptions{});
    ASSERT_TRUE(pkgs.ok());
    LintResult r = lint_packages(*pkgs, LintOptions{});
    ASSERT_EQ(r.findings.size(), 1u);
    EXPECT_NE(r.findings[0].path.find("store/users.go"), std::string::npos);
    EXPECT_EQ(r.findings[0].line, 4u);
    EXPECT_EQ(r.findings[0].column, 15u);
    EXPECT_EQ(r.findings[0].rule, "rows-not-closed");
    EXPECT_EQ(r.files, 3u);

    LintOptions off;
    off.disabled_rules = {"rows-not-closed"};
    EXPECT_TRUE(lint_packages(*pkgs, off).findings.empty());
}

TEST(Linter, ParseErrorsAreFindingsAndTheRestIsAnalysed) {
    std::string src =
        std::string("package p\n\nimport \"database/sql\"\n\nfunc broken() {\n\tx := \n}\n\n") +
        "func leak(db *sql.DB) {\n\tdb.Query(\"SELECT 1\")\n}\n";
    auto f = lint_source("p.go", src);
    ASSERT_GE(f.size(), 2u);
    EXPECT_EQ(f[0].rule, "parse-error");
    EXPECT_EQ(f[0].line, 7u);
    bool leak = false;
    for (const auto& x : f) {
        leak = leak || (x.rule == "rows-not-closed" && x.line == 10);
    }
    EXPECT_TRUE(leak);
}

LintResult sample_result() {
    LintResult r;
    r.files = 1;
    r.lines = 10;
    r.findings.push_back(Finding{"./pkg/a b.go", 4, 15, "rows-not-closed", "rows \"leak\"", "List",
                                 "0123456789abcdef"});
    return r;
}

TEST(Reports, Text) {
    EXPECT_EQ(format_text(sample_result()), "./pkg/a b.go:4:15: rows-not-closed: rows \"leak\"\n");
}

TEST(Reports, Json) {
    auto doc = nlohmann::json::parse(format_json(sample_result()));
    ASSERT_EQ(doc["findings"].size(), 1u);
    EXPECT_EQ(doc["findings"][0]["file"], "./pkg/a b.go");
    EXPECT_EQ(doc["findings"][0]["line"], 4);
    EXPECT_EQ(doc["findings"][0]["column"], 15);
    EXPECT_EQ(doc["findings"][0]["rule"], "rows-not-closed");
    EXPECT_EQ(doc["findings"][0]["function"], "List");
    EXPECT_EQ(doc["findings"][0]["fingerprint"], "0123456789abcdef");
    EXPECT_EQ(doc["files"], 1);
}

TEST(Reports, SarifShape) {
    auto doc = nlohmann::json::parse(format_sarif(sample_result(), "0.1.0"));
    EXPECT_EQ(doc["version"], "2.1.0");
    EXPECT_NE(doc["$schema"].get<std::string>().find("sarif-2.1.0"), std::string::npos);
    const auto& run = doc["runs"][0];
    const auto& rules = run["tool"]["driver"]["rules"];
    EXPECT_EQ(rules.size(), all_rules().size());
    for (const auto& r : rules) {
        EXPECT_FALSE(r["id"].get<std::string>().empty());
        EXPECT_FALSE(r["shortDescription"]["text"].get<std::string>().empty());
        EXPECT_NE(r["help"]["markdown"].get<std::string>().find("```go"), std::string::npos);
    }
    const auto& res = run["results"][0];
    EXPECT_EQ(res["ruleId"], "rows-not-closed");
    EXPECT_EQ(rules[res["ruleIndex"].get<int>()]["id"], "rows-not-closed");
    EXPECT_EQ(res["level"], "warning");
    const auto& loc = res["locations"][0]["physicalLocation"];
    EXPECT_EQ(loc["artifactLocation"]["uri"], "pkg/a%20b.go");
    EXPECT_EQ(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    EXPECT_EQ(loc["region"]["startLine"], 4);
    EXPECT_EQ(loc["region"]["startColumn"], 15);
    EXPECT_EQ(res["partialFingerprints"]["pgwardenLint/v1"], "0123456789abcdef");
}

TEST(Rules, EveryRuleIsDocumented) {
    for (const auto& r : all_rules()) {
        EXPECT_FALSE(r.summary.empty()) << r.id;
        EXPECT_FALSE(r.help.empty()) << r.id;
        EXPECT_FALSE(r.bad.empty()) << r.id;
        EXPECT_FALSE(r.good.empty()) << r.id;
        EXPECT_EQ(find_rule(r.id), &r);
    }
    EXPECT_EQ(find_rule("nope"), nullptr);
}

}  // namespace
}  // namespace pgwarden::lint
