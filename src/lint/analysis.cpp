#include "lint/analysis.hpp"

#include "lint/rules/resource_calls.hpp"

namespace pgwarden::lint {

namespace {

void analyze_function(const FileContext& ctx, const Function& fn, std::vector<RawFinding>& out) {
    if (fn.body == nullptr) {
        return;
    }
    // One walk finds the nested function literals and whether any call here could acquire a
    // resource; most functions have none, and then no rule needs to look further.
    std::vector<const Node*> literals;
    bool candidate = false;
    walk(fn.body, [&](const Node* n) {
        if (n->kind == NodeKind::FuncLit) {
            literals.push_back(n);
            return false;
        }
        if (n->kind == NodeKind::Call && !candidate) {
            const Node* f = unparen(n->x);
            candidate = f->kind == NodeKind::Selector && rules::may_acquire(f->text);
        }
        return true;
    });
    std::vector<rules::Acquisition> acquisitions;
    if (candidate) {
        acquisitions = rules::find_acquisitions(fn);
        rules::check_resources(ctx, fn, acquisitions, out);
    }
    rules::check_rows_err(ctx, fn, acquisitions, out);
    // Function literals are functions of their own: their returns leave the literal, not
    // the enclosing function, so they get their own path analysis.
    for (const Node* lit : literals) {
        analyze_function(ctx, Function{lit->x, nullptr, lit->y}, out);
    }
}

}  // namespace

bool imports_db_package(const Node* file) {
    for (const Node* decl : file->list) {
        if (decl->kind != NodeKind::GenDecl || decl->tok != TokenKind::Import) {
            continue;
        }
        for (const Node* spec : decl->list) {
            std::string_view path = import_path(spec);
            if (path == "database/sql" || path.starts_with("github.com/jmoiron/sqlx") ||
                path.starts_with("github.com/jackc/pgx")) {
                return true;
            }
        }
    }
    return false;
}

void analyze_file(const FileContext& ctx, std::vector<RawFinding>& out) {
    if (!ctx.db_package) {
        return;  // no database package in sight: Query/Begin mean something else here
    }
    for (const Node* decl : ctx.file->file->list) {
        if (decl->kind == NodeKind::FuncDecl && decl->z != nullptr) {
            analyze_function(ctx, Function{decl->y, decl->x, decl->z}, out);
        } else if (decl->kind == NodeKind::GenDecl) {
            // Package-level `var f = func() {...}` literals are functions too.
            walk(decl, [&](const Node* n) {
                if (n->kind == NodeKind::FuncLit) {
                    analyze_function(ctx, Function{n->x, nullptr, n->y}, out);
                    return false;
                }
                return true;
            });
        }
    }
}

}  // namespace pgwarden::lint
