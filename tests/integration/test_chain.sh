#!/usr/bin/env bash
# Chaining: an answer {"ret":0,"data":{callback_cmd,callback_data,seconds}} acks the
# timer and creates the next one; "seconds":0 chains nothing.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tr_setup
tr_start_sink B                         # where chained timers go
tr_start_sink A \
    --route "/first=chain:{\"callback_cmd\":\"$SINK_B_URL/second\",\"callback_data\":\"second\",\"seconds\":1}" \
    --route "/zero=chain:{\"callback_cmd\":\"$SINK_B_URL/never\",\"callback_data\":\"never\",\"seconds\":0}"
tr_start_stack || tr_finish

K1=$(tr_register "$SINK_A_URL/first" '"first"' 1)
K0=$(tr_register "$SINK_A_URL/zero" '"zero"' 1)
check "both timers register" test -n "$K1" -a -n "$K0"

tr_wait_for "the first callback arrives" 4 tr_sink_has A 1 'select(.path == "/first")'
tr_wait_for "the chained callback arrives" 5 tr_sink_has B 1 'select(.path == "/second")'

L1=$(jq -c 'select(.path == "/first")' "$SINK_A_LOG" | head -n 1)
L2=$(jq -c 'select(.path == "/second")' "$SINK_B_LOG" | head -n 1)
check_eq "the chained body is the chain's callback_data" "second" "$(jq -j .body <<<"$L2")"
check_eq "it is its first attempt" 1 "$(jq -j .attempt <<<"$L2")"
K2=$(jq -j .key <<<"$L2")
check "the chained timer has a key of its own" test -n "$K2" -a "$K2" != "$K1"
GAP=$(( ($(jq -j .t_us <<<"$L2") - $(jq -j .t_us <<<"$L1")) / 1000 ))
if ((GAP >= 990 && GAP <= 2000)); then
    tr_pass "it arrives ~1 s after the first (${GAP} ms)"
else
    tr_fail "it arrives ~1 s after the first" "${GAP} ms"
fi

tr_wait_for "the zero-second chain's first callback arrived" 3 tr_sink_has A 1 'select(.path == "/zero")'
tr_wait_for "all records are gone" 3 tr_no_timers_left
T_ZERO=$(( $(jq -j 'select(.path == "/zero") | .t_us' "$SINK_A_LOG" | head -n 1) / 1000 ))
while (($(tr_now_ms) < T_ZERO + 2000)); do sleep 0.05; done # bounded: proves absence
check_eq "a chain with seconds 0 chains nothing" 0 "$(tr_sink_count B 'select(.path == "/never")')"
check_eq "each callback came once" "1 1 1" \
    "$(tr_sink_count A 'select(.path == "/first")') $(tr_sink_count A 'select(.path == "/zero")') $(tr_sink_count B)"
check_eq "nothing is left due" 0 "$(tr_due_count)"

tr_stop_stack
tr_finish
