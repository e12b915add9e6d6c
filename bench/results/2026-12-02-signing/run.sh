#!/usr/bin/env bash
# Burst drain, interleaved, same minutes: the base (a Release build of an earlier
# commit, with its own burst_probe.sh), this build unsigned, this build signed (one
# whsec_ secret), ROUNDS times in that order.
#   bench/results/2026-12-02-signing/run.sh BASE_SRC BASE_BUILD BUILD OUT_DIR [ROUNDS]
set -u
base_src=$1 base_build=$2 build=$3 out=$4 rounds=${5:-3}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
mkdir -p "$out"
sec=$(mktemp -d) && chmod 700 "$sec"
printf 'whsec_%s\n' "$(head -c 32 /dev/urandom | base64 -w0)" >"$sec/secrets"
chmod 600 "$sec/secrets"
for round in $(seq "$rounds"); do
    "$base_src/bench/burst_probe.sh" --build-dir "$base_build" -n 50000 --reps 3 >"$out/base.$round.txt" 2>&1
    "$src/bench/burst_probe.sh" --build-dir "$build" -n 50000 --reps 3 >"$out/unsigned.$round.txt" 2>&1
    "$src/bench/burst_probe.sh" --build-dir "$build" -n 50000 --reps 3 \
        -- --signing-secret-file="$sec/secrets" >"$out/signed.$round.txt" 2>&1
done
rm -rf "$sec"
# Every repetition's callbacks/s and scheduler us/timer, and their medians.
for kind in base unsigned signed; do
    cat "$out/$kind".*.txt | awk -v k="$kind" '$1 ~ /^[0-9]+$/ { print $2, $3, $9, $10 }' >"$out/$kind.reps"
    python3 - "$kind" "$out/$kind.reps" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[2]) if l.strip()]
rate = [float(r[0]) for r in rows]; cpu = [float(r[1]) for r in rows]
lost = sum(int(r[2]) for r in rows); dups = sum(int(r[3]) for r in rows)
print("%-8s reps %2d  cb/s median %7.0f  (min %.0f, max %.0f)  sched us/timer median %.1f  lost %d dups %d"
      % (sys.argv[1], len(rows), statistics.median(rate), min(rate), max(rate), statistics.median(cpu), lost, dups))
PY
done | tee "$out/summary.txt"
