// Cases for query-error-discarded and defer-before-check.
package testdata

import (
	"context"
	"database/sql"

	"github.com/jackc/pgx/v5"
)

func blankError(db *sql.DB) {
	rows, _ := db.Query("SELECT 1") // want "query-error-discarded"
	defer rows.Close()
	for rows.Next() { // want "rows-err-unchecked"
	}
	_ = rows.Err()
}

func usedBeforeCheck(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	for rows.Next() { // want "query-error-discarded"
	}
	if err != nil {
		return err
	}
	rows.Close()
	return rows.Err()
}

// The rows also leak: when the query succeeds and f fails, the return skips the Close.
func errOverwritten(db *sql.DB, f func() error) error {
	rows, err := db.Query("SELECT 1") // want "rows-not-closed"
	err = f() // want "query-error-discarded"
	if err != nil {
		return err
	}
	defer rows.Close()
	return rows.Err()
}

func deferBeforeCheck(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	defer rows.Close() // want "defer-before-check"
	if err != nil {
		return err
	}
	return rows.Err()
}

func deferBeforeCheckTx(db *sql.DB) error {
	tx, err := db.Begin()
	defer tx.Rollback() // want "defer-before-check"
	if err != nil {
		return err
	}
	return tx.Commit()
}

// pgx documents `rows, _ := conn.Query(...)`: the error comes back from rows.Err().
func pgxDocumentedStyle(ctx context.Context, conn *pgx.Conn) error {
	rows, _ := conn.Query(ctx, "SELECT 1")
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

func pgxCollectRows(ctx context.Context, conn *pgx.Conn) ([]int, error) {
	rows, _ := conn.Query(ctx, "SELECT 1")
	return pgx.CollectRows(rows, pgx.RowTo[int])
}

func pgxBlankNoErrCheck(ctx context.Context, conn *pgx.Conn) {
	rows, _ := conn.Query(ctx, "SELECT 1") // want "query-error-discarded"
	defer rows.Close()
	for rows.Next() { // want "rows-err-unchecked"
	}
}

// pgx rows are never nil, so a defer before the check does not panic.
func pgxDeferBeforeCheckIsSafe(ctx context.Context, conn *pgx.Conn) error {
	rows, err := conn.Query(ctx, "SELECT 1")
	defer rows.Close()
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	return rows.Err()
}

func checkedProperly(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

func checkedWithSwitch(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	switch {
	case err != nil:
		return err
	}
	defer rows.Close()
	return rows.Err()
}

func pgxLeak(ctx context.Context, conn *pgx.Conn) error {
	rows, err := conn.Query(ctx, "SELECT 1") // want "rows-not-closed"
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	return rows.Err()
}
