#!/usr/bin/env bash
# test_tcp_notifier.sh - the ip:port TCP notifier (scheduler/tr_notify_tcp.h,
# docs/PROTOCOL.md "TCP targets"): tcp://HOST:PORT and bare HOST:PORT targets get one
# JSON line per notification over a kept connection and answer one line each.
# Receivers: tests/sink/timerush-linesink (modes per line) and socat.
# Covers: creation (accepted forms, ret 4 / 13), delivery and its line, chaining,
# a retry after each failure (garbage, ret 1, half an answer then close, close without
# an answer, a receiver that stops reading), the policy on the resolved address,
# 10,000 notifications over one connection (lost and doubled counted), and a receiver
# killed mid-stream.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tr_setup

LINESINK="$TR_BUILD_DIR/tests/sink/timerush-linesink"
T_START=$(tr_now_ms)
section() { echo "# +$(($(tr_now_ms) - T_START)) ms: $1"; }

# start_line NAME [--port N] [MODE...]: a line receiver (tr_start_receiver: LINESINK is
# the program); sets LS_<NAME>_PORT, _LOG, _PID.
start_line() {
    local name=$1
    shift
    tr_start_receiver LS "$name" "$LINESINK" "$@"
}
# lines NAME [JQ_SELECT]: lines received by NAME matching the selection.
lines() {
    local v="LS_$1_LOG"
    if [[ -z "${2:-}" ]]; then wc -l <"${!v}"; else jq -c "$2" "${!v}" 2>/dev/null | wc -l; fi
}
# (Polled: while the log holds fewer than N lines it fails at once, without jq.)
has_lines() {
    local v="LS_$1_LOG" l=()
    [[ -f ${!v} ]] && mapfile -t l <"${!v}"
    ((${#l[@]} >= $2)) || return 1
    (($(lines "$1" "${3:-.}") >= $2))
}
# v1 URL DATA_JSON DELAY_MS: creates a timer with /v1/timers, prints the answer.
v1() { tr_post /v1/timers "$(jq -cn --arg u "$1" --argjson d "$2" --argjson ms "$3" \
    '{url: $u, data: $d, delay_ms: $ms}')"; }
timer_gone() { [[ $(curl -s -o /dev/null -w '%{http_code}' "$TR_URL/v1/timers/$1") == 404 ]]; }

DENY_PORT=$(tr_free_port)
tr_start_stack --timeout-ms 1500 --connect-timeout-ms 500 --backoff-min-ms 100 \
    --backoff-max-ms 200 --max-body 262144 --callback-deny "127.0.0.1:$DENY_PORT" || tr_finish

# --- creation ------------------------------------------------------------------
section "creation"
start_line A || tr_finish
T0=$(tr_now_ms)
K1=$(tr_register "tcp://127.0.0.1:$LS_A_PORT" '{"order":42}' 1)
check "a tcp://HOST:PORT callback_cmd registers" test -n "$K1"
K2=$(tr_register "127.0.0.1:$LS_A_PORT" '"plain text"' 1)
check "a bare HOST:PORT callback_cmd registers" test -n "$K2"
K3=$(v1 "tcp://localhost:$LS_A_PORT" '[1,2]' 300 | jq -r '.timer.key // empty')
check "/v1/timers takes a tcp url" test -n "$K3"
check_eq "tcp:// without a port is ret 4" 4 \
    "$(tr_post /register/ '{"callback_cmd":"tcp://127.0.0.1","callback_data":"x","seconds":1}' | jq -r .ret)"
check_eq "port 0 is ret 4" 4 \
    "$(tr_post /register/ '{"callback_cmd":"127.0.0.1:0","callback_data":"x","seconds":1}' | jq -r .ret)"
check_eq "a path after the port is ret 4" 4 \
    "$(tr_post /register/ '{"callback_cmd":"tcp://h:9/x","callback_data":"x","seconds":1}' | jq -r .ret)"
check_eq "a refused literal address is ret 13 at creation" 13 \
    "$(tr_post /register/ '{"callback_cmd":"tcp://0.0.0.0:9100","callback_data":"x","seconds":1}' | jq -r .ret)"
check_eq "/v1/timers: a bad tcp url is 400" 400 \
    "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        --data-binary '{"url":"tcp://h:99999","data":"x","delay_ms":1}' "$TR_URL/v1/timers")"

# --- delivery ------------------------------------------------------------------
section "delivery"
tr_wait_for "three lines arrive at the receiver" 5 has_lines A 3
L1=$(jq -c --arg k "$K1" 'select(.key == $k)' "$LS_A_LOG" | head -n 1)
check_eq "the line carries data as JSON" '{"order":42}' "$(jq -c .data <<<"$L1")"
check_eq "attempt 1" 1 "$(jq -r .attempt <<<"$L1")"
DUE=$(jq -r .due_ms <<<"$L1")
if ((DUE >= T0 + 900 && DUE <= T0 + 2500)); then
    tr_pass "due_ms is the due time (${DUE} - start ${T0})"
else
    tr_fail "due_ms is the due time" "due $DUE start $T0"
fi
check_eq "a text body is a JSON string" '"plain text"' \
    "$(jq -c --arg k "$K2" 'select(.key == $k) | .data' "$LS_A_LOG")"
check_eq "the line's fields, in order" "key attempt due_ms data" \
    "$(head -n 1 "$LS_A_LOG" | jq -r 'keys_unsorted | join(" ")')"
tr_wait_for "the answered timers are done" 3 timer_gone "$K1"
check_eq "one connection per target name (127.0.0.1, localhost) for the three" 2 \
    "$(grep -c '^accepted' "$TR_TMP/ls.A.err")"

# --- chaining ------------------------------------------------------------------
section "chaining"
start_line B || tr_finish
start_line C --chain "{\"callback_cmd\":\"tcp://127.0.0.1:$LS_B_PORT\",\"callback_data\":\"second\",\"seconds\":1}" chain ok || tr_finish
KC=$(tr_register "tcp://127.0.0.1:$LS_C_PORT" '"first"' 1)
tr_wait_for "the first line arrives" 4 has_lines C 1
tr_wait_for "the chained timer's line arrives at B" 5 has_lines B 1
check_eq "the chained line's data" '"second"' "$(head -n 1 "$LS_B_LOG" | jq -c .data)"
check "the chained timer has a key of its own" test "$(head -n 1 "$LS_B_LOG" | jq -r .key)" != "$KC"

# --- a retry after each failure -------------------------------------------------
section "retries"
# Each receiver answers its first line badly, then ok: the timer arrives twice
# (attempts 1 and 2) and is then done.
MODES=(garbage ret:1 half close stopread)
declare -A RK
for mode in "${MODES[@]}"; do
    n=${mode//:/_}
    start_line "$n" "$mode" ok || continue
    port_var="LS_${n}_PORT"
    RK[$mode]=$(tr_register "127.0.0.1:${!port_var}" '"r"' 1)
done
for mode in "${MODES[@]}"; do
    n=${mode//:/_}
    log_var="LS_${n}_LOG"
    tr_wait_for "$mode: the line comes again" 8 has_lines "$n" 2
    check_eq "$mode: attempts 1 then 2" "1 2" "$(jq -r .attempt "${!log_var}" | head -n 2 | paste -sd' ')"
    tr_wait_for "$mode: then done" 3 timer_gone "${RK[$mode]}"
done

# --- the destination policy on the resolved address ------------------------------
section "policy"
if getent hosts localhost | grep -q '127.0.0.1'; then
    KD=$(tr_register "localhost:$DENY_PORT" '"x"' 1)
    check "a name passes creation" test -n "$KD"
    dead_has() { tr_redis ZSCORE "$(tr_k_of "$KD" dead)" "$KD" | grep -q .; }
    tr_wait_for "delivery to a refused resolved address is dead at once" 5 dead_has
else
    tr_pass "skipped: localhost does not resolve to 127.0.0.1 here"
fi

# --- socat as the receiver (the README's example) ----------------------------------
section "socat"
SP=$(tr_free_port)
# socat parses quotes in its addresses itself: the receiver loop is a script file.
printf '%s\n' 'while read -r line; do printf "%s\n" "$line" >>"$1"; echo "{\"ret\":0}"; done' \
    >"$TR_TMP/ack.sh"
socat "TCP-LISTEN:$SP,reuseaddr,fork,bind=127.0.0.1" EXEC:"sh $TR_TMP/ack.sh $TR_TMP/socat.out" \
    2>>"$TR_TMP/socat.err" &
tr_track_pid $!
tr_poll 5 bash -c "ss -ltn | grep -q '127.0.0.1:$SP '" || tr_fail "socat listens"
KS=$(tr_register "tcp://127.0.0.1:$SP" '{"via":"socat"}' 1)
socat_has() { grep -q "\"key\":\"$KS\"" "$TR_TMP/socat.out" 2>/dev/null; }
tr_wait_for "socat receives the line" 6 socat_has
tr_wait_for "socat's answer acks it" 5 timer_gone "$KS"

# --- 10,000 over one connection -----------------------------------------------------
section "10,000 over one connection"
start_line M --stamp || tr_finish
batch() { # batch PORT FROM TO AT_MS: timers FROM..TO-1 due at AT_MS (epoch ms; 0: now)
    jq -cn --arg u "tcp://127.0.0.1:$1" --argjson a "$2" --argjson b "$3" --argjson at "$4" \
        '{timers: [range($a; $b) | {url: $u, data: {n: .}, at: $at}]}' |
        curl -sS --max-time 20 -X POST -H 'Content-Type: application/json' --data-binary @- \
            "$TR_URL/v1/timers/batch" | jq '[.results[] | select(.status == 201)] | length'
}
made=0
for i in $(seq 0 9); do made=$((made + $(batch "$LS_M_PORT" $((i * 1000)) $((i * 1000 + 1000)) 0))); done
check_eq "10,000 timers made" 10000 "$made"
tr_wait_for "10,000 lines arrive" 30 has_lines M 10000
# Nothing due or in flight (the policy test's timer stays in the dead-letter set).
all_gone() { [[ $(tr_due_count) == 0 && $(tr_sum_shards ZCARD inflight) == 0 ]]; }
tr_wait_for "and are acked" 10 all_gone
TOTAL=$(lines M)
UNIQ=$(jq -r .key "$LS_M_LOG" | sort -u | wc -l)
echo "# 10,000 over one connection: received $TOTAL, distinct $UNIQ, lost $((10000 - UNIQ)), doubled $((TOTAL - UNIQ)), connections $(grep -c '^accepted' "$TR_TMP/ls.M.err"), lateness at the receiver p50/max $(jq -rs 'map(.t_us / 1000 - .due_ms) | sort | "\(.[length / 2 | floor] | floor)/\(.[-1] | floor)"' "$LS_M_LOG") ms (due as created, in 10 batches)"
check_eq "none lost" 10000 "$UNIQ"
check_eq "none doubled" "$UNIQ" "$TOTAL"
check_eq "one connection" 1 "$(grep -c '^accepted' "$TR_TMP/ls.M.err")"

# --- a receiver killed mid-stream ----------------------------------------------------
section "receiver killed"
start_line K --line-delay-us 1000 || tr_finish
KPORT=$LS_K_PORT
T_K=$(($(tr_now_ms) + 2500))
made=$(( $(batch "$KPORT" 0 1000 "$T_K") + $(batch "$KPORT" 1000 2000 "$T_K") ))
check_eq "2,000 timers made" 2000 "$made"
tr_wait_for "the stream has begun" 10 has_lines K 200
kill -9 "$LS_K_PID"
wait "$LS_K_PID" 2>/dev/null
AT_KILL=$(lines K)
"$LINESINK" --port "$KPORT" --port-file "$TR_TMP/ls.K2.port" --log "$LS_K_LOG" 2>>"$TR_TMP/ls.K.err" &
tr_track_pid $!
# jq -R 'fromjson?': a line the killed receiver left half-written is skipped, not fatal.
keys_of() { jq -rR 'fromjson? | .key' "$1"; }
k_all() { (($(keys_of "$LS_K_LOG" | sort -u | wc -l) >= 2000)); }
tr_wait_for "every timer arrives after the restart" 20 k_all
tr_wait_for "and all are acked" 10 all_gone
TOTAL=$(lines K)
UNIQ=$(keys_of "$LS_K_LOG" | sort -u | wc -l)
echo "# receiver kill -9 after $AT_KILL of 2,000 lines: received $TOTAL, distinct $UNIQ, lost $((2000 - UNIQ)), doubled $((TOTAL - UNIQ))"
check_eq "none lost across the kill" 2000 "$UNIQ"
# Doubles: only what was on the wire or unanswered at the kill (at most --host-limit 64).
check "doubled at most what was outstanding (64)" test $((TOTAL - UNIQ)) -le 64

section "done"
tr_stop_stack
tr_finish
