#!/usr/bin/env bash
# The runs of docs/BENCHMARKS.md, "2026-12-02: issue 11's unmeasured benchmarks"
# (single-Redis before/after, --wait-replicas 1, two schedulers on a cluster).
#   bench/results/2026-12-02-clbench2/run.sh BASE_TREE [BASE_BUILD] [HEAD_BUILD]
# from the checkout of the tree to measure. BASE_TREE: a worktree of the commit before
# the cluster work (b3fb0f5: git worktree add --detach DIR b3fb0f5), BASE_BUILD its
# Release build (default BASE_TREE/build-rel), HEAD_BUILD this checkout's (default
# build-rel): scripts/build.sh DIR -DCMAKE_BUILD_TYPE=Release in each.
# Output beside this file: before-after/ (raw files and report.md), cluster.txt.
# The /register/ re-run over four trees (bisect/) is bisect.sh beside this file.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../../.." && pwd)
base=$(cd "$1" && pwd)
base_build=${2:-$base/build-rel}
head_build=${3:-$src/build-rel}
# 1. One Redis, --shards 1: the tree before the cluster work against this one, 6 rounds.
"$src/bench/single_before_after.sh" --base "$base:$base_build" --head "$src:$head_build" \
    --rounds 6 --out "$here/before-after" | tee "$here/before-after/report.md"
# 2, 3. --cluster-local 3 (16 shards): alone, with --wait-replicas 1, with 2 schedulers.
"$src/bench/cluster_probe.sh" --build-dir "$head_build" -n 50000 --rounds 5 \
    --configs cl3,cl3+w1,cl3+s2 2>&1 | tee "$here/cluster.txt"
