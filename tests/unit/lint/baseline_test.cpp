// Fingerprints and baselines: accepted findings stay hidden when the code around them moves,
// and only new findings are reported.
#include "lint/baseline.hpp"
#include "lint/linter.hpp"
#include "lint/parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace pgwarden::lint {
namespace {

const char* kHeader = R"go(package store

import "database/sql"
)go";

const char* kLeak = R"go(
func list(db *sql.DB) error {
	rows, err := db.Query("SELECT id FROM users")
	if err != nil {
		return err
	}
	return rows.Err()
}
)go";

const char* kOther = R"go(
func other(db *sql.DB) error {
	rows, err := db.Query("SELECT id FROM users")
	if err != nil {
		return err
	}
	return rows.Err()
}
)go";

std::vector<Finding> lint(const std::string& src) {
    return lint_source("internal/store/users.go", src);
}

TEST(LineCode, DropsSpacingAndComments) {
    std::string src = "package p\n\trows, err := db.Query(q) // want \"x\"\nx /* a */ := 1\n";
    ParsedFile f = parse_file(src);
    EXPECT_EQ(line_code(src, 12, f.comments), "rows,err:=db.Query(q)");
    EXPECT_EQ(line_code(src, static_cast<std::uint32_t>(src.find("x /*")), f.comments), "x:=1");
    EXPECT_EQ(line_code(src, 0, f.comments), "packagep");
    EXPECT_EQ(line_code(src, static_cast<std::uint32_t>(src.size()), f.comments), "");
}

TEST(Fingerprint, StableWhenCodeMovesAndDistinctOtherwise) {
    auto before = lint(std::string(kHeader) + kLeak);
    ASSERT_EQ(before.size(), 1u);
    EXPECT_EQ(before[0].function, "list");
    EXPECT_EQ(before[0].fingerprint.size(), 16u);

    // Lines added above, the function reformatted and a trailing comment added: same print.
    std::string moved = std::string(kHeader) + "\n// List users.\n\nvar x = 1\n" + kLeak;
    std::size_t q = moved.find("rows, err := db.Query");
    moved.replace(q, 12, "rows,   err :=");
    moved.insert(moved.find('\n', q), " // TODO");
    auto after = lint(moved);
    ASSERT_EQ(after.size(), 1u);
    EXPECT_NE(after[0].line, before[0].line);
    EXPECT_EQ(after[0].fingerprint, before[0].fingerprint);

    // The same code in another function, or another file, is another finding.
    auto both = lint(std::string(kHeader) + kLeak + kOther);
    ASSERT_EQ(both.size(), 2u);
    EXPECT_NE(both[0].fingerprint, both[1].fingerprint);
    auto elsewhere = lint_source("internal/store/admins.go", std::string(kHeader) + kLeak);
    ASSERT_EQ(elsewhere.size(), 1u);
    EXPECT_NE(elsewhere[0].fingerprint, before[0].fingerprint);

    // "./x" and "x" name the same file.
    auto dotted = lint_source("./internal/store/users.go", std::string(kHeader) + kLeak);
    ASSERT_EQ(dotted.size(), 1u);
    EXPECT_EQ(dotted[0].fingerprint, before[0].fingerprint);

    // Changing the offending line itself makes it a new finding.
    std::string edited = std::string(kHeader) + kLeak;
    edited.replace(edited.find("SELECT id"), 9, "SELECT name");
    auto changed = lint(edited);
    ASSERT_EQ(changed.size(), 1u);
    EXPECT_NE(changed[0].fingerprint, before[0].fingerprint);
}

TEST(Fingerprint, FunctionNamesOfMethodsAndLiterals) {
    auto f = lint(std::string(kHeader) + R"go(
type Store struct{ db *sql.DB }

func (s *Store) List() error {
	rows, err := s.db.Query("q")
	if err != nil {
		return err
	}
	return rows.Err()
}

func (s Store) Each() func() {
	return func() {
		s.db.Query("q")
	}
}

var handler = func(db *sql.DB) {
	db.Query("q")
}
)go");
    std::vector<std::string> names;
    for (const auto& x : f) {
        names.push_back(x.function);
    }
    EXPECT_EQ(names,
              (std::vector<std::string>{"(*Store).List", "Store.Each.func1", "Store.Each.func1",
                                        "package.func1", "package.func1"}));
}

TEST(Baseline, HidesAcceptedFindingsAndReportsNewOnes) {
    auto accepted = lint(std::string(kHeader) + kLeak);
    auto parsed = Baseline::parse(Baseline::to_json(accepted));
    ASSERT_TRUE(parsed.ok()) << parsed.error().message;
    EXPECT_EQ(parsed->size(), 1u);

    // Moved down, next to a new leak in another function: only the new one is reported.
    auto now = lint(std::string(kHeader) + "\nvar y = 2\n" + kOther + kLeak);
    ASSERT_EQ(now.size(), 2u);
    EXPECT_EQ(parsed->filter(now), 1u);
    ASSERT_EQ(now.size(), 1u);
    EXPECT_EQ(now[0].function, "other");
}

// Each entry accepts one finding: a second identical leak in the same function is new.
TEST(Baseline, AnEntryAcceptsOneFinding) {
    auto accepted = lint(std::string(kHeader) + kLeak);
    auto b = Baseline::parse(Baseline::to_json(accepted));
    ASSERT_TRUE(b.ok());
    std::string twice = std::string(kHeader) + kLeak;
    std::string stmt = "\trows, err := db.Query(\"SELECT id FROM users\")\n";
    std::size_t at = twice.find("\treturn rows.Err()");
    twice.insert(at, "\t_ = rows\n" + stmt + "\tif err != nil {\n\t\treturn err\n\t}\n");
    auto now = lint(twice);
    ASSERT_EQ(now.size(), 2u);
    EXPECT_NE(now[0].fingerprint, now[1].fingerprint);
    EXPECT_EQ(b->filter(now), 1u);
    ASSERT_EQ(now.size(), 1u);
    EXPECT_GT(now[0].line, accepted[0].line);
}

TEST(Baseline, MatchesOnRuleFunctionAndFingerprint) {
    Finding f{"a.go", 3, 1, "rows-not-closed", "m", "list", "00000000000000aa"};
    auto b = Baseline::parse(
        R"({"findings":[{"rule":"rows-not-closed","function":"list","fingerprint":"00000000000000aa","line":99}]})");
    ASSERT_TRUE(b.ok());
    std::vector<Finding> other_rule{f};
    other_rule[0].rule = "rows-err-unchecked";
    EXPECT_EQ(b->filter(other_rule), 0u);
    std::vector<Finding> other_function{f};
    other_function[0].function = "get";
    EXPECT_EQ(b->filter(other_function), 0u);
    std::vector<Finding> same{f};
    EXPECT_EQ(b->filter(same), 1u);  // the line recorded in the baseline does not matter
    EXPECT_TRUE(same.empty());
}

TEST(Baseline, MalformedDocumentsAreErrors) {
    for (const char* text : {"", "not json", "[]", R"({"findings": 3})",
                             R"({"findings":[{"rule":"x"}]})", R"({"findings":[7]})"}) {
        auto b = Baseline::parse(text);
        ASSERT_FALSE(b.ok()) << text;
        EXPECT_EQ(b.error().code, "baseline");
    }
    auto empty = Baseline::parse(R"({"findings":[]})");
    ASSERT_TRUE(empty.ok());
    EXPECT_EQ(empty->size(), 0u);
}

}  // namespace
}  // namespace pgwarden::lint
