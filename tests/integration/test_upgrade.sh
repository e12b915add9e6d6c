#!/usr/bin/env bash
# test_upgrade.sh - data written by the version before the record buckets (issue 10)
# keeps working under the new code, and the scheduler moves it into the buckets.
#
# The old layout, written straight into the stack's Redis before any scheduler runs:
# every record in the one hash {P}:timers, 36-character UUID v4 keys; pending timers
# in {P}:due (some due in 2 s, 2,500 far ahead: more than one migration chunk), some
# in flight under a claim of a scheduler that is gone (lease run out, attempts and
# owner set), some dead (attempts, meta). Then the new scheduler starts: every due
# and in-flight timer is delivered once, the far ones are read, listed and
# cancelled through both APIs, a dead one is replayed and delivered, and the old
# hash is gone (every record in its bucket).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/lib_sched.sh"
source "$here/lib_api.sh"
ts_setup

tr_start_sink A || tr_finish
tr_start_stack --schedulers 0 || tr_finish

# A fresh UUID v4 in $k, as the old version generated them (read, not a fork: the
# loops below make thousands).
uuid() { read -r k </proc/sys/kernel/random/uuid; }
mapfile -t t < <(tr_redis TIME)
now=$((t[0] * 1000 + 10#${t[1]} / 1000))
T=$(ts_k timers) DUE=$(ts_k due) INF=$(ts_k inflight) DEAD=$(ts_k dead)
ATT=$(ts_k attempts) OWN=$(ts_k owner) META=$(ts_k meta)
cmds="$TR_TMP/old.redis"
: >"$cmds"
soon=() far=() flying=() dead=()
for ((i = 1; i <= 200; i++)); do
    uuid; soon+=("$k")
    printf 'HSET %s %s "{\\"u\\":\\"%s/soon\\",\\"d\\":\\"s%d\\"}"\nZADD %s %d %s\n' \
        "$T" "$k" "$SINK_A_URL" "$i" "$DUE" $((now + 2000)) "$k" >>"$cmds"
done
for ((i = 1; i <= 2500; i++)); do
    uuid; far+=("$k")
    printf 'HSET %s %s "{\\"u\\":\\"%s/far\\",\\"d\\":\\"f%d\\"}"\nZADD %s %d %s\n' \
        "$T" "$k" "$SINK_A_URL" "$i" "$DUE" $((now + 3600000 + i)) "$k" >>"$cmds"
done
for i in 1 2 3 4 5; do
    # Claimed by a scheduler that died: its lease ran out a second ago.
    uuid; flying+=("$k")
    printf 'HSET %s %s "{\\"u\\":\\"%s/fly\\",\\"d\\":\\"i%d\\"}"\nZADD %s %d %s\n' \
        "$T" "$k" "$SINK_A_URL" "$i" "$INF" $((now - 1000)) "$k" >>"$cmds"
    printf 'HSET %s %s 1\nHSET %s %s %d:gone/1/%d\n' "$ATT" "$k" \
        "$OWN" "$k" $((now - 61000)) "$i" >>"$cmds"
done
for i in 1 2 3; do
    uuid; dead+=("$k")
    printf 'HSET %s %s "{\\"u\\":\\"%s/dead\\",\\"d\\":\\"d%d\\"}"\nZADD %s %d %s\n' \
        "$T" "$k" "$SINK_A_URL" "$i" "$DEAD" $((now - 5000 + i)) "$k" >>"$cmds"
    printf 'HSET %s %s 3\nHSET %s %s "{\\"status\\":500,\\"error\\":\\"HTTP 500\\",\\"attempts\\":3}"\n' \
        "$ATT" "$k" "$META" "$k" >>"$cmds"
done
tr_redis <"$cmds" >/dev/null
check_eq "the old layout: every record in the one hash" 2708 "$(tr_redis HLEN "$T")"
check_eq "... a hash table, as the old version's grew" hashtable "$(tr_redis OBJECT ENCODING "$T")"

# Before any scheduler runs, the new handlers read the old hash.
api GET "/v1/timers/${far[0]}"
check_api "get an old pending timer: 200" 200
check_eq "... its url" "$SINK_A_URL/far" "$(jqb .timer.url)"
api GET "/v1/timers/${dead[0]}"
check_api "get an old dead timer: 200" 200
check_eq "... dead, 3 attempts, status 500" "dead 3 500" \
    "$(jqb '"\(.timer.state) \(.timer.attempts) \(.timer.last_status)"')"
api GET "/v1/timers?state=dead&limit=10"
check_api "list the dead: 200" 200
check_eq "... the 3 old ones with their data" "d1 d2 d3" "$(jqb '[.timers[].data] | join(" ")')"

ts_start_scheduler new --scheduler-id up --max-attempts 3
# Timers delivered meanwhile leave the old hash by their acks: fewer may be moved.
moved() { grep -Eq 'the old \{P\}:timers hash is gone: [0-9]+ records moved' "$TR_TMP/sched.new.log"; }
tr_wait_for "the scheduler moves every old record to its bucket" 30 moved
check_eq "the old hash is gone" 0 "$(tr_redis EXISTS "$T")"
check "the first chunk found all 2708 (the move takes three chunks)" grep -q 'found in {P}:timers: moving them to their buckets, 2708 left' \
    "$TR_TMP/sched.new.log"

printf '%s\n' "${soon[@]}" "${flying[@]}" >"$TR_TMP/want"
all_in() { ts_all_delivered "$TR_TMP/want" "$SINK_A_LOG"; }
tr_wait_for "the 200 due and the 5 lost claims' timers are delivered" 30 all_in
check_eq "each exactly once" 205 "$(jq -r .key "$SINK_A_LOG" | sort -u | wc -l)"
check_eq "... with no duplicate" 205 "$(wc -l <"$SINK_A_LOG")"
check_eq "the lost claims' timers come as attempt 2" "2 2 2 2 2" \
    "$(for k in "${flying[@]}"; do jq -r --arg k "$k" 'select(.key == $k) | .attempt' "$SINK_A_LOG"; done | paste -sd' ')"
check_eq "bodies as stored" "s17" "$(jq -r --arg k "${soon[16]}" 'select(.key == $k) | .body' "$SINK_A_LOG")"

api GET "/v1/timers?state=pending&limit=3"
check_api "list the pending: 200" 200
check_eq "... the far ones in due order, with their data" "f1 f2 f3" "$(jqb '[.timers[].data] | join(" ")')"
ans=$(tr_post /unregister/ "{\"key\":\"${far[0]}\"}")
echo "# unregister answered: $ans"
check "unregister an old far timer: ttl about an hour" \
    jq -e '.ret == 0 and .data.ttl > 3000' <<<"$ans"
api DELETE "/v1/timers/${far[1]}"
check_api "DELETE an old far timer: 200" 200
check_eq "... it was pending" pending "$(jqb .state)"
api GET "/v1/timers/${far[1]}"
check_api "... then unknown: 404" 404
api POST "/v1/timers/${far[2]}/reschedule" '{"delay_ms":1500}'
check_api "reschedule an old far timer to 1.5 s: 200" 200
api POST "/v1/timers/${dead[1]}/replay"
check_api "replay an old dead timer: 200" 200
printf '%s\n' "${far[2]}" "${dead[1]}" >"$TR_TMP/want2"
both_in() { ts_all_delivered "$TR_TMP/want2" "$SINK_A_LOG"; }
tr_wait_for "the rescheduled and the replayed ones are delivered" 20 both_in
check_eq "the replayed one's body" d2 "$(jq -r --arg k "${dead[1]}" 'select(.key == $k) | .body' "$SINK_A_LOG")"

gone() { [[ $(tr_rec_count) == $((2500 - 3 + 2)) ]]; }
tr_wait_for "what is left: 2,497 far and 2 dead records, all in buckets" 10 gone
check_eq "no old hash came back" 0 "$(tr_redis EXISTS "$T")"
check_eq "new timers get 16-character keys beside the old ones" 16 \
    "$(ts_register "$SINK_A_URL/new" n 600 | tr -d '\n' | wc -c)"

ts_stop_scheduler new
ts_no_sanitizer_reports
tr_finish
