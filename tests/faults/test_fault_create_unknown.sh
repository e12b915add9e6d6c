#!/usr/bin/env bash
# test_fault_create_unknown.sh - an error must not claim that nothing happened.
# A create that reached Redis but got no answer (Redis SIGSTOPped after the request
# was written) may be applied later: it answers ret 12 "outcome unknown" with the
# key (compat) or 503 outcome_unknown (REST), never ret 10 "store unavailable"; and
# the timer it named is indeed created once Redis resumes and is delivered. A create
# that could not reach Redis at all (no server) answers ret 10 and creates nothing.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../integration" && pwd)
source "$here/lib.sh"
source "$here/lib_api.sh"
source "$here/lib_sched.sh"
ts_setup

tr_start_sink A || tr_finish
check "a redis-server of our own runs" ts_start_redis
# One worker, its connection made and scripts loaded by a first request, so the
# create under test is written to Redis before the stall bites.
tr_start_stack --redis-socket "$TS_REDIS_SOCK" --workers 1 --redis-timeout-ms 500 || tr_finish
TR_REDIS_SOCK=$TS_REDIS_SOCK
check "a first timer registers (warms the worker's connection)" \
    test -n "$(ts_register "$SINK_A_URL/warm" warm 1)"

kill -STOP "$TS_REDIS_PID"
answer=$(TR_POST_MAX_TIME=20 tr_post /register/ \
    "{\"callback_cmd\":\"$SINK_A_URL/unknown\",\"callback_data\":\"u\",\"seconds\":1}")
echo "# register during the stall answered: $answer"
check_eq "ret 12 (outcome unknown), not 10" 12 "$(jq -r .ret <<<"$answer")"
key=$(jq -r .msg <<<"$answer" | grep -oE 'of key [A-Za-z0-9_.]{16} ' | cut -d' ' -f3)
check "the message names the key" test -n "$key"
kill -CONT "$TS_REDIS_PID"

# Redis now runs what it had received: both timers exist and fire.
got_unknown() { (($(ts_sink_count_key "$SINK_A_LOG" "$key") >= 1)); }
tr_wait_for "the timer of the unknown outcome was created and is delivered" 15 got_unknown

# The same through the REST API (the stall made the worker drop its connection:
# warm it again first).
check "a timer registers again (the worker reconnects)" \
    test -n "$(ts_register "$SINK_A_URL/warm" warm 1)"
kill -STOP "$TS_REDIS_PID"
api POST /v1/timers "{\"key\":\"rest-unknown\",\"url\":\"$SINK_A_URL/rest\",\"data\":\"r\",\"delay_ms\":1000}"
echo "# REST create during the stall: HTTP $API_STATUS $API_BODY"
kill -CONT "$TS_REDIS_PID"
check_eq "REST create answers 503" 503 "$API_STATUS"
check_eq "with code outcome_unknown" outcome_unknown "$(jqb .error.code)"
got_rest() { (($(ts_sink_count_key "$SINK_A_LOG" rest-unknown) >= 1)); }
tr_wait_for "the REST timer was created all the same and is delivered" 15 got_rest

# Redis gone (killed, socket file left): nothing can be sent, ret 10, nothing created.
kill -KILL "$TS_REDIS_PID"
wait "$TS_REDIS_PID" 2>/dev/null
answer=$(tr_post /register/ "{\"callback_cmd\":\"$SINK_A_URL/down\",\"callback_data\":\"d\",\"seconds\":1}")
echo "# register with redis down answered: $answer"
check_eq "ret 10 (store unavailable: nothing changed)" 10 "$(jq -r .ret <<<"$answer")"
check "redis restarts" ts_restart_redis
check_eq "no timer was created for it" 0 "$(tr_rec_values | grep -c /down)"
ts_no_sanitizer_reports
tr_stop_stack
tr_finish
