#!/usr/bin/env bash
# Stopping the whole stack and starting a new one on the same run dir loses no
# pending timer: 50 timers due in 3-6 s all arrive, each exactly once, none early.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tr_setup
tr_start_sink A
tr_start_stack || tr_finish

N=50
# One curl for all registrations (a fork per request is slow on a loaded machine).
CFG=$TR_TMP/register.curl
for ((i = 0; i < N; i++)); do
    printf 'url = "%s/register/"\nrequest = "POST"\nheader = "Content-Type: application/json"\n' "$TR_URL"
    printf 'data-binary = "{\\"callback_cmd\\":\\"%s/t\\",\\"callback_data\\":\\"t%d\\",\\"seconds\\":%d}"\n' \
        "$SINK_A_URL" "$i" $((3 + i % 4))
    printf 'output = "%s/reg.%d"\nmax-time = 10\n' "$TR_TMP" "$i"
    ((i < N - 1)) && printf 'next\n'
done >"$CFG"
SENT_MS=$(tr_now_ms) # a lower bound of every send time
curl -sS --parallel --parallel-max 8 -K "$CFG"
declare -A SECS=()
while IFS=$'\t' read -r f k; do
    i=${f##*.}
    [[ -n "$k" ]] && SECS[$k]=$((3 + i % 4))
done < <(jq -r '[input_filename, (.data.key // "")] | @tsv' "$TR_TMP"/reg.* 2>/dev/null)
REG_MS=$(($(tr_now_ms) - SENT_MS))
check_eq "$N timers register (in ${REG_MS} ms)" "$N" "${#SECS[@]}"
distinct() { jq -r .key "$SINK_A_LOG" | sort -u | wc -l; }
# Read in this order so a timer moving on meanwhile is counted at least once.
in_store_or_sink() {
    local d f s
    d=$(tr_due_count) f=$(tr_sum_shards ZCARD inflight) s=$(distinct)
    echo $((d + f + s))
}
check "$N timers are pending (or already delivered)" test "$(in_store_or_sink)" -ge "$N"

tr_stop_stack
tr_start_stack || tr_finish
check "the new stack sees every pending timer" test "$(in_store_or_sink)" -ge "$N"

all_arrived() { (($(distinct) >= N)); }
tr_wait_for "all $N timers arrive after the restart" 15 all_arrived
tr_wait_for "all records are gone" 3 tr_no_timers_left
sleep 1 # bounded: proves no duplicate arrives late
check_eq "each arrived exactly once" "$N" "$(tr_sink_count A)"
check_eq "every body arrived" "$(seq 0 $((N - 1)) | sed 's/^/t/' | sort | tr '\n' ' ')" \
    "$(jq -r .body "$SINK_A_LOG" | sort | tr '\n' ' ')"

early=0
while IFS=' ' read -r k t_us; do
    due=$(( SENT_MS + ${SECS[$k]:-0} * 1000 ))
    (( t_us / 1000 < due - 10 )) && early=$((early + 1))
done < <(jq -r '.key + " " + (.t_us | tostring)' "$SINK_A_LOG")
check_eq "none arrived before its due time" 0 "$early"

tr_stop_stack
tr_finish
