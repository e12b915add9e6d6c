#!/usr/bin/env bash
# The destination policy (docs/SECURITY.md, "Destination policy") against the real
# stack: what the URL alone shows is refused at creation (ret 13 / 400
# destination_refused); what only the connection shows (a name resolving to a
# refused address) is dead-lettered at once with "destination refused by policy"
# while the receiver gets nothing; redirects are not followed; TimeRush's own API is
# not a destination; chain answers obey the policy; allow/deny lists override.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib_api.sh"
tr_setup

REFUSED="destination refused by policy"
port_of() { printf '%s' "${1##*:}"; }

# register_ret URL: the compat register's ret for URL (a 1 h timer).
register_ret() {
    tr_post /register/ "$(jq -cn --arg u "$1" '{callback_cmd: $u, callback_data: "x", seconds: 3600}')" |
        jq -r '"\(.ret) \(.msg // "")"'
}
# timer_field KEY FILTER: a field of GET /v1/timers/KEY.
timer_field() { api GET "/v1/timers/$1"; jqb ".timer.$2"; }
is_dead() { [[ $(timer_field "$1" state) == dead ]]; }
metric() { curl -sS --max-time 5 "$TR_URL/metrics" | awk -v n="$1" '$1 == n {print $2}'; }
sched_log() { cat "$TR_RUN"/log/scheduler.*.log; }

# ------------------------------------------------------------------ public
tr_start_sink A --route "/chain=chain:{\"callback_cmd\":\"http://127.0.0.1:1/chained\",\"callback_data\":\"c\",\"seconds\":1}"
tr_start_sink B # never allowed under public: must receive nothing
PA=$(port_of "$SINK_A_URL") PB=$(port_of "$SINK_B_URL")
tr_start_stack --callback-policy public --callback-allow "127.0.0.1:$PA" --no-chain || tr_finish

# Every spelling of a refused address, refused by its text at creation.
for host in '[::1]' 0.0.0.0 2130706433 0x7f000001 127.1 '[::ffff:127.0.0.1]' 169.254.169.254 \
    '[64:ff9b::7f00:1]' 10.0.0.1; do
    check_eq "public: http://$host:$PB/ refused at creation (ret 13)" \
        "13 callback_cmd: $REFUSED" "$(register_ret "http://$host:$PB/x")"
done
api POST /v1/timers "{\"url\":\"http://0x7f000001:$PB/x\",\"data\":\"x\",\"delay_ms\":0}"
check_api "public: /v1/timers refuses a hex loopback url" 400 destination_refused
check_eq "... naming the field" "url: $REFUSED" "$(jqb .error.message)"
api POST /v1/timers "{\"url\":\"$SINK_A_URL/ok\",\"failure_url\":\"http://[::1]:$PB/f\",\"data\":\"x\",\"delay_ms\":0}"
check_api "public: a refused failure_url refused too" 400 destination_refused
api POST /v1/timers/batch "{\"timers\":[{\"url\":\"http://127.1:$PB/x\",\"data\":\"x\",\"delay_ms\":0},{\"url\":\"$SINK_A_URL/batch\",\"data\":\"x\",\"delay_ms\":0}]}"
check_eq "public: a batch refuses the one item, creates the other" "400 destination_refused 201" \
    "$(jqb '.results[0].status') $(jqb '.results[0].error.code') $(jqb '.results[1].status')"

# A name resolving to loopback: created, then refused at connect time.
api POST /v1/timers "{\"url\":\"http://localhost:$PB/local\",\"failure_url\":\"http://localhost:$PB/fail\",\"data\":\"x\",\"delay_ms\":0}"
check_api "public: a name is accepted at creation" 201
KL=$(jqb .timer.key)
tr_wait_for "public: localhost is dead-lettered at once" 10 is_dead "$KL"
check_eq "... with exactly the policy's error" "$REFUSED" "$(timer_field "$KL" last_error)"
check_eq "... after one attempt (not retried)" 1 "$(timer_field "$KL" attempts)"
tr_wait_for "... its failure notice was refused too" 10 bash -c "grep -q 'key=$KL failure notice to .* failed' $TR_RUN/log/scheduler.*.log"
check "the log names the refused address for the operator" \
    bash -c "grep -Eq 'key=$KL destination (127\.0\.0\.1|::1) $PB refused by policy' $TR_RUN/log/scheduler.*.log"

# The allow list lifts the policy for that address:port; --no-chain drops the chain.
tr_wait_for "public: the allowed sink is served" 10 tr_sink_has A 1 'select(.path == "/batch")'
K=$(tr_register "$SINK_A_URL/chain" '"p"' 1)
tr_wait_for "--no-chain: the parent is delivered" 10 tr_sink_has A 1 'select(.path == "/chain")'
tr_wait_for "--no-chain: its chain is refused and logged" 10 bash -c "grep -q 'key=$K chain refused: --no-chain' $TR_RUN/log/scheduler.*.log"
rec_count_is() { [[ $(tr_rec_count) == "$1" ]]; }
tr_wait_for "--no-chain: no chained timer exists (only the dead one is left)" 10 rec_count_is 1
check_eq "sink B (not allowed) received nothing" 0 "$(tr_sink_count B)"
tr_stop_stack

# ------------------------------------------------------------------ private (default)
tr_start_sink C # a redirect's inward target
tr_start_sink D # denied by --callback-deny
PD=$(port_of "$SINK_D_URL")
tr_stop_sink A
# TR_LISTEN_PORT is the stack's port, kept across its restarts (lib.sh).
tr_start_sink A --route "/redir=redirect:302:$SINK_C_URL/inward" \
    --route "/meta=chain:{\"callback_cmd\":\"http://169.254.169.254/latest/meta-data\",\"callback_data\":\"m\",\"seconds\":1}" \
    --route "/self=chain:{\"callback_cmd\":\"http://127.0.0.1:$TR_LISTEN_PORT/v1/pause\",\"callback_data\":\"s\",\"seconds\":1}"
tr_start_stack --callback-deny "127.0.0.1:$PD" --callback-allow "169.254.169.254:81" \
    --max-attempts 2 --backoff-min-ms 100 --backoff-max-ms 200 || tr_finish
LISTEN=$(port_of "$TR_URL")

K=$(tr_register "$SINK_A_URL/ok" '"o"' 1)
tr_wait_for "private: a sink on 127.0.0.1 is served" 10 tr_sink_has A 1 'select(.path == "/ok")'
for host in 169.254.169.254 '[fd00:ec2::254]' '[fe80::1]' 0.0.0.0 '[::]'; do
    check_eq "private: http://$host/ refused at creation" "13 callback_cmd: $REFUSED" \
        "$(register_ret "http://$host/x")"
done
# Port 0 is refused before the policy is asked: a URL with port 0 is no URL (ret 4).
check_eq "private: port 0 refused" "4 callback_cmd: port 0" "$(register_ret "http://10.0.0.1:0/x")"
check_eq "private: TimeRush's own /v1/pause refused at creation" "13 callback_cmd: $REFUSED" \
    "$(register_ret "$TR_URL/v1/pause")"
check_eq "private: the deny list refuses an allowed range" "13 callback_cmd: $REFUSED" \
    "$(register_ret "$SINK_D_URL/x")"
check_eq "private: the allow list lifts metadata for 169.254.169.254:81" "0" \
    "$(register_ret "http://169.254.169.254:81/x" | cut -d' ' -f1)"

# Self by a name: refused at connect time, so nothing is paused and nothing created.
CREATED0=$(api GET /v1/stats; jqb .totals.created)
api POST /v1/timers "{\"url\":\"http://localhost:$LISTEN/v1/pause\",\"data\":\"x\",\"delay_ms\":0}"
KP=$(jqb .timer.key)
api POST /v1/timers "{\"url\":\"http://localhost:$LISTEN/v1/timers/batch\",\"data\":{\"timers\":[{\"url\":\"$SINK_A_URL/evil\",\"data\":\"x\",\"delay_ms\":0}]},\"delay_ms\":0}"
KB=$(jqb .timer.key)
api POST /v1/timers "{\"url\":\"http://localhost:$PD/denied\",\"data\":\"x\",\"delay_ms\":0}"
KD=$(jqb .timer.key)
tr_wait_for "self by name: /v1/pause timer dead-lettered" 10 is_dead "$KP"
tr_wait_for "self by name: /v1/timers/batch timer dead-lettered" 10 is_dead "$KB"
tr_wait_for "deny list at connect time: dead-lettered" 10 is_dead "$KD"
check_eq "... each with the policy's error" "$REFUSED $REFUSED $REFUSED" \
    "$(timer_field "$KP" last_error) $(timer_field "$KB" last_error) $(timer_field "$KD" last_error)"
api GET /v1/stats
check_eq "the service is not paused" false "$(jqb .paused)"
check_eq "no timer was created through the batch endpoint" "$((CREATED0 + 3))" "$(jqb .totals.created)"

# A receiver's redirect inward is not followed.
K=$(tr_register "$SINK_A_URL/redir" '"r"' 1)
tr_wait_for "redirect: the receiver was asked twice" 10 tr_sink_has A 2 'select(.path == "/redir")'
tr_wait_for "... and the timer is dead (302 is not success)" 10 is_dead "$K"
check_eq "... with its 302 kept" 302 "$(timer_field "$K" last_status)"

# Chain answers pointing inward: the parent is delivered, the chained timer is put in
# the dead-letter set with the policy's error, counted.
K1=$(tr_register "$SINK_A_URL/meta" '"p"' 1)
K2=$(tr_register "$SINK_A_URL/self" '"p"' 1)
tr_wait_for "chain: both parents delivered" 10 bash -c \
    "[[ \$(jq -c 'select(.path == \"/meta\" or .path == \"/self\")' $SINK_A_LOG | wc -l) -ge 2 ]]"
chain_dead() {
    api GET "/v1/timers?state=dead&limit=1000"
    [[ $(jqb "[.timers[] | select(.url == \"$1\" and .last_error == \"$REFUSED\")] | length") == 1 ]]
}
tr_wait_for "chain to metadata: in the dead-letter set, refused" 10 chain_dead "http://169.254.169.254/latest/meta-data"
tr_wait_for "chain to /v1/pause: in the dead-letter set, refused" 10 chain_dead "http://127.0.0.1:$LISTEN/v1/pause"
check_eq "chain_refused counts both" 2 "$(metric timerush_timers_chain_refused_total)"
status_of() { api GET "/v1/timers/$1"; printf '%s' "$API_STATUS"; }
check_eq "the parents are gone (acked)" "404 404" "$(status_of "$K1") $(status_of "$K2")"
api GET /v1/stats
check_eq "still not paused" false "$(jqb .paused)"

check_eq "the redirect target received nothing" 0 "$(tr_sink_count C)"
check_eq "the denied sink received nothing" 0 "$(tr_sink_count D)"
check_eq "no /evil callback (the batch was never posted)" 0 "$(tr_sink_count A 'select(.path == "/evil")')"
tr_stop_stack
tr_finish
