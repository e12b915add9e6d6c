#!/usr/bin/env bash
# Burst drain unsigned against signed (one whsec_ secret), same Release build, same
# minutes, interleaved: unsigned, signed, unsigned, signed, ... ROUNDS times.
#   bench/results/2026-12-02-signing/run.sh BUILD_DIR OUT_DIR [ROUNDS]
set -u
build=$1 out=$2 rounds=${3:-4}
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
mkdir -p "$out"
sec=$(mktemp -d) && chmod 700 "$sec"
printf 'whsec_%s\n' "$(head -c 32 /dev/urandom | base64 -w0)" >"$sec/secrets"
chmod 600 "$sec/secrets"
for round in $(seq "$rounds"); do
    "$src/bench/burst_probe.sh" --build-dir "$build" -n 50000 --reps 3 >"$out/unsigned.$round.txt" 2>&1
    "$src/bench/burst_probe.sh" --build-dir "$build" -n 50000 --reps 3 \
        -- --signing-secret-file="$sec/secrets" >"$out/signed.$round.txt" 2>&1
done
rm -rf "$sec"
# Every repetition's rate and scheduler us/timer, then the medians over all of them.
for kind in unsigned signed; do
    cat "$out/$kind".*.txt | awk -v k="$kind" '$1 ~ /^[0-9]+$/ { print k, $2, $3 }'
done | sort -k1,1 -k2,2n | awk '
    { r[$1] = r[$1] " " $2; s[$1] = s[$1] " " $3; n[$1]++ }
    END { for (k in n) print k, n[k], "reps; cb/s:" r[k], "| sched_us:" s[k] }'
