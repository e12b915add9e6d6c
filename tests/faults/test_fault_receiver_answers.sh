#!/usr/bin/env bash
# test_fault_receiver_answers.sh - receivers that answer, but not with a success.
# G: a receiver that answers garbage (a line that is not HTTP, then close: the sink's
#    `garbage`) to its first 2N requests, then recovers (200 {"ret":0}). Proves: every
#    garbage answer is a failed attempt (curl refuses it; nothing counts it delivered),
#    retried with back-off, and each timer is delivered once the receiver recovers,
#    the successful request carrying the attempt number that counts its failures.
# R: a receiver that answers 503 with Retry-After: S to its first N requests, then
#    recovers. Proves: Retry-After is honoured (the retry comes no sooner than S,
#    although the back-off alone would retry after 100-200 ms), each timer is
#    delivered at its second attempt. Lost 0, no duplicates, attempts counted.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib_faults.sh"
ts_setup

n=${TR_FAULT_N:-20}
ra_s=${TR_FAULT_RETRY_AFTER_S:-2}
answers=()
for ((i = 0; i < 2 * n; i++)); do answers+=(--answer garbage); done
tr_start_sink G "${answers[@]}" --answer ok || tr_finish
answers=()
for ((i = 0; i < n; i++)); do answers+=(--answer "retry-after:503:$ra_s"); done
tr_start_sink R "${answers[@]}" --answer ok || tr_finish
tr_start_stack --backoff-min-ms 200 --backoff-max-ms 10000 --max-body 262144 || tr_finish

at=$(($(ts_now_ms) + 100))
check "$n timers to the garbage receiver" tf_create_batch "$TR_TMP/keys_g" rg "$n" "$SINK_G_URL/g" "$at"
check "$n timers to the 503 receiver" tf_create_batch "$TR_TMP/keys_r" rr "$n" "$SINK_R_URL/r" "$at"
# A success is a request after the failing answers (the sink answers in request order).
got_all() {
    jq -c --argjson f $((2 * n)) 'select(.n > $f)' "$SINK_G_LOG" >"$TR_TMP/ok_g"
    jq -c --argjson f "$n" 'select(.n > $f)' "$SINK_R_LOG" >"$TR_TMP/ok_r"
    ts_all_delivered "$TR_TMP/keys_g" "$TR_TMP/ok_g" && ts_all_delivered "$TR_TMP/keys_r" "$TR_TMP/ok_r"
}
tr_wait_for "every timer delivered once the receivers recovered" 30 got_all

# G: the garbage answers.
sched_log=$TR_RUN/log/scheduler.1.log
err=$(grep -m1 -oE 'key=rg-[0-9]+ failed attempt=1 status=[0-9]+ error=[^=]*' "$sched_log" |
    sed 's/ retry_in_ms$//')
echo "# G: a garbage answer in the scheduler's log: $err"
check "G: a garbage answer is a failed attempt" test -n "$err"
g_req=$(ts_sink_lines "$SINK_G_LOG")
echo "# G: $g_req requests for $n timers: $((2 * n)) garbage answers, then one success each;" \
    "attempts per timer: $(jq -r .key "$SINK_G_LOG" | sort | uniq -c | awk '{print $1}' |
        sort -n | uniq -c | awk '{printf "%s%s x%s", sep, $2, $1; sep = ", "}')"
check_eq "G: exactly 2N failed attempts + N deliveries" $((3 * n)) "$g_req"
# Each success carries the attempt number: its key's requests before it + 1.
bad=$(jq -rs --argjson f $((2 * n)) 'group_by(.key)[] | select(
        (map(select(.n > $f)) | length) != 1 or
        (map(select(.n > $f))[0].attempt != length)) | .[0].key' "$SINK_G_LOG" | head -3)
check_eq "G: the success's X-TimeRush-Attempt counts every failed attempt before it" "" "$bad"

# R: 503 + Retry-After.
gaps=$(jq -rs 'group_by(.key)[] | select(length == 2) | sort_by(.n) |
        ((.[1].t_us - .[0].t_us) / 1000 | floor)' "$SINK_R_LOG" | sort -n)
echo "# R: retry gap after 503 + Retry-After: $ra_s: min $(head -n1 <<<"$gaps") ms," \
    "max $(tail -n1 <<<"$gaps") ms (back-off alone: 100-200 ms)"
check_eq "R: every timer tried exactly twice" "$n 2" \
    "$(jq -r .key "$SINK_R_LOG" | sort | uniq -c | awk '{print $1}' | sort | uniq -c |
        awk '{print $1, $2}' | paste -sd,)"
check "R: Retry-After honoured (every retry >= $ra_s s after the 503)" \
    test "$(head -n1 <<<"$gaps")" -ge $((ra_s * 1000))
check_eq "R: the retries carry attempt 2" 2 \
    "$(jq -r --argjson f "$n" 'select(.n > $f) | .attempt' "$SINK_R_LOG" | sort -u | paste -sd,)"

retried=$(tr_redis HGET "$(ts_k stats)" retried)
echo "# attempts: $((g_req + $(ts_sink_lines "$SINK_R_LOG"))) for $((2 * n)) timers;" \
    "stats retried=$retried delivered=$(tr_redis HGET "$(ts_k stats)" delivered)"
check_eq "stats count every failed attempt as retried" $((3 * n)) "$retried"

cat "$TR_TMP/keys_g" "$TR_TMP/keys_r" >"$TR_TMP/keys"
{
    tf_deliveries "select(.n > $((2 * n)))" "$SINK_G_LOG"
    tf_deliveries "select(.n > $n)" "$SINK_R_LOG"
} >"$TR_TMP/delivered"
tf_check_outcome "$TR_TMP/keys" "$TR_TMP/delivered"
check_eq "no duplicates" 0 "$TF_DUPS"
ts_no_sanitizer_reports
tr_stop_stack
tr_finish
