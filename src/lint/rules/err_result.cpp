// rows.Err() calls whose result is thrown away: they look like a check but check nothing.
#include "lint/rules/resource_calls.hpp"

#include <algorithm>

namespace pgwarden::lint::rules {

namespace {

bool is_err_call(const Node* e, std::string_view var) {
    e = unparen(e);
    if (e == nullptr || e->kind != NodeKind::Call || !e->list.empty()) {
        return false;
    }
    const Node* f = unparen(e->x);
    return f->kind == NodeKind::Selector && f->text == "Err" && is_ident(unparen(f->x), var);
}

bool is_named_result(const Function& fn, std::string_view v) {
    if (fn.type == nullptr) {
        return false;
    }
    for (const Node* f : fn.type->list2) {
        for (const Node* n : f->list) {
            if (n->text == v) {
                return true;
            }
        }
    }
    return false;
}

// The innermost for/range loop of fn (outside function literals) holding `s`.
const Node* enclosing_loop(const Function& fn, const Node* s) {
    const Node* found = nullptr;
    walk(fn.body, [&](const Node* n) {
        if (n->kind == NodeKind::FuncLit) {
            return false;
        }
        if (n->kind == NodeKind::ForStmt || n->kind == NodeKind::RangeStmt) {
            if (n->pos > s->pos || s->pos >= n->end) {
                return false;
            }
            found = n;  // parents come first, so the last one found is the innermost
        }
        return true;
    });
    return found;
}

// Is `v`, assigned by statement `assign`, read afterwards: later in the function, anywhere in
// the loop that repeats the assignment, or by a function literal (a deferred closure runs
// at the end whatever its position)?
bool read_after(const Function& fn, std::string_view v, const Node* assign) {
    if (is_named_result(fn, v)) {
        return true;  // a bare return, or a deferred closure, hands it to the caller
    }
    const Node* loop = enclosing_loop(fn, assign);
    bool read = false;
    int in_literal = 0;
    auto counts = [&](const Node* id) {
        return in_literal > 0 || id->pos >= assign->end ||
               (loop != nullptr && id->pos >= loop->pos && id->pos < loop->end);
    };
    auto visit = [&](auto& self, const Node* n) -> void {
        if (n == nullptr || read) {
            return;
        }
        switch (n->kind) {
        case NodeKind::Ident:
            read = n->text == v && counts(n);
            return;
        case NodeKind::FuncLit:
            ++in_literal;
            self(self, n->y);
            --in_literal;
            return;
        case NodeKind::AssignStmt:
            for (std::uint32_t i = 0; i < n->list2.size; ++i) {
                // `_ = err` silences "declared and not used"; it reads nothing.
                bool blank = n->list.size == n->list2.size && is_ident(unparen(n->list[i]), "_");
                if (!(blank && is_ident(unparen(n->list2[i]), v))) {
                    self(self, n->list2[i]);
                }
            }
            for (const Node* l : n->list) {
                bool written = is_ident(unparen(l), v) &&
                               (n->tok == TokenKind::Assign || n->tok == TokenKind::Define);
                if (!written) {
                    self(self, l);
                }
            }
            return;
        case NodeKind::ValueSpec:
            for (const Node* val : n->list2) {
                self(self, val);
            }
            return;
        case NodeKind::RangeStmt:
            if (n->tok == TokenKind::Eof) {
                self(self, n->x);
                self(self, n->y);
            }
            self(self, n->z);
            self(self, n->w);
            return;
        default:
            self(self, n->x);
            for (const Node* c : n->list) {
                self(self, c);
            }
            self(self, n->y);
            self(self, n->z);
            self(self, n->w);
            for (const Node* c : n->list2) {
                self(self, c);
            }
        }
    };
    visit(visit, fn.body);
    return read;
}

}  // namespace

std::vector<const Node*> discarded_err_calls(const Function& fn, std::string_view var) {
    std::vector<const Node*> out;
    walk(fn.body, [&](const Node* n) {
        switch (n->kind) {
        case NodeKind::FuncLit:
            return false;  // a function of its own, with its own variables
        case NodeKind::ExprStmt:
        case NodeKind::DeferStmt:
        case NodeKind::GoStmt:
            if (is_err_call(n->x, var)) {
                out.push_back(unparen(n->x));
            }
            return true;
        case NodeKind::AssignStmt:
            if (n->list.size != n->list2.size) {
                return true;
            }
            for (std::uint32_t i = 0; i < n->list2.size; ++i) {
                if (!is_err_call(n->list2[i], var)) {
                    continue;
                }
                const Node* l = unparen(n->list[i]);
                if (is_ident(l, "_") ||
                    (l->kind == NodeKind::Ident &&
                     (n->tok == TokenKind::Assign || n->tok == TokenKind::Define) &&
                     !read_after(fn, l->text, n))) {
                    out.push_back(unparen(n->list2[i]));
                }
            }
            return true;
        case NodeKind::ValueSpec:
            // var err = rows.Err()
            if (n->list.size == n->list2.size) {
                for (std::uint32_t i = 0; i < n->list2.size; ++i) {
                    if (is_err_call(n->list2[i], var) &&
                        (n->list[i]->text == "_" || !read_after(fn, n->list[i]->text, n))) {
                        out.push_back(unparen(n->list2[i]));
                    }
                }
            }
            return true;
        default:
            return true;
        }
    });
    return out;
}

bool contains_node(const std::vector<const Node*>& v, const Node* n) {
    return std::find(v.begin(), v.end(), n) != v.end();
}

}  // namespace pgwarden::lint::rules
