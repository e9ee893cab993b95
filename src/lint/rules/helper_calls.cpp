// Following rows into the helpers they are passed to: which function a call reaches (by
// name, within the package; there are no types), and the cached summary of what that
// function does with the parameter.
#include "lint/rules/resource_calls.hpp"

#include <array>

namespace pgwarden::lint::rules {

namespace {

// Library functions documented to close the rows they are given.
bool known_closer(std::string_view import_path, std::string_view name) {
    if (import_path.starts_with("github.com/jackc/pgx")) {
        constexpr std::array<std::string_view, 5> pgx{
            "CollectRows", "CollectOneRow", "CollectExactlyOneRow", "ForEachRow", "AppendRows"};
        for (std::string_view n : pgx) {
            if (n == name) {
                return true;
            }
        }
    }
    if (import_path.starts_with("github.com/georgysavva/scany")) {
        return name == "ScanAll" || name == "ScanOne";
    }
    return false;
}

RowsSummary of_fate(RowsFate f) {
    RowsSummary s;
    s.fate = f;
    return s;
}

RowsSummary summarize(PackageScope& scope, const FuncRef& ref, std::uint32_t index,
                      std::string_view param) {
    if (const RowsSummary* s = scope.cached(ref.decl, index)) {
        return *s;  // or the Pending placeholder of a summary in progress: recursion
    }
    if (!scope.enter()) {
        return of_fate(RowsFate::HandsOn);
    }
    scope.store(ref.decl, index, of_fate(RowsFate::Pending));
    FileContext sub{ref.file->parsed, ref.file->lines, true, &scope};
    RowsSummary s =
        summarize_rows_param(sub, Function{ref.decl->y, ref.decl->x, ref.decl->z}, param);
    scope.store(ref.decl, index, s);
    scope.leave();
    return s;
}

}  // namespace

RowsSummary rows_fate(const FileContext& ctx, const Node* call, std::uint32_t arg) {
    if (ctx.package == nullptr) {
        return of_fate(RowsFate::HandsOn);
    }
    const Node* fun = unparen(call->x);
    std::string_view package = ctx.file->file->text;
    std::vector<FuncRef> candidates;
    if (fun->kind == NodeKind::Ident) {
        candidates = ctx.package->lookup(package, fun->text, false);
    } else if (fun->kind == NodeKind::Selector) {
        const Node* recv = unparen(fun->x);
        std::string_view path;
        if (recv->kind == NodeKind::Ident && ctx.package->is_import(ctx.file, recv->text, path)) {
            return of_fate(known_closer(path, fun->text) ? RowsFate::Closes : RowsFate::HandsOn);
        }
        // A method call: any method of that name in the package may be the callee.
        candidates = ctx.package->lookup(package, fun->text, true);
    }
    std::uint32_t args = call->list.size;
    bool matched = false;
    RowsSummary best = of_fate(RowsFate::Never);
    for (const FuncRef& c : candidates) {
        bool variadic = false;
        std::vector<std::string_view> names = param_names(c.decl->y, variadic);
        auto n = static_cast<std::uint32_t>(names.size());
        bool fits = variadic ? args + 1 >= n && arg + 1 < n : args == n;
        if (!fits) {
            continue;  // another function of the same name, or rows in a variadic slot
        }
        std::string_view param = names[arg];
        RowsSummary s = param.empty() || param == "_"
                            ? of_fate(RowsFate::Never)  // the helper cannot touch them
                            : summarize(*ctx.package, c, arg, param);
        // Several candidates (methods of different types, build-tagged files): the one
        // that does most for the rows decides, so that no caller is blamed wrongly.
        if (!matched || s.fate > best.fate) {
            best = s;
        }
        matched = true;
    }
    return matched ? best : of_fate(RowsFate::HandsOn);
}

}  // namespace pgwarden::lint::rules
