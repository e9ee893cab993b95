#include "lint/rules/resource_calls.hpp"

namespace pgwarden::lint::rules {

namespace {

bool contains_ctx_word(std::string_view s) {
    return s.find("ctx") != std::string_view::npos || s.find("Ctx") != std::string_view::npos ||
           s.find("Context") != std::string_view::npos ||
           s.find("context") != std::string_view::npos;
}

// A first argument that is a context: ctx, r.Context(), context.Background(), s.ctx.
bool is_ctx_like(const Node* e) {
    e = unparen(e);
    if (e == nullptr) {
        return false;
    }
    switch (e->kind) {
    case NodeKind::Ident:
        return contains_ctx_word(e->text) || e->text == "c";
    case NodeKind::Selector:
        return contains_ctx_word(e->text) ||
               (e->x->kind == NodeKind::Ident && e->x->text == "context");
    case NodeKind::Call: {
        const Node* f = unparen(e->x);
        if (f->kind == NodeKind::Selector) {
            return contains_ctx_word(f->text) ||
                   (f->x->kind == NodeKind::Ident && f->x->text == "context");
        }
        return f->kind == NodeKind::Ident && contains_ctx_word(f->text);
    }
    default:
        return false;
    }
}

void collect_declared(const Node* n, std::vector<std::string_view>& names) {
    walk(n, [&](const Node* m) {
        if (m->kind == NodeKind::FuncLit) {
            return false;
        }
        if (m->kind == NodeKind::AssignStmt && m->tok == TokenKind::Define) {
            for (const Node* l : m->list) {
                if (l->kind == NodeKind::Ident) {
                    names.push_back(l->text);
                }
            }
        } else if (m->kind == NodeKind::ValueSpec) {
            for (const Node* l : m->list) {
                names.push_back(l->text);
            }
        } else if (m->kind == NodeKind::RangeStmt && m->tok == TokenKind::Define) {
            for (const Node* l : {m->x, m->y}) {
                if (l != nullptr && l->kind == NodeKind::Ident) {
                    names.push_back(l->text);
                }
            }
        }
        return true;
    });
}

void collect_field_names(const Node* fields_holder, bool results,
                         std::vector<std::string_view>& out) {
    if (fields_holder == nullptr) {
        return;
    }
    for (const Node* f : results ? fields_holder->list2 : fields_holder->list) {
        for (const Node* n : f->list) {
            out.push_back(n->text);
        }
    }
}

bool contains(const std::vector<std::string_view>& v, std::string_view s) {
    for (auto x : v) {
        if (x == s) {
            return true;
        }
    }
    return false;
}

}  // namespace

bool may_acquire(std::string_view m) {
    if (m.size() < 5) {
        return false;
    }
    switch (m[0]) {
    case 'Q':
        return m.starts_with("Query") && !m.starts_with("QueryRow");
    case 'N':
        return m.starts_with("NamedQuery");
    case 'P':
        return m.starts_with("Prepare");
    case 'B':
        return m.starts_with("Begin");
    case 'M':
        return m.starts_with("MustBegin");
    default:
        return false;
    }
}

std::optional<ResourceCall> classify_call(const Node* call, std::size_t results) {
    call = unparen(call);
    if (call == nullptr || call->kind != NodeKind::Call) {
        return std::nullopt;
    }
    const Node* fun = unparen(call->x);
    if (fun->kind != NodeKind::Selector) {
        return std::nullopt;
    }
    std::string_view m = fun->text;
    std::size_t args = call->list.size;
    bool pkg_sqlx = fun->x->kind == NodeKind::Ident && fun->x->text == "sqlx";
    // Two results (value, error) for an assignment; a bare statement discards both.
    bool pair = results == 2 || results == 0;
    ResourceCall rc;
    if (m == "Query") {
        if (!pair) {
            return std::nullopt;
        }
        rc.kind = ResourceKind::Rows;
        rc.pgx = args >= 1 && is_ctx_like(call->list[0]);
        // A bare `x.Query()` statement with no arguments is not a database call we know.
        if (results == 0 && args == 0) {
            return std::nullopt;
        }
        return rc;
    }
    if (m == "QueryContext" || m == "QueryxContext") {
        if (!pair || args < 2) {
            return std::nullopt;
        }
        rc.kind = ResourceKind::Rows;
        return rc;
    }
    if (m == "Queryx") {
        if (!pair || args < 1) {
            return std::nullopt;
        }
        rc.kind = ResourceKind::Rows;
        return rc;
    }
    if (m == "NamedQuery" || m == "NamedQueryContext") {
        std::size_t need = (m == "NamedQuery" ? 2 : 3) + (pkg_sqlx ? 1 : 0);
        if (!pair || args != need) {
            return std::nullopt;
        }
        rc.kind = ResourceKind::Rows;
        return rc;
    }
    if (m == "Prepare" || m == "Preparex" || m == "PrepareNamed") {
        // pgx's Prepare(ctx, name, sql) returns a description, nothing to close.
        if (!pair || args != 1 + (pkg_sqlx ? 1 : 0)) {
            return std::nullopt;
        }
        rc.kind = ResourceKind::Stmt;
        return rc;
    }
    if (m == "PrepareContext" || m == "PreparexContext" || m == "PrepareNamedContext") {
        if (!pair || args != 2 + (pkg_sqlx ? 1 : 0)) {
            return std::nullopt;
        }
        rc.kind = ResourceKind::Stmt;
        return rc;
    }
    if (m == "Begin" || m == "Beginx") {
        // database/sql Begin(), pgx Begin(ctx).
        if (!pair || args > 1 || (args == 1 && !is_ctx_like(call->list[0]))) {
            return std::nullopt;
        }
        rc.kind = ResourceKind::Tx;
        rc.pgx = args == 1;
        return rc;
    }
    if (m == "BeginTx" || m == "BeginTxx") {
        if (!pair || args != 2) {
            return std::nullopt;
        }
        rc.kind = ResourceKind::Tx;
        return rc;
    }
    if (m == "MustBegin" || m == "MustBeginTx") {
        if (results > 1) {
            return std::nullopt;
        }
        rc.kind = ResourceKind::Tx;
        rc.has_error = false;
        return rc;
    }
    return std::nullopt;
}

std::string callee_name(const Node* call) {
    const Node* fun = unparen(unparen(call)->x);
    if (fun->kind != NodeKind::Selector) {
        return "call";
    }
    const Node* recv = unparen(fun->x);
    std::string out;
    if (recv->kind == NodeKind::Ident) {
        out.append(recv->text).append(".");
    } else if (recv->kind == NodeKind::Selector) {
        out.append(recv->text).append(".");
    } else if (recv->kind == NodeKind::Call && unparen(recv->x)->kind == NodeKind::Selector) {
        out.append(unparen(recv->x)->text).append("().");
    }
    out.append(fun->text);
    return out;
}

bool is_release_method(ResourceKind kind, std::string_view method) {
    if (kind == ResourceKind::Tx) {
        return method == "Commit" || method == "Rollback";
    }
    return method == "Close";
}

std::string_view kind_noun(ResourceKind kind) {
    switch (kind) {
    case ResourceKind::Rows:
        return "rows";
    case ResourceKind::Stmt:
        return "stmt";
    case ResourceKind::Tx:
        return "tx";
    }
    return "rows";
}

bool references(const Node* n, std::string_view name) {
    bool found = false;
    walk(n, [&](const Node* m) {
        if (found) {
            return false;
        }
        if (m->kind == NodeKind::Ident && m->text == name) {
            found = true;
        }
        return !found;
    });
    return found;
}

std::vector<Acquisition> find_acquisitions(const Function& fn) {
    std::vector<Acquisition> out;
    std::vector<std::string_view> locals;
    std::vector<std::string_view> named_results;
    bool locals_ready = false;
    auto ensure_locals = [&] {
        if (!locals_ready) {
            collect_declared(fn.body, locals);
            collect_field_names(fn.type, false, locals);
            collect_field_names(fn.type, true, named_results);
            locals_ready = true;
        }
    };
    auto add = [&](const Node* stmt, NodeList lhs, const Node* rhs, bool define) {
        auto rc = classify_call(rhs, lhs.size);
        if (!rc) {
            return;
        }
        Acquisition a;
        a.what = *rc;
        a.stmt = stmt;
        a.call = unparen(rhs);
        a.callee = callee_name(a.call);
        if (lhs.size >= 1) {
            const Node* v = unparen(lhs[0]);
            if (v->kind != NodeKind::Ident) {
                a.outlives = true;  // s.rows, m[k]: stored beyond this function's locals
            } else if (v->text != "_") {
                a.var = v->text;
            }
        }
        if (lhs.size == 2) {
            const Node* e = unparen(lhs[1]);
            if (e->kind == NodeKind::Ident && e->text == "_") {
                a.err_blank = true;
            } else if (e->kind == NodeKind::Ident) {
                a.err = e->text;
            }
        }
        if (!a.var.empty()) {
            ensure_locals();
            if (contains(named_results, a.var)) {
                a.outlives = true;  // a named result: returned to the caller
            } else if (!define && !contains(locals, a.var)) {
                a.outlives = true;  // a package variable or one captured from outside
            }
        }
        out.push_back(std::move(a));
    };
    walk(fn.body, [&](const Node* n) {
        switch (n->kind) {
        case NodeKind::FuncLit:
            return false;
        case NodeKind::AssignStmt:
            if (n->list2.size == 1 &&
                (n->tok == TokenKind::Define || n->tok == TokenKind::Assign)) {
                add(n, n->list, n->list2[0], n->tok == TokenKind::Define);
            }
            return true;
        case NodeKind::DeclStmt:
            if (n->x != nullptr && n->x->tok == TokenKind::Var) {
                for (const Node* spec : n->x->list) {
                    if (spec->list2.size == 1) {
                        add(n, spec->list, spec->list2[0], true);
                    }
                }
            }
            return true;
        case NodeKind::ExprStmt:
            add(n, NodeList{}, n->x, false);
            return true;
        default:
            return true;
        }
    });
    return out;
}

}  // namespace pgwarden::lint::rules
