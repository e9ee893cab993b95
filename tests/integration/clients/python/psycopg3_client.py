#!/usr/bin/env python3
"""Exercises psycopg 3 against a PostgreSQL endpoint (direct or through pgwarden).

usage: psycopg3_client.py URL [transaction|session]

Server-side prepared statements are forced (prepare_threshold=0), so every query below is
parsed once as a named statement and then reused across transactions: exactly what a
transaction-mode pooler must keep working when it moves the client between server
connections. "session" mode adds LISTEN/NOTIFY, which needs one server connection for the
whole client session. Prints each check; exits 0 only if every check passed.
"""
import sys
import threading
import time

import psycopg
from psycopg import errors

failures = []


def check(name, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {name}{(': ' + str(detail)) if detail else ''}",
          flush=True)
    if not ok:
        failures.append(name)


def connect(url, **kw):
    return psycopg.connect(url, prepare_threshold=0, connect_timeout=10, **kw)


def prepared_across_transactions(conn):
    ok = True
    with conn.cursor() as cur:
        for i in range(100):
            with conn.transaction():
                cur.execute("SELECT %s::int + 1, current_database()", (i,))
                row = cur.fetchone()
                if row[0] != i + 1:
                    ok = False
                    break
    check("100 transactions reusing one prepared query", ok)
    # Two different prepared statements interleaved, many times.
    ok = True
    with conn.cursor() as cur:
        for i in range(50):
            cur.execute("SELECT %s::text || 'a'", (str(i),))
            a = cur.fetchone()[0]
            cur.execute("SELECT %s::int * 2", (i,))
            b = cur.fetchone()[0]
            conn.commit()
            if a != f"{i}a" or b != 2 * i:
                ok = False
                break
    check("50 transactions alternating two prepared queries", ok)


def executemany_and_copy(conn):
    with conn.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS py3_items")
        cur.execute("CREATE TABLE py3_items (id int PRIMARY KEY, name text)")
        conn.commit()
        cur.executemany("INSERT INTO py3_items (id, name) VALUES (%s, %s)",
                        [(i, f"item{i}") for i in range(200)])
        conn.commit()
        cur.execute("SELECT count(*), sum(id) FROM py3_items")
        count, total = cur.fetchone()
        check("executemany inserted 200 rows", count == 200 and total == sum(range(200)),
              (count, total))
        with cur.copy("COPY py3_items (id, name) FROM STDIN") as copy:
            for i in range(200, 1200):
                copy.write_row((i, f"copied{i}"))
        conn.commit()
        cur.execute("SELECT count(*) FROM py3_items WHERE name LIKE 'copied%%'")
        check("COPY FROM STDIN loaded 1000 rows", cur.fetchone()[0] == 1000)
        rows = []
        with cur.copy("COPY (SELECT id, name FROM py3_items ORDER BY id) TO STDOUT") as copy:
            for row in copy.rows():
                rows.append(row)
        conn.commit()
        check("COPY TO STDOUT returned 1200 rows", len(rows) == 1200 and rows[0] == ("0", "item0"),
              len(rows))
        cur.execute("DROP TABLE py3_items")
        conn.commit()


def error_then_continue(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT 1")
        try:
            cur.execute("SELECT 1 / %s", (0,))
            check("division by zero raises", False)
        except errors.DivisionByZero:
            check("division by zero raises DivisionByZero", True)
        try:
            cur.execute("SELECT 2")
            check("statement after error in transaction fails", False)
        except errors.InFailedSqlTransaction:
            check("statement after error fails with InFailedSqlTransaction", True)
        conn.rollback()
        cur.execute("SELECT %s::int", (42,))
        check("after rollback the connection works", cur.fetchone()[0] == 42)
        conn.commit()


def cancel(url):
    conn = connect(url, autocommit=True)
    result = {}

    def run():
        start = time.monotonic()
        try:
            conn.execute("SELECT pg_sleep(20)")
            result["outcome"] = "finished"
        except errors.QueryCanceled:
            result["outcome"] = "canceled"
        except Exception as e:  # noqa: BLE001 - reported as a failed check
            result["outcome"] = f"{type(e).__name__}: {e}"
        result["elapsed"] = time.monotonic() - start

    t = threading.Thread(target=run)
    t.start()
    time.sleep(0.7)
    conn.cancel()
    t.join(30)
    check("pg_sleep cancelled from another thread raises QueryCanceled",
          result.get("outcome") == "canceled" and result.get("elapsed", 99) < 10, result)
    cur = conn.execute("SELECT 7")
    check("connection usable after cancel", cur.fetchone()[0] == 7)
    conn.close()


def listen_notify(url):
    listener = connect(url, autocommit=True)
    got = []
    listener.add_notify_handler(lambda n: got.append((n.channel, n.payload)))
    listener.execute("LISTEN pgw_channel")
    notifier = connect(url, autocommit=True)
    notifier.execute("SELECT pg_notify('pgw_channel', 'hello')")
    notifier.close()
    # Notifications arrive with the next server message; poll with a bounded loop.
    for _ in range(50):
        if got:
            break
        listener.execute("SELECT 1")
        time.sleep(0.1)
    check("LISTEN/NOTIFY delivered the payload", got == [("pgw_channel", "hello")], got)
    listener.close()


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    url = sys.argv[1]
    mode = sys.argv[2] if len(sys.argv) > 2 else "transaction"
    print(f"psycopg {psycopg.__version__}, mode {mode}", flush=True)
    with connect(url) as conn:
        prepared_across_transactions(conn)
        executemany_and_copy(conn)
        error_then_continue(conn)
    cancel(url)
    if mode == "session":
        listen_notify(url)
    print(f"{len(failures)} check(s) failed" if failures else "all checks passed", flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
