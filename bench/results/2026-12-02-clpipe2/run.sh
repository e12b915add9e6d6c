#!/usr/bin/env bash
# Issue 11's claim queued behind the finish on a cluster, before/after in one run
# (docs/BENCHMARKS.md, "2026-12-02: the cluster's claim queued behind the finish"):
# bench/cluster_probe.sh with 100,000 timers a run, three rounds, configurations
# interleaved in each (default: the embedded Redis with --shards 16, --cluster-local 1
# with 16 shards on the base tree's programs (base-) and on this tree's; the earlier
# runs named in BENCHMARKS.md added base-cl3,cl3).
#   bench/results/2026-12-02-clpipe2/run.sh BASE_BUILD [BUILD_DIR] [OUTPUT] [CONFIGS]
# from the checkout; BASE_BUILD a Release build of the tree before the change (here
# main at 0e6b0f2: git archive 0e6b0f2 | tar -x -C DIR, then scripts/build.sh
# DIR/build-rel -DCMAKE_BUILD_TYPE=Release there), BUILD_DIR (default build-rel) a
# Release build of this tree. Output: OUTPUT (default output.txt) beside it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../../.." && pwd)
base=${1:?usage: run.sh BASE_BUILD [BUILD_DIR] [OUTPUT] [CONFIGS]}
build=${2:-$src/build-rel}
"$src/bench/cluster_probe.sh" --build-dir "$build" --base-build "$base" -n 100000 --rounds 3 \
    --configs "${4:-single16,base-cl1,cl1}" 2>&1 | tee "$here/${3:-output.txt}"
