#!/usr/bin/env bash
# Interleaved A/B: two pgwarden binaries (or one binary with two extra settings) and PgBouncer
# in front of one PostgreSQL, `pgbench -S` against each in turn, repetition by repetition, so
# that the machine's drift (large on a shared 2-core VM) hits all three alike. Prints TPS and
# the pooler's CPU time per transaction (user + system, from /proc/PID/stat) for each.
#
# Usage: bench/ab_compare.sh A_BINARY [B_BINARY]          (root; loopback only)
# Knobs: CLIENTS ["16 64 256"], REPS [3], DURATION [6 s per run], MODE [simple|extended|prepared],
#        A_SETTINGS / B_SETTINGS (extra lines for [pgwarden], e.g. "workers = 2"),
#        FLOOR (path to bench/relay_floor: adds it as a fourth target, simple mode only),
#        PAIRED=1 (every A / B / floor run right after a PgBouncer run of its own; prints the
#        ratio of each pair, their mean and standard deviation)
set -euo pipefail
# shellcheck source=bench/poolers.sh
source "$(dirname "${BASH_SOURCE[0]}")/poolers.sh"
A=${1:?usage: ab_compare.sh A_BINARY [B_BINARY]}
B=${2:-$A}
CLIENTS=${CLIENTS:-"16 64 256"}
REPS=${REPS:-3}
DURATION=${DURATION:-6}
MODE=${MODE:-simple}
PG_PORT=24380
A_PORT=24381
B_PORT=24382
BOUNCER_PORT=24389
FLOOR_PORT=24383
FLOOR=${FLOOR:-}
for binary in "$A" "$B"; do
    [[ -x $binary ]] || { echo "no pgwarden binary at $binary" >&2; exit 1; }
done
command -v pgbouncer >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbouncer >/dev/null

work=$(mktemp -d /tmp/pgw-ab.XXXXXX)
chown postgres "$work"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do
        kill -INT "$pid" 2>/dev/null || true
    done
    [[ -f $work/bouncer.pid ]] && kill "$(cat "$work/bouncer.pid")" 2>/dev/null
    stop_postgres "$work"
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

start_postgres "$work" $PG_PORT 10 200

pgwarden_toml $A_PORT $PG_PORT "stats_listen = \"127.0.0.1:24391\"
${A_SETTINGS:-}" >"$work/a.toml"
pgwarden_toml $B_PORT $PG_PORT "stats_listen = \"127.0.0.1:24392\"
${B_SETTINGS:-}" >"$work/b.toml"
pgbouncer_ini $BOUNCER_PORT $PG_PORT "$work" >"$work/bouncer.ini"
chown -R postgres "$work"

"$A" serve -c "$work/a.toml" >"$work/a.log" 2>&1 &
pids+=($!)
a_pid=$!
"$B" serve -c "$work/b.toml" >"$work/b.log" 2>&1 &
pids+=($!)
b_pid=$!
runuser -u postgres -- pgbouncer -d "$work/bouncer.ini"
wait_for_ports $A_PORT $B_PORT $BOUNCER_PORT
for pid in "$a_pid" "$b_pid"; do
    kill -0 "$pid" 2>/dev/null || { cat "$work/a.log" "$work/b.log" >&2; exit 1; }
done
bouncer_pid=$(cat "$work/bouncer.pid")
targets=("A $A_PORT $a_pid" "B $B_PORT $b_pid" "bouncer $BOUNCER_PORT $bouncer_pid")
if [[ -n $FLOOR ]]; then
    "$FLOOR" $FLOOR_PORT $PG_PORT 20 postgres postgres >"$work/floor.log" 2>&1 &
    pids+=($!)
    targets+=("floor $FLOOR_PORT $!")
    wait_for_ports $FLOOR_PORT
fi

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
ticks_per_second=$(getconf CLK_TCK)

# run_one NAME PORT PID CLIENTS: one pgbench run; appends to tps[NAME] and cpu[NAME], leaves the
# rate in last_rate.
run_one() {
    local before after out n
    before=$(cpu_ticks "$3")
    out=$(pgbench -S -n -M "$MODE" -c "$4" -j 2 -T "$DURATION" -h 127.0.0.1 -p "$2" \
        -U postgres postgres 2>/dev/null || true)
    after=$(cpu_ticks "$3")
    n=$(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' <<<"$out")
    last_rate=$(sed -nE 's/^tps = ([0-9]+).*/\1/p' <<<"$out")
    tps[$1]+=" ${last_rate:-fail}"
    cpu[$1]+=" $(awk -v t=$((after - before)) -v n="${n:-0}" -v hz="$ticks_per_second" \
        'BEGIN { printf "%.1f", (n > 0 ? t * 1e6 / hz / n : 0) }')"
}

printf '%-6s %-8s %-40s %s\n' clients target "TPS per repetition" "pooler CPU µs per transaction"
for c in $CLIENTS; do
    declare -A tps=() cpu=() ratio=()
    for _ in $(seq "$REPS"); do
        for target in "${targets[@]}"; do
            read -r name port pid <<<"$target"
            if [[ ${PAIRED:-0} == 1 ]]; then
                # Each target right after its own PgBouncer run: the machine drifts over
                # minutes, so a ratio of neighbours is steadier than a ratio of means.
                [[ $name == bouncer ]] && continue
                run_one bouncer "$BOUNCER_PORT" "$bouncer_pid" "$c"
                pair_bouncer=${last_rate:-0}
                run_one "$name" "$port" "$pid" "$c"
                ratio[$name]+=" $(awk -v a="${last_rate:-0}" -v b="$pair_bouncer" \
                    'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')"
            else
                run_one "$name" "$port" "$pid" "$c"
            fi
        done
    done
    for target in "${targets[@]}"; do
        name=${target%% *}
        printf '%-6s %-8s %-40s %s\n' "$c" "$name" "${tps[$name]}" "${cpu[$name]}"
    done
    for target in "${targets[@]}"; do
        name=${target%% *}
        [[ -n ${ratio[$name]:-} ]] || continue
        awk -v c="$c" -v name="$name" -v r="${ratio[$name]}" 'BEGIN {
            n = split(r, x, " "); s = 0; ss = 0; won = 0
            for (i = 1; i <= n; i++) { s += x[i]; ss += x[i] * x[i]; won += (x[i] >= 1) }
            m = s / n; sd = (n > 1 ? sqrt((ss - n * m * m) / (n - 1)) : 0)
            printf "%-6s %-8s / PgBouncer per pair:%s  mean %.3f sd %.3f, won %d of %d\n",
                c, name, r, m, sd, won, n }'
    done
done
