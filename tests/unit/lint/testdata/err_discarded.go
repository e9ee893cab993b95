// Cases for rows.Err() whose result is thrown away: that is no check at all, so the
// rows.Next() loop counts as unchecked (rows-err-unchecked, and the pgx blank-error style of
// query-error-discarded). Ignoring rows.Close()'s error stays fine.
package testdata

import (
	"context"
	"database/sql"
	"log"

	"github.com/jackc/pgx/v5"
)

// ---- true positives ----

func blankErr(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() { // want "rows-err-unchecked"
	}
	_ = rows.Err()
	return nil
}

func bareErrStatement(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() { // want "rows-err-unchecked"
	}
	rows.Err()
	return nil
}

func errAssignedNeverRead(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() { // want "rows-err-unchecked"
	}
	err = rows.Err()
	return nil
}

func errDefinedOnlySilenced(db *sql.DB) {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() { // want "rows-err-unchecked"
	}
	ierr := rows.Err()
	_ = ierr
}

func deferredBareErr(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer rows.Close()
	defer rows.Err()
	for rows.Next() { // want "rows-err-unchecked"
	}
	return nil
}

func varDeclNeverRead(rows *sql.Rows) {
	for rows.Next() { // want "rows-err-unchecked"
	}
	var e = rows.Err()
	_ = e
}

// pgx: `rows, _ :=` is accepted only when rows.Err() is really checked.
func pgxBlankThrownAway(ctx context.Context, conn *pgx.Conn) {
	rows, _ := conn.Query(ctx, "SELECT 1") // want "query-error-discarded"
	defer rows.Close()
	for rows.Next() { // want "rows-err-unchecked"
	}
	_ = rows.Err()
}

// ---- true negatives ----

func errReturned(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

func errAssignedThenChecked(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	err = rows.Err()
	if err != nil {
		return err
	}
	return nil
}

func errToNamedResult(db *sql.DB) (err error) {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
	}
	err = rows.Err()
	return
}

func errLogged(db *sql.DB) {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
	}
	log.Println(rows.Err())
}

func errReadInDeferredClosure(db *sql.DB) {
	var ierr error
	defer func() {
		if ierr != nil {
			log.Print(ierr)
		}
	}()
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return
	}
	defer rows.Close()
	for rows.Next() {
	}
	ierr = rows.Err()
}

func errReadNextIteration(db *sql.DB, pages int) error {
	var perr error
	for p := 0; p < pages; p++ {
		if perr != nil {
			return perr
		}
		rows, err := db.Query("SELECT $1", p)
		if err != nil {
			return err
		}
		for rows.Next() {
		}
		perr = rows.Err()
		rows.Close()
	}
	return nil
}

// Ignoring Close's error is idiomatic and fine.
func closeErrorIgnored(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer func() { _ = rows.Close() }()
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		return err
	}
	_ = rows.Close()
	rows.Close()
	return nil
}

func pgxBlankChecked(ctx context.Context, conn *pgx.Conn) error {
	rows, _ := conn.Query(ctx, "SELECT 1")
	defer rows.Close()
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return nil
}
