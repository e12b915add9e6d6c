#!/usr/bin/env bash
# Issue 13's benchmark in one run: the burst drain of 100,000 timers due at one instant
# through each notifier (HTTP, TCP, TLS, Redis stream) and, for HTTP, the tree before
# this change set (BASE_BUILD: b3fb0f5, the notifier interface with HTTP and TCP only).
# Three rounds, the five configurations interleaved in each, one repetition each.
#   BASE_BUILD=/work/wt-base/build-rel bench/results/2026-12-02-notifiers/run.sh
# from the checkout, with build-p2 a Release build of this tree
# (scripts/build.sh build-p2 -DCMAKE_BUILD_TYPE=Release). Output: output.txt beside it.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
base=${BASE_BUILD:?set BASE_BUILD to the Release build dir of the tree before}
out=bench/results/2026-12-02-notifiers/output.txt
: >"$out"
for round in 1 2 3; do
    for cfg in base-http http tcp tls stream; do
        build=build-p2 flag=()
        case $cfg in
        base-http) build=$base ;;
        tcp) flag=(--tcp) ;;
        tls) flag=(--tls) ;;
        stream) flag=(--stream) ;;
        esac
        echo "== round $round $cfg: $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
        bench/burst_probe.sh --build-dir "$build" -n 100000 --reps 1 "${flag[@]}" 2>&1 | tee -a "$out"
    done
done
