#!/usr/bin/env bash
# The notifier interface's cost on HTTP (before/after, interleaved) and the TCP
# notifier beside HTTP: bench/burst_probe.sh -n 100000, two rounds of
# before-HTTP, after-HTTP, after-TCP, each --reps 2. BEFORE: a Release build of the
# branch's base (0afbb08, a worktree); AFTER: this branch's Release build.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/../../.." && pwd)
BEFORE=${BEFORE:-/work/wt-notify-before/build-rel}
AFTER=${AFTER:-$src/build-rel}
N=${N:-100000}
for round in 1 2; do
    for cfg in before-http after-http after-tcp; do
        case $cfg in
            before-http) b=$BEFORE; extra=() ;;
            after-http) b=$AFTER; extra=() ;;
            after-tcp) b=$AFTER; extra=(--tcp) ;;
        esac
        echo "=== round $round $cfg load $(cut -d' ' -f1-3 /proc/loadavg) $(date -u +%H:%M:%S)"
        "$src/bench/burst_probe.sh" --build-dir "$b" -n "$N" --reps 2 "${extra[@]}" 2>&1
    done
done
