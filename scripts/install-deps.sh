#!/usr/bin/env bash
# Installs what pgwarden needs on a fresh Debian 12, as root: `demo` for building the binary
# and running `pgwarden demo`, `all` (the default) for the whole test suite as well.
# Idempotent: packages already present are left alone, so a second run is fast.
# The distribution's PostgreSQL cluster is never used (tests start throwaway servers on
# free loopback ports), so this script keeps it from being started and stops it if running.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

if [[ $(id -u) -ne 0 ]]; then
    echo "install-deps.sh: must run as root (apt-get install)" >&2
    exit 1
fi

# What `pgwarden demo` needs: the compiler, the libraries the binary links, and PostgreSQL
# with pgbench for the throwaway server it starts.
demo_packages=(
    g++ cmake ninja-build pkg-config ca-certificates ccache
    libboost1.81-dev libssl-dev libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev
    nlohmann-json3-dev libpq-dev
    postgresql-15 postgresql-contrib postgresql-client-15
    # runuser (run initdb/pg_ctl as the postgres user when root), ps/kill, ss
    util-linux procps iproute2
)
# Everything else the test suite uses.
test_packages=(
    git
    # clang for the libFuzzer targets under tests/fuzz; clang-format for the style test
    clang-14 clang-format-14
    libgtest-dev libgmock-dev
    # PgBouncer for comparisons; valgrind for the instruction-count benchmark
    pgbouncer valgrind
    # real client drivers for the end-to-end tests
    python3 python3-psycopg python3-psycopg2
    golang-go golang-github-lib-pq-dev golang-github-jackc-pgx-v4-dev
    libpostgresql-jdbc-java default-jdk-headless
    # headless browser for the dashboard test (tests/integration/dashboard_test.cpp)
    chromium
)

case ${1:-all} in
demo) packages=("${demo_packages[@]}") ;;
all) packages=("${demo_packages[@]}" "${test_packages[@]}") ;;
*)
    echo "usage: install-deps.sh [demo|all]   (default: all)" >&2
    exit 2
    ;;
esac

missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done
# Node: any nodejs that brings npm will do (a NodeSource nodejs bundles npm and conflicts with
# Debian's npm package), so Debian's pair is only installed when npm is absent.
if [[ ${1:-all} == all ]] && ! command -v npm >/dev/null 2>&1; then
    missing+=(nodejs npm)
fi

if [[ ${#missing[@]} -gt 0 ]]; then
    echo "install-deps.sh: installing ${missing[*]}"
    # Keep package scripts from starting services (the postgresql cluster) during install.
    policy_created=0
    if [[ ! -e /usr/sbin/policy-rc.d ]]; then
        printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        policy_created=1
    fi
    trap '[[ $policy_created -eq 1 ]] && rm -f /usr/sbin/policy-rc.d' EXIT
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
else
    echo "install-deps.sh: all packages already installed"
fi

# The system cluster is irrelevant to pgwarden; stop it if something started it anyway.
if command -v pg_lsclusters >/dev/null 2>&1; then
    if pg_lsclusters --no-header 2>/dev/null | awk '{print $4}' | grep -q online; then
        pg_ctlcluster 15 main stop >/dev/null 2>&1 || true
    fi
fi

# The embedded server runs initdb as the postgres user when we are root.
if ! id postgres >/dev/null 2>&1; then
    echo "install-deps.sh: the postgres OS user is missing after installing postgresql-15" >&2
    exit 1
fi
echo "install-deps.sh: done"
