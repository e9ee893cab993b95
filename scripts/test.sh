#!/usr/bin/env bash
# The full test run, as CI does it (works with CI=true and no stdin):
#   1. install dependencies (skip with PGWARDEN_SKIP_DEPS=1),
#   2. install the node `pg` driver for the node client test (skipped visibly if npm fails),
#   3. build with -Werror into build/ and run ctest,
#   4. build with ASan+UBSan into build-sanitize/ and run ctest there,
#   5. print both ctest summaries and one overall "N passed, N failed" line.
# Exits nonzero if any build or test failed.
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
    local line
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
    local passed=$((total - failed - skipped))
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
    total_skipped=$((total_skipped + skipped))
    summaries+=("[$name] $line ($skipped skipped)")
}

werror_flags=(-DPGWARDEN_WERROR=ON)
run_suite normal "$root/build" "${werror_flags[@]}" -DPGWARDEN_SANITIZE=OFF
run_suite sanitize "$root/build-sanitize" "${werror_flags[@]}" -DPGWARDEN_SANITIZE=ON

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
