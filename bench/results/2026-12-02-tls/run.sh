#!/usr/bin/env bash
# The burst drain of 100,000 timers over HTTP, TCP and TLS, one after the other in one
# run, from the worktree with build/ built (scripts/build.sh build: RelWithDebInfo).
# Output: bench/results/2026-12-02-tls/output.txt
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
for mode in http tcp tls; do
    flag=()
    [ "$mode" = tcp ] && flag=(--tcp)
    [ "$mode" = tls ] && flag=(--tls)
    echo "== $mode: $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
    bench/burst_probe.sh --build-dir build -n 100000 --reps 3 "${flag[@]}" 2>&1
    echo "== $mode done: $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
done
