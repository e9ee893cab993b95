#!/usr/bin/env bash
# User-space instructions per transaction of pgwarden and of PgBouncer, counted by callgrind
# under the same pgbench -S load (transaction pooling, pool size 20, one event loop). The
# count is deterministic, so unlike TPS on a shared 2-core VM (+-15% run to run) it shows a
# 3% change in the data path's cost. It does not see kernel time (system calls, wake-ups).
#
# Usage: bench/instructions_per_txn.sh [PGWARDEN_BINARY]     (root; loopback only)
# Knobs: CLIENTS ["16 64"], TX [transactions per client, 100], MODE [simple|extended|prepared]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/poolers.sh
source "$root/bench/poolers.sh"
PGW=${1:-$root/build/pgwarden}
CLIENTS=${CLIENTS:-"16 64"}
TX=${TX:-100}
MODE=${MODE:-simple}
# CACHE_SIM=1 also simulates the caches and prints first-level data-cache misses per
# transaction: on this VM pgwarden runs at well under one instruction per cycle, so what it
# touches matters as much as how much it executes.
CACHE_SIM=${CACHE_SIM:-0}
sim=()
[[ $CACHE_SIM == 1 ]] && sim=(--cache-sim=yes)
PG_PORT=24680
POOL_PORT=24681
[[ -x $PGW ]] || { echo "no pgwarden binary at $PGW (build first)" >&2; exit 1; }
for tool in valgrind pgbouncer; do
    command -v "$tool" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$tool" >/dev/null
done

work=$(mktemp -d /tmp/pgw-instr.XXXXXX)
chown postgres "$work"
pooler_pid=
cleanup() {
    [[ -n $pooler_pid ]] && kill -INT "$pooler_pid" 2>/dev/null && wait "$pooler_pid" 2>/dev/null
    stop_postgres "$work"
    [[ -n ${KEEP_WORK:-} ]] || rm -rf "$work"
}
trap cleanup EXIT INT TERM
start_postgres "$work" $PG_PORT 1 200

pgwarden_toml $POOL_PORT $PG_PORT "workers = 1" >"$work/pgwarden.toml"
pgbouncer_ini $POOL_PORT $PG_PORT "$work" >"$work/pgbouncer.ini"
chown -R postgres "$work"

# instructions NAME CLIENTS TX: the program's total instruction count after a warm-up and
# TX transactions per client. Run twice (TX and 3*TX) the difference is per transaction,
# free of start-up and warm-up costs.
instructions() {
    local name=$1 c=$2 tx=$3 out=$work/cg.$1.$2.$3
    if [[ $name == pgwarden ]]; then
        valgrind --tool=callgrind "${sim[@]}" --callgrind-out-file="$out" "$PGW" serve -c "$work/pgwarden.toml" \
            >"$work/$name.valgrind.log" 2>&1 &
    else
        runuser -u postgres -- valgrind --tool=callgrind "${sim[@]}" --callgrind-out-file="$out" \
            pgbouncer "$work/pgbouncer.ini" >"$work/$name.valgrind.log" 2>&1 &
    fi
    pooler_pid=$!
    wait_for_ports $POOL_PORT
    pgbench -S -M "$MODE" -n -c "$c" -j 2 -t 20 -h 127.0.0.1 -p $POOL_PORT -U postgres postgres >/dev/null 2>&1
    pgbench -S -M "$MODE" -n -c "$c" -j 2 -t "$tx" -h 127.0.0.1 -p $POOL_PORT -U postgres postgres \
        >"$work/pgbench.out" 2>&1
    grep -q "number of failed transactions: 0" "$work/pgbench.out" ||
        { cat "$work/pgbench.out" >&2; exit 1; }
    # Both poolers write their totals on exit; PgBouncer runs under runuser, so signal its
    # child too.
    mapfile -t children < <(pgrep -P "$pooler_pid" || true)
    kill -INT "${children[@]}" "$pooler_pid" 2>/dev/null || true
    wait "$pooler_pid" 2>/dev/null || true
    sleep 0.5
    pooler_pid=
    # Instructions, and with CACHE_SIM the D1 read + write misses (events Ir Dr Dw I1mr
    # D1mr D1mw ...).
    sed -nE 's/^(summary|totals): (.*)/\2/p' "$out" | head -n 1 |
        awk -v sim="$CACHE_SIM" '{ print (sim == 1 ? $1 " " $5 + $6 : $1 " 0") }'
}

printf '%-8s %-10s %-10s %-20s' clients pgbouncer pgwarden pgwarden/pgbouncer
[[ $CACHE_SIM == 1 ]] && printf '%-14s %-14s %s' "D1miss bouncer" "D1miss pgwarden" ratio
echo
for c in $CLIENTS; do
    declare -A per miss
    for name in pgbouncer pgwarden; do
        read -r small_ir small_miss < <(instructions $name "$c" "$TX")
        read -r large_ir large_miss < <(instructions $name "$c" $((3 * TX)))
        per[$name]=$(((large_ir - small_ir) / (c * 2 * TX)))
        miss[$name]=$(((large_miss - small_miss) / (c * 2 * TX)))
    done
    printf '%-8s %-10s %-10s %-20.2f' "$c" "${per[pgbouncer]}" "${per[pgwarden]}" \
        "$(awk -v a="${per[pgwarden]}" -v b="${per[pgbouncer]}" 'BEGIN{print a/b}')"
    if [[ $CACHE_SIM == 1 ]]; then
        printf '%-14s %-14s %.2f' "${miss[pgbouncer]}" "${miss[pgwarden]}" \
            "$(awk -v a="${miss[pgwarden]}" -v b="${miss[pgbouncer]}" 'BEGIN{print (b > 0 ? a/b : 0)}')"
    fi
    echo
done
echo "(user-space instructions per transaction, callgrind, pgbench -S -M $MODE, $TX and $((3 * TX)) transactions per client)"
