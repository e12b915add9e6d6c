#!/usr/bin/env bash
# test_api_timers.sh - the REST API's timer endpoints against the real stack and a
# real receiver: create (201, idempotent 200, conflict 409), get, delete, batch,
# reschedule, "at" in the past fires at once, and every kind of bad input.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/lib_api.sh"
tr_setup
tr_start_sink A --answer ok || tr_finish
tr_start_stack || tr_finish
U=$SINK_A_URL

# --- create, get, idempotency ---------------------------------------------------
body="{\"key\":\"t-1\",\"url\":\"$U/one\",\"data\":{\"a\":1},\"delay_ms\":600000}"
api POST /v1/timers "$body"
check_api "create answers 201" 201
check_eq "create: key" "t-1" "$(jqb .timer.key)"
check_eq "create: state pending" "pending" "$(jqb .timer.state)"
check_eq "create: object data sent compact" '{"a":1}' "$(jqb .timer.data)"
check "create: ttl_ms about 600000" test "$(jqb .timer.ttl_ms)" -gt 590000
check "create: Content-Type application/json" grep -qi '^content-type: application/json' <<<"$API_HEADERS"
due=$(jqb .timer.due_ms)
api POST /v1/timers "$body"
check_api "same key, same body: 200" 200
check_eq "... the existing timer" "$due" "$(jqb .timer.due_ms)"
api POST /v1/timers "{\"key\":\"t-1\",\"url\":\"$U/other\",\"data\":\"x\",\"delay_ms\":1000}"
check_api "same key, another body: 409" 409 conflict
api GET /v1/timers/t-1
check_api "get answers 200" 200
check_eq "get: url" "$U/one" "$(jqb .timer.url)"
check_eq "get: attempts 0" 0 "$(jqb .timer.attempts)"
check_eq "get: last_status null" null "$(jqb .timer.last_status)"
api POST /v1/timers "{\"url\":\"$U/gen\",\"data\":\"x\",\"seconds\":600.5}"
check_api "create without key: 201" 201
check "... a generated key: 16 characters of [A-Za-z0-9_.]" grep -Eq '^[A-Za-z0-9_.]{16}$' <<<"$(jqb .timer.key)"
api POST /v1/timers "{\"key\":\"t-pol\",\"url\":\"$U/p\",\"data\":\"x\",\"at\":\"2030-01-01T00:00:00+01:00\",\"headers\":{\"X-Trace\":\"abc\"},\"retry\":{\"max_attempts\":3,\"min_backoff_ms\":10,\"max_backoff_ms\":100},\"timeout_ms\":500,\"failure_url\":\"$U/fail\"}"
check_api "create with RFC 3339 at and per-timer policy: 201" 201
check_eq "... due_ms from the offset" 1893452400000 "$(jqb .timer.due_ms)"
check_eq "... headers kept" abc "$(jqb '.timer.headers["X-Trace"]')"
check_eq "... retry kept" 3 "$(jqb .timer.retry.max_attempts)"
check_eq "... timeout_ms kept" 500 "$(jqb .timer.timeout_ms)"
api POST /v1/timers "{\"key\":\"t-every\",\"url\":\"$U/e\",\"data\":\"x\",\"every_ms\":600000,\"count\":3}"
check_api "create recurring (every_ms): 201" 201
check_eq "... schedule shown" '600000 3 0' "$(jqb '"\(.timer.schedule.every_ms) \(.timer.schedule.count) \(.timer.schedule.fired)"')"
api POST /v1/timers "{\"key\":\"t-cron\",\"url\":\"$U/c\",\"data\":\"x\",\"cron\":\"*/5 * * * *\"}"
check_api "create recurring (cron): 201" 201
check_eq "... first firing on a 5-minute boundary" 0 "$(( $(jqb .timer.due_ms) % 300000 ))"

# --- at in the past fires at once ------------------------------------------------
api POST /v1/timers "{\"key\":\"t-past\",\"url\":\"$U/past\",\"data\":\"p\",\"at\":\"2001-01-01T00:00:00Z\"}"
check_api "at in the past: 201" 201
past_seen() { (($(sink_count_path "$SINK_A_LOG" /past) >= 1)); }
tr_wait_for "at in the past is delivered at once" 5 past_seen

# --- delete -----------------------------------------------------------------------
api DELETE /v1/timers/t-1
check_api "delete answers 200" 200
check_eq "delete: state it was in" pending "$(jqb .state)"
check "delete: ttl_ms left" test "$(jqb .ttl_ms)" -gt 500000
api DELETE /v1/timers/t-1
check_api "delete again: 404" 404 not_found
api GET /v1/timers/t-1
check_api "get after delete: 404" 404 not_found

# --- reschedule -------------------------------------------------------------------
api POST /v1/timers/t-every/reschedule '{"delay_ms":1234567}'
check_api "reschedule: 200" 200
check "reschedule: new ttl" test "$(jqb .timer.ttl_ms)" -gt 1200000
api POST /v1/timers/nope/reschedule '{"delay_ms":1}'
check_api "reschedule unknown: 404" 404 not_found
api POST /v1/timers/t-every/reschedule '{"delay_ms":1,"at":5}'
check_api "reschedule with two times: 400" 400 invalid_field
api POST /v1/timers/t-every/reschedule '{"delay_ms":1,"url":"http://x/"}'
check_api "reschedule with another field: 400" 400 invalid_field

# --- batch ------------------------------------------------------------------------
api POST /v1/timers/batch "{\"timers\":[{\"key\":\"b-1\",\"url\":\"$U/b\",\"data\":\"1\",\"delay_ms\":600000},{\"url\":\"$U/b\",\"data\":\"2\"},{\"key\":\"b-1\",\"url\":\"$U/b\",\"data\":\"1\",\"delay_ms\":600000},{\"key\":\"b-1\",\"url\":\"$U/b\",\"data\":\"other\",\"delay_ms\":1}]}"
check_api "batch: 200" 200
check_eq "batch: per-item statuses in order" "201,400,200,409" "$(jqb '[.results[].status] | map(tostring) | join(",")')"
check_eq "batch: the bad item names its field" "invalid_field" "$(jqb '.results[1].error.code')"
items=$(python3 -c "
import json
print(json.dumps({'timers':[{'url':'http://127.0.0.1:9/x','data':'','delay_ms':600000} for _ in range(1001)]}))")
api POST /v1/timers/batch "$items"
check_api "batch of 1001: 413" 413 too_large
items=$(python3 -c "
import json
print(json.dumps({'timers':[{'url':'http://127.0.0.1:9/x','data':'','delay_ms':600000} for _ in range(1000)]}))")
api POST /v1/timers/batch "$items"
check_api "batch of 1000: 200" 200
check_eq "... all created" 1000 "$(jqb '[.results[] | select(.status == 201)] | length')"
api POST /v1/timers/batch '{"timers":[]}'
check_api "empty batch: 400" 400 invalid_field
api POST /v1/timers/batch '{"timers":[],"x":1}'
check_api "batch with unknown field: 400" 400 invalid_field

# --- bad inputs -------------------------------------------------------------------
bad() { # bad DESC STATUS CODE JSON
    api POST /v1/timers "$4"
    check_api "$1" "$2" "$3"
}
bad "not JSON: 400 invalid_json" 400 invalid_json '{"url":'
bad "array body: 400 invalid_json" 400 invalid_json '[1]'
bad "url of the wrong type: 400" 400 invalid_field "{\"url\":1,\"data\":\"x\",\"delay_ms\":1}"
bad "url not http(s): 400" 400 invalid_field "{\"url\":\"ftp://x/\",\"data\":\"x\",\"delay_ms\":1}"
bad "data of the wrong type: 400" 400 invalid_field "{\"url\":\"$U/\",\"data\":5,\"delay_ms\":1}"
bad "both delay_ms and at: 400" 400 invalid_field "{\"url\":\"$U/\",\"data\":\"x\",\"delay_ms\":1,\"at\":5}"
bad "no time at all: 400" 400 invalid_field "{\"url\":\"$U/\",\"data\":\"x\"}"
bad "delay_ms negative: 400" 400 invalid_field "{\"url\":\"$U/\",\"data\":\"x\",\"delay_ms\":-1}"
bad "delay_ms a string: 400" 400 invalid_field "{\"url\":\"$U/\",\"data\":\"x\",\"delay_ms\":\"5\"}"
bad "at not RFC 3339: 400" 400 invalid_field "{\"url\":\"$U/\",\"data\":\"x\",\"at\":\"tomorrow\"}"
bad "unparsable cron: 400" 400 invalid_field "{\"url\":\"$U/\",\"data\":\"x\",\"cron\":\"61 * * * *\"}"
bad "every_ms below 100: 400" 400 invalid_field "{\"url\":\"$U/\",\"data\":\"x\",\"every_ms\":5}"
bad "count without a schedule: 400" 400 invalid_field "{\"url\":\"$U/\",\"data\":\"x\",\"delay_ms\":1,\"count\":2}"
bad "denied header Host: 400" 400 invalid_field "{\"url\":\"$U/\",\"data\":\"x\",\"delay_ms\":1,\"headers\":{\"host\":\"a\"}}"
bad "denied header X-TimeRush-*: 400" 400 invalid_field "{\"url\":\"$U/\",\"data\":\"x\",\"delay_ms\":1,\"headers\":{\"X-Timerush-Key\":\"a\"}}"
bad "header User-Agent (the scheduler sets its own): 400" 400 invalid_field "{\"key\":\"t-ua\",\"url\":\"$U/\",\"data\":\"x\",\"delay_ms\":600000,\"headers\":{\"User-Agent\":\"x\"}}"
check "... the message names the header" grep -q User-Agent <<<"$(jqb .error.message)"
api GET /v1/timers/t-ua
check_api "... and nothing was stored" 404 not_found
bad "retry.max_attempts 0: 400" 400 invalid_field "{\"url\":\"$U/\",\"data\":\"x\",\"delay_ms\":1,\"retry\":{\"max_attempts\":0}}"
bad "timeout_ms 50: 400" 400 invalid_field "{\"url\":\"$U/\",\"data\":\"x\",\"delay_ms\":1,\"timeout_ms\":50}"
bad "bad key: 400" 400 invalid_field "{\"key\":\"a b\",\"url\":\"$U/\",\"data\":\"x\",\"delay_ms\":1}"
bad "unknown field: 400" 400 invalid_field "{\"url\":\"$U/\",\"data\":\"x\",\"delay_ms\":1,\"dealy\":5}"
check "... the message names the field" grep -q dealy <<<"$(jqb .error.message)"
api POST /v1/timers "{\"url\":\"$U/\",\"data\":\"x\",\"delay_ms\":1}" -H 'Content-Type: text/plain'
check_api "Content-Type text/plain: 415" 415 unsupported_media_type
api POST /v1/timers "{\"key\":\"no-ct\",\"url\":\"$U/\",\"data\":\"x\",\"delay_ms\":600000}" -H 'Content-Type:'
check_api "no Content-Type: taken as JSON (201)" 201
big=$(head -c 70000 /dev/zero | tr '\0' a)
api POST /v1/timers "{\"url\":\"$U/\",\"data\":\"$big\",\"delay_ms\":1}"
check_api "body over --max-body: 413 (REST error shape)" 413 too_large
api PUT /v1/timers '{}'
check_api "PUT /v1/timers: 405" 405 method_not_allowed
check "... with Allow: GET, POST" grep -qi '^allow: GET, POST' <<<"$API_HEADERS"
api PATCH /v1/timers/x
check_api "PATCH /v1/timers/{key}: 405" 405 method_not_allowed
api GET /v1/nope
check_api "unknown /v1/ path: 404" 404 not_found
api GET /v1/timers/bad%20key
check_api "unusable key in the path: 404" 404 not_found

# --- stats ------------------------------------------------------------------------
api GET /v1/stats
check_api "stats: 200" 200
check "stats: pending counts the timers" test "$(jqb .pending)" -ge 1000
check_eq "stats: not paused" false "$(jqb .paused)"
check "stats: created total" test "$(jqb .totals.created)" -ge 1005
check "stats: cancelled total" test "$(jqb .totals.cancelled)" -ge 1

tr_stop_stack
tr_finish
