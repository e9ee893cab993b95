#pragma once

#include "lint/ast.hpp"
#include "lint/lexer.hpp"
#include "lint/package_scope.hpp"
#include "lint/parser.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pgwarden::lint {

// A finding before file name and line are attached.
struct RawFinding {
    std::uint32_t offset = 0;
    std::string_view rule;  // points at a RuleInfo id
    std::string message;
    std::string function;  // "(*Store).List", "List.func1"; "" outside functions
};

// What the rules know about the file being analysed.
struct FileContext {
    const ParsedFile* file = nullptr;
    const LineIndex* lines = nullptr;
    // True when this file's package imports database/sql, sqlx or pgx: only then are method
    // names like Query and Begin taken to be database calls (we have no type information).
    bool db_package = false;
    // The file's package, for following calls into helpers; null: every call is opaque.
    PackageScope* package = nullptr;
};

// One function body to analyse: a FuncDecl or a FuncLit.
struct Function {
    const Node* type = nullptr;      // FuncType: params in list, results in list2
    const Node* receiver = nullptr;  // FuncType holding the receiver, or null
    const Node* body = nullptr;      // BlockStmt
};

// Runs every rule over every function of the file (function literals are analysed as
// functions of their own). Appends findings in no particular order.
void analyze_file(const FileContext& ctx, std::vector<RawFinding>& out);

// True if any import of the file is a database package the rules understand.
bool imports_db_package(const Node* file);

namespace rules {

struct Acquisition;

// rows-not-closed, query-error-discarded, defer-before-check, stmt-not-closed,
// tx-not-finished: path analysis of resources acquired in `fn`.
void check_resources(const FileContext& ctx, const Function& fn,
                     const std::vector<Acquisition>& acquisitions, std::vector<RawFinding>& out);

// What `fn` does with rows it receives open in parameter `param` (summary mode of the
// rows-not-closed path analysis: nothing is reported).
RowsSummary summarize_rows_param(const FileContext& ctx, const Function& fn,
                                 std::string_view param);

// What the callee of `call` does with rows passed as its argument `arg`: followed into
// functions and methods of the package (summaries cached in ctx.package), known closers
// for pgx and scany, HandsOn for anything else.
RowsSummary rows_fate(const FileContext& ctx, const Node* call, std::uint32_t arg);

// rows-err-unchecked: every rows.Next() loop must be followed by a rows.Err() check.
void check_rows_err(const FileContext& ctx, const Function& fn,
                    const std::vector<Acquisition>& acquisitions, std::vector<RawFinding>& out);

}  // namespace rules

}  // namespace pgwarden::lint
