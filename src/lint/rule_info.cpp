#include "lint/rule_info.hpp"

#include <array>

namespace pgwarden::lint {

namespace {

constexpr std::array<RuleInfo, 8> kRules{{
    {"rows-not-closed",
     "rows from a query are not closed on every path, so the connection is never returned to "
     "the pool",
     "Check the error, then `defer rows.Close()` on the next line, so that every return, break "
     "and panic path closes the rows.",
     R"go(rows, err := db.QueryContext(ctx, "SELECT id FROM users")
if err != nil {
    return err
}
for rows.Next() {
    if err := rows.Scan(&id); err != nil {
        return err // rows stay open: the connection leaks
    }
}
rows.Close())go",
     R"go(rows, err := db.QueryContext(ctx, "SELECT id FROM users")
if err != nil {
    return err
}
defer rows.Close()
for rows.Next() {
    if err := rows.Scan(&id); err != nil {
        return err
    }
}
return rows.Err())go"},
    {"query-error-discarded",
     "the error returned by a query is discarded or not checked before the rows are used",
     "Assign the error to a variable and return or handle it (`if err != nil { ... }`) before "
     "touching the rows.",
     R"go(rows, _ := db.Query("SELECT id FROM users")
defer rows.Close()
for rows.Next() {
    ...
})go",
     R"go(rows, err := db.Query("SELECT id FROM users")
if err != nil {
    return fmt.Errorf("list users: %w", err)
}
defer rows.Close()
for rows.Next() {
    ...
})go"},
    {"rows-err-unchecked",
     "a rows.Next() loop is not followed by a check of rows.Err(), so a failure mid-iteration "
     "looks like the end of the result",
     "After the loop, add `if err := rows.Err(); err != nil { return err }`.",
     R"go(defer rows.Close()
for rows.Next() {
    ...
}
return nil)go",
     R"go(defer rows.Close()
for rows.Next() {
    ...
}
return rows.Err())go"},
    {"defer-before-check",
     "`defer rows.Close()` comes before the query's error check: when the query fails rows is "
     "nil and the deferred Close panics",
     "Move the defer below the `if err != nil { ... }` block.",
     R"go(rows, err := db.Query(q)
defer rows.Close()
if err != nil {
    return err
})go",
     R"go(rows, err := db.Query(q)
if err != nil {
    return err
}
defer rows.Close())go"},
    {"defer-in-loop",
     "`defer rows.Close()` inside a loop: every iteration's rows, and their connection, stay "
     "open until the function returns",
     "Close the rows at the end of each iteration (and on its early exits), or move the "
     "iteration into a function (a closure called per iteration is fine) whose own defer "
     "runs when it returns.",
     R"go(for _, id := range ids {
    rows, err := db.QueryContext(ctx, q, id)
    if err != nil {
        return err
    }
    defer rows.Close() // runs when the function returns
    ...
})go",
     R"go(for _, id := range ids {
    if err := func() error {
        rows, err := db.QueryContext(ctx, q, id)
        if err != nil {
            return err
        }
        defer rows.Close() // runs when this iteration's function returns
        ...
        return rows.Err()
    }(); err != nil {
        return err
    }
})go"},
    {"stmt-not-closed",
     "a prepared statement is not closed on every path, which keeps it (and on a pooled "
     "connection, server resources) alive",
     "Check the error, then `defer stmt.Close()` on the next line.",
     R"go(stmt, err := db.Prepare("INSERT INTO t(v) VALUES ($1)")
if err != nil {
    return err
}
_, err = stmt.Exec(v)
return err)go",
     R"go(stmt, err := db.Prepare("INSERT INTO t(v) VALUES ($1)")
if err != nil {
    return err
}
defer stmt.Close()
_, err = stmt.Exec(v)
return err)go"},
    {"tx-not-finished",
     "a transaction is neither committed nor rolled back on every path, so its connection "
     "stays checked out (idle in transaction)",
     "Right after the error check add `defer tx.Rollback()` (a no-op once committed) and end "
     "the happy path with `return tx.Commit()`.",
     R"go(tx, err := db.BeginTx(ctx, nil)
if err != nil {
    return err
}
if _, err := tx.ExecContext(ctx, q); err != nil {
    return err // transaction left open
}
return tx.Commit())go",
     R"go(tx, err := db.BeginTx(ctx, nil)
if err != nil {
    return err
}
defer tx.Rollback()
if _, err := tx.ExecContext(ctx, q); err != nil {
    return err
}
return tx.Commit())go"},
    {"parse-error",
     "the file is not valid Go; it was skipped from the first error to the next declaration",
     "Fix the syntax error (`go vet` shows the same position).", "func f() {\n    x := \n}",
     "func f() {\n    x := 1\n    _ = x\n}"},
}};

}  // namespace

std::span<const RuleInfo> all_rules() {
    return kRules;
}

const RuleInfo* find_rule(std::string_view id) {
    for (const auto& r : kRules) {
        if (r.id == id) {
            return &r;
        }
    }
    return nullptr;
}

}  // namespace pgwarden::lint
