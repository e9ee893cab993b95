// Path analysis for resources that must be released: rows-not-closed, stmt-not-closed,
// tx-not-finished, plus the error-handling rules that share its state (query-error-discarded,
// defer-before-check).
//
// Each acquisition is followed separately through the structured control flow of its
// function. The state on a path is a set of possibilities (a bit mask), so joining paths is a
// bitwise OR and loops reach a fixpoint in a few rounds. A path that leaves the function
// (return, panic, falling off the end) or overwrites the variable while the resource may be
// live is a leak.
#include "lint/rule_info.hpp"
#include "lint/rules/resource_calls.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <optional>

namespace pgwarden::lint::rules {

namespace {

using Mask = std::uint8_t;
constexpr Mask kNone = 1;       // not acquired yet on this path
constexpr Mask kUnchecked = 2;  // acquired, error not looked at: nil or live
constexpr Mask kNil = 4;        // the call failed: nothing to release
constexpr Mask kOpen = 8;       // live: must be released
constexpr Mask kDone = 16;      // released, release deferred, or handed to someone else
// Release deferred inside the loop that acquired it: released only when the function
// returns, so a path that goes round the loop again holds one more resource.
constexpr Mask kDeferred = 32;
constexpr Mask kLive = kUnchecked | kOpen;

// What a condition tells about the error: the possible outcomes, as kNil/kOpen bits, when
// the condition is true and when it is false.
struct CondFacts {
    Mask when_true = kNil | kOpen;
    Mask when_false = kNil | kOpen;
    bool on_var = false;  // a nil test of the variable itself: says "nil" even once open
};

using ExitKind = LeakExit;

struct Leak {
    ExitKind kind;
    std::uint32_t offset;
    std::uint32_t end = 0;  // of the exiting statement: `return helper(rows)` holds the call
};

// A helper in the package that received the rows and does not close them on every path.
struct Blame {
    std::string callee;
    std::uint32_t offset = 0;  // of the call
    std::uint32_t line = 0;
    RowsSummary summary;
};

// How a summarised helper leaves with the rows open, for messages: "the return at line 40".
std::string exit_text(const RowsSummary& s, const PackageFile* caller_file) {
    std::string where;
    switch (s.exit) {
    case LeakExit::Return:
        where = fmt::format("the return at line {}", s.line);
        break;
    case LeakExit::Panic:
        where = fmt::format("the panic at line {}", s.line);
        break;
    case LeakExit::End:
        where = fmt::format("its end at line {}", s.line);
        break;
    case LeakExit::Overwrite:
        where = fmt::format("the reassignment at line {}", s.line);
        break;
    }
    if (s.file != nullptr && s.file != caller_file && !s.file->path.empty()) {
        std::string_view path = s.file->path;
        std::size_t slash = path.rfind('/');
        where +=
            fmt::format(" of {}", slash == std::string_view::npos ? path : path.substr(slash + 1));
    }
    if (!s.via.empty()) {
        where += fmt::format(" in {}", s.via);
    }
    return where;
}

// "scanAll" or "db.Query": the function a call goes to, for messages.
std::string callee_name_of(const Node* call) {
    const Node* f = unparen(call->x);
    if (f->kind == NodeKind::Ident) {
        return std::string(f->text);
    }
    return callee_name(call);
}

bool is_nil(const Node* n) {
    return is_ident(unparen(n), "nil");
}

std::string_view call_name(const Node* call) {
    const Node* f = unparen(call->x);
    if (f->kind == NodeKind::Ident || f->kind == NodeKind::Selector) {
        return f->text;
    }
    return {};
}

// Calls after which the function does not return normally and no deferred code matters for
// a leak: the process or the goroutine ends.
bool is_terminator(const Node* call) {
    const Node* f = unparen(call->x);
    if (f->kind != NodeKind::Selector) {
        return false;
    }
    std::string_view m = f->text;
    std::string_view pkg = unparen(f->x)->kind == NodeKind::Ident ? unparen(f->x)->text : "";
    if (pkg == "os" && m == "Exit") {
        return true;
    }
    if (pkg == "runtime" && m == "Goexit") {
        return true;
    }
    return m.starts_with("Fatal") || m == "FailNow" || m == "SkipNow" || m == "Skip" ||
           m == "Skipf";
}

bool is_panic(const Node* call) {
    const Node* f = unparen(call->x);
    if (is_ident(f, "panic")) {
        return true;
    }
    return f->kind == NodeKind::Selector && f->text.starts_with("Panic") &&
           unparen(f->x)->kind == NodeKind::Ident && unparen(f->x)->text == "log";
}

// Whether a call taking `err` may be the error check (checkErr(err), require.NoError(t, err))
// rather than a mere look at it (errors.As, fmt.Errorf, log.Print, t.Error).
bool may_stop_on_error(const Node* call) {
    const Node* f = unparen(call->x);
    std::string_view name =
        f->kind == NodeKind::Selector || f->kind == NodeKind::Ident ? f->text : "";
    if (f->kind == NodeKind::Selector && unparen(f->x)->kind == NodeKind::Ident) {
        std::string_view pkg = unparen(f->x)->text;
        if (pkg == "errors" || pkg == "fmt" || pkg == "strings") {
            return false;
        }
    }
    return !(name.starts_with("Print") || name.starts_with("Log") || name == "Error" ||
             name == "Errorf" || name.starts_with("Debug") || name.starts_with("Info") ||
             name.starts_with("Warn"));
}

// require.Error(t, err) and kin stop the test when the call succeeded: a test that expects
// the query to fail continues only on the failure path.
bool expects_failure(const Node* call) {
    const Node* f = unparen(call->x);
    if (f->kind != NodeKind::Selector || !is_ident(unparen(f->x), "require")) {
        return false;
    }
    std::string_view m = f->text;
    return m == "Error" || m == "Errorf" || m == "ErrorIs" || m == "ErrorIsf" || m == "ErrorAs" ||
           m == "ErrorAsf" || m == "ErrorContains" || m == "ErrorContainsf" || m == "EqualError" ||
           m == "EqualErrorf" || m == "NotNil" || m == "NotNilf";
}

bool finishing_name(std::string_view name) {
    std::string lower;
    for (char c : name) {
        lower.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
    }
    for (std::string_view w :
         {"commit", "rollback", "finish", "close", "end", "done", "complete"}) {
        if (lower.find(w) != std::string::npos) {
            return true;
        }
    }
    return false;
}

// `if rows != nil`: the author expects the call to fail sometimes and handles it.
bool compared_with_nil(const Function& fn, std::string_view var) {
    bool found = false;
    walk(fn.body, [&](const Node* n) {
        if (n->kind == NodeKind::Binary && (n->tok == TokenKind::Eql || n->tok == TokenKind::Neq) &&
            ((is_ident(unparen(n->x), var) && is_nil(n->y)) ||
             (is_ident(unparen(n->y), var) && is_nil(n->x)))) {
            found = true;
        }
        return !found;
    });
    return found;
}

void report_discarded(const Acquisition& a, std::vector<RawFinding>& out) {
    std::string_view rule;
    std::string msg;
    switch (a.what.kind) {
    case ResourceKind::Rows:
        rule = "rows-not-closed";
        msg = fmt::format(
            "the rows returned by {} are discarded and never closed, so the "
            "connection leaks: use Exec for statements that return no rows, "
            "or keep the rows and `defer rows.Close()`",
            a.callee);
        break;
    case ResourceKind::Stmt:
        rule = "stmt-not-closed";
        msg = fmt::format(
            "the statement returned by {} is discarded and never closed: keep "
            "it and `defer stmt.Close()`",
            a.callee);
        break;
    case ResourceKind::Tx:
        rule = "tx-not-finished";
        msg = fmt::format(
            "the transaction returned by {} is discarded, so it is never "
            "committed or rolled back: keep it, `defer tx.Rollback()` and "
            "commit on success",
            a.callee);
        break;
    }
    out.push_back(RawFinding{a.call->pos, find_rule(rule)->id, std::move(msg), {}});
}

class Flow {
public:
    // Follows an acquisition of `fn` and reports what goes wrong with it.
    Flow(const FileContext& ctx, const Function& fn, const Acquisition& acq,
         std::vector<RawFinding>& out)
        : ctx_(ctx), fn_(fn), acq_(acq), out_(&out), var_(acq.var), err_(acq.err) {}

    // Summary mode: follows rows that `fn` receives open in parameter `acq.var`, reporting
    // nothing; summary() then says what the function does with them.
    Flow(const FileContext& ctx, const Function& fn, const Acquisition& acq)
        : ctx_(ctx),
          fn_(fn),
          acq_(acq),
          out_(nullptr),
          var_(acq.var),
          err_(acq.err),
          summary_mode_(true) {}

    void run() {
        Mask end = list(fn_.body->list, summary_mode_ ? kOpen : kNone);
        leave(end, ExitKind::End, fn_.body->end > 0 ? fn_.body->end - 1 : fn_.body->pos);
        if (!summary_mode_) {
            report();
        }
    }

    RowsSummary summary() const {
        RowsSummary s;
        s.file = ctx_.package != nullptr ? ctx_.package->file_of(ctx_.file) : nullptr;
        if (escaped_) {
            s.fate = RowsFate::HandsOn;
            return s;
        }
        if (!leak_) {
            s.fate = RowsFate::Closes;
            return s;
        }
        s.fate = released_somewhere_ ? RowsFate::ClosesSome : RowsFate::Never;
        s.exit = leak_->kind;
        s.line = line(leak_->offset);
        if (s.fate == RowsFate::ClosesSome && blame_ &&
            blame_->summary.fate == RowsFate::ClosesSome) {
            // The leaking path is inside the helper we passed them to: name that one.
            const RowsSummary& inner = blame_->summary;
            s.exit = inner.exit;
            s.line = inner.line;
            s.file = inner.file;
            s.via = inner.via.empty() ? blame_->callee : inner.via;
        }
        return s;
    }

private:
    struct Target {
        std::string_view label;
        bool loop = false;
        Mask breaks = 0;
        Mask continues = 0;
        const Node* node = nullptr;
    };

    // ---- events ----
    bool active() const { return shadow_ == 0; }

    void leave(Mask m, ExitKind kind, std::uint32_t offset, std::uint32_t end = 0) {
        if ((m & kLive) != 0 && !leak_) {
            leak_ = Leak{kind, offset, end > offset ? end : offset + 1};
        }
    }

    static Mask release(Mask m) {
        if ((m & kLive) != 0) {
            m = static_cast<Mask>((m & ~kLive) | kDone);
        }
        return m;
    }

    Mask on_release(Mask m) {
        released_somewhere_ = true;
        return release(m);
    }

    // Handed to code that takes over (returned, stored, captured, an unknown callee).
    Mask on_escape(Mask m) {
        escaped_ = true;
        return on_release(m);
    }

    // Rows passed as argument `arg` of `call`: follow the call into the helper when its body
    // is in the package.
    Mask on_pass(const Node* call, std::uint32_t arg, std::uint32_t offset, Mask m) {
        RowsSummary s = rows_fate(ctx_, call, arg);
        switch (s.fate) {
        case RowsFate::Closes:
            return on_release(m);
        case RowsFate::HandsOn:
            return on_escape(m);
        case RowsFate::Pending:
            return (m & kLive) != 0 ? static_cast<Mask>((m & ~kLive) | kDone) : m;
        case RowsFate::ClosesSome:
            released_somewhere_ = true;
            note_blame(call, s);
            // Closed on the helper's other paths; still live on the one that leaks.
            return (m & kLive) != 0 ? static_cast<Mask>(m | kDone) : m;
        case RowsFate::Never:
            if ((m & kLive) != 0) {
                note_blame(call, s);
            }
            return on_use(m, offset);
        }
        return m;
    }

    void note_blame(const Node* call, const RowsSummary& s) {
        if (!blame_) {
            blame_ = Blame{callee_name_of(call), call->pos, line(call->pos), s};
        }
    }

    Mask on_use(Mask m, std::uint32_t offset) {
        if ((m & kUnchecked) != 0) {
            if (acq_.what.kind == ResourceKind::Rows && !unchecked_use_reported_) {
                unchecked_use_reported_ = true;
                emit(offset, "query-error-discarded",
                     fmt::format("{} is used before the error from {} (line {}) is checked: add "
                                 "`if {} != nil {{ return {} }}` right after the query",
                                 var_, acq_.callee, line(acq_.call->pos), err_, err_));
            }
            // The state stays unchecked: a later `if err != nil` still tells the paths apart.
        }
        return m;
    }

    static Mask on_err_read(Mask m) {
        if ((m & kUnchecked) != 0) {
            m = static_cast<Mask>((m & ~kUnchecked) | kOpen);
        }
        return m;
    }

    Mask on_overwrite(Mask m, std::uint32_t offset) {
        if ((m & kLive) != 0 && !leak_) {
            leak_ = Leak{ExitKind::Overwrite, offset, offset + 1};
        }
        return kNone;
    }

    // ---- expressions ----
    CondFacts facts(const Node* c) const {
        c = unparen(c);
        CondFacts f;
        if (c == nullptr) {
            return f;
        }
        if (c->kind == NodeKind::Unary && c->tok == TokenKind::Not) {
            CondFacts in = facts(c->x);
            return CondFacts{in.when_false, in.when_true};
        }
        if (c->kind == NodeKind::Binary) {
            if (c->tok == TokenKind::Eql || c->tok == TokenKind::Neq) {
                const Node* other = is_nil(c->y)   ? unparen(c->x)
                                    : is_nil(c->x) ? unparen(c->y)
                                                   : nullptr;
                if (other != nullptr && other->kind == NodeKind::Ident) {
                    bool eq = c->tok == TokenKind::Eql;
                    if (!err_.empty() && other->text == err_) {
                        // err == nil: the call succeeded.
                        return eq ? CondFacts{kOpen, kNil} : CondFacts{kNil, kOpen};
                    }
                    if (!var_.empty() && other->text == var_) {
                        CondFacts v = eq ? CondFacts{kNil, kOpen} : CondFacts{kOpen, kNil};
                        v.on_var = true;
                        return v;
                    }
                }
                return f;
            }
            if (c->tok == TokenKind::LOr || c->tok == TokenKind::LAnd) {
                CondFacts a = facts(c->x);
                CondFacts b = facts(c->y);
                if (c->tok == TokenKind::LOr) {
                    return CondFacts{static_cast<Mask>(a.when_true | (a.when_false & b.when_true)),
                                     static_cast<Mask>(a.when_false & b.when_false)};
                }
                return CondFacts{static_cast<Mask>(a.when_true & b.when_true),
                                 static_cast<Mask>(a.when_false | (a.when_true & b.when_false))};
            }
        }
        if (c->kind == NodeKind::Call && !err_.empty()) {
            // errors.Is(err, ...), isRetryable(err): true only for a failed call.
            for (const Node* a : c->list) {
                if (is_ident(unparen(a), err_)) {
                    return CondFacts{kNil, kNil | kOpen};
                }
            }
        }
        return f;
    }

    // Scans a condition: its error tests are read by facts(), not counted as error reads.
    Mask cond_expr(const Node* c, Mask m) {
        bool saved = in_cond_;
        in_cond_ = true;
        m = expr(c, m);
        in_cond_ = saved;
        return m;
    }

    static Mask refine(Mask m, Mask outcome, bool on_var = false) {
        if (on_var && outcome == kNil && (m & kOpen) != 0) {
            m = static_cast<Mask>((m & ~kOpen) | kNil);  // `if rows == nil`: nothing to close
        }
        if ((m & kUnchecked) == 0) {
            return m;
        }
        Mask rest = static_cast<Mask>(m & ~kUnchecked);
        if (outcome == (kNil | kOpen)) {
            return m;
        }
        return static_cast<Mask>(rest | outcome);
    }

    Mask expr(const Node* e, Mask m) {
        if (e == nullptr || !active()) {
            return m;
        }
        switch (e->kind) {
        case NodeKind::Ident:
            if (e->text == var_) {
                return on_escape(m);  // handed to someone else
            }
            return m;  // reading err (err.(*pq.Error), log(err)...) is not a check
        case NodeKind::BasicLit:
            return m;
        case NodeKind::Call:
            return call(e, m);
        case NodeKind::Selector:
            if (is_ident(unparen(e->x), var_)) {
                return on_use(m, e->pos);
            }
            return expr(e->x, m);
        case NodeKind::Binary:
            if ((e->tok == TokenKind::Eql || e->tok == TokenKind::Neq) &&
                (is_nil(e->x) || is_nil(e->y))) {
                const Node* other = is_nil(e->y) ? unparen(e->x) : unparen(e->y);
                if (other->kind == NodeKind::Ident &&
                    (other->text == var_ || (!err_.empty() && other->text == err_))) {
                    return m;  // a nil test; conditions refine the state separately
                }
            }
            return expr(e->y, expr(e->x, m));
        case NodeKind::KeyValue:
            // In struct literals the key is a field name, not a variable.
            if (e->x != nullptr && e->x->kind != NodeKind::Ident) {
                m = expr(e->x, m);
            }
            return expr(e->y, m);
        case NodeKind::FuncLit:
            if (references(e->y, var_)) {
                return on_escape(m);  // captured by a closure that may outlive us
            }
            if (!err_.empty() && references(e->y, err_)) {
                return on_err_read(m);
            }
            return m;
        default:
            m = expr(e->x, m);
            for (const Node* c : e->list) {
                m = expr(c, m);
            }
            m = expr(e->y, m);
            m = expr(e->z, m);
            m = expr(e->w, m);
            for (const Node* c : e->list2) {
                m = expr(c, m);
            }
            return m;
        }
    }

    Mask call(const Node* e, Mask m) {
        const Node* fun = unparen(e->x);
        if (fun->kind == NodeKind::Selector && is_ident(unparen(fun->x), var_)) {
            for (const Node* a : e->list) {
                m = expr(a, m);
            }
            if (is_release_method(acq_.what.kind, fun->text)) {
                return on_release(m);
            }
            return on_use(m, e->pos);
        }
        m = expr(e->x, m);
        bool stops_on_success = !err_.empty() && !in_cond_ && expects_failure(e);
        for (std::uint32_t i = 0; i < e->list.size; ++i) {
            const Node* a = e->list[i];
            if (acq_.what.kind == ResourceKind::Rows && is_ident(unparen(a), var_) && active()) {
                m = on_pass(e, i, a->pos, m);
                continue;
            }
            if (stops_on_success && is_ident(unparen(a), err_)) {
                m = refine(m, kNil);
                continue;
            }
            if (!err_.empty() && is_ident(unparen(a), err_) && !in_cond_ && may_stop_on_error(e)) {
                // checkErr(err), require.NoError(t, err): a helper that stops on failure.
                m = on_err_read(m);
                continue;
            }
            if (is_ident(unparen(a), var_) && acq_.what.kind == ResourceKind::Tx) {
                // A transaction is passed to helpers all the time; only a helper named
                // like commit/rollback/finish is taken to end it.
                m = finishing_name(call_name(e)) ? on_release(m) : on_use(m, a->pos);
                continue;
            }
            m = expr(a, m);
        }
        return m;
    }

    // ---- statements ----
    Mask list(NodeList stmts, Mask m) {
        // A parameter lives in the body's outermost block: `:=` there reassigns it.
        bool holds_acq = summary_mode_ && stmts.items == fn_.body->list.items;
        for (const Node* s : stmts) {
            if (s == acq_.stmt) {
                holds_acq = true;
            }
        }
        int shadows = 0;
        bool saved = in_acq_list_;
        in_acq_list_ = holds_acq;
        for (const Node* s : stmts) {
            if (m == 0) {
                break;  // unreachable: nothing left to follow
            }
            m = stmt(s, m);
            if (!holds_acq && active() && declares_var(s) && (m & ~kNone) != 0) {
                ++shadow_;
                ++shadows;
            }
        }
        shadow_ -= shadows;
        in_acq_list_ = saved;
        return m;
    }

    bool declares_var(const Node* s) const {
        if (var_.empty() || s == nullptr) {
            return false;
        }
        if (s->kind == NodeKind::AssignStmt && s->tok == TokenKind::Define) {
            for (const Node* l : s->list) {
                if (is_ident(l, var_)) {
                    return true;
                }
            }
        }
        if (s->kind == NodeKind::DeclStmt && s->x != nullptr && s->x->tok == TokenKind::Var) {
            for (const Node* spec : s->x->list) {
                for (const Node* n : spec->list) {
                    if (n->text == var_) {
                        return true;
                    }
                }
            }
        }
        return false;
    }

    Mask acquire(Mask m) {
        if (!active()) {
            return m;
        }
        if ((m & kLive) != 0 && !leak_) {
            leak_ = Leak{ExitKind::Overwrite, acq_.stmt->pos, acq_.stmt->pos + 1};
        }
        return acq_.err.empty() ? kOpen : kUnchecked;
    }

    Mask assign(const Node* s, Mask m) {
        if (s == acq_.stmt) {
            const Node* call = acq_.call;
            m = expr(unparen(call->x)->x, m);
            for (const Node* a : call->list) {
                m = expr(a, m);
            }
            return acquire(m);
        }
        for (std::uint32_t i = 0; i < s->list2.size; ++i) {
            const Node* r = s->list2[i];
            // `_ = rows` silences "declared and not used"; it hands the rows to no one.
            if (s->list.size == s->list2.size && is_ident(unparen(s->list[i]), "_") &&
                is_ident(unparen(r), var_)) {
                continue;
            }
            m = expr(r, m);
        }
        if (!active()) {
            return m;
        }
        bool shadowing = s->tok == TokenKind::Define && !in_acq_list_;
        for (const Node* l : s->list) {
            const Node* u = unparen(l);
            if (u->kind == NodeKind::Ident) {
                if (u->text == var_ && !shadowing) {
                    m = on_overwrite(m, s->pos);
                } else if (!err_.empty() && u->text == err_ && !shadowing &&
                           (m & kUnchecked) != 0 && s->tok != TokenKind::Define) {
                    m = err_overwritten(m, s->pos);
                } else if (!err_.empty() && u->text == err_ && s->tok == TokenKind::Define &&
                           in_acq_list_ && (m & kUnchecked) != 0) {
                    m = err_overwritten(m, s->pos);
                }
            } else {
                m = expr(u, m);
            }
        }
        return m;
    }

    Mask err_overwritten(Mask m, std::uint32_t offset) {
        if (acq_.what.kind == ResourceKind::Rows && !unchecked_use_reported_) {
            unchecked_use_reported_ = true;
            emit(offset, "query-error-discarded",
                 fmt::format("the error from {} (line {}) is overwritten before it is checked: "
                             "check `{}` right after the query",
                             acq_.callee, line(acq_.call->pos), err_));
        }
        return static_cast<Mask>((m & ~kUnchecked) | kOpen);
    }

    Mask defer_stmt(const Node* s, Mask m) {
        const Node* c = unparen(s->x);
        if (c == nullptr || c->kind != NodeKind::Call || !active()) {
            return m;
        }
        const Node* fun = unparen(c->x);
        bool releases = false;
        if (fun->kind == NodeKind::Selector && is_ident(unparen(fun->x), var_)) {
            releases = is_release_method(acq_.what.kind, fun->text);
        } else if (fun->kind == NodeKind::FuncLit) {
            walk(fun->y, [&](const Node* n) {
                if (n->kind == NodeKind::Call) {
                    const Node* f = unparen(n->x);
                    if (f->kind == NodeKind::Selector && is_ident(unparen(f->x), var_) &&
                        is_release_method(acq_.what.kind, f->text)) {
                        releases = true;
                    }
                }
                return !releases;
            });
        }
        for (std::uint32_t i = 0; i < c->list.size; ++i) {
            if (!is_ident(unparen(c->list[i]), var_)) {
                continue;
            }
            // defer closeRows(rows), defer func(r *sql.Rows){...}(rows); a helper in the
            // package that does not close them on every path is followed like a call.
            releases = releases || acq_.what.kind != ResourceKind::Rows ||
                       rows_fate(ctx_, c, i).fate >= RowsFate::Closes;
        }
        if (!releases) {
            return expr(c, m);
        }
        if ((m & kUnchecked) != 0 && !acq_.err.empty() &&
            !(acq_.what.pgx && acq_.what.kind == ResourceKind::Rows)) {
            emit(s->pos, "defer-before-check",
                 fmt::format("deferred {0}.{1} runs before the error from {2} (line {3}) is "
                             "checked: if the call fails {0} is nil and the deferred call "
                             "panics; move the defer below `if {4} != nil {{ ... }}`",
                             var_, acq_.what.kind == ResourceKind::Tx ? "Rollback()" : "Close()",
                             acq_.callee, line(acq_.call->pos), err_));
            unchecked_use_reported_ = true;
        }
        Mask before = m;
        m = on_release(m);
        const Target* loop = innermost_loop();
        if ((before & kLive) != 0 && loop != nullptr && acq_.stmt != nullptr &&
            acq_.stmt->pos >= loop->node->pos && acq_.stmt->pos < loop->node->end) {
            // The resource was acquired in this loop: the deferred release waits for the
            // function to return, not for the iteration to end.
            m = static_cast<Mask>((before & ~kLive) | kDeferred);
            if (deferred_at_ == 0) {
                deferred_at_ = s->pos;
                deferred_loop_ = loop->node;
            }
        }
        return m;
    }

    const Target* innermost_loop() const {
        for (auto it = targets_.rbegin(); it != targets_.rend(); ++it) {
            if (it->loop) {
                return &*it;
            }
        }
        return nullptr;
    }

    Target* find_target(std::string_view label, bool need_loop) {
        for (auto it = targets_.rbegin(); it != targets_.rend(); ++it) {
            if (!label.empty() ? it->label == label : (!need_loop || it->loop)) {
                return &*it;
            }
        }
        return nullptr;
    }

    std::string_view take_label() {
        std::string_view l = pending_label_;
        pending_label_ = {};
        return l;
    }

    Mask stmt(const Node* s, Mask m) {
        if (s == nullptr || m == 0) {
            return m;
        }
        switch (s->kind) {
        case NodeKind::BlockStmt:
            return list(s->list, m);
        case NodeKind::ExprStmt: {
            const Node* c = unparen(s->x);
            if (s == acq_.stmt) {
                for (const Node* a : acq_.call->list) {
                    m = expr(a, m);
                }
                return acquire(m);
            }
            m = expr(c, m);
            if (c->kind == NodeKind::Call) {
                if (is_panic(c)) {
                    leave(m, ExitKind::Panic, s->pos);
                    return 0;
                }
                if (is_terminator(c)) {
                    return 0;
                }
            }
            return m;
        }
        case NodeKind::AssignStmt:
            return assign(s, m);
        case NodeKind::DeclStmt: {
            if (s->x == nullptr) {
                return m;
            }
            for (const Node* spec : s->x->list) {
                for (const Node* v : spec->list2) {
                    m = expr(v, m);
                }
            }
            if (s == acq_.stmt) {
                return acquire(m);
            }
            return m;
        }
        case NodeKind::IncDecStmt:
        case NodeKind::SendStmt:
            return expr(s->y, expr(s->x, m));
        case NodeKind::GoStmt:
            return expr(s->x, m);
        case NodeKind::DeferStmt:
            return defer_stmt(s, m);
        case NodeKind::ReturnStmt:
            for (const Node* r : s->list) {
                m = expr(r, m);
            }
            leave(m, ExitKind::Return, s->pos, s->end);
            return 0;
        case NodeKind::BranchStmt:
            return branch(s, m);
        case NodeKind::LabeledStmt:
            pending_label_ = s->text;
            m = stmt(s->x, m);
            pending_label_ = {};
            return m;
        case NodeKind::IfStmt:
            return if_stmt(s, m);
        case NodeKind::SwitchStmt:
        case NodeKind::TypeSwitchStmt:
            return switch_stmt(s, m);
        case NodeKind::SelectStmt:
            return select_stmt(s, m);
        case NodeKind::ForStmt:
        case NodeKind::RangeStmt:
            return loop(s, m);
        default:
            return m;
        }
    }

    Mask branch(const Node* s, Mask m) {
        switch (s->tok) {
        case TokenKind::Break:
            if (Target* t = find_target(s->text, false)) {
                t->breaks |= m;
            }
            return 0;
        case TokenKind::Continue:
            if (Target* t = find_target(s->text, true)) {
                t->continues |= m;
            }
            return 0;
        case TokenKind::Goto:
            return 0;  // jumps are not followed: no report rather than a wrong one
        default:
            return m;  // fallthrough: the switch handles it
        }
    }

    // Runs an init statement (if/for/switch); a `:=` of our variable there opens a scope
    // that shadows it until the statement ends.
    Mask init_stmt(const Node* init, Mask m, int& shadows) {
        m = stmt(init, m);
        if (init != nullptr && init != acq_.stmt && active() && declares_var(init) &&
            (m & ~kNone) != 0) {
            ++shadow_;
            ++shadows;
        }
        return m;
    }

    Mask if_stmt(const Node* s, Mask m) {
        int shadows = 0;
        bool saved = in_acq_list_;
        in_acq_list_ = s->x == acq_.stmt && s->x != nullptr;
        m = init_stmt(s->x, m, shadows);
        m = cond_expr(s->y, m);
        CondFacts f = active() ? facts(s->y) : CondFacts{};
        in_acq_list_ = saved;
        Mask then_out = stmt(s->z, refine(m, f.when_true, f.on_var));
        Mask else_in = refine(m, f.when_false, f.on_var);
        Mask else_out = s->w != nullptr ? stmt(s->w, else_in) : else_in;
        shadow_ -= shadows;
        return static_cast<Mask>(then_out | else_out);
    }

    Mask switch_stmt(const Node* s, Mask m) {
        std::string_view label = take_label();
        int shadows = 0;
        m = init_stmt(s->x, m, shadows);
        bool tagless = s->kind == NodeKind::SwitchStmt && s->y == nullptr;
        // `switch err { case nil: ... default: ... }` tests the error like an if chain.
        bool on_err = s->kind == NodeKind::SwitchStmt && !err_.empty() &&
                      is_ident(unparen(s->y), err_) && active();
        bool saw_nil_case = false;
        if (on_err) {
            for (const Node* c : s->z->list) {
                for (const Node* e : c->list) {
                    saw_nil_case = saw_nil_case || is_nil(e);
                }
            }
        }
        m = s->kind == NodeKind::SwitchStmt ? (on_err ? m : expr(s->y, m)) : stmt(s->y, m);
        targets_.push_back(Target{label, false});
        std::size_t ti = targets_.size() - 1;
        Mask rest = m;
        Mask out = 0;
        Mask carry = 0;
        bool has_default = false;
        const Node* body = s->z;
        for (std::uint32_t i = 0; i < body->list.size; ++i) {
            const Node* c = body->list[i];
            Mask in = 0;
            if (c->flag) {
                has_default = true;
            }
            for (const Node* e : c->list) {
                rest = tagless ? cond_expr(e, rest) : expr(e, rest);
            }
            if (on_err) {
                bool nil_here = false;
                for (const Node* e : c->list) {
                    nil_here = nil_here || is_nil(e);
                }
                in = c->flag ? (saw_nil_case ? refine(m, kNil) : m)
                             : refine(m, nil_here ? kOpen : kNil);
            } else if (c->flag) {
                in = rest;  // refined below once every other case is known false
            } else if (tagless && active()) {
                Mask t = 0;
                Mask f = rest;
                for (const Node* e : c->list) {
                    CondFacts cf = facts(e);
                    t |= refine(f, cf.when_true);
                    f = refine(f, cf.when_false);
                }
                in = t;
                rest = f;
            } else {
                in = rest;
            }
            Mask body_out = list(c->list2, static_cast<Mask>(in | carry));
            bool falls = c->list2.size > 0 &&
                         c->list2[c->list2.size - 1]->kind == NodeKind::BranchStmt &&
                         c->list2[c->list2.size - 1]->tok == TokenKind::Fallthrough;
            if (falls) {
                carry = body_out;
            } else {
                carry = 0;
                out |= body_out;
            }
        }
        out |= carry;
        if (!has_default) {
            out |= on_err && saw_nil_case ? refine(m, kNil) : rest;
        }
        out |= targets_[ti].breaks;
        targets_.pop_back();
        shadow_ -= shadows;
        return out;
    }

    Mask select_stmt(const Node* s, Mask m) {
        std::string_view label = take_label();
        targets_.push_back(Target{label, false});
        std::size_t ti = targets_.size() - 1;
        Mask out = 0;
        for (const Node* c : s->z->list) {
            Mask in = stmt(c->x, m);
            out |= list(c->list2, in);
        }
        out |= targets_[ti].breaks;
        targets_.pop_back();
        return out;
    }

    Mask loop(const Node* s, Mask m) {
        std::string_view label = take_label();
        int shadows = 0;
        const Node* cond = nullptr;
        const Node* post = nullptr;
        if (s->kind == NodeKind::ForStmt) {
            m = init_stmt(s->x, m, shadows);
            cond = s->y;
            post = s->z;
        } else {
            m = expr(s->z, m);  // the range expression is evaluated once
        }
        targets_.push_back(Target{label, true, 0, 0, s});
        std::size_t ti = targets_.size() - 1;
        Mask head = m;
        Mask exit = 0;
        // The lattice has 6 bits, so a handful of rounds always reaches the fixpoint.
        for (int round = 0; round < 7; ++round) {
            Mask c = cond_expr(cond, head);
            CondFacts f = cond != nullptr && active() ? facts(cond) : CondFacts{};
            Mask body_in = refine(c, f.when_true);
            exit |= cond != nullptr ? refine(c, f.when_false) : 0;
            if (s->kind == NodeKind::RangeStmt) {
                exit |= head;
            }
            Mask body_out = stmt(s->w, body_in);
            Mask back = static_cast<Mask>(body_out | targets_[ti].continues);
            targets_[ti].continues = 0;
            back = stmt(post, back);
            if ((back & kDeferred) != 0 && deferred_loop_ == s && !deferred_reported_) {
                deferred_reported_ = true;
                report_deferred_in_loop();
            }
            Mask next = static_cast<Mask>(head | back);
            if (next == head) {
                break;
            }
            head = next;
        }
        exit |= targets_[ti].breaks;
        targets_.pop_back();
        shadow_ -= shadows;
        return exit;
    }

    // ---- reporting ----
    std::uint32_t line(std::uint32_t offset) const { return ctx_.lines->line_of(offset); }

    void emit(std::uint32_t offset, std::string_view rule, std::string message) {
        if (summary_mode_) {
            return;
        }
        const RuleInfo* info = find_rule(rule);
        out_->push_back(RawFinding{
            offset, info != nullptr ? info->id : kParseErrorRule, std::move(message), {}});
    }

    void report() {
        if (!leak_) {
            return;
        }
        std::string where;
        switch (leak_->kind) {
        case ExitKind::Return:
            where = fmt::format("on the path through the return at line {}", line(leak_->offset));
            break;
        case ExitKind::Panic:
            where = fmt::format("on the path through the panic at line {}", line(leak_->offset));
            break;
        case ExitKind::End:
            where = "when the function ends";
            break;
        case ExitKind::Overwrite:
            where = fmt::format("before {} is reassigned at line {}", var_, line(leak_->offset));
            break;
        }
        if (!released_somewhere_ && leak_->kind != ExitKind::Overwrite) {
            where = "on any path";
        }
        if (var_.empty()) {
            // The value went to `_` (or nowhere): report it as discarded, but only when some
            // path really continues with it live, so `if err == nil { t.Fatal() }` is quiet.
            report_discarded(acq_, *out_);
            return;
        }
        std::string_view rule;
        std::string msg;
        switch (acq_.what.kind) {
        case ResourceKind::Rows:
            rule = "rows-not-closed";
            // The helper is named only when the leaking exit comes after the call to it.
            msg = blame_ && blame_->offset < leak_->end
                      ? blamed_message(where)
                      : fmt::format(
                            "{} from {} are not closed {}, so the connection leaks: add "
                            "`defer {}.Close()` right after the error check",
                            var_, acq_.callee, where, var_);
            break;
        case ResourceKind::Stmt:
            rule = "stmt-not-closed";
            msg = fmt::format(
                "statement {} from {} is not closed {}: add `defer {}.Close()` "
                "right after the error check",
                var_, acq_.callee, where, var_);
            break;
        case ResourceKind::Tx:
            rule = "tx-not-finished";
            msg = fmt::format(
                "transaction {} from {} is neither committed nor rolled back "
                "{}, so its connection stays busy: add `defer {}.Rollback()` "
                "right after the error check and commit on success",
                var_, acq_.callee, where, var_);
            break;
        }
        emit(acq_.call->pos, rule, std::move(msg));
    }

    // The rows went to a helper in the package that leaves them open on some path.
    std::string blamed_message(const std::string& where) const {
        const Blame& b = *blame_;
        const PackageFile* here =
            ctx_.package != nullptr ? ctx_.package->file_of(ctx_.file) : nullptr;
        if (b.summary.fate == RowsFate::ClosesSome) {
            return fmt::format(
                "{0} from {1} are passed to {2} (line {3}), which closes them on some paths but "
                "not on the path through {4}, so the connection leaks: close them on every path "
                "of {2}, or `defer {0}.Close()` here right after the error check",
                var_, acq_.callee, b.callee, b.line, exit_text(b.summary, here));
        }
        return fmt::format(
            "{0} from {1} are passed to {2} (line {3}), which never closes them, and are not "
            "closed here {4}, so the connection leaks: add `defer {0}.Close()` right after the "
            "error check",
            var_, acq_.callee, b.callee, b.line, where);
    }

    void report_deferred_in_loop() {
        std::string_view what = "rows";
        std::string_view held = ", each holding a connection";
        if (acq_.what.kind == ResourceKind::Stmt) {
            what = "statements";
            held = "";
        } else if (acq_.what.kind == ResourceKind::Tx) {
            what = "transactions";
        }
        emit(deferred_at_, "defer-in-loop",
             fmt::format("deferred {0}.{1} inside a loop runs only when the function returns: "
                         "the {2} from {3} (line {4}) of every iteration stay open until then{5}; "
                         "release {0} at the end of each iteration, or move the loop body into a "
                         "function",
                         var_, acq_.what.kind == ResourceKind::Tx ? "Rollback()" : "Close()", what,
                         acq_.callee, line(acq_.call->pos), held));
    }

    const FileContext& ctx_;
    const Function& fn_;
    const Acquisition& acq_;
    std::vector<RawFinding>* out_;
    std::string_view var_;
    std::string_view err_;
    std::optional<Leak> leak_;
    bool released_somewhere_ = false;
    bool escaped_ = false;
    bool summary_mode_ = false;
    std::optional<Blame> blame_;
    std::uint32_t deferred_at_ = 0;
    const Node* deferred_loop_ = nullptr;
    bool deferred_reported_ = false;
    bool unchecked_use_reported_ = false;
    bool in_acq_list_ = false;
    bool in_cond_ = false;
    int shadow_ = 0;
    std::string_view pending_label_;
    std::vector<Target> targets_;
};

// pgx documents `rows, _ := conn.Query(...)` followed by rows.Err() as a supported style:
// the query's error resurfaces in rows.Err(), so discarding it is fine when Err is checked
// or the rows are handed to a helper (pgx.CollectRows) or returned (pgx's own QueryRow).
bool error_reaches_someone(const Function& fn, std::string_view var, bool pgx) {
    bool ok = false;
    std::vector<const Node*> err_calls;
    walk(fn.body, [&](const Node* n) {
        if (ok) {
            return false;
        }
        if (n->kind == NodeKind::ReturnStmt) {
            for (const Node* r : n->list) {
                ok = ok || references(r, var);
            }
        }
        if (n->kind == NodeKind::Call) {
            const Node* f = unparen(n->x);
            if (pgx && f->kind == NodeKind::Selector && is_ident(unparen(f->x), var) &&
                f->text == "Err") {
                err_calls.push_back(n);
            }
            for (const Node* a : n->list) {
                if (is_ident(unparen(a), var)) {
                    ok = true;
                }
            }
        }
        return !ok;
    });
    if (!ok && !err_calls.empty()) {
        // `_ = rows.Err()` sees the error and throws it away.
        std::vector<const Node*> discarded = discarded_err_calls(fn, var);
        for (const Node* c : err_calls) {
            ok = ok || !contains_node(discarded, c);
        }
    }
    return ok;
}

}  // namespace

RowsSummary summarize_rows_param(const FileContext& ctx, const Function& fn,
                                 std::string_view param) {
    Acquisition a;
    a.what.kind = ResourceKind::Rows;
    a.var = param;
    Flow flow(ctx, fn, a);
    flow.run();
    return flow.summary();
}

void check_resources(const FileContext& ctx, const Function& fn,
                     const std::vector<Acquisition>& acquisitions, std::vector<RawFinding>& out) {
    for (const Acquisition& a : acquisitions) {
        bool rows = a.what.kind == ResourceKind::Rows;
        bool bare = a.stmt->kind == NodeKind::ExprStmt;
        // Handing the rows on (returned, passed to a helper) hands the error on too: pgx
        // rows carry it in Err(). With pgx, checking rows.Err() also sees it.
        bool handed_on = !a.var.empty() && (error_reaches_someone(fn, a.var, a.what.pgx) ||
                                            compared_with_nil(fn, a.var));
        if (rows && (bare || a.err_blank) && !handed_on) {
            out.push_back(RawFinding{
                a.call->pos,
                find_rule("query-error-discarded")->id,
                bare ? fmt::format("the error from {} is discarded: check it, and use Exec if "
                                   "the statement returns no rows",
                                   a.callee)
                     : fmt::format("the error from {} is assigned to _: if the query fails the "
                                   "rows are unusable and the failure goes unnoticed; check it "
                                   "with `if err != nil {{ ... }}` before using the rows",
                                   a.callee),
                {}});
        }
        if (a.outlives) {
            continue;
        }
        Flow(ctx, fn, a, out).run();
    }
}

}  // namespace pgwarden::lint::rules
