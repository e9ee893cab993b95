// rows-err-unchecked: rows.Next() returns false both at the end of the result and on a
// failure (network error, scan of a broken row, context cancelled); only rows.Err() tells
// them apart, so every Next loop needs an Err check after it.
#include "lint/rule_info.hpp"
#include "lint/rules/resource_calls.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdint>

namespace pgwarden::lint::rules {

namespace {

// *sql.Rows, *sqlx.Rows, pgx.Rows as a parameter type.
bool is_rows_type(const Node* t) {
    t = unparen(t);
    if (t != nullptr && t->kind == NodeKind::Star) {
        t = unparen(t->x);
    }
    if (t == nullptr || t->kind != NodeKind::Selector || t->text != "Rows") {
        return false;
    }
    const Node* pkg = unparen(t->x);
    return pkg->kind == NodeKind::Ident &&
           (pkg->text == "sql" || pkg->text == "sqlx" || pkg->text == "pgx");
}

struct ErrCall {
    const Node* call;
    bool deferred;
};

struct Uses {
    std::vector<std::uint32_t> next_calls;
    std::vector<ErrCall> err_calls;
    bool escapes = false;
};

void scan(const Node* n, std::string_view name, bool in_defer, Uses& u) {
    walk(n, [&](const Node* m) {
        if (m->kind == NodeKind::DeferStmt && !in_defer) {
            scan(m->x, name, true, u);
            return false;
        }
        if (m->kind == NodeKind::Call) {
            const Node* f = unparen(m->x);
            if (f->kind == NodeKind::Selector && is_ident(unparen(f->x), name)) {
                if (f->text == "Next" && m->list.empty()) {  // driver.Rows.Next(dest) differs
                    u.next_calls.push_back(m->pos);
                } else if (f->text == "Err") {
                    u.err_calls.push_back(ErrCall{m, in_defer});
                }
                for (const Node* a : m->list) {
                    scan(a, name, in_defer, u);
                }
                return false;
            }
            for (const Node* a : m->list) {
                if (is_ident(unparen(a), name)) {
                    u.escapes = true;  // a helper (pgx.CollectRows, scanAll) takes over
                }
            }
        }
        if (m->kind == NodeKind::ReturnStmt || m->kind == NodeKind::SendStmt ||
            m->kind == NodeKind::CompositeLit) {
            bool direct = false;
            for (const Node* r : m->list) {
                direct = direct || is_ident(unparen(r), name) ||
                         (r->kind == NodeKind::KeyValue && is_ident(unparen(r->y), name));
            }
            if (direct || (m->kind == NodeKind::SendStmt && is_ident(unparen(m->y), name))) {
                u.escapes = true;
            }
        }
        if (m->kind == NodeKind::AssignStmt) {
            for (std::uint32_t i = 0; i < m->list2.size; ++i) {
                bool blank = m->list.size == m->list2.size && is_ident(unparen(m->list[i]), "_");
                if (!blank && is_ident(unparen(m->list2[i]), name)) {
                    u.escapes = true;  // copied into a field or another variable
                }
            }
        }
        return true;
    });
}

void check_name(const FileContext& ctx, const Function& fn, std::string_view name,
                std::uint32_t after, std::vector<RawFinding>& out) {
    Uses u;
    scan(fn.body, name, false, u);
    if (u.escapes || u.next_calls.empty()) {
        return;
    }
    std::vector<const Node*> discarded;
    if (!u.err_calls.empty()) {
        discarded = discarded_err_calls(fn, name);
    }
    std::uint32_t last_err = 0;
    std::uint32_t last_discarded = 0;
    for (const ErrCall& e : u.err_calls) {
        if (contains_node(discarded, e.call)) {
            last_discarded = std::max(last_discarded, e.call->pos);
        } else if (e.deferred) {
            return;  // checked when the function returns, after every loop
        } else {
            last_err = std::max(last_err, e.call->pos);
        }
    }
    std::sort(u.next_calls.begin(), u.next_calls.end());
    for (auto pos : u.next_calls) {
        if (pos < after) {
            continue;
        }
        if (last_err > pos) {
            continue;
        }
        std::string msg =
            last_discarded > pos
                ? fmt::format(
                      "the result of {0}.Err() at line {1} is thrown away, so an error "
                      "while iterating this {0}.Next() loop still looks like the end of "
                      "the result: check it, `if err := {0}.Err(); err != nil {{ return "
                      "err }}`",
                      name, ctx.lines->line_of(last_discarded))
                : fmt::format(
                      "{0}.Err() is not checked after this {0}.Next() loop, so an error "
                      "while iterating looks like the end of the result: add `if err := "
                      "{0}.Err(); err != nil {{ return err }}` after the loop (line {1})",
                      name, ctx.lines->line_of(pos));
        out.push_back(RawFinding{pos, find_rule("rows-err-unchecked")->id, std::move(msg), {}});
        return;
    }
}

}  // namespace

void check_rows_err(const FileContext& ctx, const Function& fn,
                    const std::vector<Acquisition>& acquisitions, std::vector<RawFinding>& out) {
    std::vector<std::string_view> done;
    auto once = [&](std::string_view n) {
        if (std::find(done.begin(), done.end(), n) != done.end()) {
            return false;
        }
        done.push_back(n);
        return true;
    };
    for (const Acquisition& a : acquisitions) {
        if (a.what.kind == ResourceKind::Rows && !a.var.empty() && once(a.var)) {
            check_name(ctx, fn, a.var, a.call->pos, out);
        }
    }
    if (fn.type != nullptr) {
        for (const Node* f : fn.type->list) {
            if (!is_rows_type(f->x)) {
                continue;
            }
            for (const Node* n : f->list) {
                if (once(n->text)) {
                    check_name(ctx, fn, n->text, 0, out);
                }
            }
        }
    }
}

}  // namespace pgwarden::lint::rules
