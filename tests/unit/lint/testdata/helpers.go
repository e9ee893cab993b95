// Cases for rows handed to helpers in the same package: the call is followed into the
// helper, whose summary says whether it closes the rows on every path, on some, never, or
// hands them on.
package testdata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
)

type account struct{ id int }

// ---- helpers ----

// Closes on every path.
func drainAndClose(rows *sql.Rows) error {
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// Closes on the happy path only: the scan error returns with the rows open.
func scanThenClose(rows *sql.Rows) ([]account, error) {
	var out []account
	for rows.Next() {
		var a account
		if err := rows.Scan(&a.id); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, err
	}
	return out, rows.Close()
}

// Never closes: the caller keeps that job.
func scanAccounts(rows *sql.Rows) ([]account, error) {
	var out []account
	for rows.Next() {
		var a account
		if err := rows.Scan(&a.id); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Returns the rows onward: its caller owns them.
func firstOrError(rows *sql.Rows) (*sql.Rows, error) {
	if !rows.Next() {
		return nil, errors.New("empty")
	}
	return rows, nil
}

// Hands them to a helper that closes: closes on every path by transitivity.
func viaInner(rows *sql.Rows) error {
	return drainAndClose(rows)
}

// Passes them to a helper that closes only on some paths.
func viaPartial(rows *sql.Rows) error {
	_, err := scanThenClose(rows)
	return err
}

// Recursion that closes at the bottom on every path.
func skipAndClose(rows *sql.Rows, n int) error {
	if n == 0 || !rows.Next() {
		return rows.Close()
	}
	return skipAndClose(rows, n-1)
}

// Recursion whose base case forgets the rows.
func skipN(rows *sql.Rows, n int) {
	if n == 0 {
		return
	}
	rows.Next()
	skipN(rows, n-1)
}

// Mutual recursion: neither function is blamed for the other's unknown summary.
func pingRows(rows *sql.Rows, n int) error {
	if n == 0 {
		return rows.Close()
	}
	return pongRows(rows, n-1)
}

func pongRows(rows *sql.Rows, n int) error {
	return pingRows(rows, n)
}

type repo struct{ db *sql.DB }

// A method that closes on every path.
func (r *repo) consume(rows *sql.Rows) error {
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// A method that closes only when there is no error.
func (r *repo) consumeSome(rows *sql.Rows) error {
	for rows.Next() { // want "rows-err-unchecked"
		if err := rows.Scan(); err != nil {
			return err
		}
	}
	return rows.Close()
}

// The rows in a variadic slot, or a parameter the helper cannot name, are not judged.
func logAll(args ...any) { fmt.Println(args...) }

func ignoreRows(_ *sql.Rows) {}

// ---- true positives ----

func callerOfPartialHelper(db *sql.DB) ([]account, error) {
	rows, err := db.Query("SELECT id FROM accounts") // want "rows-not-closed"
	if err != nil {
		return nil, err
	}
	return scanThenClose(rows)
}

func callerOfNeverHelper(db *sql.DB) ([]account, error) {
	rows, err := db.Query("SELECT id FROM accounts") // want "rows-not-closed"
	if err != nil {
		return nil, err
	}
	return scanAccounts(rows)
}

func callerThroughTwoHelpers(db *sql.DB) error {
	rows, err := db.Query("SELECT id FROM accounts") // want "rows-not-closed"
	if err != nil {
		return err
	}
	return viaPartial(rows)
}

func callerOfLeakyRecursion(db *sql.DB) error {
	rows, err := db.Query("SELECT id FROM accounts") // want "rows-not-closed"
	if err != nil {
		return err
	}
	skipN(rows, 3)
	return nil
}

func callerOfPartialMethod(ctx context.Context, r *repo) error {
	rows, err := r.db.QueryContext(ctx, "SELECT id FROM accounts", 1) // want "rows-not-closed"
	if err != nil {
		return err
	}
	return r.consumeSome(rows)
}

func deferredNeverHelper(db *sql.DB) error {
	rows, err := db.Query("SELECT id FROM accounts") // want "rows-not-closed"
	if err != nil {
		return err
	}
	defer scanAccounts(rows)
	return nil
}

func unnamedParameter(db *sql.DB) {
	rows, err := db.Query("SELECT id FROM accounts") // want "rows-not-closed"
	if err != nil {
		return
	}
	ignoreRows(rows)
}

// ---- true negatives ----

func callerOfClosingHelper(db *sql.DB) error {
	rows, err := db.Query("SELECT id FROM accounts")
	if err != nil {
		return err
	}
	return drainAndClose(rows)
}

func callerClosesAfterNeverHelper(db *sql.DB) ([]account, error) {
	rows, err := db.Query("SELECT id FROM accounts")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return scanAccounts(rows)
}

func callerClosesAfterPartialHelper(db *sql.DB) error {
	rows, err := db.Query("SELECT id FROM accounts")
	if err != nil {
		return err
	}
	defer rows.Close()
	_, err = scanThenClose(rows)
	return err
}

func callerOfReturningHelper(db *sql.DB) (*sql.Rows, error) {
	rows, err := db.Query("SELECT id FROM accounts")
	if err != nil {
		return nil, err
	}
	return firstOrError(rows)
}

func callerThroughClosingChain(db *sql.DB) error {
	rows, err := db.Query("SELECT id FROM accounts")
	if err != nil {
		return err
	}
	return viaInner(rows)
}

func callerOfClosingRecursion(db *sql.DB) error {
	rows, err := db.Query("SELECT id FROM accounts")
	if err != nil {
		return err
	}
	return skipAndClose(rows, 10)
}

func callerOfMutualRecursion(db *sql.DB) error {
	rows, err := db.Query("SELECT id FROM accounts")
	if err != nil {
		return err
	}
	return pongRows(rows, 2)
}

func callerOfClosingMethod(ctx context.Context, r *repo) error {
	rows, err := r.db.QueryContext(ctx, "SELECT id FROM accounts", 1)
	if err != nil {
		return err
	}
	return r.consume(rows)
}

// A method value is a function value: the call is not followed, the rows escape.
func methodValue(ctx context.Context, r *repo) error {
	rows, err := r.db.QueryContext(ctx, "SELECT id FROM accounts", 1)
	if err != nil {
		return err
	}
	consume := r.consumeSome
	return consume(rows)
}

// ... and so is a method value passed along.
func methodValueArgument(db *sql.DB, r *repo) error {
	rows, err := db.Query("SELECT id FROM accounts")
	if err != nil {
		return err
	}
	return apply(rows, r.consume)
}

func apply(rows *sql.Rows, f func(*sql.Rows) error) error { return f(rows) }

func variadicSlot(db *sql.DB) error {
	rows, err := db.Query("SELECT id FROM accounts")
	if err != nil {
		return err
	}
	logAll(rows)
	return nil
}

// Calls into other packages stay escapes; pgx's collectors are known to close.
func otherPackage(db *sql.DB) error {
	rows, err := db.Query("SELECT id FROM accounts")
	if err != nil {
		return err
	}
	fmt.Println(rows)
	return nil
}

func pgxCollectors(ctx context.Context, conn *pgx.Conn) (int, error) {
	rows, err := conn.Query(ctx, "SELECT 1")
	if err != nil {
		return 0, err
	}
	n, err := pgx.CollectOneRow(rows, pgx.RowTo[int])
	if err != nil {
		return 0, err
	}
	more, err := conn.Query(ctx, "SELECT 2")
	if err != nil {
		return 0, err
	}
	var total int
	_, err = pgx.ForEachRow(more, []any{&total}, func() error { return nil })
	return n + total, err
}

// sqlx's Select and Get run the query and close the rows themselves.
func sqlxSelectGet(db *sqlx.DB) ([]account, error) {
	var out []account
	if err := db.Select(&out, "SELECT id FROM accounts"); err != nil {
		return nil, err
	}
	var one account
	if err := sqlx.Get(db, &one, "SELECT id FROM accounts LIMIT 1"); err != nil {
		return nil, err
	}
	return append(out, one), nil
}

// A helper declared in the file but shadowed by a local closure of the same name is
// still a function value here.
func closureHelper(db *sql.DB) error {
	rows, err := db.Query("SELECT id FROM accounts")
	if err != nil {
		return err
	}
	finish := func(r *sql.Rows) error { return r.Close() }
	return finish(rows)
}
