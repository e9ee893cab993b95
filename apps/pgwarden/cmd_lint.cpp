// `pgwarden lint`: static analysis of Go code for leaked rows, statements and transactions
// and for discarded query errors (the post-mortem's second cause). Wiring only: the analysis
// lives in src/lint.
#include "commands.hpp"

#include "lint/baseline.hpp"
#include "lint/linter.hpp"
#include "lint/report.hpp"
#include "lint/rule_info.hpp"
#include "lint/walker.hpp"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace pgwarden::app {

namespace {

struct LintArgs {
    std::vector<std::string> paths;
    std::string format = "text";
    std::string output;
    bool tests = false;
    bool include_vendor = false;
    bool list_rules = false;
    std::vector<std::string> disable;
    std::string baseline;        // findings already accepted: not reported again
    std::string write_baseline;  // write the current findings as a baseline and succeed
};

using File = std::unique_ptr<std::FILE, int (*)(std::FILE*)>;

bool read_text(const std::string& path, std::string& out) {
    File f(std::fopen(path.c_str(), "rb"), &std::fclose);
    if (!f) {
        return false;
    }
    char buf[1 << 16];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
        out.append(buf, n);
    }
    return std::ferror(f.get()) == 0;
}

bool write_text(const std::string& path, const std::string& text) {
    File f(std::fopen(path.c_str(), "wb"), &std::fclose);
    return f && std::fwrite(text.data(), 1, text.size(), f.get()) == text.size() &&
           std::fclose(f.release()) == 0;
}

int list_rules() {
    for (const auto& r : lint::all_rules()) {
        std::cout << r.id << "\n    " << r.summary << "\n    fix: " << r.help << "\n";
    }
    return 0;
}

int run_lint(const LintArgs& args) {
    if (args.list_rules) {
        return list_rules();
    }
    for (const auto& id : args.disable) {
        if (lint::find_rule(id) == nullptr) {
            std::cerr << "pgwarden lint: unknown rule '" << id << "' (see --list-rules)\n";
            return 2;
        }
    }
    lint::Baseline baseline;
    if (!args.baseline.empty()) {
        std::string text;
        if (!read_text(args.baseline, text)) {
            std::cerr << "pgwarden lint: cannot read baseline " << args.baseline << "\n";
            return 2;
        }
        auto parsed = lint::Baseline::parse(text);
        if (!parsed) {
            std::cerr << "pgwarden lint: " << args.baseline << ": " << parsed.error().message
                      << "\n";
            return 2;
        }
        baseline = std::move(*parsed);
    }
    lint::LintOptions options;
    options.walk.include_tests = args.tests;
    options.walk.include_vendor = args.include_vendor;
    options.disabled_rules = args.disable;
    std::vector<std::string> paths =
        args.paths.empty() ? std::vector<std::string>{"./..."} : args.paths;
    auto packages = lint::expand_paths(paths, options.walk);
    if (!packages) {
        std::cerr << "pgwarden lint: " << packages.error().message << "\n";
        return 2;
    }
    lint::LintResult result = lint::lint_packages(*packages, options);
    for (const auto& f : result.read_errors) {
        std::cerr << "pgwarden lint: cannot read " << f << "\n";
    }
    if (!args.write_baseline.empty()) {
        if (!write_text(args.write_baseline, lint::Baseline::to_json(result.findings))) {
            std::cerr << "pgwarden lint: cannot write " << args.write_baseline << "\n";
            return 2;
        }
        std::cerr << "pgwarden lint: wrote " << result.findings.size() << " findings to "
                  << args.write_baseline << "\n";
        return result.read_errors.empty() ? 0 : 2;
    }
    if (std::size_t accepted = baseline.filter(result.findings); accepted > 0) {
        std::cerr << "pgwarden lint: " << accepted << " findings accepted in " << args.baseline
                  << " not reported\n";
    }
    std::string text;
    if (args.format == "json") {
        text = lint::format_json(result);
    } else if (args.format == "sarif") {
        text = lint::format_sarif(result, "0.1.0");
    } else {
        text = lint::format_text(result);
    }
    if (args.output.empty() || args.output == "-") {
        std::cout << text << std::flush;
    } else if (!write_text(args.output, text)) {
        std::cerr << "pgwarden lint: cannot write " << args.output << "\n";
        return 2;
    }
    if (!result.read_errors.empty()) {
        return 2;
    }
    return result.findings.empty() ? 0 : 1;
}

}  // namespace

Runner register_lint(CLI::App& root) {
    auto args = std::make_shared<LintArgs>();
    CLI::App* cmd = root.add_subcommand(
        "lint",
        "Find unclosed rows, statements and transactions and discarded query errors in Go code "
        "(database/sql, sqlx, pgx)");
    cmd->footer(
        "Paths work like Go tools: ./... (the default) walks the tree, skipping vendor/ and "
        "testdata/; a directory means its .go files; a file means itself.\n"
        "Silence a finding with //nolint:pgwarden or //pgwarden:ignore RULE on its line or the "
        "line above.\n"
        "Adopting on a large codebase: --write-baseline FILE once, then --baseline FILE in CI "
        "reports only new findings.\n"
        "Exit status: 0 no findings, 1 findings (or files that do not parse), 2 usage error.");
    cmd->add_option("paths", args->paths,
                    "Files, directories or patterns like ./... (default ./...)");
    cmd->add_option("--format", args->format, "Output format: text (go vet style), json or sarif")
        ->check(CLI::IsMember({"text", "json", "sarif"}));
    cmd->add_option("-o,--output", args->output, "Write the report to this file instead of stdout");
    cmd->add_flag("--tests", args->tests, "Also lint *_test.go files found in directories");
    cmd->add_flag("--include-vendor", args->include_vendor,
                  "Also descend into vendor/ and testdata/");
    cmd->add_option("--disable", args->disable, "Do not report this rule (repeatable)");
    cmd->add_option("--baseline", args->baseline,
                    "Do not report findings accepted in this baseline file (matched by rule, "
                    "function and fingerprint, not by line)");
    cmd->add_option("--write-baseline", args->write_baseline,
                    "Write the current findings to this file as a baseline and exit 0");
    cmd->add_flag("--list-rules", args->list_rules, "Describe every rule and exit");
    return [args] { return run_lint(*args); };
}

}  // namespace pgwarden::app
