// Cases for stmt-not-closed and tx-not-finished.
package testdata

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
)

func stmtNeverClosed(db *sql.DB, v int) error {
	stmt, err := db.Prepare("INSERT INTO t(v) VALUES ($1)") // want "stmt-not-closed"
	if err != nil {
		return err
	}
	_, err = stmt.Exec(v)
	return err
}

func stmtClosedOnlyOnSuccess(ctx context.Context, tx *sql.Tx, vs []int) error {
	stmt, err := tx.PrepareContext(ctx, "INSERT INTO t(v) VALUES ($1)") // want "stmt-not-closed"
	if err != nil {
		return err
	}
	for _, v := range vs {
		if _, err := stmt.ExecContext(ctx, v); err != nil {
			return err
		}
	}
	return stmt.Close()
}

func stmtDeferred(db *sqlx.DB) error {
	stmt, err := db.Preparex("SELECT 1")
	if err != nil {
		return err
	}
	defer stmt.Close()
	_, err = stmt.Exec()
	return err
}

func stmtReturned(db *sql.DB) (*sql.Stmt, error) {
	stmt, err := db.Prepare("SELECT 1")
	if err != nil {
		return nil, err
	}
	return stmt, nil
}

// pgx's Prepare(ctx, name, sql) returns a description; there is nothing to close.
func pgxPrepare(ctx context.Context, conn *pgx.Conn) error {
	_, err := conn.Prepare(ctx, "q", "SELECT 1")
	return err
}

func txLeftOpen(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil) // want "tx-not-finished"
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE t SET v = 1"); err != nil {
		return err
	}
	return tx.Commit()
}

func txNeverFinished(db *sql.DB) error {
	tx, err := db.Begin() // want "tx-not-finished"
	if err != nil {
		return err
	}
	_, err = tx.Exec("UPDATE t SET v = 1")
	return err
}

func txDeferredRollback(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, "UPDATE t SET v = 1"); err != nil {
		return err
	}
	return tx.Commit()
}

func txRollbackOnEveryError(db *sql.DB) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	if _, err := tx.Exec("UPDATE a"); err != nil {
		tx.Rollback()
		return err
	}
	if _, err := tx.Exec("UPDATE b"); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func txDeferredFunc(db *sql.DB) (err error) {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = tx.Rollback()
			return
		}
		err = tx.Commit()
	}()
	_, err = tx.Exec("UPDATE a")
	return err
}

func insert(tx *sql.Tx) error {
	_, err := tx.Exec("INSERT 1")
	return err
}

func txPassedToHelperStillOpen(db *sql.DB) error {
	tx, err := db.Begin() // want "tx-not-finished"
	if err != nil {
		return err
	}
	if err := insert(tx); err != nil {
		return err
	}
	return tx.Commit()
}

func rollbackTx(tx *sql.Tx) { _ = tx.Rollback() }

func txHelperRollback(db *sql.DB) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	if err := insert(tx); err != nil {
		rollbackTx(tx)
		return err
	}
	return tx.Commit()
}

func txReturned(db *sql.DB) (*sql.Tx, error) {
	tx, err := db.Begin()
	if err != nil {
		return nil, err
	}
	return tx, nil
}

func pgxTx(ctx context.Context, conn *pgx.Conn) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "UPDATE t"); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func pgxTxLeak(ctx context.Context, conn *pgx.Conn, bad bool) error {
	tx, err := conn.Begin(ctx) // want "tx-not-finished"
	if err != nil {
		return err
	}
	if bad {
		return errors.New("bad")
	}
	return tx.Commit(ctx)
}

func mustBegin(db *sqlx.DB) error {
	tx := db.MustBegin()
	tx.MustExec("UPDATE t")
	return tx.Commit()
}

func mustBeginLeak(db *sqlx.DB, skip bool) error {
	tx := db.MustBegin() // want "tx-not-finished"
	if skip {
		return nil
	}
	return tx.Commit()
}
