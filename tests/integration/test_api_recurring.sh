#!/usr/bin/env bash
# test_api_recurring.sh - recurring REST timers delivered end to end by the
# scheduler: every_ms with count (fires count times, then is gone), cancelling a
# series stops it, cron fires on a minute boundary.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/lib_api.sh"
tr_setup
tr_start_sink A --answer ok || tr_finish
tr_start_stack || tr_finish

api POST /v1/timers "{\"key\":\"ev\",\"url\":\"$SINK_A_URL/ev\",\"data\":\"e\",\"every_ms\":300,\"count\":3}"
check_api "every_ms 300 count 3: 201" 201
three() { (($(sink_count_path "$SINK_A_LOG" /ev) >= 3)); }
tr_wait_for "fired 3 times" 10 three
gone() { api GET /v1/timers/ev; [[ $API_STATUS == 404 ]]; }
tr_wait_for "after its count the series is done (404)" 5 gone
ts=$(jq -r 'select(.path == "/ev") | .t_us' "$SINK_A_LOG" | paste -sd' ')
echo "# every_ms deliveries at (us): $ts"
read -r t1 t2 t3 <<<"$ts"
check "firings about 300 ms apart (gap $(((t2 - t1) / 1000)) ms, $(((t3 - t2) / 1000)) ms)" \
    test $(((t2 - t1) / 1000)) -ge 250 -a $(((t3 - t2) / 1000)) -ge 250
check_eq "never a 4th firing" 3 "$(sink_count_path "$SINK_A_LOG" /ev)"

api POST /v1/timers "{\"key\":\"st\",\"url\":\"$SINK_A_URL/st\",\"data\":\"s\",\"every_ms\":200}"
two() { (($(sink_count_path "$SINK_A_LOG" /st) >= 2)); }
tr_wait_for "an endless series fires" 10 two
api GET /v1/timers/st
check "... its schedule counts the firings" test "$(jqb .timer.schedule.fired)" -ge 1
api DELETE /v1/timers/st
check_api "cancelling the series: 200" 200
n=$(sink_count_path "$SINK_A_LOG" /st)
t_end=$(($(tr_now_ms) + 1000))
tr_sleep_until_ms "$t_end"
m=$(sink_count_path "$SINK_A_LOG" /st)
check "no firing 1 s after the cancel (at most one already in flight: $n -> $m)" test "$m" -le $((n + 1))

api POST /v1/timers "{\"key\":\"cr\",\"url\":\"$SINK_A_URL/cr\",\"data\":\"c\",\"cron\":\"* * * * *\",\"delay_ms\":0,\"count\":2}"
check_api "cron every minute, first firing now, count 2: 201" 201
# The first firing now; the second is scheduled on the next whole minute. Waiting up
# to a minute for it to fire would prove nothing more (a due timer fires the same
# way whatever made it due) and cost a minute of CI per build.
cr1() { (($(sink_count_path "$SINK_A_LOG" /cr) >= 1)); }
tr_wait_for "cron fired at once (delay_ms 0)" 10 cr1
next_due() {
    api GET /v1/timers/cr
    [[ $API_STATUS == 200 && $(jqb .timer.due_ms) =~ ^[0-9]+$ ]]
}
tr_wait_for "the next firing is scheduled" 10 next_due
due2=$(jqb .timer.due_ms)
now=$(tr_now_ms)
echo "# next cron firing at $due2, in $((due2 - now)) ms"
check_eq "the second firing is due on a whole minute" 0 "$((due2 % 60000))"
check "... the next one, within a minute" test "$due2" -gt "$((now - 1000))" -a "$due2" -le "$((now + 60000))"
# Created late in a minute, the second firing may already have come by now: count
# the firings that came before the whole minute, and all of them.
before=$(jq -r --argjson d "$due2" 'select(.path == "/cr" and .t_us < $d * 1000) | .n' "$SINK_A_LOG" | wc -l)
check_eq "one firing before the whole minute" 1 "$before"
check "... and at most the second one after it" test "$(sink_count_path "$SINK_A_LOG" /cr)" -le 2
tr_stop_stack
tr_finish
