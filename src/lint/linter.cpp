#include "lint/linter.hpp"

#include "lint/analysis.hpp"
#include "lint/baseline.hpp"
#include "lint/parser.hpp"
#include "lint/rule_info.hpp"
#include "lint/suppress.hpp"

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>

namespace pgwarden::lint {

namespace {

bool read_file(const std::string& path, std::string& out) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    if (f == nullptr) {
        return false;
    }
    out.clear();
    char buf[1 << 16];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) {
        out.append(buf, n);
    }
    bool ok = std::ferror(f) == 0;
    std::fclose(f);
    return ok;
}

void collect(const PackageFile& pf, PackageScope& scope, bool db_package,
             const std::vector<std::string>& disabled, std::vector<Finding>& out) {
    const ParsedFile& parsed = *pf.parsed;
    const LineIndex& lines = *pf.lines;
    std::vector<RawFinding> raw;
    for (const ParseError& e : parsed.errors) {
        raw.push_back(RawFinding{e.offset, kParseErrorRule, e.message, {}});
        break;  // the first error is the one worth reading; the rest follow from it
    }
    FileContext ctx{&parsed, &lines, db_package || imports_db_package(parsed.file), &scope};
    analyze_file(ctx, raw);
    if (raw.empty()) {
        return;
    }
    std::sort(raw.begin(), raw.end(), [](const RawFinding& a, const RawFinding& b) {
        return a.offset != b.offset ? a.offset < b.offset : a.rule < b.rule;
    });
    Suppressions sup(parsed, lines);
    // Identical (rule, function, code) findings in one file are told apart by their order.
    std::map<std::string, std::size_t> seen;
    for (auto& r : raw) {
        std::string code = line_code(parsed.source, r.offset, parsed.comments);
        std::string key = std::string(r.rule) + '\n' + r.function + '\n' + code;
        std::size_t occurrence = seen[key]++;
        if (std::find(disabled.begin(), disabled.end(), r.rule) != disabled.end()) {
            continue;
        }
        LineCol lc = lines.locate(r.offset);
        if (r.rule != kParseErrorRule && sup.suppressed(lc.line, r.rule)) {
            continue;
        }
        std::string fp = fingerprint(r.rule, pf.path, r.function, code, occurrence);
        out.push_back(Finding{std::string(pf.path), lc.line, lc.column, std::string(r.rule),
                              std::move(r.message), std::move(r.function), std::move(fp)});
    }
}

void sort_findings(std::vector<Finding>& f) {
    std::sort(f.begin(), f.end(), [](const Finding& a, const Finding& b) {
        if (a.path != b.path) {
            return a.path < b.path;
        }
        if (a.line != b.line) {
            return a.line < b.line;
        }
        if (a.column != b.column) {
            return a.column < b.column;
        }
        return a.rule < b.rule;
    });
    // Two acquisitions can share a call (a loop body analysed twice never does, but be safe).
    f.erase(std::unique(f.begin(), f.end(),
                        [](const Finding& a, const Finding& b) {
                            return a.path == b.path && a.line == b.line && a.column == b.column &&
                                   a.rule == b.rule && a.message == b.message;
                        }),
            f.end());
}

}  // namespace

std::vector<Finding> lint_source(std::string_view path, std::string_view source, bool db_package) {
    std::vector<Finding> out;
    ParsedFile parsed = parse_file(source);
    LineIndex lines(parsed.source);
    PackageScope scope({PackageFile{&parsed, &lines, path}});
    collect(PackageFile{&parsed, &lines, path}, scope, db_package, {}, out);
    sort_findings(out);
    return out;
}

LintResult lint_packages(const std::vector<Package>& packages, const LintOptions& options) {
    LintResult result;
    for (const Package& pkg : packages) {
        // Read and parse the whole directory first: one file importing database/sql makes
        // `db.Query` in its sibling files a database call too.
        std::vector<std::unique_ptr<std::string>> texts;
        std::vector<std::unique_ptr<ParsedFile>> parsed;
        std::vector<const std::string*> names;
        bool db_package = false;
        for (const std::string& file : pkg.files) {
            auto text = std::make_unique<std::string>();
            if (!read_file(file, *text)) {
                result.read_errors.push_back(file);
                continue;
            }
            auto p = std::make_unique<ParsedFile>(parse_file(*text));
            db_package = db_package || imports_db_package(p->file);
            result.files += 1;
            result.bytes += text->size();
            result.lines += static_cast<std::size_t>(std::count(text->begin(), text->end(), '\n'));
            texts.push_back(std::move(text));
            parsed.push_back(std::move(p));
            names.push_back(&file);
        }
        // Line indexes for every file up front: a helper's summary names lines of its file.
        std::vector<std::unique_ptr<LineIndex>> lines;
        std::vector<PackageFile> files;
        for (std::size_t i = 0; i < parsed.size(); ++i) {
            lines.push_back(std::make_unique<LineIndex>(parsed[i]->source));
            files.push_back(PackageFile{parsed[i].get(), lines.back().get(), *names[i]});
        }
        PackageScope scope(files);
        for (const PackageFile& pf : files) {
            collect(pf, scope, db_package, options.disabled_rules, result.findings);
        }
    }
    sort_findings(result.findings);
    return result;
}

}  // namespace pgwarden::lint
