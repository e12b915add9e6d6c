#!/usr/bin/env bash
# Issue 11's benchmarks in one run (docs/BENCHMARKS.md, "2026-12-02: one Redis against
# a Redis Cluster"): bench/cluster_probe.sh with 100,000 timers a run, three rounds,
# five configurations interleaved in each: the embedded Redis with --shards 1 and 16,
# --cluster-local 1 and 3 with 16 shards, --cluster-local 3 with 64 shards.
#   bench/results/2026-12-02-cluster/run.sh [BUILD_DIR]
# from the checkout; BUILD_DIR (default build-rel) a Release build of it
# (scripts/build.sh build-rel -DCMAKE_BUILD_TYPE=Release). Output: output.txt and
# commandstats.txt beside it.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../../.." && pwd)
build=${1:-$src/build-rel}
"$src/bench/cluster_probe.sh" --build-dir "$build" -n 100000 --rounds 3 \
    --configs single,single16,cl1,cl3,cl3-64 2>&1 | tee "$here/output.txt"
# What the masters ran (INFO commandstats), one more round of four configurations
# (the probe's commandstats tables came after output.txt's run): commandstats.txt.
"$src/bench/cluster_probe.sh" --build-dir "$build" -n 100000 --rounds 1 \
    --configs single,single16,cl1,cl3 2>&1 | tee "$here/commandstats.txt"
