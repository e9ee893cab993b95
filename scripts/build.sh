#!/usr/bin/env bash
# Configures and builds pgwarden.
#   scripts/build.sh [BUILD_DIR] [extra cmake -D flags...]
# BUILD_DIR defaults to ./build. PGWARDEN_JOBS sets the parallelism (default: all cores).
# With ccache installed, compiles go through it: a rebuild after a checkout of the same tree
# elsewhere (CI's fresh clone on a machine that built it before) reuses the objects, because
# paths under the source tree are hashed relative to it.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build_dir=${1:-$root/build}
if [[ $# -gt 0 ]]; then
    shift
fi
jobs=${PGWARDEN_JOBS:-$(nproc)}

launcher=()
if command -v ccache >/dev/null 2>&1 && [[ ${PGWARDEN_CCACHE:-1} == 1 ]]; then
    export CCACHE_BASEDIR=$root CCACHE_NOHASHDIR=true
    export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi

cmake -S "$root" -B "$build_dir" -G Ninja "${launcher[@]}" "$@"
cmake --build "$build_dir" -j "$jobs"
