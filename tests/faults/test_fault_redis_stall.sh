#!/usr/bin/env bash
# test_fault_redis_stall.sh - Redis hangs (SIGSTOP) for 8 s (20 s in bench/faults_long.sh) while timers fall due,
# then resumes. A claim the scheduler sent during the stall times out on its side but
# still runs in Redis once it resumes: the scheduler must resolve that lost claim at
# once (not wait for the lease: 11.5 s by default, so a lost claim's timers would come
# back after it). The lease is made long here (--lease-margin-ms 30000: a lost claim's
# timers would come back ~30 s after the resume), so bounds with room for a loaded
# CI machine still tell the two apart: the first delivery within 2 s of Redis
# resuming and the last of the 400 within 4 s (a sanitizer build at load 10 took up
# to ~1.1 s; bench/faults_long.sh measures the quiet figure, docs/SCHEDULER.md);
# lost 0; duplicates 0.
# Then a stall mid-drain: 10,000 timers due at once (created paused, then resumed),
# Redis stopped 4 s once 500 have arrived, with a claim or a finish (and a claim
# behind it) owed. Whatever was owed, its read times out (--redis-timeout-ms 1000)
# and Redis runs it when it resumes: a claim whose answer was lost, alone or behind
# a failed finish (whose failure drops the connection and the claim with it), must
# have its token counted lost, so what it took comes back at once, not after the
# lease (30 s and more here): every timer within 8 s of the resume (the rest of the
# drain takes about a second); lost 0. Which call is owed is chance: every run here
# had a claim alone owed (recovered 256 timers held by 1 claim), so the case of a
# claim behind a failed finish is the code's reasoning (tr_sched_loop.c receive()),
# not shown by this test.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../integration" && pwd)
source "$here/lib.sh"
source "$here/lib_sched.sh"
source "$here/lib_api.sh"
ts_setup

n=${TR_FAULT_N:-400}
stall_s=${TR_FAULT_STALL_S:-8} # 20 in bench/faults_long.sh
tr_start_sink A || tr_finish
check "a redis-server of our own runs" ts_start_redis
tr_start_sink B || tr_finish
tr_start_stack --redis-socket "$TS_REDIS_SOCK" --lease-margin-ms 30000 || tr_finish
TR_REDIS_SOCK=$TS_REDIS_SOCK
sched_pid=$(head -n1 "$TR_RUN/pids/scheduler.1.pid")

# Due 3-4 s from now, created in one batch request (fast even on a loaded machine):
# all fall due during the stall, which starts at once.
items=()
for ((i = 1; i <= n; i++)); do
    items+=("{\"key\":\"rs-$i\",\"url\":\"$SINK_A_URL/rs\",\"data\":\"x\",\"delay_ms\":$((3000 + (i % 2) * 1000))}")
    echo "rs-$i"
done >"$TR_TMP/keys"
api POST /v1/timers/batch "{\"timers\":[$(IFS=,; echo "${items[*]}")]}"
check_eq "$n timers created in one batch" "$n" "$(jqb '[.results[] | select(.status == 201)] | length')"
kill -STOP "$TS_REDIS_PID"
t_stop=$(ts_now_ms)
check_eq "none delivered before the stall" 0 "$(ts_sink_lines "$SINK_A_LOG")"
tr_sleep_until_ms $((t_stop + stall_s * 1000))
kill -CONT "$TS_REDIS_PID"
t_cont=$(ts_now_ms)
echo "# redis stalled $((t_cont - t_stop)) ms"

tr_wait_for "all $n timers delivered after the stall" 60 ts_all_delivered "$TR_TMP/keys" "$SINK_A_LOG"
first=$(jq -s 'map(.t_us) | min / 1000 | floor' "$SINK_A_LOG")
last=$(jq -s 'map(.t_us) | max / 1000 | floor' "$SINK_A_LOG")
echo "# after redis resumed: first delivery $((first - t_cont)) ms, last $((last - t_cont)) ms"
check "the first timer fired within 2 s of redis resuming ($((first - t_cont)) ms)" \
    test $((first - t_cont)) -le 2000
check "every timer fired within 4 s of redis resuming, far from the lease ($((last - t_cont)) ms)" \
    test $((last - t_cont)) -le 4000
check_eq "lost = 0" "" "$(ts_missing "$TR_TMP/keys" "$SINK_A_LOG" | head -3)"
dups=$(ts_duplicates "$SINK_A_LOG" | wc -l)
echo "# duplicates: $dups"
check_eq "duplicates = 0" 0 "$dups"
check "the scheduler rode it out (same pid)" tr_alive "$sched_pid"

n2=10000
api POST /v1/pause
check_api "deliveries paused for the second part" 200
made=0
for ((part = 0; part < n2; part += 500)); do # 500 a request: the body limit
    items=()
    for ((i = part + 1; i <= part + 500; i++)); do
        items+=("{\"key\":\"rd-$i\",\"url\":\"$SINK_B_URL/rd\",\"data\":\"x\",\"delay_ms\":0}")
        echo "rd-$i" >>"$TR_TMP/keys2"
    done
    api POST /v1/timers/batch "{\"timers\":[$(IFS=,; echo "${items[*]}")]}"
    made=$((made + $(jqb '[.results[] | select(.status == 201)] | length')))
done
check_eq "$n2 timers due now" "$n2" "$made"
api POST /v1/resume
check_api "deliveries resumed" 200
some() { (($(ts_sink_lines "$SINK_B_LOG") >= 500)); }
tr_wait_for "500 delivered (mid-drain)" 30 some
kill -STOP "$TS_REDIS_PID"
t_stop=$(ts_now_ms)
at_stop=$(ts_sink_lines "$SINK_B_LOG")
tr_sleep_until_ms $((t_stop + 4000))
kill -CONT "$TS_REDIS_PID"
t_cont=$(ts_now_ms)
echo "# mid-drain: redis stalled $((t_cont - t_stop)) ms after $at_stop of $n2 arrived"
check "the drain was not over at the stall ($at_stop of $n2)" test "$at_stop" -lt $((n2 / 2))
tr_wait_for "all $n2 delivered after the stall" 60 ts_all_delivered "$TR_TMP/keys2" "$SINK_B_LOG"
last=$(jq -s 'map(.t_us) | max / 1000 | floor' "$SINK_B_LOG")
echo "# mid-drain: the last delivery $((last - t_cont)) ms after redis resumed"
grep -hE "recovered|redis unavailable" "$TR_RUN/log/scheduler.1.log" | tail -n 3 | cut -c 1-240 | sed "s/^/# /"
check "every timer fired within 8 s of redis resuming, far from the lease ($((last - t_cont)) ms)" \
    test $((last - t_cont)) -le 8000
check_eq "lost = 0" "" "$(ts_missing "$TR_TMP/keys2" "$SINK_B_LOG" | head -3)"
echo "# mid-drain duplicates: $(ts_duplicates "$SINK_B_LOG" | wc -l)"
check "the scheduler rode it out (same pid)" tr_alive "$sched_pid"
ts_no_sanitizer_reports
tr_stop_stack
tr_finish
