#!/usr/bin/env bash
# test_fault_kill_phases.sh - a scheduler killed (SIGKILL) at the two moments of a
# delivery where "sent" and "done" part ways.
# A: between claim and send. The receiver's listen queue is full (a socket that
#    never accepts, its one queue slot taken), so the kernel drops the scheduler's
#    SYNs: the timers are claimed, their connects hang, no byte of a request leaves.
#    The scheduler is killed there; the receiver then comes up on the same port and a
#    second scheduler takes the timers over after the lease. Proves: each delivered
#    exactly once, as attempt 2, with the original X-TimeRush-Due-Ms.
# B: after the receiver answered, before the ack reached Redis. Half the timers are
#    answered at once (acked); the other half 1.5-2.4 s later, while Redis is stopped
#    (SIGSTOP), then the scheduler is killed and Redis resumed (SIGCONT). Proves:
#    the timers still held by the dead run after Redis resumed are exactly the
#    answered-but-not-acked ones, the restart under the same --scheduler-id delivers
#    them again, and the duplicates are exactly those, each with the same key +
#    X-TimeRush-Due-Ms. Lost 0 in both.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib_faults.sh"
ts_setup

na=${TR_FAULT_N:-20}
nb=${TR_FAULT_N:-20}
slow_ms=1500
check "a redis-server of our own runs" ts_start_redis
tr_start_stack --redis-socket "$TS_REDIS_SOCK" || tr_finish
TR_REDIS_SOCK=$TS_REDIS_SOCK
check "the stack's own scheduler is paused" ts_pause_stack_schedulers
lease_opts=(--timeout-ms 3000 --connect-timeout-ms 3000 --lease-margin-ms 1000)

# --- A: killed between claim and send ------------------------------------------
# A listener that never accepts, backlog 0: one connection (its own) fills the queue.
python3 -c 'import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(0)
c = socket.create_connection(s.getsockname())
open(sys.argv[1] + ".tmp", "w").write("%d\n" % s.getsockname()[1])
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
time.sleep(3600)' "$TR_TMP/full.port" &
full_pid=$!
tr_track_pid "$full_pid"
tr_wait_for "a receiver with a full listen queue" 10 test -s "$TR_TMP/full.port"
port_a=$(cat "$TR_TMP/full.port")
# Far enough ahead that the batch is stored before it is due on a loaded machine (an
# `at` already past fires at once with due = now, and the due check below means nothing).
at_a=$(($(ts_now_ms) + 1500))
check "$na timers created (A)" tf_create_batch "$TR_TMP/keys_a" ka "$na" \
    "http://127.0.0.1:$port_a/ka" "$at_a"
ts_start_scheduler victim-a --scheduler-id kp-a "${lease_opts[@]}"
all_claimed() { (($(ts_zcard inflight) == na)); }
tr_wait_for "the victim claimed all $na" 10 all_claimed
sleep 0.3 # its transfers are connecting (SYN sent, dropped)
ts_start_scheduler taker --scheduler-id kp-taker "${lease_opts[@]}"
kill -KILL "${TS_SCHED_PID[victim-a]}"
wait "${TS_SCHED_PID[victim-a]}" 2>/dev/null
t_kill=$(ts_now_ms)
check_eq "killed before any delivery ended (no outcome logged)" 0 \
    "$(grep -cE 'key=ka-[0-9]+ (delivered|failed|dead)' "$TR_TMP/sched.victim-a.log")"
# The receiver recovers on the same port; the kernel never passed it a byte.
tr_kill_wait TERM 5 "$full_pid"
tr_start_sink A --listen "127.0.0.1:$port_a" || tr_finish
got_a() { ts_all_delivered "$TR_TMP/keys_a" "$SINK_A_LOG"; }
tr_wait_for "all $na delivered after the takeover" 20 got_a
last=$(jq -s 'map(.t_us) | max / 1000 | floor' "$SINK_A_LOG")
echo "# A: claimed and unsent at the kill: $na; taken over and delivered $((last - t_kill)) ms" \
    "after the kill (lease 4000 ms from the claim)"
check_eq "A: each delivered exactly once" "$na 0" \
    "$(ts_sink_lines "$SINK_A_LOG") $(ts_duplicates "$SINK_A_LOG" | wc -l)"
check_eq "A: as attempt 2 (the killed claim was attempt 1)" 2 \
    "$(jq -r .attempt "$SINK_A_LOG" | sort -u | paste -sd,)"
check_eq "A: with the original X-TimeRush-Due-Ms" "$at_a" \
    "$(jq -r .due_ms "$SINK_A_LOG" | sort -u | paste -sd,)"
ts_stop_scheduler taker 10 || tr_fail "the taker stops"

# --- B: killed after the answers, before the acks --------------------------------
# The slow answers 100 ms apart: the first one's ack goes out into the stalled store
# and the others wait behind it (one write owed at a time). All ten in one moment
# made one ack for all of them, which Redis ran when it resumed: nothing was left
# unacked (a CI-like run on a loaded machine).
step_ms=100
answers=()
for ((i = 0; i < nb / 2; i++)); do answers+=(--answer ok); done
for ((i = 0; i < nb - nb / 2; i++)); do answers+=(--answer "slow:$((slow_ms + i * step_ms))"); done
tr_start_sink B "${answers[@]}" || tr_finish
check "$nb timers created (B)" tf_create_batch "$TR_TMP/keys_b" kb "$nb" "$SINK_B_URL/kb" \
    "$(($(ts_now_ms) + 200))"
ts_start_scheduler victim-b --scheduler-id kp-b "${lease_opts[@]}"
half_acked() {
    (($(ts_sink_lines "$SINK_B_LOG") == nb)) &&
        (($(tr_rec_count) == nb - nb / 2))
}
tr_wait_for "all $nb at the receiver, the first $((nb / 2)) answered and acked" 15 half_acked
kill -STOP "$TS_REDIS_PID"
t_stop=$(ts_now_ms)
last_req=$(jq -s 'map(.t_us) | max / 1000 | floor' "$SINK_B_LOG")
# The slow answers go out slow_ms (and step_ms apart) after their requests, into the
# stalled store.
slow_end=$((slow_ms + (nb - nb / 2 - 1) * step_ms))
tr_sleep_until_ms $((last_req + slow_end + 300))
kill -KILL "${TS_SCHED_PID[victim-b]}"
wait "${TS_SCHED_PID[victim-b]}" 2>/dev/null
kill -CONT "$TS_REDIS_PID"
echo "# B: redis stopped $(($(ts_now_ms) - t_stop)) ms; scheduler killed" \
    "$((slow_end + 300)) ms after the last request"
# Redis runs what the dead scheduler had written before it reads its EOF: a PING
# answered on a new connection comes after that.
tr_wait_for "redis answers again" 10 ts_redis_up
tr_redis HGETALL "$(ts_k owner)" |
    awk 'NR % 2 == 1 { k = $0; next } index($0, ":kp-b/") { print k }' | sort >"$TR_TMP/unacked"
unacked=$(wc -l <"$TR_TMP/unacked")
echo "# B: answered while redis stalled: $((nb - nb / 2)); acked anyway (written before the" \
    "kill): $((nb - nb / 2 - unacked)); answered but not acked: $unacked"
check "the kill left answered-but-not-acked timers" test "$unacked" -gt 0
ts_start_scheduler victim-b-again --scheduler-id kp-b "${lease_opts[@]}"
got_b() { ts_all_delivered "$TR_TMP/keys_b" "$SINK_B_LOG" && (($(ts_sink_lines "$SINK_B_LOG") >= nb + unacked)); }
tr_wait_for "the restart delivered them again" 20 got_b
ts_duplicates "$SINK_B_LOG" | cut -d' ' -f1 | sort >"$TR_TMP/dups_b"
check_eq "B: the duplicates are exactly the answered-but-not-acked" "" \
    "$(diff "$TR_TMP/dups_b" "$TR_TMP/unacked" | head -5 | paste -sd' ')"

cat "$TR_TMP/keys_a" "$TR_TMP/keys_b" >"$TR_TMP/keys"
tf_deliveries "$SINK_A_LOG" "$SINK_B_LOG" >"$TR_TMP/delivered"
tf_check_outcome "$TR_TMP/keys" "$TR_TMP/delivered" "$TR_TMP/unacked"
ts_no_sanitizer_reports
tr_stop_stack
tr_finish
