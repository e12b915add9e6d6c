#!/usr/bin/env bash
# selftest.sh SINK_BINARY - checks timerush-sink against its contract with curl.
source "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
SINK_BIN=$1
tr_setup
TR_BUILD_DIR=$TR_TMP/bin
mkdir -p "$TR_BUILD_DIR/tests/sink" && ln -s "$SINK_BIN" "$TR_BUILD_DIR/tests/sink/timerush-sink"

tr_start_sink A --answer status:500 --answer ret:3 --answer ok \
    --route /chain='chain:{"seconds":0}' --route /close=close --route /close=ok \
    --route /ra=retry-after:503:2 --route /slow=slow:300 --route /to=timeout \
    --route /garbage=garbage --route /drip=drip:20 --route /redir=redirect:302:http://127.0.0.1:9/in
check "the port file holds a port" grep -Eq '^[0-9]+$' "$TR_TMP/sink.A.port"

hit() { curl -sS --max-time "${2:-5}" -o "$TR_TMP/body" -D "$TR_TMP/head" \
    -H 'Content-Type: application/json' -H 'X-TimeRush-Key: k-1' \
    -H 'X-TimeRush-Attempt: 7' -H 'X-TimeRush-Due-Ms: 1234' --data-binary "$3" "$SINK_A_URL$1"; }
status() { head -n 1 "$TR_TMP/head" | cut -d' ' -f2; }

hit /x 5 '"q\"é"'
check_eq "answer 1: status:500" "500 {\"ret\":0}" "$(status) $(cat "$TR_TMP/body")"
hit /x 5 'b'
check_eq "answer 2: ret:3" "200 {\"ret\":3}" "$(status) $(cat "$TR_TMP/body")"
hit /x 5 'c'; hit /x 5 'd'
check_eq "the last answer repeats" "200 {\"ret\":0}" "$(status) $(cat "$TR_TMP/body")"
hit /chain 5 'x'
check_eq "chain:JSON" '{"ret":0,"data":{"seconds":0}}' "$(cat "$TR_TMP/body")"
hit /ra 5 'x'
check "retry-after:503:2" grep -q 'Retry-After: 2' "$TR_TMP/head"
check_eq "... with status 503" 503 "$(status)"
check "close: no answer" bash -c "! curl -sS --max-time 5 -d x $SINK_A_URL/close"
check "a route's list goes on in order" curl -sSf --max-time 5 -d x "$SINK_A_URL/close"
t0=$(tr_now_ms); hit /slow 5 'x'; dt=$(($(tr_now_ms) - t0))
check "slow:300 answers after ~300 ms (${dt} ms)" test "$dt" -ge 295 -a "$dt" -lt 2000
check "timeout: never answers" bash -c "! curl -sS --max-time 0.5 -d x $SINK_A_URL/to"

L1=$(head -n 1 "$SINK_A_LOG")
check_eq "log line fields" '{"n":1,"method":"POST","path":"/x","key":"k-1","attempt":7,"due_ms":1234,"ctype":"application/json","body":"\"q\\\"é\""}' \
    "$(jq -c 'del(.t_us)' <<<"$L1")"
check "t_us is the wall clock" test $(( $(tr_now_us) - $(jq .t_us <<<"$L1") )) -lt 60000000
check_eq "every request is logged" 10 "$(tr_sink_count A)"
check "every line is JSON" jq -e . "$SINK_A_LOG"

# (logged too: from here the count above no longer holds)
# Standard Webhooks headers are logged under "webhook" (tests/integration/test_signing.sh)
curl -sS --max-time 5 -o /dev/null -H 'webhook-id: msg_k_1_1' -H 'Webhook-Timestamp: 1614265330' \
    -H 'webhook-signature: v1,abc= v1,def=' --data-binary 'b' "$SINK_A_URL/wh"
check_eq "webhook headers logged" '{"id":"msg_k_1_1","timestamp":"1614265330","signature":"v1,abc= v1,def="}' \
    "$(tail -n 1 "$SINK_A_LOG" | jq -c .webhook)"
# garbage: no status line, then the connection closes; curl refuses it (no HTTP/0.9)
check "garbage: not an HTTP answer" bash -c "! curl -sS --max-time 5 -d x $SINK_A_URL/garbage"
curl -sS --max-time 5 --http0.9 -o "$TR_TMP/junk" -d x "$SINK_A_URL/garbage"
check "... the junk line, then close" grep -q '^this is not HTTP' "$TR_TMP/junk"
hit /redir 5 'x'
check_eq "redirect:302:URL" "302 Location: http://127.0.0.1:9/in" \
    "$(status) $(grep -i '^Location:' "$TR_TMP/head" | tr -d '\r')"
# drip:20: the ok answer one byte every 20 ms, so at least 78 x 20 ms for 79 bytes
t0=$(tr_now_ms); hit /drip 10 'x'; dt=$(($(tr_now_ms) - t0))
check_eq "drip:20: a whole ok answer" "200 {\"ret\":0}" "$(status) $(cat "$TR_TMP/body")"
check "... one byte every 20 ms (${dt} ms for 79 bytes)" test "$dt" -ge 1560 -a "$dt" -lt 8000

# keep-alive: one connection, two requests
curl -sS -o /dev/null -o /dev/null -w '%{num_connects}\n' -d a "$SINK_A_URL/k" -d b "$SINK_A_URL/k" >"$TR_TMP/nc"
check_eq "keep-alive reuses the connection" "1 0" "$(tr '\n' ' ' <"$TR_TMP/nc" | sed 's/ $//')"
# a body big enough for curl to send Expect: 100-continue
head -c 200000 /dev/zero | tr '\0' z >"$TR_TMP/big"
check "a 200 kB body with Expect: 100-continue" curl -sSf --max-time 5 -H 'Expect: 100-continue' \
    --data-binary @"$TR_TMP/big" "$SINK_A_URL/big"
check_eq "... is logged whole" 200000 "$(jq -r 'select(.path == "/big") | .body | length' "$SINK_A_LOG")"

PID=$SINK_A_PID
kill -TERM "$PID"
wait "$PID"
check_eq "SIGTERM: exit 0" 0 "$?"
tr_finish
