#!/usr/bin/env bash
# unit_test_store_cluster's claim figure (200 claims over 16 shards on 3 masters, nothing due),
# the base tree's Release build and this one's, interleaved, 3 rounds, each on a fresh
# cluster (tests/cluster/with_cluster.sh). Output: claim_latency.txt.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here/../../.."
base=${1:?usage: claim_latency.sh BASE_BUILD [BUILD_DIR]}
build=${2:-build-rel}
for round in 1 2 3; do
  for t in base new; do
    if [ "$t" = base ]; then bin=$base/tests/test_store_cluster; else bin=$build/tests/test_store_cluster; fi
    line=$(bash tests/cluster/with_cluster.sh "$bin" 2>&1 | grep "claim over")
    echo "round $round $t load $(cut -d' ' -f1 /proc/loadavg): $line"
  done
done | tee "$here/claim_latency.txt"
