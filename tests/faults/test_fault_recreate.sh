#!/usr/bin/env bash
# test_fault_recreate.sh - fencing: a timer cancelled while its delivery is in flight
# and re-created under the same key must survive the old delivery's ack.
#
# 50 timers (client keys) go to a receiver that answers ok after 5 s. While every
# one is in flight, each is cancelled and re-created under the same key, due 7 s
# later, for another receiver. The old deliveries then answer ok: their acks are
# stale (another timer holds the key now) and must change nothing. Every re-created
# timer must reach the second receiver: lost 0. Stale outcomes are counted.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../integration" && pwd)
source "$here/lib.sh"
source "$here/lib_api.sh"
source "$here/lib_sched.sh"
tr_setup

n=50
# 5 s: the cancels and re-creates took 2.6 s once on a loaded machine.
tr_start_sink OLD --answer slow:5000 || tr_finish
tr_start_sink NEW --answer ok || tr_finish
tr_start_stack || tr_finish

# batch URL DATA DELAY_MS: one POST /v1/timers/batch creating rc-1..rc-n.
batch() {
    local items=() i
    for ((i = 1; i <= n; i++)); do
        items+=("{\"key\":\"rc-$i\",\"url\":\"$1\",\"data\":\"$2\",\"delay_ms\":$3}")
    done
    api POST /v1/timers/batch "{\"timers\":[$(IFS=,; echo "${items[*]}")]}"
    jqb '[.results[] | select(.status == 201)] | length'
}
check_eq "$n timers created for the slow receiver" "$n" "$(batch "$SINK_OLD_URL/old" old 0)"
all_in_flight() { (($(ts_sink_lines "$SINK_OLD_LOG") >= n)); }
tr_wait_for "all $n first deliveries reached the slow receiver" 10 all_in_flight

# Every cancel in one curl process (kept-alive), then every re-create in one batch:
# all done long before the slow receiver answers.
urls=()
for ((i = 1; i <= n; i++)); do urls+=("$TR_URL/v1/timers/rc-$i"); done
cancelled=$(curl -sS --max-time 20 -X DELETE "${urls[@]}" | jq -s '[.[] | select(.state == "in_flight")] | length')
check_eq "every timer cancelled while in flight" "$n" "$cancelled"
check_eq "every timer re-created under its key" "$n" "$(batch "$SINK_NEW_URL/new" new 7000)"
t_done=$(tr_now_ms)
# The first old delivery is answered 5 s after it arrived.
t_first=$(jq -s 'map(.t_us) | min / 1000 | floor' "$SINK_OLD_LOG")
echo "# cancels and re-creates done $((t_done - t_first)) ms after the first old delivery arrived (answered at 5000)"
check "... before the old deliveries were answered" test $((t_done - t_first)) -lt 4500

new_delivered() { (($(jq -r .key "$SINK_NEW_LOG" | sort -u | wc -l) >= n)); }
tr_wait_for "every re-created timer is delivered" 15 new_delivered
got=$(jq -r .key "$SINK_NEW_LOG" | sort -u | wc -l)
echo "# re-created $n, delivered $got, lost $((n - got))"
check_eq "lost = 0" 0 "$((n - got))"
check_eq "no re-created timer delivered twice" "" "$(ts_duplicates "$SINK_NEW_LOG" | head -3)"
store_empty() { (($(ts_zcard due) == 0 && $(ts_zcard inflight) == 0)) && tr_no_timers_left; }
tr_wait_for "nothing left in the store" 10 store_empty
stale=$(tr_redis HGET "$(ts_k stats)" stale)
echo "# stats: stale ${stale:-0}"
check "the $n old acks were counted as stale" test "${stale:-0}" -ge "$n"
tr_stop_stack
tr_finish
