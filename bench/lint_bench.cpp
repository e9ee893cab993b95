// Throughput of `pgwarden lint` on real Go code: tokenize + parse + analyse, single thread,
// files preloaded into memory (grouped by directory, as packages) so disk speed does not count.
// Lines per second are computed from the thread's CPU time (per core, unaffected by other load);
// wall time is shown too. Every function is analysed (the database-import gate is forced open),
// which is the worst case for the rules.
//
//   lint_bench [ROOT...]            (default: /usr/lib/go-1.19/src /usr/share/gocode/src)
//   lint_bench --findings [ROOT...] prints the findings of `pgwarden lint --tests ROOT/...`
//                                   (import gate on), for counting and sampling them on a
//                                   corpus without building the whole pgwarden binary
#include "lint/analysis.hpp"
#include "lint/lexer.hpp"
#include "lint/linter.hpp"
#include "lint/parser.hpp"
#include "lint/report.hpp"
#include "lint/suppress.hpp"
#include "lint/walker.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <string_view>
#include <vector>

namespace {

using pgwarden::lint::FileContext;
using pgwarden::lint::LineIndex;
using pgwarden::lint::PackageFile;
using pgwarden::lint::PackageScope;
using pgwarden::lint::ParsedFile;
using pgwarden::lint::RawFinding;

bool read_file(const std::string& path, std::string& out) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
        return false;
    }
    char buf[1 << 16];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
        out.append(buf, n);
    }
    std::fclose(f);
    return true;
}

struct Totals {
    std::size_t files = 0;
    std::size_t lines = 0;
    std::size_t bytes = 0;
    std::size_t parse_errors = 0;
    std::size_t findings = 0;
};

// CPU time of this thread: on a shared machine it measures the work, not the waiting.
double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

struct Timing {
    double wall = 0;
    double cpu = 0;
};

// One pass over every package: each file parsed, then analysed with its package's scope
// (helpers are followed into sibling files), as `pgwarden lint` does.
Timing run_once(const std::vector<std::vector<std::string>>& packages, Totals& t) {
    double cpu_start = thread_cpu_seconds();
    auto start = std::chrono::steady_clock::now();
    for (const auto& texts : packages) {
        std::vector<ParsedFile> parsed;
        std::vector<LineIndex> lines;
        parsed.reserve(texts.size());
        lines.reserve(texts.size());
        std::vector<PackageFile> files;
        for (const std::string& text : texts) {
            parsed.push_back(pgwarden::lint::parse_file(text));
            lines.emplace_back(parsed.back().source);
            files.push_back(PackageFile{&parsed.back(), &lines.back(), {}});
        }
        PackageScope scope(files);
        for (const PackageFile& pf : files) {
            FileContext ctx{pf.parsed, pf.lines, true, &scope};
            std::vector<RawFinding> raw;
            pgwarden::lint::analyze_file(ctx, raw);
            if (!raw.empty()) {
                pgwarden::lint::Suppressions sup(*pf.parsed, *pf.lines);
                (void)sup;
            }
            t.parse_errors += pf.parsed->errors.empty() ? 0 : 1;
            t.findings += raw.size();
        }
    }
    return Timing{std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(),
                  thread_cpu_seconds() - cpu_start};
}

// What the CLI reports for `pgwarden lint --tests ROOT/...`, in its text format.
int print_findings(const std::vector<std::string>& roots, const pgwarden::lint::WalkOptions& walk) {
    std::size_t total = 0;
    for (const std::string& root : roots) {
        auto packages = pgwarden::lint::expand_paths({root + "/..."}, walk);
        if (!packages) {
            fmt::print(stderr, "{}: {}\n", root, packages.error().message);
            return 2;
        }
        pgwarden::lint::LintOptions options;
        options.walk = walk;
        pgwarden::lint::LintResult result = pgwarden::lint::lint_packages(*packages, options);
        fmt::print("{}", pgwarden::lint::format_text(result));
        total += result.findings.size();
    }
    fmt::print(stderr, "{} findings\n", total);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::vector<std::string> roots;
    bool findings = false;
    for (int i = 1; i < argc; ++i) {
        if (std::string_view(argv[i]) == "--findings") {
            findings = true;
        } else {
            roots.emplace_back(argv[i]);
        }
    }
    if (roots.empty()) {
        roots = {"/usr/lib/go-1.19/src", "/usr/share/gocode/src"};
    }
    pgwarden::lint::WalkOptions walk;
    walk.include_tests = true;  // test files are Go code too, and usually the biggest
    if (findings) {
        return print_findings(roots, walk);
    }
    double all_lines = 0;
    double all_secs = 0;
    for (const std::string& root : roots) {
        auto packages = pgwarden::lint::expand_paths({root + "/..."}, walk);
        if (!packages) {
            fmt::print(stderr, "{}: {}\n", root, packages.error().message);
            return 2;
        }
        std::vector<std::vector<std::string>> texts;
        Totals t;
        for (const auto& pkg : *packages) {
            texts.emplace_back();
            for (const auto& file : pkg.files) {
                std::string text;
                if (read_file(file, text)) {
                    t.lines += static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
                    t.bytes += text.size();
                    texts.back().push_back(std::move(text));
                    t.files += 1;
                }
            }
        }
        // Best of three: the machine is shared, the minimum is the least disturbed run.
        double best = 1e30;
        double best_wall = 1e30;
        for (int i = 0; i < 3; ++i) {
            Totals pass;
            Timing tm = run_once(texts, pass);
            best = std::min(best, tm.cpu);
            best_wall = std::min(best_wall, tm.wall);
            t.parse_errors = pass.parse_errors;
            t.findings = pass.findings;
        }
        fmt::print("{}: {} files, {} lines, {:.1f} MiB, {} parse errors, {} findings (gate off)\n",
                   root, t.files, t.lines, static_cast<double>(t.bytes) / (1 << 20), t.parse_errors,
                   t.findings);
        fmt::print(
            "  tokenize+parse+analyse: {:.3f} s CPU, {:.2f} M lines/s per core, {:.1f} MiB/s "
            "({:.3f} s wall, {:.2f} M lines/s wall)\n",
            best, static_cast<double>(t.lines) / best / 1e6,
            static_cast<double>(t.bytes) / (1 << 20) / best, best_wall,
            static_cast<double>(t.lines) / best_wall / 1e6);
        all_lines += static_cast<double>(t.lines);
        all_secs += best;
    }
    fmt::print("total: {:.2f} M lines/s per core (CPU time, 1 thread)\n",
               all_lines / all_secs / 1e6);
    return 0;
}
