#include "lint/analysis.hpp"

#include "lint/rules/resource_calls.hpp"

#include <algorithm>
#include <string>

namespace pgwarden::lint {

namespace {

// Names the function a finding is in, for baselines: built only when there is a finding.
struct FunctionName {
    const Node* decl = nullptr;           // the FuncDecl, or null for package-level literals
    const FunctionName* outer = nullptr;  // for function literals: the enclosing function
    int literal = 0;                      // 1-based index among the outer function's literals

    std::string str() const {
        if (outer != nullptr) {
            return outer->str() + ".func" + std::to_string(literal);
        }
        if (decl == nullptr) {
            return "package";
        }
        std::string out;
        const Node* recv = decl->x;
        if (recv != nullptr && !recv->list.empty()) {
            const Node* t = unparen(recv->list[0]->x);
            bool star = t != nullptr && t->kind == NodeKind::Star;
            if (star) {
                t = unparen(t->x);
            }
            if (t != nullptr && t->kind == NodeKind::Index) {
                t = unparen(t->x);  // generic receiver T[K]
            }
            std::string_view type = t != nullptr && t->kind == NodeKind::Ident ? t->text : "?";
            out = star ? "(*" + std::string(type) + ")." : std::string(type) + ".";
        }
        out.append(decl->text);
        return out;
    }
};

// expectPanic(func() {...}), assert.Panics(t, func() {...}): the literal is expected to
// panic part-way, so what it leaves open is not a leak.
bool expects_panic(const Node* call) {
    const Node* f = unparen(call->x);
    std::string_view name =
        f->kind == NodeKind::Ident || f->kind == NodeKind::Selector ? f->text : "";
    std::string lower;
    for (char c : name) {
        lower.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
    }
    return lower.find("panic") != std::string::npos && lower.find("notpanic") == std::string::npos;
}

void analyze_function(const FileContext& ctx, const Function& fn, const FunctionName& name,
                      std::vector<RawFinding>& out) {
    if (fn.body == nullptr) {
        return;
    }
    std::size_t first = out.size();
    // One walk finds the nested function literals and whether any call here could acquire a
    // resource; most functions have none, and then no rule needs to look further.
    std::vector<const Node*> literals;
    std::vector<const Node*> panicking;
    bool candidate = false;
    walk(fn.body, [&](const Node* n) {
        if (n->kind == NodeKind::FuncLit) {
            literals.push_back(n);
            return false;
        }
        if (n->kind == NodeKind::Call) {
            const Node* f = unparen(n->x);
            candidate = candidate || (f->kind == NodeKind::Selector && rules::may_acquire(f->text));
            for (const Node* a : n->list) {
                if (unparen(a)->kind == NodeKind::FuncLit && expects_panic(n)) {
                    panicking.push_back(unparen(a));
                }
            }
        }
        return true;
    });
    std::vector<rules::Acquisition> acquisitions;
    if (candidate) {
        acquisitions = rules::find_acquisitions(fn);
        rules::check_resources(ctx, fn, acquisitions, out);
    }
    rules::check_rows_err(ctx, fn, acquisitions, out);
    if (out.size() > first) {
        std::string s = name.str();
        for (std::size_t i = first; i < out.size(); ++i) {
            out[i].function = s;
        }
    }
    // Function literals are functions of their own: their returns leave the literal, not
    // the enclosing function, so they get their own path analysis.
    int index = 0;
    for (const Node* lit : literals) {
        FunctionName inner{nullptr, &name, ++index};
        if (std::find(panicking.begin(), panicking.end(), lit) == panicking.end()) {
            analyze_function(ctx, Function{lit->x, nullptr, lit->y}, inner, out);
        }
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
    FunctionName package_level;
    int literals = 0;
    for (const Node* decl : ctx.file->file->list) {
        if (decl->kind == NodeKind::FuncDecl && decl->z != nullptr) {
            analyze_function(ctx, Function{decl->y, decl->x, decl->z}, FunctionName{decl}, out);
        } else if (decl->kind == NodeKind::GenDecl) {
            // Package-level `var f = func() {...}` literals are functions too.
            walk(decl, [&](const Node* n) {
                if (n->kind == NodeKind::FuncLit) {
                    FunctionName name{nullptr, &package_level, ++literals};
                    analyze_function(ctx, Function{n->x, nullptr, n->y}, name, out);
                    return false;
                }
                return true;
            });
        }
    }
}

}  // namespace pgwarden::lint
