#!/usr/bin/env bash
# HTTP alone, the tree before (BASE_BUILD) and this one (build-p2) alternating, ROUNDS
# rounds (default 4) of one repetition each: more pairs for the before/after ratio.
#   BASE_BUILD=/work/wt-base/build-rel bench/results/2026-12-02-notifiers/http_pairs.sh
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
base=${BASE_BUILD:?set BASE_BUILD to the Release build dir of the tree before}
out=bench/results/2026-12-02-notifiers/http_pairs.txt
: >"$out"
for ((round = 1; round <= ${ROUNDS:-4}; round++)); do
    for build in "$base" build-p2; do
        echo "== round $round $build: $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
        bench/burst_probe.sh --build-dir "$build" -n 100000 --reps 1 2>&1 | tee -a "$out"
    done
done
