#!/usr/bin/env bash
# test_precision.sh - timers fire on time: 300 timers of 1-3 s registered at once;
# no callback arrives before its due time (5 ms allowed for reading the clock), and
# none is 1 s late or more. A correctness bound on a busy machine, not the benchmark
# (bench/ measures latency under load); the p50/p99/max seen are printed.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/lib_sched.sh"
ts_setup

n=300
tr_start_sink A || tr_finish
tr_start_stack || tr_finish

# callback_data "p-<i>-<seconds>": the receiver's log says which delay was asked.
for ((i = 1; i <= n; i++)); do echo "$((i % 3 + 1)) p-$i-$((i % 3 + 1))"; done >"$TR_TMP/specs"
t_reg0=$(ts_now_ms)
check "$n timers registered" ts_register_bulk "$TR_TMP/keys" "$SINK_A_URL/p" 32 <"$TR_TMP/specs"
t_reg1=$(ts_now_ms)
echo "# registration took $((t_reg1 - t_reg0)) ms"

tr_wait_for "all $n callbacks arrived" 20 ts_all_delivered "$TR_TMP/keys" "$SINK_A_LOG"
check_eq "no timer lost" "" "$(ts_missing "$TR_TMP/keys" "$SINK_A_LOG" | head -5)"
check_eq "no duplicate callbacks" "" "$(ts_duplicates "$SINK_A_LOG" | head -5)"

# One row per callback: lateness against the due time it carried, in µs, and the
# due time against what was asked (registration window + seconds).
jq -r '[.key, .attempt, .t_us, .due_ms, .body] | @tsv' "$SINK_A_LOG" >"$TR_TMP/rows"
check_eq "every callback is a first attempt" "1" "$(cut -f2 "$TR_TMP/rows" | sort -u | paste -sd,)"
awk -F'\t' '{print $3 - $4 * 1000}' "$TR_TMP/rows" >"$TR_TMP/late_us"
early=$(awk '$1 < -5000' "$TR_TMP/late_us" | wc -l)
check_eq "no callback before its due time (-5 ms allowed)" 0 "$early"
bad_due=$(awk -F'\t' -v a="$t_reg0" -v b="$t_reg1" '{
    split($5, p, "-"); want = p[3] * 1000
    if ($4 < a + want - 5 || $4 > b + want + 5) print $1, $4, a + want, b + want }' "$TR_TMP/rows")
check_eq "each due time is the registration time + seconds" "" "$(head -3 <<<"$bad_due")"
arrive_early=$(awk -F'\t' -v a="$t_reg0" '{ split($5, p, "-");
    if ($3 / 1000 < a + p[3] * 1000 - 5) print $1 }' "$TR_TMP/rows" | wc -l)
check_eq "no callback before registration + seconds" 0 "$arrive_early"

p50=$(ts_percentile 50 "$TR_TMP/late_us")
p99=$(ts_percentile 99 "$TR_TMP/late_us")
max=$(ts_percentile 100 "$TR_TMP/late_us")
awk -v n="$(wc -l <"$TR_TMP/late_us")" -v a="$p50" -v b="$p99" -v c="$max" 'BEGIN {
    printf "# lateness over %d callbacks: p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
        n, a / 1000, b / 1000, c / 1000 }'
check "max lateness under 1000 ms (was $((max / 1000)) ms)" test "$max" -lt 1000000

ts_no_sanitizer_reports

tr_finish
