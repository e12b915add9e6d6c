#!/usr/bin/env bash
# test_fault_receiver_pause.sh - a healthy receiver pauses (SIGSTOP) for 1 s in the
# middle of a burst: a GC pause, a descheduled process on a loaded machine. The
# scheduler holds the timers it claims while nothing finishes (given back to Redis
# with a delay, no attempt spent); the hold must grow with the pause, so the burst
# ends about the pause's length late, never held until the in-flight deliveries'
# timeout (30 s here: a hold that long would show at once; a 0.5 s pause used to hold
# 317 of 400 timers for 10-15 s at the default 10 s, which failed
# fault_test_fault_redis_stall in CI). The timers are due over 3 s, so the pause
# (once a tenth is in) falls inside the burst on any machine. Proves: the pause fell
# inside the burst, the last delivery within 6 s of the last due time, lost 0,
# duplicates 0. TR_SCHED_BIN runs another scheduler binary (before/after a change).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib_faults.sh"
ts_setup

n=${TR_FAULT_N:-1000}
spread_ms=3000
tr_start_sink A || tr_finish
tr_start_stack --max-body 262144 || tr_finish
check "the stack's own scheduler is paused" ts_pause_stack_schedulers

# Due from 2 s out (room for the creates in a loaded sanitizer build) over 3 s.
lead=2000
grep -q '^TR_SANITIZE:BOOL=ON' "$TR_BUILD_DIR/CMakeCache.txt" 2>/dev/null &&
    lead=4000
due0=$(($(ts_now_ms) + lead))
check "$n timers due over $spread_ms ms created" \
    tf_create_batch "$TR_TMP/keys" p "$n" "$SINK_A_URL/p" "$due0" "$spread_ms"
ts_start_scheduler rp --scheduler-id rp --timeout-ms 30000 --connect-timeout-ms 5000
check "none delivered before their due time" test "$(ts_sink_lines "$SINK_A_LOG")" -eq 0

# The pause: once a tenth of the burst is in, for 1 s.
some_in() { (($(ts_sink_lines "$SINK_A_LOG") >= n / 10)); }
tr_wait_for "a tenth of the burst delivered" 30 some_in
kill -STOP "$SINK_A_PID"
t_stop=$(ts_now_ms)
at_stop=$(ts_sink_lines "$SINK_A_LOG")
tr_sleep_until_ms $((t_stop + 1000))
kill -CONT "$SINK_A_PID"
echo "# receiver paused $(($(ts_now_ms) - t_stop)) ms from $((t_stop - due0)) ms after the first due time"
check "the pause fell inside the burst ($at_stop of $n in when it began)" test "$at_stop" -lt "$n"

tr_wait_for "all $n timers delivered" 60 ts_all_delivered "$TR_TMP/keys" "$SINK_A_LOG"
last=$(jq -s 'map(.t_us) | max / 1000 | floor' "$SINK_A_LOG")
late=$((last - due0 - spread_ms))
echo "# last delivery $late ms after the last due time; timers held: $(ts_stat held)"
check "the burst ended within 6 s of its last due time, far from the 30 s timeout ($late ms)" \
    test "$late" -le 6000
tf_deliveries "$SINK_A_LOG" >"$TR_TMP/delivered"
tf_check_outcome "$TR_TMP/keys" "$TR_TMP/delivered"
check_eq "lost = 0" 0 "$TF_LOST"
check_eq "duplicates = 0" 0 "$TF_DUPS"
check "the scheduler stops cleanly" ts_stop_scheduler rp 15
ts_no_sanitizer_reports
tr_stop_stack
tr_finish
