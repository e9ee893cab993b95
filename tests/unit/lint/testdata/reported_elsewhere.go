// Shapes that users of other Go SQL linters reported as missed or wrongly flagged, written
// afresh, plus shapes found while reviewing findings in the Go corpus.
package testdata

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"log"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Missed elsewhere: rows assigned in both branches of an if, never closed.
func conditionalAssignmentLeaks(ctx context.Context, db *sql.DB, adults bool) []string {
	var (
		rows *sql.Rows
		err  error
	)
	if adults {
		rows, err = db.QueryContext(ctx, "SELECT name FROM users WHERE age >= 21", 1) // want "rows-not-closed"
	} else {
		rows, err = db.QueryContext(ctx, "SELECT name FROM users", 2) // want "rows-not-closed"
	}
	if err != nil {
		log.Fatal(err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			log.Fatal(err)
		}
		names = append(names, n)
	}
	if err := rows.Err(); err != nil {
		log.Fatal(err)
	}
	return names
}

// Flagged elsewhere: panic in the error branch, then a deferred Close.
func panicOnErrorThenDefer(db *sql.DB) {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		panic(err)
	}
	defer rows.Close()
}

// driver.Rows has Next(dest) []driver.Value, with no Err method: not a rows.Next() loop.
func driverRows(rows driver.Rows, dest []driver.Value) error {
	for {
		if err := rows.Next(dest); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}

type pqError struct{ Code string }

func (e *pqError) Error() string { return e.Code }

// A test that expects the query to fail: every success path stops the test.
func expectedFailure(t *testing.T, db *sql.DB) {
	_, err := db.Query("PARSE_ERROR $1", 1)
	var pe *pqError
	errors.As(err, &pe)
	if err == nil || pe == nil || pe.Code != "42601" {
		t.Fatalf("expected syntax error, got %v", err)
	}
}

// ... and one that lets the success path continue.
func unexpectedSuccessLeaks(t *testing.T, db *sql.DB) {
	_, err := db.Query("SELECT 1") // want "rows-not-closed"
	if err == nil {
		t.Errorf("expected an error")
	}
}

// A nil test of the value itself: nothing to close on that path.
func nilTestedStmt(db *sql.DB) error {
	stmt, err := db.Prepare("SELECT 1")
	if err != nil {
		return err
	}
	if stmt == nil {
		return errors.New("no statement")
	}
	return stmt.Close()
}

func requireNoError(t *testing.T, err error) {
	if err != nil {
		t.Fatal(err)
	}
}

// A helper that stops on failure counts as the error check.
func helperChecksError(t *testing.T, db *sql.DB) {
	rows, err := db.Query("SELECT 1")
	requireNoError(t, err)
	defer rows.Close()
	for rows.Next() {
	}
	requireNoError(t, rows.Err())
}

// A switch on the error value is an error check too.
func switchOnError(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	switch err {
	case nil:
		return tx.Rollback()
	case context.Canceled:
		return nil
	default:
		return err
	}
}

func switchOnErrorLeaks(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil) // want "tx-not-finished"
	switch err {
	case nil:
	default:
		return err
	}
	return nil
}

// Found in pgx's tests: require.Error stops the test when the query succeeded.
func requireErrorExpectsFailure(t *testing.T, db *sql.DB) {
	_, err := db.Query("SELECT 1")
	require.Error(t, err)
}

// assert.Error does not stop it: the success path goes on with the rows open.
func assertErrorLetsSuccessContinue(t *testing.T, db *sql.DB) {
	_, err := db.Query("SELECT 1") // want "rows-not-closed"
	assert.Error(t, err)
}

func expectPanic(t *testing.T, f func()) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	f()
}

// Found in database/sql's tests: the literal is expected to panic inside Query.
func queryExpectedToPanic(t *testing.T, db *sql.DB) {
	expectPanic(t, func() { db.Query("PANIC|Query") })
	assert.Panics(t, func() { db.Query("PANIC|Query") })
}

func queryNotExpectedToPanic(t *testing.T, db *sql.DB) {
	assert.NotPanics(t, func() { db.Query("SELECT 1") }) // want "rows-not-closed" "query-error-discarded"
}
