// Cases for rows-err-unchecked.
package testdata

import (
	"database/sql"
	"log"
)

func noErrCheck(db *sql.DB) ([]int, error) {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int
	for rows.Next() { // want "rows-err-unchecked"
		var n int
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func paramNoErrCheck(rows *sql.Rows) int {
	n := 0
	for rows.Next() { // want "rows-err-unchecked"
		n++
	}
	return n
}

func errCheckedBeforeLoopOnly(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for rows.Next() { // want "rows-err-unchecked"
	}
	return nil
}

func errChecked(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	if rows.Err() != nil {
		return rows.Err()
	}
	return nil
}

// rowserrcheck users asked for Err checked in a deferred closure to count.
func errInDefer(db *sql.DB) (err error) {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer func() {
		if cerr := rows.Err(); cerr != nil && err == nil {
			err = cerr
		}
		rows.Close()
	}()
	for rows.Next() {
	}
	return nil
}

func helper(r *sql.Rows) error { return r.Err() }

func errCheckedByHelper(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return helper(rows)
}

// A conditionally assigned rows variable (a phi node for SSA-based checkers).
func conditionalRows(db *sql.DB, pick bool) {
	var rows *sql.Rows
	var err error
	if pick {
		rows, err = db.Query("SELECT 1")
	} else {
		rows, err = db.Query("SELECT 2")
	}
	if err != nil {
		log.Print(err)
		return
	}
	defer rows.Close()
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		log.Print(err)
	}
}

func singleRowRead(db *sql.DB) (int, error) {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	if !rows.Next() {
		return 0, rows.Err()
	}
	var n int
	return n, rows.Scan(&n)
}
