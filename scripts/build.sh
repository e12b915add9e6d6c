#!/usr/bin/env bash
# scripts/build.sh BUILD_DIR [cmake -D options...] - configures (first time, or when the
# options change) and builds TimeRush in BUILD_DIR. Incremental: a second run with
# nothing changed takes about a second. TR_JOBS sets the parallelism (default 2, the
# machine is shared). Warnings are errors (set in CMakeLists.txt).
set -euo pipefail

if (($# < 1)); then
    echo "usage: scripts/build.sh BUILD_DIR [-DNAME=VALUE...]" >&2
    exit 2
fi
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$1
shift

# Configure only when needed: cmake re-runs itself when CMakeLists.txt or a glob
# changes, so an existing cache with the same options is enough.
stamp="$build/.tr-cmake-args"
want="$*"
if [[ ! -f $build/CMakeCache.txt || ! -f $stamp || $(<"$stamp") != "$want" ]]; then
    cmake -S "$src" -B "$build" "$@" >"${TR_BUILD_LOG:-/dev/stdout}"
    printf '%s' "$want" >"$stamp"
fi
cmake --build "$build" -j "${TR_JOBS:-2}"
