// Command pgclient exercises a PostgreSQL endpoint (direct or through pgwarden) with one of
// two Go drivers and exits 0 only if every check passed.
//
//	pgclient -driver pgx|pq URL
//
// pgx v4 caches statements by default, so each distinct query becomes a named prepared
// statement that it keeps using across transactions: 200 separate transactions below run
// the same query, which a transaction-mode pooler must survive. lib/pq is driven through
// database/sql with an explicitly prepared statement reused across transactions.
//
// Built offline from Debian's packaged sources (see tests/integration/clients_test.cpp):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o pgclient main.go
package main

import (
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgconn"
	"github.com/jackc/pgx/v4"
	"github.com/lib/pq"
)

var failures int

func check(name string, ok bool, detail ...interface{}) {
	status := "ok  "
	if !ok {
		status = "FAIL"
		failures++
	}
	if len(detail) > 0 {
		fmt.Printf("%s %s: %v\n", status, name, detail)
	} else {
		fmt.Printf("%s %s\n", status, name)
	}
}

func runPgx(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())

	ok := true
	for i := 0; i < 200; i++ {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return fmt.Errorf("begin %d: %w", i, err)
		}
		var v int
		if err := tx.QueryRow(ctx, "SELECT $1::int + 1", i).Scan(&v); err != nil {
			tx.Rollback(ctx)
			return fmt.Errorf("transaction %d: %w", i, err)
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("commit %d: %w", i, err)
		}
		if v != i+1 {
			ok = false
		}
	}
	check("pgx: 200 transactions reusing one cached prepared statement", ok)

	if _, err := conn.Exec(ctx, "DROP TABLE IF EXISTS go_pgx_items"); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE go_pgx_items (id int PRIMARY KEY, name text)"); err != nil {
		return err
	}
	rows := make([][]interface{}, 0, 500)
	for i := 0; i < 500; i++ {
		rows = append(rows, []interface{}{i, fmt.Sprintf("n%d", i)})
	}
	n, err := conn.CopyFrom(ctx, pgx.Identifier{"go_pgx_items"}, []string{"id", "name"},
		pgx.CopyFromRows(rows))
	check("pgx: CopyFrom 500 rows", err == nil && n == 500, n, err)

	batch := &pgx.Batch{}
	for i := 0; i < 10; i++ {
		batch.Queue("SELECT name FROM go_pgx_items WHERE id = $1", i)
	}
	br := conn.SendBatch(ctx, batch)
	ok = true
	for i := 0; i < 10; i++ {
		var name string
		if err := br.QueryRow().Scan(&name); err != nil || name != fmt.Sprintf("n%d", i) {
			ok = false
		}
	}
	check("pgx: batch of 10 queries", ok && br.Close() == nil)

	_, err = conn.Exec(ctx, "INSERT INTO go_pgx_items VALUES (1, 'dup')")
	var pgErr *pgconn.PgError
	check("pgx: duplicate key gives SQLSTATE 23505", errors.As(err, &pgErr) && pgErr.Code == "23505", err)

	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	_, err = tx.Exec(ctx, "SELECT 1/0")
	check("pgx: error inside a transaction", err != nil)
	tx.Rollback(ctx)
	var v int
	err = conn.QueryRow(ctx, "SELECT count(*) FROM go_pgx_items").Scan(&v)
	check("pgx: usable after rollback", err == nil && v == 500, v, err)

	short, cancelShort := context.WithTimeout(ctx, 500*time.Millisecond)
	start := time.Now()
	_, err = conn.Exec(short, "SELECT pg_sleep(10)")
	cancelShort()
	check("pgx: context timeout cancels pg_sleep", err != nil && time.Since(start) < 8*time.Second,
		time.Since(start), err)
	// pgx closes the connection after a cancelled query; a new one must work.
	conn2, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	err = conn2.QueryRow(ctx, "SELECT 5").Scan(&v)
	check("pgx: new connection after cancel", err == nil && v == 5, err)
	_, err = conn2.Exec(ctx, "DROP TABLE go_pgx_items")
	check("pgx: drop table", err == nil, err)
	conn2.Close(ctx)
	return nil
}

func runPq(url string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// lib/pq defaults to sslmode=require, unlike libpq's prefer; the test servers speak plain TCP.
	if !strings.Contains(url, "sslmode=") {
		sep := "?"
		if strings.Contains(url, "?") {
			sep = "&"
		}
		url += sep + "sslmode=disable"
	}
	db, err := sql.Open("postgres", url)
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(4)
	if err := db.PingContext(ctx); err != nil {
		return err
	}

	stmt, err := db.PrepareContext(ctx, "SELECT $1::int * 2")
	if err != nil {
		return err
	}
	defer stmt.Close()
	ok := true
	for i := 0; i < 200; i++ {
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("begin %d: %w", i, err)
		}
		var v int
		if err := tx.StmtContext(ctx, stmt).QueryRowContext(ctx, i).Scan(&v); err != nil {
			tx.Rollback()
			return fmt.Errorf("transaction %d: %w", i, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("commit %d: %w", i, err)
		}
		if v != 2*i {
			ok = false
		}
	}
	check("pq: 200 transactions reusing one prepared statement", ok)

	if _, err := db.ExecContext(ctx, "DROP TABLE IF EXISTS go_pq_items"); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE go_pq_items (id int PRIMARY KEY, name text)"); err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	copyStmt, err := tx.Prepare(pq.CopyIn("go_pq_items", "id", "name"))
	if err != nil {
		return err
	}
	for i := 0; i < 300; i++ {
		if _, err := copyStmt.Exec(i, fmt.Sprintf("n%d", i)); err != nil {
			return err
		}
	}
	if _, err := copyStmt.Exec(); err != nil {
		return err
	}
	copyStmt.Close()
	if err := tx.Commit(); err != nil {
		return err
	}
	var count int
	err = db.QueryRowContext(ctx, "SELECT count(*) FROM go_pq_items").Scan(&count)
	check("pq: COPY IN 300 rows", err == nil && count == 300, count, err)

	rows, err := db.QueryContext(ctx, "SELECT id, name FROM go_pq_items WHERE id < $1 ORDER BY id", 50)
	if err != nil {
		return err
	}
	seen := 0
	for rows.Next() {
		var id int
		var name string
		if err := rows.Scan(&id, &name); err == nil && name == fmt.Sprintf("n%d", id) {
			seen++
		}
	}
	check("pq: rows iteration", rows.Err() == nil && rows.Close() == nil && seen == 50, seen)

	_, err = db.ExecContext(ctx, "INSERT INTO go_pq_items VALUES (1, 'dup')")
	var pqErr *pq.Error
	check("pq: duplicate key gives SQLSTATE 23505", errors.As(err, &pqErr) && pqErr.Code == "23505", err)

	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "SELECT 1/0")
	check("pq: error inside a transaction", err != nil)
	tx.Rollback()

	short, cancelShort := context.WithTimeout(ctx, 500*time.Millisecond)
	start := time.Now()
	_, err = db.ExecContext(short, "SELECT pg_sleep(10)")
	cancelShort()
	check("pq: context timeout cancels pg_sleep", err != nil && time.Since(start) < 8*time.Second,
		time.Since(start), err)
	var v int
	err = db.QueryRowContext(ctx, "SELECT 6").Scan(&v)
	check("pq: pool usable after cancel", err == nil && v == 6, err)
	_, err = db.ExecContext(ctx, "DROP TABLE go_pq_items")
	check("pq: drop table", err == nil, err)
	return nil
}

func main() {
	driver := flag.String("driver", "pgx", "pgx or pq")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: pgclient -driver pgx|pq URL")
		os.Exit(2)
	}
	url := flag.Arg(0)
	var err error
	switch *driver {
	case "pgx":
		err = runPgx(url)
	case "pq":
		err = runPq(url)
	default:
		fmt.Fprintln(os.Stderr, "unknown driver", *driver)
		os.Exit(2)
	}
	if err != nil {
		fmt.Println("FAIL", *driver+":", err)
		failures++
	}
	if failures > 0 {
		fmt.Printf("%d check(s) failed\n", failures)
		os.Exit(1)
	}
	fmt.Println("all checks passed")
}
