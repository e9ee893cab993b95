// Cases for rows-not-closed. A trailing want comment names each finding expected on its
// line; every other line must stay silent.
package testdata

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/jmoiron/sqlx"
)

type user struct{ id int }

// The post-mortem's endpoint: an early return inside the scan loop skips the Close.
func closeOnlyOnHappyPath(ctx context.Context, db *sql.DB) ([]int, error) {
	rows, err := db.QueryContext(ctx, "SELECT id FROM users") // want "rows-not-closed"
	if err != nil {
		return nil, err
	}
	var ids []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	rows.Close()
	return ids, rows.Err()
}

func neverClosed(db *sql.DB) error {
	rows, err := db.Query("SELECT 1") // want "rows-not-closed"
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	return rows.Err()
}

func panicPath(db *sql.DB, strict bool) int {
	rows, err := db.Query("SELECT 1") // want "rows-not-closed"
	if err != nil {
		return 0
	}
	if strict {
		panic("strict mode")
	}
	rows.Close()
	return 1
}

func overwrittenInLoop(db *sql.DB, ids []int) error {
	for _, id := range ids {
		rows, err := db.Query("SELECT * FROM t WHERE id = $1", id) // want "rows-not-closed"
		if err != nil {
			return err
		}
		if !rows.Next() { // want "rows-err-unchecked"
			continue
		}
		rows.Close()
	}
	return nil
}

func breakSkipsClose(db *sql.DB) error {
	rows, err := db.Query("SELECT 1") // want "rows-not-closed"
	if err != nil {
		return err
	}
	for rows.Next() {
		var n int
		if rows.Scan(&n) != nil {
			return errors.New("bad row")
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
}

func rowsDiscarded(db *sql.DB) error {
	_, err := db.Query("DELETE FROM t") // want "rows-not-closed"
	return err
}

func bareQueryStatement(db *sql.DB) {
	db.Query("DELETE FROM t") // want "rows-not-closed" "query-error-discarded"
}

func sqlxNamedQuery(db *sqlx.DB, u user) error {
	rows, err := sqlx.NamedQuery(db, "SELECT * FROM u WHERE id = :id", u) // want "rows-not-closed"
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	return rows.Err()
}

func txQueryLeaksOnSwitch(tx *sql.Tx, mode int) error {
	rows, err := tx.Query("SELECT 1") // want "rows-not-closed"
	if err != nil {
		return err
	}
	switch mode {
	case 1:
		rows.Close()
		return nil
	case 2:
		return fmt.Errorf("mode 2")
	}
	return rows.Close()
}

// ---- true negatives ----

func deferAfterCheck(ctx context.Context, db *sql.DB) ([]user, error) {
	rows, err := db.QueryContext(ctx, "SELECT id FROM users")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []user
	for rows.Next() {
		var u user
		if err := rows.Scan(&u.id); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// sqlclosecheck users reported closures that discard Close's error as leaks.
func deferredClosure(db *sqlx.DB) error {
	rows, err := db.Queryx("SELECT * FROM users")
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
	}
	return rows.Err()
}

func closeRows(r *sql.Rows) {
	if err := r.Close(); err != nil {
		fmt.Println(err)
	}
}

// ... and helpers that close on the caller's behalf.
func deferredHelper(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, "SELECT 1", 1, 2)
	if err != nil {
		return err
	}
	defer closeRows(rows)
	for rows.Next() {
	}
	return rows.Err()
}

func returnedToCaller(db *sql.DB) (*sql.Rows, error) {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func returnedDirectly(db *sql.DB) (*sql.Rows, error) {
	return db.Query("SELECT 1")
}

func namedResult(db *sql.DB) (rows *sql.Rows, err error) {
	rows, err = db.Query("SELECT 1")
	return
}

func scanAll(rows *sql.Rows) error { defer rows.Close(); return nil }

func passedToFunction(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	return scanAll(rows)
}

type iter struct{ rows *sql.Rows }

func storedInStruct(db *sql.DB) (*iter, error) {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return nil, err
	}
	return &iter{rows: rows}, nil
}

func (it *iter) storedInField(db *sql.DB) error {
	var err error
	it.rows, err = db.Query("SELECT 1")
	return err
}

var shared *sql.Rows

func storedInPackageVar(db *sql.DB) error {
	var err error
	shared, err = db.Query("SELECT 1")
	return err
}

func sentOnChannel(db *sql.DB, out chan<- *sql.Rows) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	out <- rows
	return nil
}

func capturedByGoroutine(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	go func() {
		defer rows.Close()
		for rows.Next() { // want "rows-err-unchecked"
		}
	}()
	return nil
}

func closedOnEveryPath(db *sql.DB, n int) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	if n > 10 {
		rows.Close()
		return errors.New("too many")
	}
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return err
	}
	return rows.Close()
}

func successBranch(db *sql.DB) {
	rows, err := db.Query("SELECT 1")
	if err == nil {
		defer rows.Close()
		for rows.Next() { // want "rows-err-unchecked"
		}
		_ = rows.Err()
	}
}

func errorsIsCheck(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	return rows.Err()
}

func labelledBreakThenClose(db *sql.DB, limit int) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	n := 0
outer:
	for rows.Next() {
		for i := 0; i < 3; i++ {
			if n > limit {
				break outer
			}
			n++
		}
	}
	rows.Close()
	return rows.Err()
}

func queryRowNeedsNoClose(db *sql.DB) (int, error) {
	var n int
	err := db.QueryRow("SELECT 1").Scan(&n)
	return n, err
}

func logFatalEndsProcess(db *sql.DB, logf func(string)) {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		logf("query")
		return
	}
	defer rows.Close()
}

func shadowedInner(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer rows.Close()
	{
		rows := []int{1, 2}
		_ = rows
		return nil
	}
}

func closureUsesOwnRows(db *sql.DB) func() error {
	return func() error {
		rows, err := db.Query("SELECT 1")
		if err != nil {
			return err
		}
		defer rows.Close()
		return rows.Err()
	}
}

func closureLeaks(db *sql.DB) func() error {
	return func() error {
		rows, err := db.Query("SELECT 1") // want "rows-not-closed"
		if err != nil {
			return err
		}
		return rows.Err()
	}
}
