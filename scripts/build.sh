#!/usr/bin/env bash
# Configures and builds pgwarden.
#   scripts/build.sh [BUILD_DIR] [extra cmake -D flags...]
# BUILD_DIR defaults to ./build. PGWARDEN_JOBS sets the parallelism (default: all cores).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${1:-$root/build}
if [[ $# -gt 0 ]]; then
    shift
fi
jobs=${PGWARDEN_JOBS:-$(nproc)}

cmake -S "$root" -B "$build_dir" -G Ninja "$@"
cmake --build "$build_dir" -j "$jobs"
