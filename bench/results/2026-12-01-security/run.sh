#!/usr/bin/env bash
# Burst drain before/after issue 12, interleaved, same machine, same minutes.
set -u
out=/tmp/benchsec/out; mkdir -p "$out"
for round in 1 2; do
  /work/wt-before/bench/burst_probe.sh --build-dir /work/wt-before/build-rel -n 50000 --reps 3 > "$out/base.$round.txt" 2>&1
  /work/main/bench/burst_probe.sh --build-dir /work/main/build-p2 -n 50000 --reps 3 > "$out/after.$round.txt" 2>&1
  /work/main/bench/burst_probe.sh --build-dir /work/main/build-p2 -n 50000 --reps 3 -- --signing-secret-file=/tmp/benchsec/secrets > "$out/signed.$round.txt" 2>&1
done
echo done > "$out/DONE"
