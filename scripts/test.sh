#!/usr/bin/env bash
# The full test run, as CI does it (works with CI=true and no stdin):
#   1. install dependencies (skip with PGWARDEN_SKIP_DEPS=1),
#   2. install the node `pg` driver for the node client test (skipped visibly if npm fails),
#   3. build everything with -Werror + AddressSanitizer + UndefinedBehaviorSanitizer (assertions
#      on, -O1 -g1) into build-sanitize/ and run the whole ctest suite there,
#   4. build pgwarden with ThreadSanitizer into build-tsan/ and run the multi-threaded proxy
#      tests against it,
#   5. print the ctest summaries and one overall "N passed, N failed" line.
# Exits nonzero if any build or test failed.
#
# One sanitized build runs the whole suite rather than a plain build and a sanitized one: the
# same tests, half the compile time (a full -O2 -g build of the Asio/Beast-heavy modules took
# ~9 of the 45 minutes on 2 cores). -O1 -g1 keeps sanitizer stack traces with file:line and
# compiles in half the time of -O2 -g. PGWARDEN_TEST_FULL=1 adds the plain -O2 -Werror build
# and suite back.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
exec </dev/null

log_dir=${PGWARDEN_TEST_LOG_DIR:-$root/build-logs}
mkdir -p "$log_dir"

if [[ ${PGWARDEN_SKIP_DEPS:-0} != 1 ]]; then
    if ! bash "$root/scripts/install-deps.sh"; then
        echo "test.sh: install-deps.sh failed" >&2
        echo "0 passed, 1 failed"
        exit 1
    fi
fi

node_dir=$root/tests/integration/clients/node
if command -v npm >/dev/null 2>&1; then
    # npm ci installs exactly the committed lock file; it needs the registry only the first time.
    if [[ -d $node_dir/node_modules/pg ]] ||
        (cd "$node_dir" && timeout 300 npm ci --no-audit --no-fund >"$log_dir/npm.log" 2>&1); then
        echo "test.sh: node pg driver ready"
    else
        echo "test.sh: WARNING: npm ci failed (see $log_dir/npm.log); the node client tests" \
            "will be SKIPPED"
    fi
else
    echo "test.sh: WARNING: npm not found; the node client tests will be SKIPPED"
fi

total_passed=0
total_failed=0
total_skipped=0
summaries=()

# count_ctest NAME LOG: adds ctest's summary line in LOG to the totals (a missing line is a
# failure: ctest crashed or never ran).
count_ctest() {
    local name=$1 out=$2 line
    line=$(grep -E '[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$out" | tail -n 1)
    if [[ -z $line ]]; then
        summaries+=("[$name] ctest printed no summary (see $out)")
        total_failed=$((total_failed + 1))
        return
    fi
    local failed total skipped
    failed=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
    total=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")
    skipped=$(grep -cE '\(Skipped\)$' "$out" || true)
    total_passed=$((total_passed + total - failed - skipped))
    total_failed=$((total_failed + failed))
    total_skipped=$((total_skipped + skipped))
    summaries+=("[$name] $line ($skipped skipped)")
}

# run_suite NAME BUILD_DIR CMAKE_FLAGS...: builds and runs ctest, adding to the totals.
run_suite() {
    local name=$1 dir=$2
    shift 2
    echo "=== [$name] build in $dir ($*)"
    if ! bash "$root/scripts/build.sh" "$dir" "$@" >"$log_dir/$name-build.log" 2>&1; then
        tail -n 60 "$log_dir/$name-build.log"
        echo "=== [$name] BUILD FAILED (full log: $log_dir/$name-build.log)"
        summaries+=("[$name] build failed")
        total_failed=$((total_failed + 1))
        return
    fi
    echo "=== [$name] ctest"
    local out=$log_dir/$name-ctest.log
    (cd "$dir" && ctest --output-on-failure --timeout 600 -j "${PGWARDEN_TEST_JOBS:-2}") \
        2>&1 | tee "$out"
    count_ctest "$name" "$out"
}

werror_flags=(-DPGWARDEN_WERROR=ON)
quick_flags=(-DCMAKE_BUILD_TYPE=Debug "-DCMAKE_CXX_FLAGS_DEBUG=-O1 -g1")
if [[ ${PGWARDEN_TEST_FULL:-0} == 1 ]]; then
    run_suite normal "$root/build" "${werror_flags[@]}" -DPGWARDEN_SANITIZE=OFF
fi
# The incident flood runs 30 s by default; under the sanitizers 10 s shows the same behaviour
# at a third of the wall time.
export PGWARDEN_FLOOD_SECONDS=${PGWARDEN_FLOOD_SECONDS:-10}
run_suite sanitize "$root/build-sanitize" "${werror_flags[@]}" "${quick_flags[@]}" \
    -DPGWARDEN_SANITIZE=ON -DPGWARDEN_BUILD_BENCH=OFF

# ThreadSanitizer for the multi-threaded proxy: only the pgwarden binary is built with TSan;
# the proxy (two loops, and OneLoop.* on one), governance, observability, admin and scheduler
# integration tests (from the sanitized build) drive it. halt_on_error makes the first
# race kill the proxy, which fails the test that provoked it.
echo "=== [tsan] build pgwarden with -fsanitize=thread in $root/build-tsan"
if bash "$root/scripts/build.sh" "$root/build-tsan" "${werror_flags[@]}" "${quick_flags[@]}" \
        -DPGWARDEN_TSAN=ON -DPGWARDEN_BUILD_TESTS=OFF -DPGWARDEN_BUILD_BENCH=OFF \
        >"$log_dir/tsan-build.log" 2>&1; then
    tsan_out=$log_dir/tsan-ctest.log
    (cd "$root/build-sanitize" && PGWARDEN_BINARY="$root/build-tsan/pgwarden" \
        TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
        ctest --output-on-failure --timeout 600 -j "${PGWARDEN_TEST_JOBS:-2}" \
            -R 'ProxyTest\.|GovernanceTest\.|ObserveTest\.|AdminTest\.|SchedulerTest\.') \
        2>&1 | tee "$tsan_out"
    count_ctest tsan "$tsan_out"
else
    tail -n 60 "$log_dir/tsan-build.log"
    summaries+=("[tsan] build failed")
    total_failed=$((total_failed + 1))
fi

echo
echo "=== summary"
for s in "${summaries[@]}"; do
    echo "$s"
done
echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
if [[ $total_failed -ne 0 ]]; then
    exit 1
fi
exit 0
