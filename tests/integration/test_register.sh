#!/usr/bin/env bash
# /register/ -> the callback arrives with the exact body bytes, the headers, on time.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tr_setup
tr_start_sink A
tr_start_stack || tr_finish

# A string callback_data is POSTed byte for byte; quotes, backslash, unicode, newline.
STR=$'he said "h\u00e9llo" \u2713 \\ / {not json} \U0001F600\nline2'
# An object is POSTed in its compact JSON form.
OBJ_IN='{ "a" : 1, "b" : [ true, null, "x\"y" ], "u" : "é", "n" : { } }'
OBJ_OUT='{"a":1,"b":[true,null,"x\"y"],"u":"é","n":{}}'

register() { # PATH DATA_JSON SECONDS -> prints the answer
    local body
    body=$(jq -cn --arg u "$SINK_A_URL$1" --argjson d "$2" --argjson s "$3" \
        '{callback_cmd: $u, callback_data: $d, seconds: $s}')
    tr_post /register/ "$body"
}

T_STR=$(tr_now_ms)
ANS_STR=$(register /str "$(jq -n --arg s "$STR" '$s')" 2)
E_STR=$(tr_now_ms)
T_OBJ=$E_STR
ANS_OBJ=$(register /obj "$OBJ_IN" 2)
E_OBJ=$(tr_now_ms)
# seconds as a string holding a number, as the original accepted
T_SS=$E_OBJ
ANS_SS=$(register /strsec '"s"' '"1"')
E_SS=$(tr_now_ms)

check_eq "register answers ret 0" 0 "$(jq -r .ret <<<"$ANS_STR")"
KEY_STR=$(jq -r '.data.key // empty' <<<"$ANS_STR")
KEY_OBJ=$(jq -r '.data.key // empty' <<<"$ANS_OBJ")
KEY_SS=$(jq -r '.data.key // empty' <<<"$ANS_SS")
check "the answer is {ret:0,data:{key}} and nothing else" \
    jq -e '(keys == ["data","ret"]) and (.data | keys == ["key"])' <<<"$ANS_STR"
check "the key is 16 characters of [A-Za-z0-9_.]" grep -Eq '^[A-Za-z0-9_.]{16}$' <<<"$KEY_STR"
check "keys differ" test -n "$KEY_OBJ" -a "$KEY_STR" != "$KEY_OBJ"
check_eq "seconds given as a string is accepted" 0 "$(jq -r .ret <<<"$ANS_SS")"
# Read in this order, so a timer moving on meanwhile is still found (a loaded
# machine may take the 1 s timer's whole delay to get here).
stored() {
    [[ -n $(tr_redis ZSCORE "$(tr_k_of "$1" due)" "$1") || -n $(tr_redis ZSCORE "$(tr_k_of "$1" inflight)" "$1") ]] ||
        (($(tr_sink_count A "select(.key == \"$1\")") > 0))
}
check "the string timer is stored" stored "$KEY_STR"
check "the object timer is stored" stored "$KEY_OBJ"
check "the string-seconds timer is stored" stored "$KEY_SS"

tr_wait_for "the three callbacks arrive" 5 tr_sink_has A 3

line() { jq -c --arg k "$1" 'select(.key == $k)' "$SINK_A_LOG" | head -n 1; }
L_STR=$(line "$KEY_STR")
L_OBJ=$(line "$KEY_OBJ")
L_SS=$(line "$KEY_SS")

check_eq "string callback_data arrives byte for byte" "$STR" "$(jq -j .body <<<"$L_STR")"
check_eq "object callback_data arrives in compact form" "$OBJ_OUT" "$(jq -j .body <<<"$L_OBJ")"
check_eq "it is a POST to the registered path" "POST /str" "$(jq -j '.method + " " + .path' <<<"$L_STR")"
check_eq "Content-Type is application/json" "application/json" "$(jq -j .ctype <<<"$L_STR")"
check_eq "X-TimeRush-Attempt is 1" 1 "$(jq -j .attempt <<<"$L_STR")"
check_eq "the object's key header is its key" "$KEY_OBJ" "$(jq -j .key <<<"$L_OBJ")"

# Timing: the due time is fixed while the register request is served, so
# X-TimeRush-Due-Ms lies between (sent + seconds) and (answered + seconds), 10 ms of
# clock noise either way (a loaded machine may take a while to answer: that is not
# lateness). Arrival within 1 s after that due time, never before it - 10 ms.
timing() { # DESC LINE SENT_MS ANSWERED_MS SECONDS
    local t_ms=$(( $(jq -j .t_us <<<"$2") / 1000 )) hdr
    hdr=$(jq -j .due_ms <<<"$2")
    local lo=$(( $3 + $5 * 1000 - 10 )) hi=$(( $4 + $5 * 1000 + 10 ))
    if ((hdr >= lo && hdr <= hi)); then
        tr_pass "$1 X-TimeRush-Due-Ms is the due time (sent + $(($hdr - $3 - $5 * 1000)) ms; answered after $(($4 - $3)) ms)"
    else
        tr_fail "$1 X-TimeRush-Due-Ms is the due time" "header $hdr, want $lo..$hi"
    fi
    local late=$((t_ms - hdr))
    if ((late >= -10 && late <= 1000)); then
        tr_pass "$1 arrives on time (${late} ms after due)"
    else
        tr_fail "$1 arrives on time" "${late} ms after due"
    fi
}
timing "string timer" "$L_STR" "$T_STR" "$E_STR" 2
timing "object timer" "$L_OBJ" "$T_OBJ" "$E_OBJ" 2
timing "string-seconds timer" "$L_SS" "$T_SS" "$E_SS" 1

# Done means gone: the record leaves Redis and nothing is delivered twice.
tr_wait_for "the records are removed after delivery" 3 \
    tr_no_timers_left
check_eq "nothing is due any more" 0 "$(tr_due_count)"
sleep 1 # bounded: proves no second delivery
check_eq "each timer was delivered exactly once" 3 "$(tr_sink_count A)"

tr_stop_stack
tr_finish
