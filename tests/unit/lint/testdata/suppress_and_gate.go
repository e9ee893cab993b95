// Suppression comments, and the import gate.
package testdata

import "database/sql"

func suppressedSameLine(db *sql.DB) {
	rows, _ := db.Query("SELECT 1") //nolint:pgwarden // rows are closed by the caller's pool reset
	_ = rows
}

func suppressedLineAbove(db *sql.DB) {
	//pgwarden:ignore rows-not-closed,query-error-discarded
	db.Query("SELECT 1")
}

func suppressedWrongRule(db *sql.DB) {
	//pgwarden:ignore rows-err-unchecked
	db.Query("SELECT 1") // want "rows-not-closed" "query-error-discarded"
}

func golangciList(db *sql.DB) {
	db.Query("SELECT 1") //nolint:errcheck,pgwarden
}

func golangciOtherLinter(db *sql.DB) {
	db.Query("SELECT 1") //nolint:errcheck // want "rows-not-closed" "query-error-discarded"
}
