#!/usr/bin/env bash
# test_api_admin.sh - pause/resume (due timers wait, then fire; the flag survives a
# stack restart), replay of a dead timer, /metrics text and its counters, /healthz
# 200 then 503 with Redis stopped.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/lib_api.sh"
tr_setup
tr_start_sink A --answer ok || tr_finish
tr_start_sink D --answer status:500 || tr_finish
# Fails the first three requests, then takes every one: three dead timers whose replays
# are delivered at once (the race with the replay's own answer, below).
tr_start_sink E --answer status:500 --answer status:500 --answer status:500 --answer ok || tr_finish
tr_start_stack --max-attempts 1 || tr_finish

api GET /healthz
check_api "/healthz: 200" 200
check_eq "/healthz: status ok" ok "$(jqb .status)"

# --- pause / resume ---------------------------------------------------------------
api POST /v1/pause
check_api "pause: 200" 200
check_eq "pause: paused true" true "$(jqb .paused)"
api POST /v1/timers "{\"key\":\"p-1\",\"url\":\"$SINK_A_URL/paused\",\"data\":\"x\",\"delay_ms\":100}"
check_api "a timer is created while paused" 201
due_passed() { api GET /v1/timers/p-1; (($(jqb .timer.ttl_ms) == 0)); }
tr_wait_for "the timer falls due" 5 due_passed
none_yet() { (($(sink_count_path "$SINK_A_LOG" /paused) == 0)); }
# Held for 1 s past its due time: a scheduler that ignored the flag would fire in ms.
t_end=$(($(tr_now_ms) + 1000))
held=1
while tr_before_ms "$t_end"; do none_yet || held=0; sleep 0.05; done
none_yet || held=0
check_eq "while paused, nothing is delivered" 1 "$held"
api GET /v1/stats
check_eq "stats: paused" true "$(jqb .paused)"

tr_stop_stack
tr_start_stack --max-attempts 1 || tr_finish
api GET /v1/stats
check_eq "pause survives a stack restart" true "$(jqb .paused)"
check "still nothing delivered after the restart" none_yet
api POST /v1/resume
check_api "resume: 200" 200
check_eq "resume: paused false" false "$(jqb .paused)"
fired() { (($(sink_count_path "$SINK_A_LOG" /paused) >= 1)); }
tr_wait_for "after resume, the held timer fires" 5 fired

# --- replay -----------------------------------------------------------------------
api POST /v1/timers "{\"key\":\"d-1\",\"url\":\"$SINK_D_URL/dead\",\"data\":\"x\",\"delay_ms\":0}"
is_dead() { api GET /v1/timers/d-1; [[ $(jqb .timer.state) == dead ]]; }
tr_wait_for "a timer answered 500 with --max-attempts 1 is dead" 10 is_dead
check_eq "dead: last_status 500" 500 "$(jqb .timer.last_status)"
check "dead: dead_at_ms set" test "$(jqb .timer.dead_at_ms)" -gt 0
api GET "/v1/timers?state=dead"
check_eq "listed as dead" d-1 "$(jqb '.timers[0].key')"
api POST /v1/timers/d-1/reschedule '{"delay_ms":5}'
check_api "reschedule of a dead timer: 409" 409 conflict
api POST /v1/timers/nope/replay
check_api "replay unknown: 404" 404 not_found
# Paused, so no scheduler claims the replayed timer before its answer is read.
api POST /v1/pause
check_api "pause before replay: 200" 200
api POST /v1/timers/d-1/replay
check_api "replay: 200" 200
check_eq "replay: attempts reset" 0 "$(jqb .timer.attempts)"
check_eq "replay: pending again" pending "$(jqb .timer.state)"
api POST /v1/resume
check_api "resume after replay: 200" 200
twice() { (($(sink_count_path "$SINK_D_LOG" /dead) >= 2)); }
tr_wait_for "the replayed timer is delivered again" 10 twice
tr_wait_for "... and is dead again" 10 is_dead
api DELETE /v1/timers/d-1
check_api "delete removes a dead timer" 200
check_eq "... it was dead" dead "$(jqb .state)"
api POST /v1/timers/d-1/replay
check_api "replay after delete: 404" 404 not_found

# Replayed while running: the timer may be claimed and delivered before the answer
# reads it back; the answer is still 200 (the timer, or {"state":"done"}), never 404.
for k in r-1 r-2 r-3; do
    api POST /v1/timers "{\"key\":\"$k\",\"url\":\"$SINK_E_URL/race\",\"data\":\"x\",\"delay_ms\":0}"
done
three_dead() { api GET '/v1/timers?state=dead'; [[ $(jqb '[.timers[] | select(.key | startswith("r-"))] | length') == 3 ]]; }
tr_wait_for "three timers answered 500 are dead" 10 three_dead
states=""
for k in r-1 r-2 r-3; do
    api POST "/v1/timers/$k/replay"
    check_api "replay of $k while running: 200" 200
    states+="$(jqb .timer.state) "
done
echo "# replay answers' states: $states"
race_done() { (($(sink_count_path "$SINK_E_LOG" /race) >= 6)); }
tr_wait_for "the three replayed timers are delivered" 10 race_done
tr_wait_for "... and gone" 5 tr_no_timers_left

# --- metrics ----------------------------------------------------------------------
api GET /metrics
check_api "/metrics: 200" 200
check "/metrics: text/plain version 0.0.4" grep -qi '^content-type: text/plain; version=0.0.4' <<<"$API_HEADERS"
bad_lines=$(grep -Evc '^(#.*|[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})? -?[0-9.eE+Inf-]+)$' <<<"$API_BODY")
check_eq "/metrics: every line is a comment or 'name{labels} value'" 0 "$bad_lines"
m() { awk -v n="$1" '$1 == n { print $2 }' <<<"$API_BODY"; }
created1=$(m timerush_timers_created_total)
check "created counter is there" test "${created1:-0}" -ge 2
check_eq "dead gauge 0 after the delete" 0 "$(m timerush_timers_dead)"
check "lateness histogram has a +Inf bucket" grep -q 'timerush_delivery_lateness_seconds_bucket{le="+Inf"}' <<<"$API_BODY"
api POST /v1/timers "{\"url\":\"$SINK_A_URL/m\",\"data\":\"x\",\"delay_ms\":600000}"
api GET /metrics
check_eq "created counter moved by one" $((created1 + 1)) "$(m timerush_timers_created_total)"

# --- healthz with Redis stopped --------------------------------------------------
# (Not on a cluster: its nodes serve other tests at the same time, lib.sh.)
if ! tr_on_cluster; then
    rpid=$(head -n 1 "$TR_RUN/pids/redis.pid")
    kill -STOP "$rpid"
    api GET /healthz - --max-time 10
    check_api "/healthz with Redis stopped: 503" 503
    check_eq "... status unavailable" unavailable "$(jqb .status)"
    kill -CONT "$rpid"
    up() { api GET /healthz; [[ $API_STATUS == 200 ]]; }
    tr_wait_for "/healthz 200 again when Redis is back" 10 up
fi

tr_stop_stack
tr_finish
