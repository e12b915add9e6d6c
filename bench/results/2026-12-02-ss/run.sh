#!/usr/bin/env bash
# The 2026-12-02 sharded pub/sub measurement (docs/BENCHMARKS.md): main's build
# (BASE, the scripts PUBLISH, the wake line SUBSCRIBEs on one node) against this
# tree's (SPUBLISH, one SSUBSCRIBE connection per master), interleaved, on
# --cluster-local 3 with 16 shards. Usage: run.sh BASE_BUILD BUILD OUT_DIR
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../../.." && pwd)
base=$1 build=$2 out=$3
mkdir -p "$out"
cd "$src"
bench/cluster_probe.sh --build-dir "$build" --base-build "$base" -n 100000 --rounds 4 \
    --configs base-cl3,cl3 --shards 16 --keep --results "$out/runs.jsonl" \
    >"$out/output.txt" 2>"$out/stderr.txt"
