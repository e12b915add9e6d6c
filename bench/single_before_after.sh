#!/usr/bin/env bash
# bench/single_before_after.sh - issue 11's "single-Redis figures must not get worse by
# more than 5% (same run, before/after)": two trees of TimeRush (each a worktree with a
# build of its own), one Redis with the default --shards 1, measured in interleaved
# rounds by this checkout's probes.
#
#   bench/single_before_after.sh --base TREE:BUILD [--head TREE:BUILD] [--rounds R]
#                                [-n N] [--secs S] [--out DIR]
#
# TREE is a checkout (its ./timerush starts the stack), BUILD its build (Release for
# figures: scripts/build.sh BUILD -DCMAKE_BUILD_TYPE=Release); --head defaults to this
# checkout and its build-rel. Each round runs base then head (odd rounds) or head then
# base (even rounds), so a drift in the machine's load hits both alike, and for each:
#   bench/create_probe.sh --tree TREE --only static,register,batch --reps 1 --secs S:
#       wrk -t2 -c64 on nginx `return 200` (the machine's pace in that minute),
#       POST /register/ and POST /v1/timers/batch (1,000 timers a request), CPU by part;
#   bench/cluster_probe.sh --tree TREE --configs single --rounds 1 -n N: N timers
#       created with /v1/timers/batch while paused, then the burst drain to a sink
#       (callbacks/s, Redis CPU per created and per delivered timer, lost, duplicates).
# The load average is noted before each. Raw output and JSON lines in DIR (default a
# new temp dir), then bench/before_after_report.py DIR prints medians, spreads and
# head/base ratios (medians of the per-round ratios). Default -n 100000, --secs 6,
# --rounds 6. Every process the probes start is stopped by them, by PID.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASE=""
HEAD="$SRC:$SRC/build-rel"
ROUNDS=6
N=100000
SECS=6
OUT=""

die() { echo "single_before_after: $*" >&2; exit 1; }
say() { echo "single_before_after: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --base) BASE=$2; shift ;;
        --head) HEAD=$2; shift ;;
        --rounds) ROUNDS=$2; shift ;;
        -n) N=$2; shift ;;
        --secs) SECS=$2; shift ;;
        --out) OUT=$2; shift ;;
        -h|--help) sed -n '2,25p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) die "unknown option: $1 (see --help)" ;;
    esac
    shift
done
[ -n "$BASE" ] || die "--base TREE:BUILD is required"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds must be 1 or more"
for t in "$BASE" "$HEAD"; do
    [[ $t == *:* ]] || die "$t: TREE:BUILD expected"
    [ -x "${t%%:*}/timerush" ] || die "${t%%:*}: no ./timerush there"
    [ -x "${t#*:}/fcgi/timerush-fcgi" ] || die "${t#*:}: not a build (no fcgi/timerush-fcgi)"
done
[ -n "$OUT" ] || OUT=$(mktemp -d "${TMPDIR:-/tmp}/tr-before-after.XXXXXX")
mkdir -p "$OUT"
say "output in $OUT"

# describe TREE: its commit (and whether its checkout differs from it).
describe() { git -C "$1" describe --always --dirty 2>/dev/null || echo '?'; }
{
    echo "# single_before_after $(date -u +%FT%TZ), $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(redis-server --version | awk '{print $1, $2, $3}')"
    echo "# base ${BASE%%:*} ($(describe "${BASE%%:*}")), build ${BASE#*:}"
    echo "# head ${HEAD%%:*} ($(describe "${HEAD%%:*}")), build ${HEAD#*:}"
    echo "# rounds $ROUNDS, -n $N (drain), wrk ${SECS}s a scenario"
} | tee "$OUT/header.txt"

# one NAME TREE:BUILD ROUND: both probes on one tree; raw output NAME.ROUND.*.
one() {
    local name=$1 tree=${2%%:*} build=${2#*:} r=$3
    echo "$name $r create $(date -u +%T) $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/load.txt"
    "$SRC/bench/create_probe.sh" --tree "$tree" --build-dir "$build" --only static,register,batch \
        --reps 1 --secs "$SECS" --json "$OUT/$name.$r.create.jsonl" \
        >"$OUT/$name.$r.create.md" 2>"$OUT/$name.$r.create.err" ||
        { tail -5 "$OUT/$name.$r.create.err" >&2; return 1; }
    echo "$name $r drain $(date -u +%T) $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/load.txt"
    "$SRC/bench/cluster_probe.sh" --tree "$tree" --build-dir "$build" --configs single --rounds 1 \
        -n "$N" --results "$OUT/$name.$r.drain.jsonl" \
        >"$OUT/$name.$r.drain.txt" 2>"$OUT/$name.$r.drain.err" ||
        { tail -5 "$OUT/$name.$r.drain.err" >&2; return 1; }
    say "round $r $name: $(grep -h '^| register \|^| batch ' "$OUT/$name.$r.create.md" | cut -d'|' -f2,4 | paste -sd' ')," \
        "drain: $(grep '^single ' "$OUT/$name.$r.drain.txt")"
}
for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then order=("base:$BASE" "head:$HEAD"); else order=("head:$HEAD" "base:$BASE"); fi
    for o in "${order[@]}"; do
        one "${o%%:*}" "${o#*:}" "$r" || die "round $r ${o%%:*} failed (raw output in $OUT)"
    done
done
python3 "$SRC/bench/before_after_report.py" "$OUT"
