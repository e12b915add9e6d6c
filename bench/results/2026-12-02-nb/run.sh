#!/usr/bin/env bash
# Issue 11's non-blocking claim/finish on a cluster, before/after in one run
# (docs/BENCHMARKS.md, "2026-12-02: the cluster's claim and finish without blocking"):
# bench/cluster_probe.sh with 100,000 timers a run, ROUNDS rounds (default 3),
# configurations interleaved in each: the embedded Redis with --shards 16, and
# --cluster-local 1 and 3 with 16 shards on the base tree's programs (base-) and on
# this tree's.
#   bench/results/2026-12-02-nb/run.sh BASE_BUILD [BUILD_DIR] [OUTPUT] [CONFIGS] [ROUNDS]
# from the checkout; BASE_BUILD a Release build of the tree before the change (here
# main at 3ec51c8, a clean `git worktree add`, then scripts/build.sh DIR/build-rel
# -DCMAKE_BUILD_TYPE=Release there), BUILD_DIR (default build-rel) a Release build of
# this tree. Output: OUTPUT (default output.txt) beside it, and each run's JSON line in
# OUTPUT.jsonl.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../../.." && pwd)
base=${1:?usage: run.sh BASE_BUILD [BUILD_DIR] [OUTPUT] [CONFIGS] [ROUNDS]}
build=${2:-$src/build-rel}
out=${3:-output.txt}
"$src/bench/cluster_probe.sh" --build-dir "$build" --base-build "$base" -n 100000 \
    --rounds "${5:-3}" --configs "${4:-single16,base-cl1,cl1,base-cl3,cl3}" \
    --results "$here/$out.jsonl" 2>&1 | tee "$here/$out"
