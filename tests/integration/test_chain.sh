#!/usr/bin/env bash
# Chaining: an answer {"ret":0,"data":{callback_cmd,callback_data,seconds}} acks the
# timer and creates the next one; "seconds":0 chains nothing; a timer's chain_limit
# bounds how many generations its answers may chain (inherited, lowered by 1 each).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tr_setup
tr_start_sink B                         # where chained timers go
tr_start_sink A \
    --route "/first=chain:{\"callback_cmd\":\"$SINK_B_URL/second\",\"callback_data\":\"second\",\"seconds\":1}" \
    --route "/zero=chain:{\"callback_cmd\":\"$SINK_B_URL/never\",\"callback_data\":\"never\",\"seconds\":0}"
# Receivers that chain to themselves forever: only chain_limit stops them.
PC=$(tr_free_port)
TR_SINK_PORT=$PC tr_start_sink C \
    --route "/loop=chain:{\"callback_cmd\":\"http://127.0.0.1:$PC/loop\",\"callback_data\":\"loop\",\"seconds\":1}" \
    --route "/none=chain:{\"callback_cmd\":\"http://127.0.0.1:$PC/none\",\"callback_data\":\"none\",\"seconds\":1}" \
    --route "/lower=chain:{\"callback_cmd\":\"http://127.0.0.1:$PC/lower\",\"callback_data\":\"lower\",\"seconds\":1,\"chain_limit\":0}"
tr_start_stack || tr_finish

# chain_limit 2 on /register/: the timer and two chained generations, then refused.
KL=$(tr_post /register/ "{\"callback_cmd\":\"$SINK_C_URL/loop\",\"callback_data\":\"loop\",\"seconds\":1,\"chain_limit\":2}" | jq -r '.data.key // empty')
# chain_limit 0 on /v1/timers: delivered, its chain refused; GET shows the limit.
KN=$(tr_post /v1/timers "{\"url\":\"$SINK_C_URL/none\",\"data\":\"none\",\"delay_ms\":1000,\"chain_limit\":0}" | jq -r '.timer.key // empty')
# GET on one due in 10 min (KN may have fired already on a loaded machine).
KG=$(tr_post /v1/timers "{\"url\":\"$SINK_C_URL/get\",\"data\":\"get\",\"delay_ms\":600000,\"chain_limit\":0}" | jq -r '.timer.key // empty')
check_eq "GET shows a timer's chain_limit" 0 "$(curl -sS "$TR_URL/v1/timers/$KG" | jq -r .timer.chain_limit)"
check_eq "that timer cancelled" 200 "$(curl -sS -o /dev/null -w '%{http_code}' -X DELETE "$TR_URL/v1/timers/$KG")"
# A limit of 5 that the answer lowers to 0: one chained timer, not five.
KW=$(tr_post /v1/timers "{\"url\":\"$SINK_C_URL/lower\",\"data\":\"lower\",\"delay_ms\":1000,\"chain_limit\":5}" | jq -r '.timer.key // empty')
check "the chain-limited timers are created" test -n "$KL" -a -n "$KN" -a -n "$KW"

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
tr_sleep_until_ms $((T_ZERO + 2000)) # bounded: proves absence
check_eq "a chain with seconds 0 chains nothing" 0 "$(tr_sink_count B 'select(.path == "/never")')"
check_eq "each callback came once" "1 1 1" \
    "$(tr_sink_count A 'select(.path == "/first")') $(tr_sink_count A 'select(.path == "/zero")') $(tr_sink_count B)"
check_eq "nothing is left due" 0 "$(tr_due_count)"

tr_wait_for "chain_limit 2: the timer and two generations arrive" 8 tr_sink_has C 3 'select(.path == "/loop")'
tr_wait_for "every chain-limited record is gone" 4 tr_no_timers_left
T_LAST=$(( $(jq -r 'select(.path == "/loop") | .t_us' "$SINK_C_LOG" | tail -n 1) / 1000 ))
tr_sleep_until_ms $((T_LAST + 1500)) # bounded: proves absence
check_eq "chain_limit 2: exactly three /loop deliveries" 3 "$(tr_sink_count C 'select(.path == "/loop")')"
check_eq "chain_limit 0: one /none delivery, no chain" 1 "$(tr_sink_count C 'select(.path == "/none")')"
check_eq "a limit lowered by the answer: two /lower deliveries" 2 "$(tr_sink_count C 'select(.path == "/lower")')"
check_eq "the scheduler logged three chains refused by chain_limit" 3 \
    "$(grep -c 'chain refused: its chain_limit is 0' "$TR_RUN"/log/*scheduler*.log | awk -F: '{s += $NF} END {print s}')"

tr_stop_stack
tr_finish
