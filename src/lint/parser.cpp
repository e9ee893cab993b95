#include "lint/parser.hpp"

#include <fmt/format.h>

#include <cstring>
#include <utility>

namespace pgwarden::lint {

namespace {

int binary_precedence(TokenKind k) {
    switch (k) {
    case TokenKind::LOr:
        return 1;
    case TokenKind::LAnd:
        return 2;
    case TokenKind::Eql:
    case TokenKind::Neq:
    case TokenKind::Lss:
    case TokenKind::Leq:
    case TokenKind::Gtr:
    case TokenKind::Geq:
        return 3;
    case TokenKind::Add:
    case TokenKind::Sub:
    case TokenKind::Or:
    case TokenKind::Xor:
        return 4;
    case TokenKind::Mul:
    case TokenKind::Quo:
    case TokenKind::Rem:
    case TokenKind::Shl:
    case TokenKind::Shr:
    case TokenKind::And:
    case TokenKind::AndNot:
        return 5;
    default:
        return 0;
    }
}

bool is_assign_op(TokenKind k) {
    return k == TokenKind::Assign || k == TokenKind::Define ||
           (k >= TokenKind::AddAssign && k <= TokenKind::AndNotAssign);
}

bool starts_type(TokenKind k) {
    switch (k) {
    case TokenKind::Ident:
    case TokenKind::LBrack:
    case TokenKind::Struct:
    case TokenKind::Mul:
    case TokenKind::Func:
    case TokenKind::Interface:
    case TokenKind::Map:
    case TokenKind::Chan:
    case TokenKind::LParen:
    case TokenKind::Arrow:
        return true;
    default:
        return false;
    }
}

class Parser {
public:
    Parser(ParsedFile& out) : out_(out), toks_(out.tokens), src_(out.source) { cur_ = toks_[0]; }

    const Node* parse() {
        Node* file = node(NodeKind::File, cur_.offset);
        std::size_t mark = stack_.size();
        if (cur_.kind != TokenKind::Package) {
            error_here("expected 'package' clause");
        } else {
            next();
            if (cur_.kind == TokenKind::Ident) {
                file->text = text();
            }
            expect(TokenKind::Ident);
            expect_semi();
        }
        while (true) {
            if (failed_) {
                if (!resync()) {
                    break;
                }
            }
            if (cur_.kind == TokenKind::Eof) {
                break;
            }
            Node* decl = top_decl();
            if (!failed_ && decl != nullptr) {
                stack_.push_back(decl);
            }
        }
        file->list = finish(mark);
        file->end = static_cast<std::uint32_t>(src_.size());
        return file;
    }

private:
    // Keeps recursion bounded whatever the input: each nested construct holds one level.
    struct Depth {
        explicit Depth(Parser& p) : p_(p) {
            if (++p_.depth_ > kMaxNesting && !p_.failed_) {
                p_.error_here("nesting too deep");
            }
        }
        ~Depth() { --p_.depth_; }
        Parser& p_;
    };

    // ---- token handling ----
    void next() {
        if (failed_) {
            return;
        }
        if (idx_ + 1 < toks_.size()) {
            ++idx_;
        }
        cur_ = toks_[idx_];
    }

    TokenKind peek(std::size_t ahead = 1) const {
        std::size_t i = idx_ + ahead;
        return i < toks_.size() ? toks_[i].kind : TokenKind::Eof;
    }

    std::string_view text() const { return src_.substr(cur_.offset, cur_.length); }

    void error_at(std::uint32_t offset, std::string message) {
        if (failed_) {
            return;
        }
        out_.errors.push_back(ParseError{offset, std::move(message)});
        failed_ = true;
        error_idx_ = idx_;
        // From now on every loop sees Eof and unwinds; parse() resynchronizes.
        cur_ = Token{TokenKind::Eof, cur_.offset, 0};
    }

    void error_here(std::string_view what) {
        std::string found = fmt::format("'{}'", token_kind_name(cur_.kind));
        if (cur_.kind == TokenKind::Semicolon &&
            (cur_.offset >= src_.size() || src_[cur_.offset] != ';')) {
            found = "newline";
        }
        if (cur_.kind == TokenKind::Ident || is_literal(cur_.kind)) {
            found = fmt::format("{} {}", token_kind_name(cur_.kind), text().substr(0, 40));
        }
        if (cur_.kind == TokenKind::Eof) {
            found = "end of file";
        }
        error_at(cur_.offset, fmt::format("{}, found {}", what, found));
    }

    void expect(TokenKind k) {
        if (cur_.kind == k) {
            next();
            return;
        }
        error_here(fmt::format("expected '{}'", token_kind_name(k)));
    }

    // A statement or declaration ends with ';' unless a ')' or '}' closes the list.
    void expect_semi() {
        if (cur_.kind == TokenKind::Semicolon) {
            next();
        } else if (cur_.kind != TokenKind::RParen && cur_.kind != TokenKind::RBrace &&
                   cur_.kind != TokenKind::Eof) {
            error_here("expected ';' or newline");
        }
    }

    // After a syntax error, skip to the next top-level declaration keyword at the start of a
    // line (gofmt puts every top-level declaration in column 1, and nothing nested there).
    bool resync() {
        std::size_t i = error_idx_ + 1;
        for (; i < toks_.size(); ++i) {
            TokenKind k = toks_[i].kind;
            if (k == TokenKind::Eof) {
                return false;
            }
            if ((k == TokenKind::Func || k == TokenKind::Type || k == TokenKind::Var ||
                 k == TokenKind::Const || k == TokenKind::Import) &&
                (toks_[i].offset == 0 || src_[toks_[i].offset - 1] == '\n')) {
                break;
            }
        }
        if (i >= toks_.size()) {
            return false;
        }
        failed_ = false;
        depth_ = 0;
        expr_lev_ = 0;
        idx_ = i;
        cur_ = toks_[i];
        return true;
    }

    // ---- node building ----
    Node* node(NodeKind k, std::uint32_t pos) {
        Node* n = out_.arena.make<Node>();
        n->kind = k;
        n->pos = pos;
        return n;
    }

    NodeList finish(std::size_t mark) {
        NodeList l;
        l.size = static_cast<std::uint32_t>(stack_.size() - mark);
        if (l.size != 0) {
            l.items =
                static_cast<Node**>(out_.arena.allocate(sizeof(Node*) * l.size, alignof(Node*)));
            std::memcpy(l.items, stack_.data() + mark, sizeof(Node*) * l.size);
        }
        stack_.resize(mark);
        return l;
    }

    std::uint32_t prev_end() const {
        if (idx_ == 0) {
            return 0;
        }
        const Token& t = toks_[idx_ - 1];
        return t.offset + t.length;
    }

    Node* ident() {
        Node* n = node(NodeKind::Ident, cur_.offset);
        if (cur_.kind == TokenKind::Ident) {
            n->text = text();
            next();
        } else {
            n->text = "_";
            expect(TokenKind::Ident);
        }
        return n;
    }

    // ---- declarations ----
    Node* top_decl() {
        switch (cur_.kind) {
        case TokenKind::Import:
        case TokenKind::Const:
        case TokenKind::Type:
        case TokenKind::Var: {
            Node* d = gen_decl();
            expect_semi();
            return d;
        }
        case TokenKind::Func: {
            Node* d = func_decl();
            expect_semi();
            return d;
        }
        case TokenKind::Semicolon:
            next();
            return nullptr;
        default:
            error_here("expected declaration");
            return nullptr;
        }
    }

    Node* gen_decl() {
        Node* d = node(NodeKind::GenDecl, cur_.offset);
        d->tok = cur_.kind;
        next();
        std::size_t mark = stack_.size();
        if (cur_.kind == TokenKind::LParen) {
            next();
            while (cur_.kind != TokenKind::RParen && cur_.kind != TokenKind::Eof) {
                stack_.push_back(spec(d->tok));
                expect_semi();
            }
            expect(TokenKind::RParen);
        } else {
            stack_.push_back(spec(d->tok));
        }
        d->list = finish(mark);
        d->end = prev_end();
        return d;
    }

    Node* spec(TokenKind kind) {
        Depth guard(*this);
        if (kind == TokenKind::Import) {
            Node* s = node(NodeKind::ImportSpec, cur_.offset);
            if (cur_.kind == TokenKind::Ident || cur_.kind == TokenKind::Period) {
                s->text = text();
                next();
            }
            if (cur_.kind == TokenKind::String) {
                Node* lit = node(NodeKind::BasicLit, cur_.offset);
                lit->tok = TokenKind::String;
                lit->text = text();
                s->y = lit;
                next();
            } else {
                error_here("expected import path");
            }
            return s;
        }
        if (kind == TokenKind::Type) {
            Node* s = node(NodeKind::TypeSpec, cur_.offset);
            s->text = cur_.kind == TokenKind::Ident ? text() : std::string_view{};
            expect(TokenKind::Ident);
            if (cur_.kind == TokenKind::LBrack && looks_like_type_params()) {
                next();
                s->list = field_list(TokenKind::RBrack);
                expect(TokenKind::RBrack);
            }
            if (cur_.kind == TokenKind::Assign) {
                next();
            }
            s->x = type();
            return s;
        }
        Node* s = node(NodeKind::ValueSpec, cur_.offset);
        std::size_t mark = stack_.size();
        stack_.push_back(ident());
        while (cur_.kind == TokenKind::Comma) {
            next();
            stack_.push_back(ident());
        }
        s->list = finish(mark);
        if (cur_.kind != TokenKind::Assign && cur_.kind != TokenKind::Semicolon &&
            cur_.kind != TokenKind::RParen) {
            s->x = type();
        }
        if (cur_.kind == TokenKind::Assign) {
            next();
            s->list2 = expr_list();
        }
        return s;
    }

    // `[` after a type name starts type parameters unless it is an array length: `[N]T`.
    bool looks_like_type_params() const {
        if (peek(1) != TokenKind::Ident) {
            return false;
        }
        switch (peek(2)) {
        case TokenKind::Ident:
        case TokenKind::Comma:
        case TokenKind::Tilde:
        case TokenKind::LBrack:
        case TokenKind::Interface:
        case TokenKind::Map:
        case TokenKind::Chan:
        case TokenKind::Func:
        case TokenKind::Mul:
        case TokenKind::Struct:
            return true;
        default:
            return false;
        }
    }

    Node* func_decl() {
        Node* d = node(NodeKind::FuncDecl, cur_.offset);
        expect(TokenKind::Func);
        if (cur_.kind == TokenKind::LParen) {
            Node* recv = node(NodeKind::FuncType, cur_.offset);
            next();
            recv->list = field_list(TokenKind::RParen);
            expect(TokenKind::RParen);
            d->x = recv;
        }
        d->text = cur_.kind == TokenKind::Ident ? text() : std::string_view{};
        expect(TokenKind::Ident);
        Node* sig = node(NodeKind::FuncType, cur_.offset);
        if (cur_.kind == TokenKind::LBrack) {
            // Type parameters; kept out of the signature's params.
            next();
            (void)field_list(TokenKind::RBrack);
            expect(TokenKind::RBrack);
        }
        signature(sig);
        d->y = sig;
        if (cur_.kind == TokenKind::LBrace) {
            d->z = block();
        }
        d->end = prev_end();
        return d;
    }

    void signature(Node* sig) {
        expect(TokenKind::LParen);
        sig->list = field_list(TokenKind::RParen);
        expect(TokenKind::RParen);
        if (cur_.kind == TokenKind::LParen) {
            next();
            sig->list2 = field_list(TokenKind::RParen);
            expect(TokenKind::RParen);
        } else if (starts_type(cur_.kind) && cur_.kind != TokenKind::LParen) {
            Node* f = node(NodeKind::Field, cur_.offset);
            f->x = type();
            std::size_t mark = stack_.size();
            stack_.push_back(f);
            sig->list2 = finish(mark);
        }
    }

    // Parameter, result, receiver and type-parameter lists. Entries are `[names] Type`; a
    // list of bare names with no type anywhere is a list of types (`func(int, string)`).
    NodeList field_list(TokenKind close) {
        Depth guard(*this);
        std::size_t mark = stack_.size();
        std::size_t pending = stack_.size();  // bare entries not yet known to be names
        while (cur_.kind != close && cur_.kind != TokenKind::Eof) {
            std::uint32_t pos = cur_.offset;
            if (cur_.kind == TokenKind::Ident && peek() != TokenKind::Period) {
                Node* name = ident();
                if (cur_.kind == TokenKind::Comma || cur_.kind == close ||
                    cur_.kind == TokenKind::Semicolon || cur_.kind == TokenKind::String) {
                    Node* f = node(NodeKind::Field, pos);
                    f->x = name;  // a type until a later entry proves it a name
                    if (cur_.kind == TokenKind::String) {
                        f->y = operand();  // tag of an embedded field
                    }
                    stack_.push_back(f);
                } else if (cur_.kind == TokenKind::LBrack && close != TokenKind::RBrack &&
                           peek() != TokenKind::RBrack && peek() != TokenKind::Ellipsis) {
                    // `T[int]` (generic type) or `a [N]int` (named array parameter).
                    Node* idx = index_suffix(name);
                    if (starts_type(cur_.kind)) {
                        Node* arr = node(NodeKind::ArrayType, idx->pos);
                        arr->x = idx->list.empty() ? nullptr : idx->list[0];
                        arr->y = type();
                        push_named(pending, name, arr, pos);
                    } else {
                        Node* f = node(NodeKind::Field, pos);
                        f->x = idx;
                        stack_.push_back(f);
                    }
                } else {
                    push_named(pending, name, param_type(close), pos);
                }
            } else {
                Node* f = node(NodeKind::Field, pos);
                f->x = param_type(close);
                if (cur_.kind == TokenKind::String) {
                    f->y = operand();  // struct tag on an embedded field
                }
                stack_.push_back(f);
            }
            if (cur_.kind == TokenKind::Comma) {
                next();
            } else if (cur_.kind == TokenKind::Semicolon && close == TokenKind::RBrace) {
                next();
                pending = stack_.size();  // struct fields: each line is its own declaration
            } else {
                break;
            }
        }
        return finish(mark);
    }

    // Turns the pending bare entries plus `name` into one named Field of type `t`.
    void push_named(std::size_t& pending, Node* name, Node* t, std::uint32_t pos) {
        std::size_t names_mark = stack_.size();
        for (std::size_t i = pending; i < names_mark; ++i) {
            stack_.push_back(stack_[i]->x);
        }
        stack_.push_back(name);
        Node* f = node(NodeKind::Field, pos);
        f->list = finish(names_mark);
        f->x = t;
        if (cur_.kind == TokenKind::String) {
            f->y = operand();
        }
        stack_.resize(pending);
        stack_.push_back(f);
        pending = stack_.size();
    }

    // The type of one entry: `...T` for variadics, a union of `~T` terms for constraints.
    Node* param_type(TokenKind close) {
        if (cur_.kind == TokenKind::Ellipsis) {
            return ellipsis_type();
        }
        if (close != TokenKind::RBrack) {
            return type();
        }
        Node* t = constraint_term();
        while (cur_.kind == TokenKind::Or && !failed_) {
            Node* b = node(NodeKind::Binary, t->pos);
            b->tok = TokenKind::Or;
            next();
            b->x = t;
            b->y = constraint_term();
            t = b;
        }
        return t;
    }

    Node* ellipsis_type() {
        Node* e = node(NodeKind::Ellipsis, cur_.offset);
        expect(TokenKind::Ellipsis);
        e->x = type();
        return e;
    }

    // ---- types ----
    Node* type() {
        Depth guard(*this);
        std::uint32_t pos = cur_.offset;
        switch (cur_.kind) {
        case TokenKind::Ident: {
            Node* t = ident();
            if (cur_.kind == TokenKind::Period) {
                next();
                Node* sel = node(NodeKind::Selector, pos);
                sel->x = t;
                sel->text = cur_.kind == TokenKind::Ident ? text() : std::string_view{};
                expect(TokenKind::Ident);
                t = sel;
            }
            if (cur_.kind == TokenKind::LBrack && peek() != TokenKind::RBrack) {
                t = index_suffix(t);  // generic instantiation
            }
            return t;
        }
        case TokenKind::LParen: {
            next();
            Node* p = node(NodeKind::Paren, pos);
            p->x = type();
            expect(TokenKind::RParen);
            return p;
        }
        case TokenKind::Mul: {
            next();
            Node* s = node(NodeKind::Star, pos);
            s->x = type();
            return s;
        }
        case TokenKind::LBrack: {
            next();
            Node* a = node(NodeKind::ArrayType, pos);
            if (cur_.kind == TokenKind::Ellipsis) {
                a->x = node(NodeKind::Ellipsis, cur_.offset);
                next();
            } else if (cur_.kind != TokenKind::RBrack) {
                ExprLevel lev(*this, 1);
                a->x = expr();
            }
            expect(TokenKind::RBrack);
            a->y = type();
            return a;
        }
        case TokenKind::Map: {
            next();
            Node* m = node(NodeKind::MapType, pos);
            expect(TokenKind::LBrack);
            m->x = type();
            expect(TokenKind::RBrack);
            m->y = type();
            return m;
        }
        case TokenKind::Chan: {
            next();
            Node* c = node(NodeKind::ChanType, pos);
            c->tok = TokenKind::Eof;
            if (cur_.kind == TokenKind::Arrow) {
                next();
                c->tok = TokenKind::Chan;  // send-only
            }
            c->x = type();
            return c;
        }
        case TokenKind::Arrow: {
            next();
            Node* c = node(NodeKind::ChanType, pos);
            c->tok = TokenKind::Arrow;  // receive-only
            expect(TokenKind::Chan);
            c->x = type();
            return c;
        }
        case TokenKind::Func: {
            next();
            Node* f = node(NodeKind::FuncType, pos);
            signature(f);
            return f;
        }
        case TokenKind::Struct: {
            next();
            Node* s = node(NodeKind::StructType, pos);
            expect(TokenKind::LBrace);
            s->list = field_list(TokenKind::RBrace);
            expect(TokenKind::RBrace);
            return s;
        }
        case TokenKind::Interface: {
            next();
            Node* s = node(NodeKind::InterfaceType, pos);
            expect(TokenKind::LBrace);
            s->list = interface_elems();
            expect(TokenKind::RBrace);
            return s;
        }
        default:
            error_here("expected type");
            return node(NodeKind::Bad, pos);
        }
    }

    NodeList interface_elems() {
        std::size_t mark = stack_.size();
        while (cur_.kind != TokenKind::RBrace && cur_.kind != TokenKind::Eof) {
            Node* f = node(NodeKind::Field, cur_.offset);
            if (cur_.kind == TokenKind::Ident && peek() == TokenKind::LParen) {
                std::size_t names = stack_.size();
                stack_.push_back(ident());
                f->list = finish(names);
                Node* sig = node(NodeKind::FuncType, cur_.offset);
                signature(sig);
                f->x = sig;
            } else {
                // Embedded interface or a type-set union like `~int | ~string`.
                f->x = constraint_term();
                while (cur_.kind == TokenKind::Or) {
                    Node* b = node(NodeKind::Binary, f->x->pos);
                    b->tok = TokenKind::Or;
                    next();
                    b->x = f->x;
                    b->y = constraint_term();
                    f->x = b;
                }
            }
            stack_.push_back(f);
            expect_semi();
        }
        return finish(mark);
    }

    Node* constraint_term() {
        if (cur_.kind == TokenKind::Tilde) {
            Node* u = node(NodeKind::Unary, cur_.offset);
            u->tok = TokenKind::Tilde;
            next();
            u->x = type();
            return u;
        }
        return type();
    }

    // ---- statements ----
    Node* block() {
        Depth guard(*this);
        Node* b = node(NodeKind::BlockStmt, cur_.offset);
        expect(TokenKind::LBrace);
        ExprLevel lev(*this, 0, true);
        b->list = stmt_list();
        b->end = cur_.offset + 1;
        expect(TokenKind::RBrace);
        return b;
    }

    NodeList stmt_list() {
        std::size_t mark = stack_.size();
        while (cur_.kind != TokenKind::RBrace && cur_.kind != TokenKind::Case &&
               cur_.kind != TokenKind::Default && cur_.kind != TokenKind::Eof) {
            if (cur_.kind == TokenKind::Semicolon) {
                next();
                continue;
            }
            Node* s = stmt();
            stack_.push_back(s);
            if (cur_.kind != TokenKind::RBrace && cur_.kind != TokenKind::Case &&
                cur_.kind != TokenKind::Default) {
                expect_semi();
            }
        }
        return finish(mark);
    }

    Node* stmt() {
        Depth guard(*this);
        std::uint32_t pos = cur_.offset;
        Node* s = nullptr;
        switch (cur_.kind) {
        case TokenKind::Const:
        case TokenKind::Type:
        case TokenKind::Var:
            s = node(NodeKind::DeclStmt, pos);
            s->x = gen_decl();
            break;
        case TokenKind::Go:
        case TokenKind::Defer: {
            s = node(cur_.kind == TokenKind::Go ? NodeKind::GoStmt : NodeKind::DeferStmt, pos);
            next();
            s->x = expr();
            if (unparen(s->x)->kind != NodeKind::Call && !failed_) {
                error_at(pos, "expression in go or defer must be function call");
            }
            break;
        }
        case TokenKind::Return: {
            s = node(NodeKind::ReturnStmt, pos);
            next();
            if (cur_.kind != TokenKind::Semicolon && cur_.kind != TokenKind::RBrace) {
                s->list = expr_list();
            }
            break;
        }
        case TokenKind::Break:
        case TokenKind::Continue:
        case TokenKind::Goto:
        case TokenKind::Fallthrough: {
            s = node(NodeKind::BranchStmt, pos);
            s->tok = cur_.kind;
            next();
            if (s->tok != TokenKind::Fallthrough && cur_.kind == TokenKind::Ident) {
                s->text = text();
                next();
            }
            break;
        }
        case TokenKind::LBrace:
            s = block();
            break;
        case TokenKind::If:
            s = if_stmt();
            break;
        case TokenKind::Switch:
            s = switch_stmt();
            break;
        case TokenKind::Select:
            s = select_stmt();
            break;
        case TokenKind::For:
            s = for_stmt();
            break;
        case TokenKind::Semicolon:
        case TokenKind::RBrace:
            s = node(NodeKind::EmptyStmt, pos);
            break;
        default:
            s = simple_stmt(true, false);
            break;
        }
        s->end = prev_end();
        return s;
    }

    // A simple statement; `labels` allows `L:`; `range_ok` allows `k, v := range x`, which
    // is returned as a RangeStmt with no body.
    Node* simple_stmt(bool labels, bool range_ok) {
        std::uint32_t pos = cur_.offset;
        if (range_ok && cur_.kind == TokenKind::Range) {
            Node* r = node(NodeKind::RangeStmt, pos);
            next();
            r->z = expr();
            return r;
        }
        NodeList lhs = expr_list();
        TokenKind k = cur_.kind;
        if (is_assign_op(k)) {
            next();
            if (range_ok && cur_.kind == TokenKind::Range &&
                (k == TokenKind::Define || k == TokenKind::Assign)) {
                Node* r = node(NodeKind::RangeStmt, pos);
                r->tok = k;
                next();
                r->x = lhs.size > 0 ? lhs[0] : nullptr;
                r->y = lhs.size > 1 ? lhs[1] : nullptr;
                r->z = expr();
                return r;
            }
            Node* a = node(NodeKind::AssignStmt, pos);
            a->tok = k;
            a->list = lhs;
            a->list2 = expr_list();
            return a;
        }
        if (lhs.size > 1) {
            error_here("expected 1 expression");
            return node(NodeKind::Bad, pos);
        }
        Node* x = lhs.size == 1 ? lhs[0] : node(NodeKind::Bad, pos);
        if (k == TokenKind::Colon && labels && x->kind == NodeKind::Ident) {
            next();
            Node* l = node(NodeKind::LabeledStmt, pos);
            l->text = x->text;
            // A label may end a block: `L: }`.
            if (cur_.kind == TokenKind::RBrace) {
                l->x = node(NodeKind::EmptyStmt, cur_.offset);
            } else {
                l->x = stmt();
            }
            return l;
        }
        if (k == TokenKind::Arrow) {
            next();
            Node* s = node(NodeKind::SendStmt, pos);
            s->x = x;
            s->y = expr();
            return s;
        }
        if (k == TokenKind::Inc || k == TokenKind::Dec) {
            next();
            Node* s = node(NodeKind::IncDecStmt, pos);
            s->x = x;
            s->tok = k;
            return s;
        }
        Node* s = node(NodeKind::ExprStmt, pos);
        s->x = x;
        return s;
    }

    // Temporarily sets the expression level: -1 in control clauses, where `{` opens the
    // body rather than a composite literal of a bare type name.
    struct ExprLevel {
        ExprLevel(Parser& p, int delta, bool reset = false) : p_(p), saved_(p.expr_lev_) {
            p_.expr_lev_ = reset ? delta : (delta < 0 ? -1 : p_.expr_lev_ + delta);
        }
        ~ExprLevel() { p_.expr_lev_ = saved_; }
        Parser& p_;
        int saved_;
    };

    Node* cond_expr(Node* s) {
        if (s == nullptr) {
            return nullptr;
        }
        if (s->kind != NodeKind::ExprStmt) {
            if (!failed_) {
                error_at(s->pos, "expected boolean expression");
            }
            return s;
        }
        return s->x;
    }

    Node* if_stmt() {
        Depth guard(*this);
        Node* s = node(NodeKind::IfStmt, cur_.offset);
        expect(TokenKind::If);
        {
            ExprLevel lev(*this, -1);
            if (cur_.kind == TokenKind::LBrace) {
                error_here("missing condition in if statement");
            } else {
                Node* first =
                    cur_.kind == TokenKind::Semicolon ? nullptr : simple_stmt(false, false);
                if (cur_.kind == TokenKind::Semicolon) {
                    next();
                    s->x = first;
                    if (cur_.kind == TokenKind::LBrace) {
                        error_here("missing condition in if statement");
                    } else {
                        s->y = cond_expr(simple_stmt(false, false));
                    }
                } else {
                    s->y = cond_expr(first);
                }
            }
        }
        s->z = block();
        if (cur_.kind == TokenKind::Else) {
            next();
            if (cur_.kind == TokenKind::If) {
                s->w = if_stmt();
            } else if (cur_.kind == TokenKind::LBrace) {
                s->w = block();
            } else {
                error_here("expected if statement or block");
            }
        }
        s->end = prev_end();
        return s;
    }

    Node* switch_stmt() {
        std::uint32_t pos = cur_.offset;
        expect(TokenKind::Switch);
        Node* init = nullptr;
        Node* tag = nullptr;
        {
            ExprLevel lev(*this, -1);
            if (cur_.kind != TokenKind::LBrace) {
                Node* first =
                    cur_.kind == TokenKind::Semicolon ? nullptr : simple_stmt(false, false);
                if (cur_.kind == TokenKind::Semicolon) {
                    next();
                    init = first;
                    if (cur_.kind != TokenKind::LBrace) {
                        tag = simple_stmt(false, false);
                    }
                } else {
                    tag = first;
                }
            }
        }
        bool type_switch = is_type_switch_guard(tag);
        Node* s = node(type_switch ? NodeKind::TypeSwitchStmt : NodeKind::SwitchStmt, pos);
        s->x = init;
        s->y = type_switch ? tag : cond_expr(tag);
        Node* body = node(NodeKind::BlockStmt, cur_.offset);
        expect(TokenKind::LBrace);
        std::size_t mark = stack_.size();
        while (cur_.kind == TokenKind::Case || cur_.kind == TokenKind::Default) {
            Depth guard(*this);
            Node* c = node(NodeKind::CaseClause, cur_.offset);
            if (cur_.kind == TokenKind::Case) {
                next();
                c->list = expr_list();
            } else {
                next();
                c->flag = true;
            }
            expect(TokenKind::Colon);
            c->list2 = stmt_list();
            c->end = prev_end();
            stack_.push_back(c);
        }
        body->list = finish(mark);
        body->end = cur_.offset + 1;
        expect(TokenKind::RBrace);
        s->z = body;
        return s;
    }

    static bool is_type_switch_guard(const Node* s) {
        if (s == nullptr) {
            return false;
        }
        const Node* e = nullptr;
        if (s->kind == NodeKind::ExprStmt) {
            e = s->x;
        } else if (s->kind == NodeKind::AssignStmt && s->tok == TokenKind::Define &&
                   s->list.size == 1 && s->list2.size == 1) {
            e = s->list2[0];
        }
        return e != nullptr && e->kind == NodeKind::TypeAssert && e->y == nullptr;
    }

    Node* select_stmt() {
        Node* s = node(NodeKind::SelectStmt, cur_.offset);
        expect(TokenKind::Select);
        Node* body = node(NodeKind::BlockStmt, cur_.offset);
        expect(TokenKind::LBrace);
        std::size_t mark = stack_.size();
        while (cur_.kind == TokenKind::Case || cur_.kind == TokenKind::Default) {
            Depth guard(*this);
            Node* c = node(NodeKind::CommClause, cur_.offset);
            if (cur_.kind == TokenKind::Case) {
                next();
                c->x = simple_stmt(false, false);
            } else {
                next();
            }
            expect(TokenKind::Colon);
            c->list2 = stmt_list();
            c->end = prev_end();
            stack_.push_back(c);
        }
        body->list = finish(mark);
        body->end = cur_.offset + 1;
        expect(TokenKind::RBrace);
        s->z = body;
        return s;
    }

    Node* for_stmt() {
        std::uint32_t pos = cur_.offset;
        expect(TokenKind::For);
        Node* init = nullptr;
        Node* cond = nullptr;
        Node* post = nullptr;
        Node* range = nullptr;
        {
            ExprLevel lev(*this, -1);
            if (cur_.kind != TokenKind::LBrace) {
                Node* first =
                    cur_.kind == TokenKind::Semicolon ? nullptr : simple_stmt(false, true);
                if (first != nullptr && first->kind == NodeKind::RangeStmt) {
                    range = first;
                } else if (cur_.kind == TokenKind::Semicolon) {
                    next();
                    init = first;
                    if (cur_.kind != TokenKind::Semicolon) {
                        cond = cond_expr(simple_stmt(false, false));
                    }
                    expect(TokenKind::Semicolon);
                    if (cur_.kind != TokenKind::LBrace) {
                        post = simple_stmt(false, false);
                    }
                } else {
                    cond = cond_expr(first);
                }
            }
        }
        Node* body = block();
        if (range != nullptr) {
            range->pos = pos;
            range->w = body;
            range->end = prev_end();
            return range;
        }
        Node* s = node(NodeKind::ForStmt, pos);
        s->x = init;
        s->y = cond;
        s->z = post;
        s->w = body;
        s->end = prev_end();
        return s;
    }

    // ---- expressions ----
    NodeList expr_list() {
        std::size_t mark = stack_.size();
        stack_.push_back(expr());
        while (cur_.kind == TokenKind::Comma) {
            next();
            stack_.push_back(expr());
        }
        return finish(mark);
    }

    Node* expr() { return binary_expr(1); }

    Node* binary_expr(int min_prec) {
        Depth guard(*this);
        Node* x = unary_expr();
        int chain = 0;
        while (true) {
            int prec = binary_precedence(cur_.kind);
            if (prec < min_prec) {
                break;
            }
            // Left-deep chains are built iteratively; bound them by kMaxChain
            // so that tree walks over `a+b+...` stay bounded too.
            if (++chain > kMaxChain) {
                error_here("expression too long");
                break;
            }
            Node* b = node(NodeKind::Binary, x->pos);
            b->tok = cur_.kind;
            next();
            b->x = x;
            b->y = binary_expr(prec + 1);
            x = b;
        }
        return x;
    }

    Node* unary_expr() {
        Depth guard(*this);
        std::uint32_t pos = cur_.offset;
        switch (cur_.kind) {
        case TokenKind::Add:
        case TokenKind::Sub:
        case TokenKind::Not:
        case TokenKind::Xor:
        case TokenKind::And:
        case TokenKind::Tilde: {
            Node* u = node(NodeKind::Unary, pos);
            u->tok = cur_.kind;
            next();
            u->x = unary_expr();
            return u;
        }
        case TokenKind::Arrow: {
            if (peek() == TokenKind::Chan) {
                return primary_expr(type());  // <-chan T
            }
            Node* u = node(NodeKind::Unary, pos);
            u->tok = TokenKind::Arrow;
            next();
            u->x = unary_expr();
            return u;
        }
        case TokenKind::Mul: {
            Node* s = node(NodeKind::Star, pos);
            next();
            s->x = unary_expr();
            return s;
        }
        default:
            return primary_expr(nullptr);
        }
    }

    static bool is_literal_type(const Node* x) {
        switch (x->kind) {
        case NodeKind::Ident:
        case NodeKind::ArrayType:
        case NodeKind::StructType:
        case NodeKind::MapType:
            return true;
        case NodeKind::Selector:
            return x->x->kind == NodeKind::Ident;  // pkg.T, never a.b.c
        case NodeKind::Index:
            return x->x->kind == NodeKind::Ident || x->x->kind == NodeKind::Selector;
        default:
            return false;
        }
    }

    static bool is_type_name(const Node* x) {
        return x->kind == NodeKind::Ident ||
               (x->kind == NodeKind::Selector && x->x->kind == NodeKind::Ident) ||
               (x->kind == NodeKind::Index &&
                (x->x->kind == NodeKind::Ident || x->x->kind == NodeKind::Selector));
    }

    Node* primary_expr(Node* x) {
        if (x == nullptr) {
            x = operand();
        }
        int chain = 0;
        while (!failed_) {
            if (++chain > kMaxChain) {
                error_here("expression too long");
                break;
            }
            switch (cur_.kind) {
            case TokenKind::Period: {
                next();
                if (cur_.kind == TokenKind::Ident) {
                    Node* sel = node(NodeKind::Selector, x->pos);
                    sel->x = x;
                    sel->text = text();
                    next();
                    x = sel;
                } else if (cur_.kind == TokenKind::LParen) {
                    next();
                    Node* ta = node(NodeKind::TypeAssert, x->pos);
                    ta->x = x;
                    if (cur_.kind == TokenKind::Type) {
                        next();  // x.(type) in a type switch guard
                    } else {
                        ta->y = type();
                    }
                    expect(TokenKind::RParen);
                    x = ta;
                } else {
                    error_here("expected selector or type assertion");
                }
                continue;
            }
            case TokenKind::LBrack:
                x = index_suffix(x);
                continue;
            case TokenKind::LParen:
                x = call_suffix(x);
                continue;
            case TokenKind::LBrace:
                if (is_literal_type(x) && (expr_lev_ >= 0 || !is_type_name(x))) {
                    x = composite_lit(x);
                    continue;
                }
                return x;
            default:
                return x;
            }
        }
        return x;
    }

    Node* index_suffix(Node* x) {
        Depth guard(*this);
        ExprLevel lev(*this, 1);
        std::uint32_t pos = x->pos;
        expect(TokenKind::LBrack);
        Node* idx[3] = {nullptr, nullptr, nullptr};
        int colons = 0;
        std::size_t mark = stack_.size();
        if (cur_.kind != TokenKind::Colon) {
            idx[0] = type_or_expr();
        }
        while (cur_.kind == TokenKind::Colon && colons < 2 && !failed_) {
            ++colons;
            next();
            if (cur_.kind != TokenKind::Colon && cur_.kind != TokenKind::RBrack) {
                idx[colons] = expr();
            }
        }
        if (colons > 0) {
            Node* s = node(NodeKind::Slice, pos);
            s->x = x;
            s->y = idx[0];
            s->z = idx[1];
            s->w = idx[2];
            expect(TokenKind::RBrack);
            return s;
        }
        stack_.push_back(idx[0]);
        while (cur_.kind == TokenKind::Comma) {
            next();
            if (cur_.kind == TokenKind::RBrack) {
                break;
            }
            stack_.push_back(type_or_expr());
        }
        Node* n = node(NodeKind::Index, pos);
        n->x = x;
        n->list = finish(mark);
        expect(TokenKind::RBrack);
        return n;
    }

    Node* call_suffix(Node* fun) {
        Depth guard(*this);
        ExprLevel lev(*this, 1);
        Node* c = node(NodeKind::Call, fun->pos);
        c->x = fun;
        expect(TokenKind::LParen);
        std::size_t mark = stack_.size();
        while (cur_.kind != TokenKind::RParen && cur_.kind != TokenKind::Eof) {
            stack_.push_back(type_or_expr());
            if (cur_.kind == TokenKind::Ellipsis) {
                c->flag = true;
                next();
            }
            if (cur_.kind != TokenKind::Comma) {
                break;
            }
            next();
        }
        c->list = finish(mark);
        c->end = cur_.offset + 1;
        expect(TokenKind::RParen);
        return c;
    }

    // Arguments and indices may be types: make([]int, n), new(T), m[T].
    Node* type_or_expr() { return expr(); }

    Node* composite_lit(Node* type) {
        Depth guard(*this);
        ExprLevel lev(*this, 1);
        Node* c = node(NodeKind::CompositeLit, type != nullptr ? type->pos : cur_.offset);
        c->x = type;
        expect(TokenKind::LBrace);
        std::size_t mark = stack_.size();
        while (cur_.kind != TokenKind::RBrace && cur_.kind != TokenKind::Eof) {
            Node* e = element();
            if (cur_.kind == TokenKind::Colon) {
                Node* kv = node(NodeKind::KeyValue, e->pos);
                next();
                kv->x = e;
                kv->y = element();
                e = kv;
            }
            stack_.push_back(e);
            if (cur_.kind != TokenKind::Comma) {
                break;
            }
            next();
        }
        c->list = finish(mark);
        c->end = cur_.offset + 1;
        expect(TokenKind::RBrace);
        return c;
    }

    Node* element() {
        if (cur_.kind == TokenKind::LBrace) {
            return composite_lit(nullptr);  // elided type: {1, 2} inside [][]int{...}
        }
        return expr();
    }

    Node* operand() {
        Depth guard(*this);
        std::uint32_t pos = cur_.offset;
        switch (cur_.kind) {
        case TokenKind::Ident:
            return ident();
        case TokenKind::Int:
        case TokenKind::Float:
        case TokenKind::Imag:
        case TokenKind::Char:
        case TokenKind::String: {
            Node* lit = node(NodeKind::BasicLit, pos);
            lit->tok = cur_.kind;
            lit->text = text();
            next();
            return lit;
        }
        case TokenKind::LParen: {
            next();
            ExprLevel lev(*this, 1);
            Node* p = node(NodeKind::Paren, pos);
            p->x = cur_.kind == TokenKind::LBrack || cur_.kind == TokenKind::Chan
                       ? primary_expr(type())
                       : expr();
            expect(TokenKind::RParen);
            return p;
        }
        case TokenKind::Func: {
            next();
            Node* ft = node(NodeKind::FuncType, pos);
            signature(ft);
            if (cur_.kind == TokenKind::LBrace) {
                Node* f = node(NodeKind::FuncLit, pos);
                f->x = ft;
                f->y = block();
                f->end = prev_end();
                return f;
            }
            return ft;
        }
        case TokenKind::LBrack:
        case TokenKind::Struct:
        case TokenKind::Map:
        case TokenKind::Chan:
        case TokenKind::Interface:
            return type();
        default:
            error_here("expected expression");
            return node(NodeKind::Bad, pos);
        }
    }

    ParsedFile& out_;
    const std::vector<Token>& toks_;
    std::string_view src_;
    std::size_t idx_ = 0;
    Token cur_;
    bool failed_ = false;
    std::size_t error_idx_ = 0;
    int depth_ = 0;
    int expr_lev_ = 0;
    std::vector<Node*> stack_;
};

}  // namespace

ParsedFile parse_file(std::string_view source) {
    ParsedFile out;
    LexResult lex = tokenize(source);
    out.source = source;
    out.tokens = std::move(lex.tokens);
    out.comments = std::move(lex.comments);
    for (auto& e : lex.errors) {
        out.errors.push_back(ParseError{e.offset, std::move(e.message)});
    }
    Parser parser(out);
    out.file = parser.parse();
    return out;
}

std::string_view import_path(const Node* spec) {
    if (spec == nullptr || spec->y == nullptr || spec->y->text.size() < 2) {
        return {};
    }
    std::string_view t = spec->y->text;
    return t.substr(1, t.size() - 2);
}

}  // namespace pgwarden::lint
