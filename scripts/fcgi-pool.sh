#!/usr/bin/env bash
# scripts/fcgi-pool.sh - keeps N FastCGI workers on one socket, respawning any that dies.
#
#   spawn-fcgi -n -s SOCK ... -- scripts/fcgi-pool.sh N PIDFILE LOG -- PROGRAM ARGS...
#
# spawn-fcgi binds SOCK and, with -n, execs this script with the listening socket on fd
# 0, so the pool is the process ./timerush started and watches. Each worker gets the
# socket as its fd 0 (where libfcgi accepts), stdout on /dev/null and stderr appended
# to LOG (crash reports). PIDFILE lists the live workers' pids, one a line, rewritten
# at every respawn (SIGHUP to them reopens their logs: docs/OPERATIONS.md).
#
# A worker that dies (a crash, kill -9) is replaced while the others keep serving.
# One that lived HEALTHY_MS or more is replaced at once; one that dies sooner again
# and again is a crash loop: its second quick death waits FIRST_DELAY_MS, each next
# one twice as long, up to MAX_DELAY_MS, so a worker that cannot start costs a fork
# every 30 s, not a core. Every death and respawn is a line in LOG.
#
# Why not Debian's multiwatch, made for this: it respawns at once and gives a worker up
# after three quick deaths; once all are given up it exits, and the service with it.
#
# Idle, the pool is blocked in `wait -n`: no polling, no CPU. SIGTERM or SIGINT: no more
# respawns, SIGTERM to every worker, wait for them, exit 0. SIGHUP is passed on.
set -uo pipefail

HEALTHY_MS=10000
FIRST_DELAY_MS=500
MAX_DELAY_MS=30000

if (($# < 5)) || [[ $4 != -- || ! $1 =~ ^[1-9][0-9]{0,3}$ ]]; then
    echo "usage: fcgi-pool.sh N PIDFILE LOG -- PROGRAM ARGS... (run by spawn-fcgi -n)" >&2
    exit 2
fi
workers=$1 pidfile=$2 log=$3
shift 4
prog=("$@")

# The listening socket moves to fd 3, which only the workers get (as their fd 0).
exec 3<&0 0</dev/null

note() { # note LEVEL MSG: one line in LOG, opened per line so a rotated log is followed
    printf '%(%Y-%m-%dT%H:%M:%S%z)T %s fcgi-pool[%d] %s\n' -1 "$1" "$$" "$2" >>"$log" 2>/dev/null
}
now_ms() { # sets NOW (ms since the epoch) without forking
    local t=$EPOCHREALTIME
    NOW=$((${t%.*} * 1000 + 10#${t#*.} / 1000))
}

declare -A slot_pid=() pid_slot=() born_ms=() quick=()
stopping=0 hup=0
trap 'stopping=1' TERM INT
trap 'hup=1' HUP

spawn() { # spawn SLOT: starts worker SLOT
    "${prog[@]}" <&3 3<&- >/dev/null 2>>"$log" &
    slot_pid[$1]=$!
    pid_slot[$!]=$1
    now_ms
    born_ms[$1]=$NOW
}

write_pids() {
    printf '%s\n' "${slot_pid[@]}" >"$pidfile.tmp" && mv -f "$pidfile.tmp" "$pidfile" ||
        note ERROR "cannot write $pidfile"
}

# respawn_after SLOT MS: a back-off timer, a `sleep` child whose end `wait -n` reports
# like a worker's, so a slot waiting out its delay holds up neither the other slots'
# respawns nor a SIGTERM.
declare -A timer_slot=()
respawn_after() {
    local secs
    printf -v secs '%d.%03d' $(($2 / 1000)) $(($2 % 1000))
    sleep "$secs" 3<&- &
    timer_slot[$!]=$1
}

respawn() { # respawn SLOT
    spawn "$1"
    write_pids
    note INFO "worker $1 respawned (pid ${slot_pid[$1]})"
}

for ((s = 1; s <= workers; s++)); do spawn "$s"; done
write_pids

while ((!stopping)); do
    dead=""
    wait -n -p dead
    rc=$?
    if ((hup)); then
        hup=0
        kill -HUP "${slot_pid[@]}" 2>/dev/null
    fi
    ((stopping)) && break
    if [[ -z $dead ]]; then
        # A signal, or no child at all (every slot has a worker or a timer: a bug).
        ((rc == 127)) && { note ERROR "no worker and no timer left; exiting"; exit 1; }
        continue
    fi
    if [[ -n ${timer_slot[$dead]+x} ]]; then # a back-off is over
        slot=${timer_slot[$dead]}
        unset "timer_slot[$dead]"
        respawn "$slot"
        continue
    fi
    [[ -n ${pid_slot[$dead]+x} ]] || continue
    slot=${pid_slot[$dead]}
    unset "pid_slot[$dead]" "slot_pid[$slot]"
    now_ms
    lived=$((NOW - born_ms[$slot]))
    if ((lived >= HEALTHY_MS)); then quick[$slot]=1; else quick[$slot]=$((${quick[$slot]:-0} + 1)); fi
    delay=0
    if ((quick[$slot] > 1)); then
        delay=$FIRST_DELAY_MS
        for ((k = 2; k < quick[$slot] && delay < MAX_DELAY_MS; k++)); do delay=$((delay * 2)); done
        ((delay > MAX_DELAY_MS)) && delay=$MAX_DELAY_MS
    fi
    if ((rc > 128)); then why="was killed by signal $((rc - 128))"; else why="exited with status $rc"; fi
    if ((delay > 0)); then
        note WARNING "worker $slot (pid $dead) $why after $lived ms, death ${quick[$slot]} in a row under $HEALTHY_MS ms: respawning in $delay ms"
        write_pids # the live workers only, meanwhile
        respawn_after "$slot" "$delay"
    else
        note WARNING "worker $slot (pid $dead) $why after $lived ms: respawning"
        respawn "$slot"
    fi
done

# Stop: every worker finishes what it serves (timerush-fcgi drains on SIGTERM).
live=()
for p in "${!pid_slot[@]}"; do live+=("$p"); done
((${#timer_slot[@]})) && kill -TERM "${!timer_slot[@]}" 2>/dev/null
((${#live[@]})) && kill -TERM "${live[@]}" 2>/dev/null
for p in "${live[@]}"; do
    while kill -0 "$p" 2>/dev/null; do wait "$p" 2>/dev/null; done
done
exit 0
