#!/usr/bin/env bash
# test_fault_sched_sigstop.sh - a scheduler frozen (SIGSTOP) past its lease while a
# second one takes its timers over, then resumed: its late outcomes are stale (the
# timers belong to another claim now), counted, and change nothing. Lost 0;
# duplicates only among the timers in flight at the freeze.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../integration" && pwd)
source "$here/lib.sh"
source "$here/lib_sched.sh"
ts_setup

n=20
answers=()
# 2.5 s (within the frozen one's 3 s timeout): the answers must come after the freeze,
# which follows the last arrival by a poll and a redis-cli on a loaded machine.
for ((i = 0; i < n; i++)); do answers+=(--answer slow:2500); done
tr_start_sink A "${answers[@]}" --answer ok || tr_finish
tr_start_stack || tr_finish
check "the stack's own scheduler is paused" ts_pause_stack_schedulers
ts_start_scheduler frozen --timeout-ms 3000 --connect-timeout-ms 1000 --lease-margin-ms 1000
for ((i = 1; i <= n; i++)); do echo "1 ss-$i"; done >"$TR_TMP/specs"
check "$n timers registered" ts_register_bulk "$TR_TMP/keys" "$SINK_A_URL/ss" 16 <"$TR_TMP/specs"
at_receiver() { (($(ts_sink_lines "$SINK_A_LOG") >= n)); }
tr_wait_for "all $n deliveries reached the slow receiver" 15 at_receiver
tr_redis ZRANGE "$(ts_k inflight)" 0 -1 | sort >"$TR_TMP/inflight_at_stop"
kill -STOP "${TS_SCHED_PID[frozen]}"
t_stop=$(ts_now_ms)
ts_start_scheduler second --timeout-ms 3000 --connect-timeout-ms 1000 --lease-margin-ms 1000
answered() { jq -r --argjson n "$n" 'select(.n > $n) | .key' "$SINK_A_LOG" | sort -u; }
all_answered() { [[ -z $(comm -23 <(sort -u "$TR_TMP/keys") <(answered)) ]]; }
tr_wait_for "the second scheduler delivered every timer after the lease" 30 all_answered
echo "# taken over and delivered $(($(ts_now_ms) - t_stop)) ms after the freeze"
stale0=$(tr_redis HGET "$(ts_k stats)" stale)
kill -CONT "${TS_SCHED_PID[frozen]}"
# The frozen scheduler's transfers were answered while it slept: it now writes n
# outcomes, every one stale.
stale_all() { (($(tr_redis HGET "$(ts_k stats)" stale) - ${stale0:-0} >= n)); }
tr_wait_for "the resumed scheduler's $n outcomes are counted stale" 15 stale_all
check_eq "lost = 0" "" "$(comm -23 <(sort -u "$TR_TMP/keys") <(answered) | head -3)"
ts_duplicates "$SINK_A_LOG" | cut -d' ' -f1 | sort >"$TR_TMP/dups"
echo "# $(wc -l <"$TR_TMP/dups") keys arrived twice; $(wc -l <"$TR_TMP/inflight_at_stop") were in flight at the freeze"
check_eq "duplicates only among the timers in flight at the freeze" "" \
    "$(comm -23 "$TR_TMP/dups" "$TR_TMP/inflight_at_stop" | head -3)"
store_empty() { (($(ts_zcard due) == 0 && $(ts_zcard inflight) == 0)) && tr_no_timers_left; }
tr_wait_for "nothing left in the store" 10 store_empty
check "the resumed scheduler still runs" ts_sched_alive frozen
ts_no_sanitizer_reports
tr_stop_stack
tr_finish
