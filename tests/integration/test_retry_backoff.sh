#!/usr/bin/env bash
# test_retry_backoff.sh - failed deliveries are retried with growing, documented
# back-off until the receiver accepts, then never again.
#
# Receiver A answers HTTP 500, then {"ret":1}, then never (timeout, --timeout-ms
# 1000); then it is stopped (connection refused); then it comes back on the same port
# and answers ok. Attempts 1,2,3,4,5: 1-3 and 5 reach the receiver, 4 is refused
# (seen in {P}:meta). With --backoff-min-ms 200 --backoff-max-ms 5000 the documented
# delay after attempt n (docs/SCHEDULER.md, scheduler/tr_backoff.h) is uniform in
# [base(n)/2, base(n)], base(n) = min(5000, 200 * 2^(n-1)): at least 100, 200, 400,
# 800 ms after attempts 1..4, counted from when the attempt finished.
# Gaps 1->2 and 2->3 are measured at the receiver; for 3->4 and 4->5 the delay itself
# is read from the store: the retry's score in {P}:due minus the failure's time
# ("at" in {P}:meta). (X-TimeRush-Due-Ms and meta "due" keep the first due time.)
# Receiver B answers 503 with "Retry-After: 2", then ok: attempt 2 comes >= 2 s later.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/lib_sched.sh"
ts_setup

tr_start_sink A --answer status:500 --answer ret:1 --answer timeout || tr_finish
tr_start_sink B --answer retry-after:503:2 --answer ok || tr_finish
tr_start_stack --timeout-ms 1000 --connect-timeout-ms 500 --backoff-min-ms 200 \
    --backoff-max-ms 5000 || tr_finish
port_a=${SINK_A_URL##*:}

key=$(ts_register "$SINK_A_URL/retry" "retry-payload" 1)
key_ra=$(ts_register "$SINK_B_URL/retry-after" "retry-after-payload" 1)
check "timers registered" test -n "$key" -a -n "$key_ra" || tr_finish


arrived() { (($(ts_sink_count_key "$1" "$2") >= $3)); }
meta3='{}' meta4='{}' retry_due3=0 retry_due4=0

# After attempt N failed: its meta and the retry's due time (score), read together.
# Succeeds once meta says N attempts and the timer waits in {P}:due.
failed_n() {
    local m d
    m=$(ts_meta "$key")
    [[ $(jq -r '.attempts // empty' <<<"$m" 2>/dev/null) == "$1" ]] || return 1
    d=$(tr_redis ZSCORE "$(ts_k due)" "$key")
    [[ -n $d ]] || return 1
    declare -g "meta$1=$m" "retry_due$1=${d%%.*}"
}
arrived() { (($(ts_sink_count_key "$1" "$2") >= $3)); }

# Attempt 3 hangs until the scheduler's 1 s timeout; stop A only once that failure is
# recorded, so attempt 3 stays a timeout and attempt 4 finds the port closed.
tr_wait_for "attempt 3 reached A" 20 arrived "$SINK_A_LOG" "$key" 3 || tr_finish
tr_wait_for "attempt 3 failed and is scheduled again" 10 failed_n 3 || tr_finish
echo "# meta after attempt 3: $meta3, retry due $retry_due3"
check "attempt 3 failed by timeout" jq -e '.error | test("time"; "i")' <<<"$meta3"
cp "$SINK_A_LOG" "$TR_TMP/a1.log"
tr_stop_sink A

tr_wait_for "attempt 4 was refused" 10 failed_n 4 || tr_finish
echo "# meta after attempt 4: $meta4, retry due $retry_due4"
check "attempt 4 failed to connect" jq -e '.error | test("connect|refused"; "i")' <<<"$meta4"
check_eq "attempt 4 got no status" 0 "$(jq -r '.status // 0' <<<"$meta4")"

tr_start_sink A2 --listen "127.0.0.1:$port_a" --answer ok || tr_finish
tr_wait_for "attempt 5 reached A again" 15 arrived "$SINK_A2_LOG" "$key" 1 || tr_finish
gone() { [[ $(tr_redis HEXISTS "$(ts_k timers)" "$key") == 0 ]]; }
tr_wait_for "timer is done (record removed)" 5 gone

check_eq "attempts seen by A before the stop: 1,2,3" "1,2,3" \
    "$(jq -r --arg k "$key" 'select(.key == $k) | .attempt' "$TR_TMP/a1.log" | paste -sd,)"
check_eq "attempt seen by A after the restart: 5" "5" \
    "$(jq -r --arg k "$key" 'select(.key == $k) | .attempt' "$SINK_A2_LOG" | paste -sd,)"

# Arrival times (ms) of attempts 1,2,3 and 5.
mapfile -t t < <(jq -r --arg k "$key" 'select(.key == $k) | (.t_us / 1000 | floor)' \
    "$TR_TMP/a1.log" "$SINK_A2_LOG")
at3=$(jq -r '.at' <<<"$meta3")
at4=$(jq -r '.at' <<<"$meta4")
g12=$((t[1] - t[0]))
g23=$((t[2] - t[1]))
d3=$((retry_due3 - at3))
d4=$((retry_due4 - at4))
g35=$((t[3] - t[2]))
echo "# gaps at the receiver: 1->2 ${g12} ms, 2->3 ${g23} ms, 3->5 ${g35} ms;" \
    "delays stored: after 3 ${d3} ms, after 4 ${d4} ms; attempt 3 timed out after $((at3 - t[2])) ms"
check "gap 1->2 >= 100 ms" test "$g12" -ge 100
check "gap 2->3 >= 200 ms" test "$g23" -ge 200
check "attempt 3 gave up after its 1 s timeout (counted from before A saw it)" \
    test $((at3 - t[2])) -ge 800
check "delay after attempt 3 >= 400 ms" test "$d3" -ge 400
check "delay after attempt 4 >= 800 ms" test "$d4" -ge 800
# The documented maximum, plus slack for a busy machine.
check "gap 1->2 <= 200 ms + 1 s" test "$g12" -le 1200
check "gap 2->3 <= 400 ms + 1 s" test "$g23" -le 1400
check "delay after attempt 3 <= 800 ms + 100" test "$d3" -le 900
check "delay after attempt 4 <= 1600 ms + 100" test "$d4" -le 1700
check "attempt 5 not before its retry time" test "${t[3]}" -ge $((retry_due4 - 5))
check "attempt 5 within 1 s of its retry time" test "${t[3]}" -le $((retry_due4 + 1000))
check "the last gaps are larger than the first (after 4 > 1->2)" test "$d4" -gt "$g12"
check "the last gaps are larger than the first (3->5 > 2->3)" test "$g35" -gt "$g23"

# Retry-After on B.
tr_wait_for "B's timer delivered on attempt 2" 15 arrived "$SINK_B_LOG" "$key_ra" 2
mapfile -t tb < <(jq -r --arg k "$key_ra" 'select(.key == $k) | (.t_us / 1000 | floor)' \
    "$SINK_B_LOG")
echo "# Retry-After: attempt 2 came $((tb[1] - tb[0])) ms after attempt 1"
check "Retry-After honoured: attempt 2 >= 2000 ms after attempt 1" \
    test $((tb[1] - tb[0])) -ge 2000
check "Retry-After: not much later either (< 2000 + 1000 ms)" test $((tb[1] - tb[0])) -lt 3000

# Delivered once with ret 0: nothing more may arrive, for either timer.
once() {
    (($(ts_sink_count_key "$SINK_A2_LOG" "$key") == 1 &&
        $(ts_sink_count_key "$SINK_B_LOG" "$key_ra") == 2))
}
ts_true_for "delivered exactly once, then never again" 1500 once
check_eq "A's timer not due, in flight or dead" "::" \
    "$(tr_redis ZSCORE "$(ts_k due)" "$key"):$(tr_redis ZSCORE "$(ts_k inflight)" "$key"):$(tr_redis ZSCORE "$(ts_k dead)" "$key")"

ts_no_sanitizer_reports

tr_finish
