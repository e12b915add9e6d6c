#!/usr/bin/env bash
# Burst drain into a Redis stream beside HTTP, in one run, interleaved (http, stream;
# three times): bench/burst_probe.sh -n 100000 --reps 1 each, build dir $1 (default build).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../../.." && pwd)
build=${1:-$src/build}
for i in 1 2 3; do
    for mode in http stream; do
        flag=(); [ "$mode" = stream ] && flag=(--stream)
        echo "## $mode pair $i $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
        "$src/bench/burst_probe.sh" --build-dir "$build" -n 100000 --reps 1 "${flag[@]}" 2>&1 |
            grep -E '^(probe: N=|rep|1 |med)'
    done
done
