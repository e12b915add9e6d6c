#!/usr/bin/env bash
# test_retry_backoff.sh - failed deliveries are retried with growing, documented
# back-off until the receiver accepts, then never again.
#
# Receiver A answers HTTP 500, then {"ret":1}, then never (timeout, --timeout-ms
# 1000); then it is stopped (connection refused); then it comes back on the same port
# and answers ok. Attempts 1,2,3,4,5: 1-3 and 5 reach the receiver, 4 is refused
# (seen in {P}:meta). (On a machine too loaded to see attempt 3's failure or stop A
# within 400 ms, or to start it again within 800 ms, one more attempt reaches A or is
# refused: the test adapts the numbers and says so.) With --backoff-min-ms 200 --backoff-max-ms 5000 the documented
# delay after attempt n (docs/SCHEDULER.md, scheduler/tr_backoff.h) is uniform in
# [base(n)/2, base(n)], base(n) = min(5000, 200 * 2^(n-1)): at least 100, 200, 400,
# 800 ms after attempts 1..4, counted from when the attempt finished.
# Gaps 1->2 and 2->3 are measured at the receiver; after 3 and 4 the delay itself
# is read from the store: the retry's score in {P}:due minus the failure's time
# ("at" in {P}:meta). (X-TimeRush-Due-Ms and meta "due" keep the first due time.)
# Receiver B answers 503 with "Retry-After: 2", then ok: attempt 2 comes >= 2 s later.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/lib_sched.sh"
ts_setup
# The states it waits for last 400-800 ms: poll every 20 ms, not up to every 100.
export TR_POLL_FAST=1

tr_start_sink A --answer status:500 --answer ret:1 --answer timeout || tr_finish
tr_start_sink B --answer retry-after:503:2 --answer ok || tr_finish
tr_start_stack --timeout-ms 1000 --connect-timeout-ms 500 --backoff-min-ms 200 \
    --backoff-max-ms 5000 || tr_finish
port_a=${SINK_A_URL##*:}

key=$(ts_register "$SINK_A_URL/retry" "retry-payload" 1)
key_ra=$(ts_register "$SINK_B_URL/retry-after" "retry-after-payload" 1)
check "timers registered" test -n "$key" -a -n "$key_ra" || tr_finish

# The timer's state in one atomic read (one fork: the window to stop A is only
# 400-800 ms): ST_META (last failure JSON), ST_DUE (retry time, ms; empty when not
# waiting in {P}:due), ST_ATT (attempts in the meta).
state_now() {
    local rep=()
    mapfile -t rep < <(tr_redis EVAL "return {redis.call('HGET', KEYS[1], ARGV[1]) or '',
        redis.call('ZSCORE', KEYS[2], ARGV[1]) or ''}" 2 "$(tr_k_of "$key" meta)" "$(tr_k_of "$key" due)" "$key")
    ST_META=${rep[0]:-} ST_DUE=${rep[1]:-} ST_ATT=0
    ST_DUE=${ST_DUE%%.*}
    [[ $ST_META =~ \"attempts\":([0-9]+) ]] && ST_ATT=${BASH_REMATCH[1]}
    return 0
}
# failed_from N: attempt N, or a later one, failed and its retry is scheduled; keeps
# c (that attempt), meta_c and retry_due_c. (The state lasts 400-800 ms after attempt
# 3: a poll on a loaded machine can miss it and see attempt 4's, a timeout too.)
failed_from() {
    state_now
    ((ST_ATT >= $1)) && [[ -n $ST_DUE ]] || return 1
    declare -g "c=$ST_ATT" "meta_c=$ST_META" "retry_due_c=$ST_DUE"
}
# refused_after N: a failed attempt after N was refused; keeps r (its number),
# meta_r and retry_due_r.
refused_after() {
    state_now
    ((ST_ATT > $1)) && [[ -n $ST_DUE && $ST_META =~ "t connect"|refused ]] || return 1
    declare -g "r=$ST_ATT" "meta_r=$ST_META" "retry_due_r=$ST_DUE"
}
# (Polled: fewer lines in LOG than N answers "not yet" without jq.)
arrived() {
    local l=()
    [[ -f $1 ]] && mapfile -t l <"$1"
    ((${#l[@]} >= $3)) || return 1
    (($(ts_sink_count_key "$1" "$2") >= $3))
}
base_ms() { local b=200 i; for ((i = 1; i < $1; i++)); do b=$((b * 2)); done; echo $((b > 5000 ? 5000 : b)); }
c=0 meta_c='{}' retry_due_c=0 r=0 meta_r='{}' retry_due_r=0

# Attempt 3 hangs until the scheduler's 1 s timeout; A is stopped as soon as that
# failure is recorded, so attempt 3 stays a timeout and attempt 4, 400-800 ms later,
# finds the port closed.
tr_wait_for "attempt 3 reached A" 20 arrived "$SINK_A_LOG" "$key" 3 || tr_finish
tr_wait_for "attempt 3 failed and is scheduled again" 10 failed_from 3 || tr_finish
kill -TERM "$SINK_A_PID"
tr_stop_sink A
echo "# meta after attempt $c: $meta_c, retry due $retry_due_c"
((c != 3)) && echo "# note: the first failure seen after attempt 3 was attempt $c's (a loaded machine)"
check "attempt $c failed by timeout" jq -e '.error | test("time"; "i")' <<<"$meta_c"

tr_wait_for "a later attempt was refused" 15 refused_after "$c" || tr_finish
# Back on the same port at once: the next attempt comes 800-1600 ms later.
tr_start_sink A2 --listen "127.0.0.1:$port_a" --answer ok || tr_finish
# The last refused attempt: r itself, unless A2 took longer than that back-off to
# start (an overloaded machine), then a later one. Empty when already delivered.
state_now
last_failed=$r meta_last=$meta_r retry_due_last=$retry_due_r
if ((ST_ATT > r)) && [[ -n $ST_DUE ]]; then
    last_failed=$ST_ATT meta_last=$ST_META retry_due_last=$ST_DUE
fi
echo "# meta after attempt $r: $meta_r, retry due $retry_due_r"
if ((r != c + 1)); then
    # Not the scheduler's fault: this test was too slow (an overloaded machine) to
    # close A within the 400-800 ms back-off; the later attempts still count.
    echo "# note: A was stopped only after attempt $((r - 1)) reached it; refused attempt is $r"
fi
((last_failed != r)) && echo "# note: A2 started only after attempt $last_failed was refused too"
check "attempt $r failed to connect" jq -e '.error | test("connect|refused"; "i")' <<<"$meta_r"
check "attempt $last_failed failed to connect" \
    jq -e '.error | test("connect|refused"; "i")' <<<"$meta_last"
check_eq "attempt $r got no status" 0 "$(jq -r '.status // 0' <<<"$meta_r")"

tr_wait_for "attempt $((last_failed + 1)) reached A again" 15 arrived "$SINK_A2_LOG" "$key" 1 ||
    tr_finish
gone() { [[ $(tr_rec_exists "$key") == 0 ]]; }
tr_wait_for "timer is done (record removed)" 5 gone

# A logs an attempt once it has read the request: one still in its listen queue when it
# was stopped (then reset, not refused) is not in its log. So A saw 1..k, 3 <= k < r.
seen_a=$(jq -r --arg k "$key" 'select(.key == $k) | .attempt' "$SINK_A_LOG" | paste -sd,)
k_a=$(awk -F, '{ print NF }' <<<"$seen_a")
check "attempts seen by A before the stop: 1..k, 3 <= k <= $((r - 1)) ($seen_a)" \
    test "$seen_a" = "$(seq -s, 1 "$k_a")" -a "$k_a" -ge 3 -a "$k_a" -le $((r - 1))
check_eq "attempt seen by A after the restart: $((last_failed + 1))" "$((last_failed + 1))" \
    "$(jq -r --arg k "$key" 'select(.key == $k) | .attempt' "$SINK_A2_LOG" | paste -sd,)"

# Arrival times (ms) of attempts 1, 2, 3 at A, and of the last attempt at A2.
mapfile -t t < <(jq -r --arg k "$key" 'select(.key == $k) | (.t_us / 1000 | floor)' \
    "$SINK_A_LOG")
t_last=$(jq -r --arg k "$key" 'select(.key == $k) | (.t_us / 1000 | floor)' "$SINK_A2_LOG")
at_c=$(jq -r '.at' <<<"$meta_c")
at_r=$(jq -r '.at' <<<"$meta_r")
g12=$((t[1] - t[0]))
g23=$((t[2] - t[1]))
d_c=$((retry_due_c - at_c))
b_c=$(base_ms "$c")
d_r=$((retry_due_r - at_r))
g3_last=$((t_last - t[2]))
b_r=$(base_ms "$r")
echo "# gaps at the receiver: 1->2 ${g12} ms, 2->3 ${g23} ms, 3->$((last_failed + 1)) ${g3_last} ms;" \
    "delays stored: after $c ${d_c} ms, after $r ${d_r} ms"
check "gap 1->2 >= 100 ms" test "$g12" -ge 100
check "gap 2->3 >= 200 ms" test "$g23" -ge 200
if ((c == 3)); then
    echo "# attempt 3 timed out after $((at_c - t[2])) ms"
    check "attempt 3 gave up after its 1 s timeout (counted from before A saw it)" \
        test $((at_c - t[2])) -ge 800
fi
check "delay after attempt $c >= $((b_c / 2)) ms" test "$d_c" -ge $((b_c / 2))
check "delay after attempt $r >= $((b_r / 2)) ms" test "$d_r" -ge $((b_r / 2))
# The documented maximum, plus slack for a busy machine (the stored delay also holds
# the time between the scheduler's clock read and Redis's).
check "gap 1->2 <= 200 ms + 1 s" test "$g12" -le 1200
check "gap 2->3 <= 400 ms + 1 s" test "$g23" -le 1400
check "delay after attempt $c <= $b_c ms + 500" test "$d_c" -le $((b_c + 500))
check "delay after attempt $r <= $b_r ms + 500" test "$d_r" -le $((b_r + 500))
check "attempt $((last_failed + 1)) not before its retry time" \
    test "$t_last" -ge $((retry_due_last - 5))
check "attempt $((last_failed + 1)) within 1 s of its retry time" \
    test "$t_last" -le $((retry_due_last + 1000))
check "the last gaps are larger than the first (after $r > 1->2)" test "$d_r" -gt "$g12"
check "the last gaps are larger than the first (3->$((last_failed + 1)) > 2->3)" \
    test "$g3_last" -gt "$g23"

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
    "$(tr_redis ZSCORE "$(tr_k_of "$key" due)" "$key"):$(tr_redis ZSCORE "$(tr_k_of "$key" inflight)" "$key"):$(tr_redis ZSCORE "$(tr_k_of "$key" dead)" "$key")"

ts_no_sanitizer_reports

tr_finish
