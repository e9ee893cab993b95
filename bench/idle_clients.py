#!/usr/bin/env python3
"""Opens N idle PostgreSQL client connections (trust auth) to HOST:PORT, holds them, and
prints the resident memory of PID (the pooler) before and with them connected.

Usage: idle_clients.py HOST PORT PID N [USER DB]
Each connection does a full v3 startup and waits for ReadyForQuery, so the pooler holds a
logged-in client; then nothing is sent. Bounded: 120 s overall deadline.
"""
import selectors
import socket
import struct
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def startup_packet(user, db):
    body = struct.pack("!i", 196608)
    for k, v in (("user", user), ("database", db), ("application_name", "idle_clients")):
        body += k.encode() + b"\0" + v.encode() + b"\0"
    body += b"\0"
    return struct.pack("!i", len(body) + 4) + body


def main():
    host, port, pid, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    user = sys.argv[5] if len(sys.argv) > 5 else "postgres"
    db = sys.argv[6] if len(sys.argv) > 6 else "pgbench"
    deadline = time.monotonic() + 120
    before = rss_kib(pid)
    sel = selectors.DefaultSelector()
    socks, ready, failed = [], 0, 0
    pkt = startup_packet(user, db)
    pending = {}
    # Connect in batches so the listen backlog is never the bottleneck.
    refused = 0
    for i in range(n):
        if refused >= 20 or time.monotonic() > deadline:
            break  # the pooler stopped accepting: report what it holds rather than crash
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(5)
        try:
            s.connect((host, port))
            s.sendall(pkt)
        except OSError as e:
            s.close()
            failed += 1
            refused += 1
            if refused == 1:
                print(f"connection {i}: {e}", file=sys.stderr)
            continue
        refused = 0
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        socks.append(s)
        pending[s] = b""
        if i % 500 == 499:
            ready, failed = drain(sel, pending, ready, failed, time.monotonic() + 0.05)
    while pending and time.monotonic() < deadline:
        ready, failed = drain(sel, pending, ready, failed, time.monotonic() + 1)
    time.sleep(1)
    with_clients = rss_kib(pid)
    print(f"idle clients: {ready} ready, {failed} failed, {len(pending)} unfinished"
          f"{'' if len(socks) + failed >= n else f', stopped after {len(socks) + failed} attempts'}")
    print(f"pooler RSS: before {before/1024:.1f} MiB, with {ready} idle clients "
          f"{with_clients/1024:.1f} MiB, per client {(with_clients-before)/max(ready,1):.2f} KiB")
    for s in socks:
        s.close()
    return 0 if ready == n else 1


def drain(sel, pending, ready, failed, until):
    while pending and time.monotonic() < until:
        for key, _ in sel.select(timeout=max(0.0, until - time.monotonic())):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            if not data:
                failed += 1
                sel.unregister(s)
                pending.pop(s, None)
                continue
            buf = pending.get(s, b"") + data
            # Walk complete messages; ReadyForQuery ('Z') ends the login.
            done = False
            while len(buf) >= 5:
                t, ln = buf[0:1], struct.unpack("!i", buf[1:5])[0]
                if len(buf) < ln + 1:
                    break
                if t == b"Z":
                    done = True
                elif t == b"E":
                    failed += 1
                    done = None
                buf = buf[ln + 1:]
            if done is None:
                sel.unregister(s)
                pending.pop(s, None)
            elif done:
                ready += 1
                sel.unregister(s)
                pending.pop(s, None)
            else:
                pending[s] = buf
    return ready, failed


if __name__ == "__main__":
    sys.exit(main())
