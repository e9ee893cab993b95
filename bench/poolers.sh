# shellcheck shell=bash
# Sourced by the bench scripts: the configs they give pgwarden and PgBouncer for the same
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
