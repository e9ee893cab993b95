#!/usr/bin/env bash
# Admission overhead: pgbench -S through pgwarden with three workload classes configured vs
# one (the default), same PostgreSQL, same run, alternating A/B runs; prints each TPS and
# the ratio three/one (target: >= 0.95).
#
# In the three-class config pgbench's connections fall through two non-matching classes
# into a third that has a reserve, a cap and a priority, so every checkout does the full
# admission arithmetic (reserve bookkeeping over all classes) that the one-class config skips.
#
# Usage: bench/governance_bench.sh            (needs root for runuser; loopback only)
# Knobs: PGWARDEN [build/pgwarden], DURATION [10], REPEATS [3], CLIENTS [16], POOL [20]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/poolers.sh
source "$root/bench/poolers.sh"
PGWARDEN=${PGWARDEN:-$root/build/pgwarden}
DURATION=${DURATION:-10}
REPEATS=${REPEATS:-3}
CLIENTS=${CLIENTS:-16}
POOL=${POOL:-20}
PG_PORT=${PG_PORT:-54350}
ONE_PORT=${ONE_PORT:-64350}
THREE_PORT=${THREE_PORT:-64351}
export PGGSSENCMODE=disable PGSSLMODE=disable
[[ -x $PGWARDEN ]] || { echo "no pgwarden binary at $PGWARDEN (build first)" >&2; exit 1; }

work=$(mktemp -d /tmp/pgw-gov-bench.XXXXXX)
chown postgres "$work"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    stop_postgres "$work"
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

start_postgres "$work" "$PG_PORT" 4 100

write_config() {  # PORT FILE EXTRA_TABLES
    cat >"$2" <<TOML
[pgwarden]
listen_addr = "127.0.0.1"
listen_port = $1
auth_type = "trust"
pool_mode = "transaction"
default_pool_size = $POOL
max_client_conn = 1000
log_connections = false
log_disconnections = false
log_level = "warn"
stats_listen = "127.0.0.1:$(( $1 + 100 ))"

[databases.postgres]
host = "127.0.0.1"
port = $PG_PORT

$3
TOML
}
write_config "$ONE_PORT" "$work/one.toml" ""
write_config "$THREE_PORT" "$work/three.toml" '
[classes.api]
application_name = ["api*", "web*"]
reserve = 4
priority = 10
[classes.jobs]
application_name = "job*"
user = "jobs"
max = "25%"
[classes.bench]
application_name = "pgbench*"
reserve = 2
max = 18
priority = 5
query_timeout = "30s"
idle_transaction_timeout = "30s"'

for name in one three; do
    "$PGWARDEN" serve --config "$work/$name.toml" >"$work/$name.log" 2>&1 &
    pids+=($!)
done
for port in "$ONE_PORT" "$THREE_PORT"; do
    for _ in $(seq 50); do
        pg_isready -q -h 127.0.0.1 -p "$port" && break
        sleep 0.1
    done
done

run() {  # PORT -> TPS
    pgbench -S -n -c "$CLIENTS" -j 2 -T "$DURATION" -h 127.0.0.1 -p "$1" -U postgres postgres \
        2>/dev/null | sed -nE 's/^tps = ([0-9.]+).*/\1/p' | head -n 1
}
run "$ONE_PORT" >/dev/null  # warm both pools
run "$THREE_PORT" >/dev/null
one_total=0
three_total=0
for i in $(seq "$REPEATS"); do
    one=$(run "$ONE_PORT")
    three=$(run "$THREE_PORT")
    echo "run $i: one class $one TPS, three classes $three TPS"
    one_total=$(echo "$one_total + $one" | bc -l)
    three_total=$(echo "$three_total + $three" | bc -l)
done
ratio=$(echo "$three_total / $one_total" | bc -l)
printf 'admission overhead (pgbench -S, %d clients, pool %d, %d x %ds): one class %.0f TPS, three classes %.0f TPS, ratio %.3f (target >= 0.95)\n' \
    "$CLIENTS" "$POOL" "$REPEATS" "$DURATION" "$(echo "$one_total / $REPEATS" | bc -l)" \
    "$(echo "$three_total / $REPEATS" | bc -l)" "$ratio"
