#!/usr/bin/env bash
# The burst drain before and after this session's scheduler changes (the external
# stream notifier, the cluster store's blocking path beside the pipelined one, the
# half-paused claim fix, TLS error texts), one run: 100,000 timers due at one instant
# over HTTP, three rounds, before and after interleaved, each tree with its own probe.
#   git worktree add /work/wt-base cde97b1 && (cd /work/wt-base &&
#     cmake -S . -B build-rel -DCMAKE_BUILD_TYPE=Release && cmake --build build-rel -j2)
#   BASE=/work/wt-base bench/results/2026-12-02-session-drain/run.sh
# from the checkout, build-p2 a Release build of this tree. Output: output.txt beside it.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
base=${BASE:?set BASE to the checkout of the tree before, built in build-rel}
out=bench/results/2026-12-02-session-drain/output.txt
: >"$out"
for round in 1 2 3; do
    echo "== round $round before: $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
    (cd "$base" && bench/burst_probe.sh --build-dir build-rel -n 100000 --reps 1) 2>&1 | tee -a "$out"
    echo "== round $round after: $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
    bench/burst_probe.sh --build-dir build-p2 -n 100000 --reps 1 2>&1 | tee -a "$out"
done
