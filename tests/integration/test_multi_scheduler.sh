#!/usr/bin/env bash
# test_multi_scheduler.sh - four schedulers on one Redis share the work without
# losing or doubling a timer: 3,000 timers due over ~5 s, a receiver that always
# accepts; every key arrives exactly once, and each scheduler delivered some.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/lib_sched.sh"
ts_setup

n=3000
scheds=4
tr_start_sink A || tr_finish
tr_start_stack --schedulers "$scheds" || tr_finish

for ((i = 1; i <= n; i++)); do echo "$((i % 5 + 1)) m-$i"; done >"$TR_TMP/specs"
t0=$(ts_now_ms)
check "$n timers registered" ts_register_bulk "$TR_TMP/keys" "$SINK_A_URL/m" 48 <"$TR_TMP/specs"
echo "# registration took $(($(ts_now_ms) - t0)) ms"

tr_wait_for "all $n callbacks arrived" 40 ts_all_delivered "$TR_TMP/keys" "$SINK_A_LOG"
# Settle: a duplicate would come from a second claim of an acked timer; wait until
# the store holds nothing, then count.
store_empty() {
    (($(ts_zcard due) == 0 && $(ts_zcard inflight) == 0 &&
        $(tr_rec_count) == 0))
}
tr_wait_for "the store is empty again" 10 store_empty

echo "# due times spread over $(jq -s 'map(.due_ms) | max - min' "$SINK_A_LOG") ms;" \
    "max lateness $(jq -s 'map(.t_us / 1000 - .due_ms) | max | floor' "$SINK_A_LOG") ms"
lost=$(ts_missing "$TR_TMP/keys" "$SINK_A_LOG" | wc -l)
dups=$(ts_duplicates "$SINK_A_LOG" | wc -l)
check_eq "lost = 0" 0 "$lost"
check_eq "duplicates = 0" 0 "$dups"
check_eq "callbacks = timers" "$n" "$(ts_sink_lines "$SINK_A_LOG")"
check_eq "every callback is a first attempt" "1" \
    "$(ts_sink_field "$SINK_A_LOG" attempt | sort -u | paste -sd,)"
check_eq "stats: delivered = $n" "$n" "$(ts_stat delivered)"

# Who delivered what: each scheduler logs every delivery with the timer's key.
for ((s = 1; s <= scheds; s++)); do
    log=$TR_RUN/log/scheduler.$s.log
    c=$(ts_sched_delivered "$log" "$TR_TMP/keys")
    echo "# scheduler $s delivered $c"
    check "scheduler $s delivered some timers" test "$c" -gt 0
done

ts_no_sanitizer_reports

tr_finish
