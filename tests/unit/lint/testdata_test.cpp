// Data-driven rule tests in the spirit of Go's analysistest: every testdata/*.go file marks
// the findings expected on a line with `// want "rule-id" ...`. A missing finding and an
// unexpected one both fail.
#include "lint/lexer.hpp"
#include "lint/linter.hpp"
#include "lint/parser.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace pgwarden::lint {
namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

using Expectations = std::map<std::uint32_t, std::vector<std::string>>;

Expectations wants(std::string_view src) {
    Expectations out;
    ParsedFile f = parse_file(src);
    LineIndex lines(src);
    for (const Comment& c : f.comments) {
        std::string_view text = src.substr(c.offset, c.length);
        std::size_t at = text.find("want \"");
        if (at == std::string_view::npos) {
            continue;
        }
        std::string_view rest = text.substr(at + 5);
        std::uint32_t line = lines.line_of(c.offset);
        while (true) {
            std::size_t open = rest.find('"');
            if (open == std::string_view::npos) {
                break;
            }
            std::size_t close = rest.find('"', open + 1);
            if (close == std::string_view::npos) {
                break;
            }
            out[line].emplace_back(rest.substr(open + 1, close - open - 1));
            rest.remove_prefix(close + 1);
        }
    }
    for (auto& [line, rules] : out) {
        std::sort(rules.begin(), rules.end());
    }
    return out;
}

std::vector<fs::path> testdata_files() {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(PGWARDEN_LINT_TESTDATA)) {
        if (e.path().extension() == ".go") {
            out.push_back(e.path());
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

TEST(RuleTestdata, FindingsMatchWantComments) {
    auto files = testdata_files();
    ASSERT_GE(files.size(), 5u);
    std::size_t total_wants = 0;
    for (const auto& path : files) {
        SCOPED_TRACE(path.filename().string());
        std::string src = read(path);
        Expectations expected = wants(src);
        Expectations got;
        for (const Finding& f : lint_source(path.filename().string(), src)) {
            EXPECT_NE(f.rule, "parse-error") << f.line << ": " << f.message;
            EXPECT_FALSE(f.message.empty());
            got[f.line].push_back(f.rule);
        }
        for (auto& [line, rules] : got) {
            std::sort(rules.begin(), rules.end());
        }
        for (const auto& [line, rules] : expected) {
            total_wants += rules.size();
            auto it = got.find(line);
            std::vector<std::string> actual =
                it == got.end() ? std::vector<std::string>{} : it->second;
            EXPECT_EQ(actual, rules)
                << "missing finding at " << path.filename().string() << ":" << line;
        }
        for (const auto& [line, rules] : got) {
            if (expected.find(line) == expected.end()) {
                ADD_FAILURE() << "unexpected finding at " << path.filename().string() << ":" << line
                              << ": " << rules[0];
            }
        }
    }
    EXPECT_GE(total_wants, 30u);
}

// Every rule has at least one true positive in the test data.
TEST(RuleTestdata, EveryRuleIsExercised) {
    std::map<std::string, int> seen;
    for (const auto& path : testdata_files()) {
        for (const auto& [line, rules] : wants(read(path))) {
            for (const auto& r : rules) {
                seen[r]++;
            }
        }
    }
    for (const char* id :
         {"rows-not-closed", "query-error-discarded", "rows-err-unchecked", "defer-before-check",
          "defer-in-loop", "stmt-not-closed", "tx-not-finished"}) {
        EXPECT_GT(seen[id], 0) << id;
    }
}

}  // namespace
}  // namespace pgwarden::lint
