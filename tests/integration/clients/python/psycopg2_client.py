#!/usr/bin/env python3
"""Exercises psycopg2 against a PostgreSQL endpoint (direct or through pgwarden).

usage: psycopg2_client.py URL

Basic parameterised queries, explicit transactions (commit and rollback), COPY in and out via
copy_expert, a unique violation and a division by zero followed by rollback, and a named
(server-side) cursor inside a transaction. Exits 0 only if every check passed.
"""
import io
import sys

import psycopg2
import psycopg2.errors

failures = []


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}{(': ' + str(detail)) if detail else ''}",
          flush=True)
    if not ok:
        failures.append(name)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    conn = psycopg2.connect(sys.argv[1], connect_timeout=10)
    print(f"psycopg2 {psycopg2.__version__}", flush=True)
    cur = conn.cursor()
    cur.execute("SELECT %s + %s, %s", (2, 3, "text"))
    check("parameterised select", cur.fetchone() == (5, "text"))
    cur.execute("DROP TABLE IF EXISTS py2_accounts")
    cur.execute("CREATE TABLE py2_accounts (id int PRIMARY KEY, balance int NOT NULL)")
    conn.commit()

    for i in range(100):
        cur.execute("INSERT INTO py2_accounts VALUES (%s, %s)", (i, 100))
        conn.commit()
    cur.execute("SELECT count(*), sum(balance) FROM py2_accounts")
    check("100 committed single-row transactions", cur.fetchone() == (100, 10000))

    cur.execute("UPDATE py2_accounts SET balance = balance - 50 WHERE id = 1")
    cur.execute("UPDATE py2_accounts SET balance = balance + 50 WHERE id = 2")
    conn.rollback()
    cur.execute("SELECT balance FROM py2_accounts WHERE id IN (1, 2) ORDER BY id")
    check("rolled-back transfer left balances unchanged", cur.fetchall() == [(100,), (100,)])
    conn.commit()

    try:
        cur.execute("INSERT INTO py2_accounts VALUES (1, 0)")
        check("duplicate key raises", False)
    except psycopg2.errors.UniqueViolation:
        check("duplicate key raises UniqueViolation", True)
    conn.rollback()
    try:
        cur.execute("SELECT 1 / 0")
        check("division by zero raises", False)
    except psycopg2.errors.DivisionByZero:
        check("division by zero raises DivisionByZero", True)
    conn.rollback()
    cur.execute("SELECT 9")
    check("connection usable after errors", cur.fetchone() == (9,))
    conn.commit()

    data = io.StringIO("".join(f"{i}\t{i * 10}\n" for i in range(1000, 1500)))
    cur.copy_expert("COPY py2_accounts (id, balance) FROM STDIN", data)
    conn.commit()
    cur.execute("SELECT count(*) FROM py2_accounts")
    check("copy_expert FROM STDIN loaded 500 rows", cur.fetchone() == (600,))
    out = io.StringIO()
    cur.copy_expert("COPY (SELECT id FROM py2_accounts ORDER BY id) TO STDOUT", out)
    conn.commit()
    lines = out.getvalue().splitlines()
    check("copy_expert TO STDOUT returned 600 rows", len(lines) == 600 and lines[0] == "0",
          len(lines))

    named = conn.cursor(name="py2_cursor")
    named.itersize = 50
    named.execute("SELECT id FROM py2_accounts ORDER BY id")
    total = sum(1 for _ in named)
    named.close()
    conn.commit()
    check("named server-side cursor fetched 600 rows in batches", total == 600, total)

    cur.execute("DROP TABLE py2_accounts")
    conn.commit()
    conn.close()
    print(f"{len(failures)} check(s) failed" if failures else "all checks passed", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
