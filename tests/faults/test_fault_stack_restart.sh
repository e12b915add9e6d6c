#!/usr/bin/env bash
# test_fault_stack_restart.sh - the whole stack stopped (`./timerush stop`, the
# operator's stop path) while N deliveries are in flight to a slow receiver (it
# answers after 15 s: longer than the scheduler's --drain-ms 1000), then started
# again on the same run directory. Proves the release path: at the drain deadline
# the scheduler gives every unfinished delivery back to Redis (release.lua) before
# it exits, Redis keeps them across the restart (append-only file), and the new
# stack delivers them all at once, not after a lease. Lost 0; the receiver sees a
# key twice only if it was in flight at the stop, with the same key +
# X-TimeRush-Due-Ms both times.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib_faults.sh"
ts_setup

n=${TR_FAULT_N:-50}
answers=()
for ((i = 0; i < n; i++)); do answers+=(--answer slow:15000); done
tr_start_sink A "${answers[@]}" --answer ok || tr_finish
# A lease is --timeout-ms + 1500 ms from the claim: 61.5 s, far beyond a restart, so
# deliveries that came back by the lease would show (the check below).
stack_opts=(--drain-ms 1000 --timeout-ms 60000 --max-body 262144)
lease_ms=61500
tr_start_stack "${stack_opts[@]}" || tr_finish
t_create=$(ts_now_ms)
check "$n timers created" tf_create_batch "$TR_TMP/keys" sr "$n" "$SINK_A_URL/sr" "$(ts_now_ms)"
at_receiver() { (($(ts_sink_lines "$SINK_A_LOG") >= n)); }
tr_wait_for "all $n deliveries reached the slow receiver" 15 at_receiver
tr_redis ZRANGE "$(ts_k inflight)" 0 -1 | sort >"$TR_TMP/inflight_at_stop"
echo "# in flight at the stop: $(wc -l <"$TR_TMP/inflight_at_stop")"

t_stop=$(ts_now_ms)
check "./timerush stop" "$TR_SOURCE_DIR/timerush" stop --run-dir "$TR_RUN"
echo "# ./timerush stop took $(($(ts_now_ms) - t_stop)) ms (--drain-ms 1000)"
sched_log=$TR_RUN/log/scheduler.1.log
stopped=$(grep -oE 'stopped: [0-9]+ finished while draining, [0-9]+ released, [0-9]+ outcomes unwritten' \
    "$sched_log" | tail -n1)
echo "# scheduler: $stopped"
check_eq "every delivery in flight released at the drain deadline, every release written" \
    "stopped: 0 finished while draining, $n released, 0 outcomes unwritten" "$stopped"
tr_stop_stack # the launcher is gone already: checks that every process it started is too

t_restart=$(ts_now_ms)
tr_start_stack "${stack_opts[@]}" || tr_finish
t_ready=$(ts_now_ms)
again() { (($(ts_sink_lines "$SINK_A_LOG") >= 2 * n)); }
tr_wait_for "all $n delivered again after the restart" 20 again
last=$(jq -s 'map(.t_us) | max / 1000 | floor' "$SINK_A_LOG")
echo "# restart: the stack ready after $((t_ready - t_restart)) ms; all delivered again" \
    "$((last - t_ready)) ms after it was ready, $((last - t_create)) ms after they were created" \
    "(no lease taken after that instant ends before $lease_ms ms)"
# Claims came after t_create, so no lease could have run out before t_create + lease:
# everything delivered by then came back through the release, not a lease.
check "at once, not after a lease" test $((last - t_create)) -lt "$lease_ms"
check_eq "the redelivery is attempt 1 again (a release undoes the attempt)" 1 \
    "$(jq -r --argjson n "$n" 'select(.n > $n) | .attempt' "$SINK_A_LOG" | sort -u | paste -sd,)"
check_eq "released in the stats" "$n" "$(tr_redis HGET "$(ts_k stats)" released)"

# Every request the receiver got counts (the first ones were never answered): each
# key arrived twice, every one of them in flight at the stop.
tf_deliveries "$SINK_A_LOG" >"$TR_TMP/delivered"
jq -c --argjson n "$n" 'select(.n > $n)' "$SINK_A_LOG" >"$TR_TMP/answered_ok"
check "every key answered ok after the restart" ts_all_delivered "$TR_TMP/keys" "$TR_TMP/answered_ok"
tf_check_outcome "$TR_TMP/keys" "$TR_TMP/delivered" "$TR_TMP/inflight_at_stop"
ts_no_sanitizer_reports
tr_stop_stack
tr_finish
