#!/usr/bin/env bash
# test_sigterm.sh - a clean shutdown gives back what it holds: deliveries are in flight
# (the receiver holds the first 20 requests for 60 s, so they are in flight however
# slow a loaded machine is, and answers later ones at once) when the scheduler gets
# SIGTERM with --drain-ms 500. It
# exits 0 within the drain and a little more, its unfinished timers are due again at
# once ({P}:inflight empty right after the exit, not after the 40 s lease), and a new
# scheduler delivers every one of them.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/lib_sched.sh"
ts_setup

n=20
held=()
for ((i = 1; i <= n; i++)); do held+=(--answer slow:60000); done
tr_start_sink A "${held[@]}" --answer ok || tr_finish
tr_start_stack || tr_finish
# Only the schedulers this test starts may claim: the stack's is paused (SIGSTOP).
check "the stack's own scheduler is paused" ts_pause_stack_schedulers
# Default timeout and lease margin: a lease of 40 s, far beyond this test's waits.
ts_start_scheduler first --drain-ms 500

for ((i = 1; i <= n; i++)); do echo "1 st-$i"; done >"$TR_TMP/specs"
check "$n timers registered" ts_register_bulk "$TR_TMP/keys" "$SINK_A_URL/st" 16 <"$TR_TMP/specs"

at_receiver() { (($(ts_sink_lines "$SINK_A_LOG") >= n)); }
tr_wait_for "all $n deliveries reached the slow receiver" 15 at_receiver
check_eq "all $n are in flight before SIGTERM" "$n" "$(ts_zcard inflight)"

ts_stop_scheduler first 10 TERM
stopped=$?
t_exit=$(ts_now_ms)
inflight_after=$(ts_zcard inflight)
due_now=$(tr_sum_shards ZCOUNT due -inf "$((t_exit + 50))")
echo "# the scheduler exited $TS_STOP_MS ms after SIGTERM, status $TS_RC"
check "it exited" test "$stopped" -eq 0
check_eq "exit status 0" 0 "$TS_RC"
check "within drain 500 ms + 3 s" test "$TS_STOP_MS" -le 3500
check "not before the drain time (it let deliveries try to finish)" test "$TS_STOP_MS" -ge 450
check_eq "ZCARD inflight == 0 right after the exit" 0 "$inflight_after"
check_eq "all $n unfinished timers are due again, at once" "$n" "$due_now"
check_eq "stats: released = $n" "$n" "$(ts_stat released)"
check_eq "their records are kept" "$n" "$(tr_rec_count)"

ts_start_scheduler second
t_second=$(ts_now_ms)
store_empty() {
    (($(ts_zcard due) == 0 && $(ts_zcard inflight) == 0 &&
        $(tr_rec_count) == 0))
}
tr_wait_for "the new scheduler delivered all of them (store empty)" 20 store_empty
echo "# the new scheduler finished $(($(ts_now_ms) - t_second)) ms after its start"
second_keys() { jq -r --argjson t "$t_second" 'select(.t_us / 1000 >= $t) | .key' "$SINK_A_LOG"; }
check_eq "none lost: each key reached the receiver again" "" \
    "$(comm -23 <(sort -u "$TR_TMP/keys") <(second_keys | sort -u) | head -3)"
check_eq "each exactly once from the new scheduler" "" "$(second_keys | sort | uniq -d | head -3)"
check_eq "nothing dead" 0 "$(ts_zcard dead)"
check_eq "stats: delivered = $n" "$n" "$(ts_stat delivered)"
check "the new scheduler still runs" ts_sched_alive second

ts_no_sanitizer_reports

tr_finish
