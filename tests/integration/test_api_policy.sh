#!/usr/bin/env bash
# test_api_policy.sh - per-timer delivery policy from the REST API, delivered by the
# scheduler: extra headers reach the receiver, retry.max_attempts overrides
# --max-attempts, timeout_ms cuts a slow receiver, failure_url is notified once.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/lib_api.sh"
tr_setup
tr_start_sink A --answer ok || tr_finish
tr_start_sink F --answer status:500 || tr_finish
tr_start_sink S --answer timeout || tr_finish
tr_start_stack --max-attempts 20 --backoff-min-ms 50 --backoff-max-ms 100 || tr_finish

# A receiver that records request headers (the sink logs only its own fields).
start_header_receiver

api POST /v1/timers "{\"url\":\"http://127.0.0.1:$hport/h\",\"data\":\"x\",\"delay_ms\":0,\"headers\":{\"X-Trace\":\"abc-123\",\"Authorization\":\"Bearer cb\"}}"
check_api "timer with headers: 201" 201
got_h() { grep -q '^X-Trace: abc-123$' "$TR_TMP/headers.log"; }
tr_wait_for "the extra header reaches the receiver" 10 got_h
check "... and the second one" grep -q '^Authorization: Bearer cb$' "$TR_TMP/headers.log"

api POST /v1/timers "{\"key\":\"r2\",\"url\":\"$SINK_F_URL/r2\",\"data\":\"x\",\"delay_ms\":0,\"retry\":{\"max_attempts\":2,\"min_backoff_ms\":10,\"max_backoff_ms\":20},\"failure_url\":\"$SINK_A_URL/failed\"}"
check_api "timer with retry.max_attempts 2 and failure_url: 201" 201
dead() { api GET /v1/timers/r2; [[ $(jqb .timer.state) == dead ]]; }
tr_wait_for "dead after its own max_attempts" 10 dead
check_eq "exactly 2 attempts (not --max-attempts 20)" 2 "$(sink_count_path "$SINK_F_LOG" /r2)"
notified() { (($(sink_count_path "$SINK_A_LOG" /failed) >= 1)); }
tr_wait_for "failure_url notified" 10 notified
echo "# failure notice: $(jq -c 'select(.path == "/failed") | .body' "$SINK_A_LOG" | head -1)"

api POST /v1/timers "{\"key\":\"to\",\"url\":\"$SINK_S_URL/slow\",\"data\":\"x\",\"delay_ms\":0,\"timeout_ms\":300,\"retry\":{\"max_attempts\":1}}"
check_api "timer with timeout_ms 300: 201" 201
t0=$(tr_now_ms)
dead_to() { api GET /v1/timers/to; [[ $(jqb .timer.state) == dead ]]; }
tr_wait_for "a receiver that never answers is cut by timeout_ms" 10 dead_to
ms=$(($(tr_now_ms) - t0))
check "... well before the scheduler's --timeout-ms 10 s (${ms} ms)" test "$ms" -lt 5000
echo "# last_error: $(jqb .timer.last_error)"
tr_stop_stack
tr_finish
