#!/usr/bin/env bash
# /unregister/ before due -> the ttl left, and the callback never comes.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tr_setup
tr_start_sink A
tr_start_stack || tr_finish

reg() { # PATH SECONDS -> key
    tr_post /register/ "$(jq -cn --arg u "$SINK_A_URL$1" --argjson s "$2" \
        '{callback_cmd: $u, callback_data: "x", seconds: $s}')" | jq -r '.data.key // empty'
}
unreg() { tr_post /unregister/ "$(jq -cn --arg k "$1" '{key: $k}')"; }

K30=$(reg /k30 30)
A30=$(unreg "$K30")
check_eq "unregister answers ret 0" 0 "$(jq -r .ret <<<"$A30")"
TTL=$(jq -r .data.ttl <<<"$A30")
check "seconds=30 -> ttl 30 or 29 right after (got $TTL)" test "$TTL" = 30 -o "$TTL" = 29
check "the answer is {ret:0,data:{ttl}} with an integer ttl" \
    jq -e '(keys == ["data","ret"]) and (.data | keys == ["ttl"]) and (.data.ttl | type == "number" and floor == .)' <<<"$A30"

T0=$(tr_now_ms)
K2=$(reg /k2 2)
KC=$(reg /control 2)   # not cancelled: proves the scheduler runs meanwhile
check "the timer to cancel is due" test -n "$(tr_redis ZSCORE "$(tr_k_of "$K2" due)" "$K2")"
A2=$(unreg "$K2")
TTL2=$(jq -r .data.ttl <<<"$A2")
check "seconds=2 -> ttl 2 or 1 (got $TTL2)" test "$TTL2" = 2 -o "$TTL2" = 1
check_eq "the cancelled timer leaves the due set" "" "$(tr_redis ZSCORE "$(tr_k_of "$K2" due)" "$K2")"
check_eq "its record is gone" 0 "$(tr_rec_exists "$K2")"

check_eq "a second unregister of the same key: ttl 0" '{"ret":0,"data":{"ttl":0}}' \
    "$(unreg "$K2" | jq -c .)"
check_eq "unregister of an unknown key: ttl 0" '{"ret":0,"data":{"ttl":0}}' \
    "$(unreg "no-such-key-0000" | jq -c .)"

tr_wait_for "the uncancelled control timer arrives" 5 \
    tr_sink_has A 1 "select(.key == \"$KC\")"
# Wait past the cancelled timer's due time + 1 s before asserting that none came.
tr_sleep_until_ms $((T0 + 3000))
check_eq "no callback ever arrives for the cancelled timers" 0 \
    "$(tr_sink_count A "select(.key == \"$K2\" or .key == \"$K30\")")"
check_eq "only the control timer was delivered" 1 "$(tr_sink_count A)"

tr_stop_stack
tr_finish
