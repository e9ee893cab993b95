// Cases for defer-in-loop: a deferred release inside the loop that acquired the resource
// runs only when the function returns, so every iteration keeps one more open.
package testdata

import (
	"context"
	"database/sql"
	"errors"

	"github.com/jackc/pgx/v5"
)

// ---- true positives ----

func deferInRange(ctx context.Context, db *sql.DB, ids []int) error {
	for _, id := range ids {
		rows, err := db.QueryContext(ctx, "SELECT * FROM t WHERE id = $1", id)
		if err != nil {
			return err
		}
		defer rows.Close() // want "defer-in-loop"
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

func deferInForWithContinue(db *sql.DB, n int) error {
	for i := 0; i < n; i++ {
		rows, err := db.Query("SELECT $1", i)
		if err != nil {
			return err
		}
		defer rows.Close() // want "defer-in-loop"
		if !rows.Next() {
			continue
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

func deferInInnerLoop(db *sql.DB, groups [][]int) error {
	for _, g := range groups {
		for _, id := range g {
			rows, err := db.Query("SELECT $1", id)
			if err != nil {
				return err
			}
			defer rows.Close() // want "defer-in-loop"
			if err := rows.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

func pgxDeferInLoop(ctx context.Context, conn *pgx.Conn, ids []int) error {
	for _, id := range ids {
		rows, err := conn.Query(ctx, "SELECT $1", id)
		if err != nil {
			return err
		}
		defer rows.Close() // want "defer-in-loop"
		for rows.Next() {
		}
		if rows.Err() != nil {
			return rows.Err()
		}
	}
	return nil
}

func deferredClosureInLoop(db *sql.DB, ids []int) error {
	for _, id := range ids {
		rows, err := db.Query("SELECT $1", id)
		if err != nil {
			return err
		}
		defer func() { _ = rows.Close() }() // want "defer-in-loop"
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

func txDeferInLoop(ctx context.Context, db *sql.DB, batches [][]string) error {
	for _, b := range batches {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback() // want "defer-in-loop"
		for _, q := range b {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

func stmtDeferInLoop(db *sql.DB, queries []string) error {
	for _, q := range queries {
		stmt, err := db.Prepare(q)
		if err != nil {
			return err
		}
		defer stmt.Close() // want "defer-in-loop"
		if _, err := stmt.Exec(); err != nil {
			return err
		}
	}
	return nil
}

// A closure called per iteration, but the defer sits in a loop inside the closure.
func loopInsideClosure(db *sql.DB, ids []int) error {
	return func() error {
		for _, id := range ids {
			rows, err := db.Query("SELECT $1", id)
			if err != nil {
				return err
			}
			defer rows.Close() // want "defer-in-loop"
			if err := rows.Err(); err != nil {
				return err
			}
		}
		return nil
	}()
}

// ---- true negatives ----

// The closure's defer runs at the end of each iteration.
func closurePerIteration(ctx context.Context, db *sql.DB, ids []int) error {
	for _, id := range ids {
		err := func() error {
			rows, err := db.QueryContext(ctx, "SELECT * FROM t WHERE id = $1", id)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
			}
			return rows.Err()
		}()
		if err != nil {
			return err
		}
	}
	return nil
}

func closurePerIterationNoResult(db *sql.DB, ids []int) {
	for _, id := range ids {
		func() {
			rows, err := db.Query("SELECT $1", id)
			if err != nil {
				return
			}
			defer rows.Close()
			for rows.Next() {
			}
			_ = id
			if rows.Err() != nil {
				return
			}
		}()
	}
}

// Retry loop: every path after the defer leaves the function, so it runs once.
func retryThenDefer(db *sql.DB, attempts int) error {
	for i := 0; i < attempts; i++ {
		rows, err := db.Query("SELECT 1")
		if err != nil {
			continue
		}
		defer rows.Close()
		for rows.Next() {
		}
		return rows.Err()
	}
	return errors.New("no attempt succeeded")
}

// Closed at the end of each iteration.
func closeEachIteration(db *sql.DB, ids []int) error {
	for _, id := range ids {
		rows, err := db.Query("SELECT $1", id)
		if err != nil {
			return err
		}
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// Acquired before the loop: the defer in the loop is odd but holds nothing extra.
func deferLoopAfterAcquire(db *sql.DB, n int) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer rows.Close()
	for i := 0; i < n; i++ {
		if !rows.Next() {
			break
		}
	}
	return rows.Err()
}

// A loop that runs once by construction (every path breaks out of it).
func loopOnce(db *sql.DB) error {
	for {
		rows, err := db.Query("SELECT 1")
		if err != nil {
			return err
		}
		defer rows.Close()
		break
	}
	return nil
}
