# shellcheck shell=bash
# Sourced by the bench scripts that compare the poolers; they keep their fixed ports below 32768,
# outside Linux's default ephemeral range: a client socket left in TIME_WAIT on a port in that
# range made PostgreSQL's bind fail now and then.
#
# What they share: the configs they give pgwarden and PgBouncer for the same
# comparison (trust auth, transaction pooling, pool size 20, database "postgres" on
# 127.0.0.1:PG_PORT), so that both sides of every comparison are set up alike.

# pgwarden_toml LISTEN_PORT PG_PORT [EXTRA_SETTINGS]: a pgwarden config on stdout; EXTRA lines
# go into [pgwarden] (e.g. "workers = 1").
pgwarden_toml() {
    cat <<TOML
[pgwarden]
listen_addr = "127.0.0.1"
listen_port = $1
auth_type = "trust"
default_pool_size = 20
max_client_conn = 1000
log_connections = false
log_disconnections = false
log_level = "warn"
${3:-}
[databases.postgres]
host = "127.0.0.1"
port = $2
TOML
}

# pgbouncer_ini LISTEN_PORT PG_PORT DIR: a PgBouncer config on stdout, with its auth file
# (written here), log and pid file in DIR.
pgbouncer_ini() {
    echo '"postgres" ""' >"$3/users.txt"
    cat <<INI
[databases]
postgres = host=127.0.0.1 port=$2 dbname=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $1
auth_type = trust
auth_file = $3/users.txt
pool_mode = transaction
pidfile = $3/bouncer.pid
logfile = $3/bouncer.log
default_pool_size = 20
max_client_conn = 1000
INI
}

# start_postgres DIR PG_PORT SCALE MAX_CONNECTIONS: a throwaway PostgreSQL 15 cluster in
# DIR/pgdata (owned by the postgres user; DIR must be writable by it), listening on 127.0.0.1
# and a socket in DIR, with pgbench's tables at SCALE. Stop it with stop_postgres DIR.
PG_BIN=/usr/lib/postgresql/15/bin
start_postgres() {
    runuser -u postgres -- "$PG_BIN/initdb" -D "$1/pgdata" -A trust -U postgres >/dev/null
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$1/pgdata" -l "$1/pg.log" -w \
        -o "-p $2 -k $1 -c listen_addresses=127.0.0.1 -c max_connections=$4" start >/dev/null
    pgbench -i -s "$3" -h 127.0.0.1 -p "$2" -U postgres postgres >/dev/null 2>&1
}

stop_postgres() {
    runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$1/pgdata" -m fast -w stop \
        >/dev/null 2>&1 || true
}

# wait_for_ports PORT...: until each port on 127.0.0.1 accepts PostgreSQL connections (10 s
# each at most; the caller's first query reports one that never came up).
wait_for_ports() {
    local port
    for port in "$@"; do
        for _ in $(seq 100); do
            pg_isready -q -h 127.0.0.1 -p "$port" -U postgres && break
            sleep 0.1
        done
    done
}
