#!/usr/bin/env bash
# Proxy benchmark: pgbench -S through pgwarden vs PgBouncer vs direct PostgreSQL, same
# PostgreSQL, same run, transaction pooling, pool size 20; clients 1/16/64/256; modes simple
# and prepared (plus extended at 64 from anchors.sh). Then RSS with 10,000 idle clients.
#
# Usage: bench/proxy_bench.sh [RESULTS_DIR]        (needs root for packages; loopback only)
# Knobs: PGWARDEN (binary, default build/pgwarden), DURATION [10], REPEATS [2],
#        CLIENTS ["1 16 64 256"], IDLE_CLIENTS [10000], PGWARDEN_PORT [64330],
#        ANCHORS (path to anchors.sh, default ../shared/bench/anchors.sh)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
results=${1:-$root/build-bench/proxy-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$results"
PGWARDEN=${PGWARDEN:-$root/build/pgwarden}
ANCHORS=${ANCHORS:-$root/../shared/bench/anchors.sh}
DURATION=${DURATION:-10}
REPEATS=${REPEATS:-2}
CLIENTS=${CLIENTS:-"1 16 64 256"}
IDLE_CLIENTS=${IDLE_CLIENTS:-10000}
PGW_PORT=${PGWARDEN_PORT:-64330}
WORK_DIR=${WORK_DIR:-/tmp/pg-anchors}
PG_PORT=54320
BOUNCER_PORT=64320
export PGGSSENCMODE=disable PGSSLMODE=disable
[[ -x $PGWARDEN ]] || { echo "no pgwarden binary at $PGWARDEN (build first)" >&2; exit 1; }
[[ -x $ANCHORS ]] || { echo "anchors.sh not found at $ANCHORS" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (( $(ulimit -n) < IDLE_CLIENTS + 200 )); then
    echo "open-file limit $(ulimit -n) is below $IDLE_CLIENTS idle clients + 200; lowering IDLE_CLIENTS" >&2
    IDLE_CLIENTS=$(( $(ulimit -n) - 200 ))
fi

pgw_dir=$(mktemp -d /tmp/pgw-bench.XXXXXX)
pgw_pid=
cleanup() {
    [[ -n $pgw_pid ]] && kill -INT "$pgw_pid" 2>/dev/null && wait "$pgw_pid" 2>/dev/null
    # anchors.sh ran with KEEP_RUNNING=1 so the prepared runs could reuse its servers.
    if [[ -f $WORK_DIR/pgbouncer.pid ]]; then
        kill -TERM "$(cat "$WORK_DIR/pgbouncer.pid")" 2>/dev/null || true
    fi
    if [[ -f $WORK_DIR/pgdata/postmaster.pid ]]; then
        runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$WORK_DIR/pgdata" -m fast \
            -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$pgw_dir"
}
trap cleanup EXIT INT TERM

cat >"$pgw_dir/pgwarden.toml" <<TOML
[pgwarden]
listen_addr = "127.0.0.1"
listen_port = $PGW_PORT
auth_type = "trust"
pool_mode = "transaction"
default_pool_size = 20
max_client_conn = 12000
server_idle_timeout = "2s"
log_connections = false
log_disconnections = false
log_level = "warn"

[databases.pgbench]
host = "127.0.0.1"
port = $PG_PORT
user = "postgres"
TOML
"$PGWARDEN" serve -c "$pgw_dir/pgwarden.toml" >"$results/pgwarden.log" 2>&1 &
pgw_pid=$!
sleep 0.5
kill -0 "$pgw_pid" || { cat "$results/pgwarden.log"; exit 1; }

echo "== anchors.sh: direct vs pgbouncer vs pgwarden, -M simple (and extended at 64)"
KEEP_RUNNING=1 DURATION=$DURATION REPEATS=$REPEATS CLIENTS="$CLIENTS" HYPERFINE_RUNS=0 \
    MAX_CLIENT_CONN=12000 WORK_DIR=$WORK_DIR EXTRA_TARGETS="pgwarden=$PGW_PORT=$pgw_pid" \
    "$ANCHORS" "$results/anchors" | tee "$results/anchors.txt"

echo
echo "== pgbench -M prepared (interleaved, $REPEATS reps, ${DURATION}s each)"
declare -A tps lat
for rep in $(seq "$REPEATS"); do
    for c in $CLIENTS; do
        for target in direct pgbouncer pgwarden; do
            case $target in
            direct) port=$PG_PORT; [[ $c -gt 90 ]] && continue ;;
            pgbouncer) port=$BOUNCER_PORT ;;
            pgwarden) port=$PGW_PORT ;;
            esac
            sleep 3  # let poolers' idle server connections expire so direct can connect
            # PgBouncer before 1.21 has no prepared-statement support: its runs abort.
            out=$(pgbench -n -S -M prepared -c "$c" -j 2 -T "$DURATION" -h 127.0.0.1 -p "$port" \
                -U postgres pgbench 2>&1 || true)
            echo "$out" >"$results/prepared-$target-c$c-r$rep.txt"
            t=$(awk '/^tps = /{printf "%.0f", $3}' <<<"$out")
            l=$(awk '/^latency average/{print $4}' <<<"$out")
            tps[$target,$c]="${tps[$target,$c]:-} $t"
            lat[$target,$c]="${lat[$target,$c]:-} $l"
            echo "prepared $target c=$c rep $rep: tps=$t lat=${l}ms"
        done
    done
done
# Of two repetitions this is the lower one, for every target alike.
median() { tr ' ' '\n' | { grep -v '^$' || true; } | sort -n | awk '{a[NR]=$1} END{if(NR==0){print "-"}else{print a[int((NR+1)/2)]}}'; }
{
    printf '\n%-8s %10s %10s %10s %16s\n' clients direct pgbouncer pgwarden "pgwarden/bouncer"
    for c in $CLIENTS; do
        d=$(median <<<"${tps[direct,$c]:-}")
        b=$(median <<<"${tps[pgbouncer,$c]:-}")
        w=$(median <<<"${tps[pgwarden,$c]:-}")
        r=$(awk -v w="$w" -v b="$b" 'BEGIN{if(b>0){printf "%.2f", w/b}else{print "-"}}')
        printf '%-8s %10s %10s %10s %16s\n' "$c" "$d" "$b" "$w" "$r"
    done
} | tee "$results/prepared-table.txt"

echo
echo "== RSS with $IDLE_CLIENTS idle clients"
python3 "$root/bench/idle_clients.py" 127.0.0.1 "$PGW_PORT" "$pgw_pid" "$IDLE_CLIENTS" \
    | sed 's/^/pgwarden: /' | tee "$results/idle-pgwarden.txt"
bouncer_pid=$(cat "$WORK_DIR/pgbouncer.pid")
# PgBouncer usually stops accepting at its open-file limit under anchors.sh; the script then
# reports how far it got and exits nonzero, which must not end the run before the summary.
python3 "$root/bench/idle_clients.py" 127.0.0.1 "$BOUNCER_PORT" "$bouncer_pid" "$IDLE_CLIENTS" \
    | sed 's/^/pgbouncer: /' | tee "$results/idle-pgbouncer.txt" || true
echo "results in $results"
