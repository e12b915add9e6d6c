#!/usr/bin/env bash
# scripts/build.sh BUILD_DIR [--asan] [cmake -D options...] - configures (first time, or
# when the options change) and builds TimeRush in BUILD_DIR. --asan is the sanitizer
# build of ./run-tests: clang, ASan + UBSan, asserts on, the fuzz targets
# (-DCMAKE_BUILD_TYPE=RelWithDebInfo -DTR_SANITIZE=ON -DCMAKE_C_COMPILER=clang).
# Incremental: a second run with nothing changed takes about a second. TR_JOBS sets the parallelism (default 2, the
# machine is shared). Warnings are errors (set in CMakeLists.txt). The compiler is
# cmake's choice (cc, i.e. gcc on Debian) unless -DCMAKE_C_COMPILER=clang says otherwise.
set -euo pipefail

if (($# < 1)); then
    echo "usage: scripts/build.sh BUILD_DIR [--asan] [-DNAME=VALUE...]" >&2
    exit 2
fi
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$1
shift
if [[ ${1:-} == --asan ]]; then
    shift
    set -- -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTR_SANITIZE=ON -DCMAKE_C_COMPILER=clang "$@"
fi

# Configure only when needed: cmake re-runs itself when CMakeLists.txt or a glob
# changes, so an existing cache with the same options is enough.
stamp="$build/.tr-cmake-args"
want="$*"
# The compiler of an existing cache cannot be switched: a different
# -DCMAKE_C_COMPILER= than last time starts the build directory afresh.
compiler_arg() { grep -oE -- '-DCMAKE_C_COMPILER=[^ ]*' <<<"$1" || true; }
if [[ ! -f $build/CMakeCache.txt || ! -f $stamp || $(<"$stamp") != "$want" ]]; then
    old=""
    [[ -f $stamp ]] && old=$(<"$stamp")
    if [[ -f $build/CMakeCache.txt && $(compiler_arg "$old") != "$(compiler_arg "$want")" ]]; then
        rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles"
    fi
    # TR_BUILD_LOG: where cmake's configure output goes. /dev/stderr and /dev/stdout
    # are redirections, not files to open: opening them truncates a log file that
    # the caller's stderr/stdout points to (./timerush >log 2>&1).
    case ${TR_BUILD_LOG:-/dev/stdout} in
    /dev/stdout) cmake -S "$src" -B "$build" "$@" ;;
    /dev/stderr) cmake -S "$src" -B "$build" "$@" >&2 ;;
    *) cmake -S "$src" -B "$build" "$@" >"$TR_BUILD_LOG" ;;
    esac
    printf '%s' "$want" >"$stamp"
fi
cmake --build "$build" -j "${TR_JOBS:-2}"
