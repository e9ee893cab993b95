#!/usr/bin/env bash
# How the kernel schedules each pooler under `pgbench -S`: pgwarden and PgBouncer in front of one
# PostgreSQL, one after the other, each with two windows of RECORD seconds in the middle of its
# run. The first reads /proc/PID/schedstat: time on a CPU, and time runnable but waiting for one.
# The second, when `perf sched` works, counts from the scheduler's trace points how often the
# pooler's threads were preempted, went to sleep, or moved to another CPU. All per transaction,
# since the two poolers never run at the same TPS.
#
# Why: on a 2-core machine shared with PostgreSQL and pgbench, a single-loop pooler under load
# rarely sleeps (at most once per seven transactions): it is runnable nearly all the time and
# waits for a CPU about as long as it runs. That does not make its TPS its CPU share divided by
# its CPU per transaction (session 7 read it so): the share moves with everyone else's demand,
# and the machine's total CPU per transaction decides TPS (README, the floor relay). The
# pooler's own CPU per transaction and its scheduling events are what this script shows.
#
# Usage: bench/sched_profile.sh [PGWARDEN_BINARY]      (root; loopback only)
# Knobs: CLIENTS ["64"], DURATION [10 s per run], RECORD [2 s per window], SETTINGS (extra [pgwarden]
#        lines, e.g. "workers = 2")
set -euo pipefail
# shellcheck source=bench/poolers.sh
source "$(dirname "${BASH_SOURCE[0]}")/poolers.sh"
PGWARDEN=${1:-$(dirname "${BASH_SOURCE[0]}")/../build-core/pgwarden}
CLIENTS=${CLIENTS:-64}
DURATION=${DURATION:-10}
RECORD=${RECORD:-2}
PG_PORT=24480
PGW_PORT=24481
BOUNCER_PORT=24489
[[ -x $PGWARDEN ]] || { echo "no pgwarden binary at $PGWARDEN" >&2; exit 1; }
((2 * RECORD + 3 <= DURATION)) || { echo "DURATION must be at least 2 x RECORD + 3 s" >&2; exit 1; }
command -v pgbouncer >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q pgbouncer >/dev/null
have_perf=0
if command -v perf >/dev/null && perf sched record -o /dev/null -- true >/dev/null 2>&1; then
    have_perf=1
fi

work=$(mktemp -d /tmp/pgw-sched.XXXXXX)
chown postgres "$work"
pgw_pid=""
cleanup() {
    [[ -n $pgw_pid ]] && kill -INT "$pgw_pid" 2>/dev/null
    [[ -f $work/bouncer.pid ]] && kill "$(cat "$work/bouncer.pid")" 2>/dev/null
    stop_postgres "$work"
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

start_postgres "$work" $PG_PORT 10 300
pgwarden_toml $PGW_PORT $PG_PORT "${SETTINGS:-}" >"$work/pgwarden.toml"
pgbouncer_ini $BOUNCER_PORT $PG_PORT "$work" >"$work/bouncer.ini"
chown -R postgres "$work"
"$PGWARDEN" serve -c "$work/pgwarden.toml" >"$work/pgwarden.log" 2>&1 &
pgw_pid=$!
runuser -u postgres -- pgbouncer -d "$work/bouncer.ini"
wait_for_ports $PGW_PORT $BOUNCER_PORT
kill -0 "$pgw_pid" 2>/dev/null || { cat "$work/pgwarden.log" >&2; exit 1; }
bouncer_pid=$(cat "$work/bouncer.pid")

# schedstat: nanoseconds on a CPU, nanoseconds runnable but waiting, of the process's main
# thread (the event loop of both poolers with one loop).
schedstat() { awk '{ print $1, $2 }' "/proc/$1/schedstat"; }

# From a perf sched trace, for the pooler PID's threads: switched out while runnable (preempted),
# switched out to sleep, migrated; and the pgbench threads they woke, how many of those on the
# pooler's own CPU, and how many times a pgbench thread took the CPU from the pooler.
trace_counts() {
    perf script -i "$1" -F pid,cpu,event,trace 2>/dev/null | awk -v pid="$2" '
        BEGIN { cmd = "ls /proc/" pid "/task"; while ((cmd | getline t) > 0) mine[t] = 1 }
        / sched:sched_switch: / {
            match($0, /prev_pid=[0-9]+/); p = substr($0, RSTART + 9, RLENGTH - 9)
            if (!(p in mine)) next
            match($0, /prev_state=[^ ]+/); s = substr($0, RSTART + 11, RLENGTH - 11)
            if (s == "R" || s == "R+") {
                pre++
                if ($0 ~ /next_comm=pgbench /) by_bench++
            } else {
                slp++
            }
        }
        / sched:sched_migrate_task: / {
            match($0, / pid=[0-9]+/); p = substr($0, RSTART + 5, RLENGTH - 5)
            if (p in mine) mig++
        }
        / sched:sched_waking: / && ($1 in mine) && / comm=pgbench / {
            wake++
            cpu = $2; gsub(/[^0-9]/, "", cpu)
            match($0, /target_cpu=[0-9]+/)
            if (substr($0, RSTART + 11, RLENGTH - 11) + 0 == cpu + 0) here++
        }
        END { printf "%d %d %d %d %d %d\n", pre, by_bench, slp, mig, wake, here }'
}

printf '%-7s %-9s %6s %8s %8s %8s %8s %8s %8s %8s %8s\n' clients pooler TPS "CPU µs" \
    "wait µs" preempt "by bench" sleeps migr "wakes" "same CPU"
for c in $CLIENTS; do
    for target in "pgwarden $PGW_PORT $pgw_pid" "pgbouncer $BOUNCER_PORT $bouncer_pid"; do
        read -r name port pid <<<"$target"
        pgbench -S -n -c "$c" -j 2 -T "$DURATION" -h 127.0.0.1 -p "$port" -U postgres postgres \
            >"$work/$name.out" 2>&1 &
        bench=$!
        sleep 2
        # Two windows: the trace's own cost (every context switch is recorded) would inflate
        # the CPU times, so they come from a window without it.
        read -r run0 wait0 < <(schedstat "$pid")
        sleep "$RECORD"
        read -r run1 wait1 < <(schedstat "$pid")
        if ((have_perf)); then
            perf sched record -a -o "$work/$name.data" -- sleep "$RECORD" >/dev/null 2>&1
        fi
        wait "$bench" || true
        tps=$(sed -nE 's/^tps = ([0-9]+).*/\1/p' "$work/$name.out")
        tx=$((${tps:-0} * RECORD))
        if ((tx == 0)); then
            printf '%-7s %-9s %6s\n' "$c" "$name" fail
            continue
        fi
        counts="- - - - - -"
        ((have_perf)) && counts=$(trace_counts "$work/$name.data" "$pid")
        awk -v c="$c" -v name="$name" -v tps="$tps" -v t=$tx -v run=$((run1 - run0)) \
            -v wt=$((wait1 - wait0)) -v counts="$counts" '
            function per(x) { return x == "-" ? "-" : sprintf("%.3f", x / t) }
            BEGIN {
                split(counts, k, " ")
                same = k[5] == "-" || k[5] == 0 ? "-" : sprintf("%.0f%%", 100 * k[6] / k[5])
                printf "%-7s %-9s %6d %8.1f %8.1f %8s %8s %8s %8s %8s %8s\n", c, name, tps,
                    run / 1000 / t, wt / 1000 / t, per(k[1]), per(k[2]), per(k[3]), per(k[4]),
                    per(k[5]), same
            }'
    done
done
echo "(per transaction; CPU and wait from /proc/PID/schedstat in one ${RECORD} s window, the rest from"
echo " perf sched in a second one: preemptions, those by a pgbench thread, sleeps, migrations, pgbench"
echo " threads the pooler woke and the share of those on the pooler's own CPU. Transactions in a"
echo " window are estimated from the run's TPS; perf sched $( ((have_perf)) && echo used || echo 'not available'))"
