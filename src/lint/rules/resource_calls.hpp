#pragma once

#include "lint/analysis.hpp"
#include "lint/ast.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pgwarden::lint::rules {

// What a database call hands back that must be released.
enum class ResourceKind {
    Rows,  // *sql.Rows, *sqlx.Rows, pgx.Rows: Close()
    Stmt,  // *sql.Stmt, *sqlx.Stmt, *sqlx.NamedStmt: Close()
    Tx,    // *sql.Tx, *sqlx.Tx, pgx.Tx: Commit() or Rollback()
};

// A call that acquires a resource, recognized by method name and arity (we have no types;
// the caller only asks inside packages that import a database library).
struct ResourceCall {
    ResourceKind kind = ResourceKind::Rows;
    // pgx-style: Query(ctx, ...) or Begin(ctx). pgx rows are safe to use and Close even when
    // the query failed (the error resurfaces in rows.Err()), unlike database/sql's nil rows.
    bool pgx = false;
    bool has_error = true;  // false for MustBegin, which panics instead of returning an error
};

// Cheap pre-filter: could a method of this name acquire a resource?
bool may_acquire(std::string_view method);

// Classifies `call` given how many values its statement receives (0 for a bare expression
// statement, 1 or 2 for assignments).
std::optional<ResourceCall> classify_call(const Node* call, std::size_t results);

// One acquisition found in a function body.
struct Acquisition {
    ResourceCall what;
    const Node* stmt = nullptr;  // AssignStmt, DeclStmt or ExprStmt
    const Node* call = nullptr;
    std::string_view var;    // "" when the value is discarded (`_` or expression statement)
    std::string_view err;    // "" when there is no error variable
    bool err_blank = false;  // the error was assigned to `_`
    bool outlives = false;   // stored somewhere that outlives the function
    std::string callee;      // "db.Query", for messages
};

// Every acquisition in fn's body, not looking into function literals.
std::vector<Acquisition> find_acquisitions(const Function& fn);

// "db.Query" for a call's function expression; "Query" when the receiver is complex.
std::string callee_name(const Node* call);

// The method name a resource is released with.
bool is_release_method(ResourceKind kind, std::string_view method);

// The conventional variable name in messages: rows, stmt, tx.
std::string_view kind_noun(ResourceKind kind);

// The `var.Err()` calls of fn (outside function literals) whose result nobody looks at: a
// bare or deferred statement, assigned to `_`, or to a variable never read afterwards.
std::vector<const Node*> discarded_err_calls(const Function& fn, std::string_view var);

bool contains_node(const std::vector<const Node*>& v, const Node* n);

// True if `name` occurs as an identifier anywhere in the subtree.
bool references(const Node* n, std::string_view name);

}  // namespace pgwarden::lint::rules
