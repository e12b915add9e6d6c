#!/usr/bin/env bash
# bench/launcher_idle.sh - what the launcher itself costs while the stack idles.
#
#   bench/launcher_idle.sh [--launcher PATH] [--build-dir DIR] [--secs S] [--settle S]
#                          [-- extra ./timerush options, e.g. --workers 2]
#
# Starts the stack with PATH (default: this checkout's ./timerush; give a copy of an
# older checkout's to measure it) --no-build --no-install in a fresh run dir on a
# free port, waits for its ready line and --settle seconds (2), then reads the
# launcher's /proc/PID/stat twice, --secs seconds (30) apart, with nothing sent to
# the stack. Prints one line: the launcher's own CPU (utime + stime), the CPU of the
# processes it forked and reaped (cutime + cstime), and the number of forks by the
# launcher and its subshells in the window (perf's sched:sched_process_fork
# tracepoint, counting only: no ptrace; "n/a" without perf), and the CPU of the
# FastCGI worker pool (scripts/fcgi-pool.sh, pids/fcgi-pool.pid; "n/a" for a launcher
# without one), which is supervision too. The stack is stopped
# with `PATH stop` and, failing that, by the pids in its pid files.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAUNCHER=$SRC/timerush
BUILD=$SRC/build
SECS=30
SETTLE=2
STACK_EXTRA=()

die() { echo "launcher_idle: $*" >&2; exit 1; }
say() { echo "launcher_idle: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
    --launcher) LAUNCHER=$(cd "$(dirname "$2")" && pwd)/$(basename "$2"); shift 2 ;;
    --build-dir) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --secs) SECS=$2; shift 2 ;;
    --settle) SETTLE=$2; shift 2 ;;
    --) shift; STACK_EXTRA=("$@"); break ;;
    *) die "unknown option '$1' (see the head of $0)" ;;
    esac
done
[[ $SECS =~ ^[0-9]+$ && $SECS -gt 0 ]] || die "--secs takes a whole number of seconds > 0"
[[ $SETTLE =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--settle takes a number of seconds"
[ -x "$LAUNCHER" ] || die "$LAUNCHER is not executable"
source "$SRC/bench/lib.sh"

WORK=$(mktemp -d /tmp/tr-launcher-idle.XXXXXX)
RUN=$WORK/run
LPID=""
cleanup() {
    local f p
    if [[ -n $LPID ]] && kill -0 "$LPID" 2>/dev/null; then
        "$LAUNCHER" stop --run-dir "$RUN" >/dev/null 2>&1 || true
    fi
    for f in "$RUN"/pids/*.pid; do
        [ -e "$f" ] || continue
        for p in $(grep -E '^[0-9]+$' "$f"); do kill -TERM "$p" 2>/dev/null || true; done
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

port=$(free_port)
"$LAUNCHER" --no-build --no-install --build-dir "$BUILD" --run-dir "$RUN" \
    --listen-port "$port" "${STACK_EXTRA[@]}" >"$WORK/launcher.out" 2>"$WORK/launcher.err" </dev/null &
LPID=$!
ready() { grep -q '^TimeRush ready:' "$WORK/launcher.out"; }
wait_for "the stack's ready line" 60 ready || { tail -n 5 "$WORK/launcher.err" >&2; exit 1; }
sleep "$SETTLE"

# ticks PID: utime stime cutime cstime (fields 14-17 of /proc/PID/stat).
ticks() {
    local s
    read -r s <"/proc/$1/stat" || return 1
    s=${s##*) }
    # after ")": state is field 3, so utime (14) is the 12th word here
    set -- $s
    echo "${12} ${13} ${14} ${15}"
}
hz=$(getconf CLK_TCK)
read -r u0 s0 cu0 cs0 < <(ticks "$LPID")
POOL=$(cat "$RUN/pids/fcgi-pool.pid" 2>/dev/null || true)
pool0=""
[[ -n $POOL ]] && read -r pu0 ps0 _ _ < <(ticks "$POOL") && pool0=$((pu0 + ps0))
t0=${EPOCHREALTIME/./}
forks=n/a
if command -v perf >/dev/null 2>&1 &&
    perf stat -x, -o "$WORK/perf.csv" -e sched:sched_process_fork -p "$LPID" -- sleep "$SECS" 2>/dev/null; then
    forks=$(awk -F, '/sched_process_fork/ { print $1 }' "$WORK/perf.csv")
    [[ $forks =~ ^[0-9]+$ ]] || forks=n/a
else
    sleep "$SECS"
fi
read -r u1 s1 cu1 cs1 < <(ticks "$LPID")
pool=n/a
if [[ -n $pool0 ]] && read -r pu1 ps1 _ _ < <(ticks "$POOL"); then
    pool=$(awk -v t=$((pu1 + ps1 - pool0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f CPU s", t / hz }')
fi
t1=${EPOCHREALTIME/./}
kill -0 "$LPID" 2>/dev/null || die "the launcher exited during the window: $(tail -n 3 "$WORK/launcher.err")"

awk -v hz="$hz" -v us=$((t1 - t0)) -v own=$((u1 + s1 - u0 - s0)) -v kids=$((cu1 + cs1 - cu0 - cs0)) \
    -v forks="$forks" -v secs="$SECS" -v pool="$pool" 'BEGIN {
    wall = us / 1e6
    printf "launcher idle %.1f s: own %.2f CPU s, forked children %.2f CPU s, total %.2f CPU s (%.2f%% of a core), forks %s; fcgi pool %s\n",
        wall, own / hz, kids / hz, (own + kids) / hz, 100 * (own + kids) / hz / wall, forks, pool
}'
