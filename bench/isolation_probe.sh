#!/usr/bin/env bash
# bench/isolation_probe.sh - a healthy receiver's lateness beside bad receivers.
#
#   bench/isolation_probe.sh [--build-dir DIR] [--source-dir DIR] [--reps R]
#                            [--hole N] [--drip N] [--refused N] [--healthy N]
#                            [--window-ms MS] [--limit N] [--limit-opt OPTION]
#
# Runs tests/faults/test_fault_receiver_isolation.sh (real stack, real sinks) with
# the issue's mix: N timers to a black hole (accepts, never answers), N to a
# dripping receiver (its answer one byte every 20 ms, about 1.6 s a delivery), N to
# a refusing one (default 0) and N to a healthy receiver, spread evenly over one
# window, with the scheduler's defaults (--timeout-ms 10000) but for --host-limit.
# First, in the same run, the baseline: the healthy timers alone. Prints each
# repetition's healthy p50/p99/max lateness at the receiver (arrival -
# X-TimeRush-Due-Ms) and the medians, baseline and mix.
# --source-dir/--build-dir run another checkout (e.g. an older commit: give it
# --limit-opt --max-per-host, the option's name before --host-limit).
set -euo pipefail
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SOURCE=$SRC BUILD="" REPS=3
HOLE=5000 DRIP=1000 REFUSED=0 HEALTHY=2000 WINDOW=10000 LIMIT=64 LIMIT_OPT=--host-limit
while [ $# -gt 0 ]; do
    case "$1" in
    --build-dir) BUILD=$2; shift ;;
    --source-dir) SOURCE=$2; shift ;;
    --reps) REPS=$2; shift ;;
    --hole) HOLE=$2; shift ;;
    --drip) DRIP=$2; shift ;;
    --refused) REFUSED=$2; shift ;;
    --healthy) HEALTHY=$2; shift ;;
    --window-ms) WINDOW=$2; shift ;;
    --limit) LIMIT=$2; shift ;;
    --limit-opt) LIMIT_OPT=$2; shift ;;
    -h | --help) sed -n '2,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "isolation_probe: unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done
SOURCE=$(cd "$SOURCE" && pwd)
BUILD=${BUILD:-$SOURCE/build}
[ -x "$BUILD/scheduler/timerush-scheduler" ] || { echo "no scheduler in $BUILD: build first" >&2; exit 1; }
TEST=$SRC/tests/faults/test_fault_receiver_isolation.sh
out=$(mktemp -d /tmp/isolation_probe.XXXXXX)
trap 'rm -rf "$out"' EXIT

# run LABEL HOLE DRIP REFUSED: one repetition; prints "p50 p99 max" of the healthy receiver.
run() {
    local log="$out/$1.log"
    if ! TR_SOURCE_DIR=$SOURCE TR_BUILD_DIR=$BUILD ISO_HOLE=$2 ISO_SLOW=$3 ISO_REFUSED=$4 \
        ISO_HEALTHY=$HEALTHY ISO_WINDOW_MS=$WINDOW ISO_LIMIT=$LIMIT ISO_LIMIT_OPT=$LIMIT_OPT \
        ISO_TIMEOUT_MS=10000 ISO_SLOW_SPEC=drip:20 ISO_HEALTHY_WAIT_S=120 bash "$TEST" >"$log" 2>&1; then
        echo "isolation_probe: $1: some checks failed (figures still reported):" >&2
        grep '^not ok' "$log" | head -5 >&2 || true
    fi
    sed -n 's/^# healthy receiver lateness.*p50 \(-\{0,1\}[0-9]*\) ms, p99 \(-\{0,1\}[0-9]*\) ms, max \(-\{0,1\}[0-9]*\) ms.*/\1 \2 \3/p' "$log"
    grep '^# black hole\|^# failures\|^# lost\|^# all ' "$log" | sed "s/^# /    $1: /" >&2 || true
}

median() { sort -n | awk '{v[NR]=$1} END {print (NR ? v[int((NR + 1) / 2)] : "nan")}'; }

echo "isolation_probe: $(nproc) cores, $(uname -r); build $BUILD ($(git -C "$SOURCE" rev-parse --short HEAD 2>/dev/null || echo '?'))"
echo "mix: $HOLE black hole, $DRIP drip, $REFUSED refused, $HEALTHY healthy over $WINDOW ms; $LIMIT_OPT $LIMIT"
for kind in baseline mix; do
    : >"$out/$kind.fig"
    for ((r = 1; r <= REPS; r++)); do
        if [ "$kind" = baseline ]; then fig=$(run "$kind.$r" 0 0 0); else fig=$(run "$kind.$r" "$HOLE" "$DRIP" "$REFUSED"); fi
        echo "$kind rep $r: healthy p50/p99/max ms: ${fig:-none}"
        [ -n "$fig" ] && echo "$fig" >>"$out/$kind.fig"
    done
    printf '%s median: p50 %s ms, p99 %s ms, max %s ms\n' "$kind" \
        "$(cut -d' ' -f1 "$out/$kind.fig" | median)" "$(cut -d' ' -f2 "$out/$kind.fig" | median)" \
        "$(cut -d' ' -f3 "$out/$kind.fig" | median)"
done
