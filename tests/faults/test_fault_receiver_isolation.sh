#!/usr/bin/env bash
# test_fault_receiver_isolation.sh - one bad receiver stays its own problem.
# In one window: a black hole (accepts, never answers), a refusing receiver (nothing
# listens on its port), a dripping receiver (its answer one byte every 15 ms, about
# 1.2 s a delivery), and a healthy one;
# then the black hole and the refusing receiver are replaced by healthy receivers on
# the same ports. Proves:
#  - the healthy receiver's timers are not delayed by the others (lateness at the
#    receiver printed; max bounded far below the delivery timeout, where it was tens
#    of seconds before the per-destination queues);
#  - the breaker: the black hole and the refusing receiver cost a few requests each
#    (at most a round of --host-limit plus probes), not one timeout per timer;
#  - when they come back, their held timers flow: every timer delivered, lost 0,
#    duplicates only among the requests the black hole swallowed, and a held timer
#    keeps its X-TimeRush-Due-Ms and spends no attempt.
# Sizes and options from the environment (bench/isolation_probe.sh runs the issue's
# mix): ISO_HOLE ISO_REFUSED ISO_SLOW ISO_HEALTHY ISO_WINDOW_MS ISO_LIMIT
# ISO_TIMEOUT_MS ISO_SLOW_SPEC; ISO_LIMIT_OPT names the per-host option (an older
# build's --max-per-host). With no bad receiver at all it only measures the healthy
# one (the baseline). ISO_DOWN_MS: the dead receivers come back no sooner than this
# after the creates (CI: as soon as the healthy one is done, ~6 s). TR_FAULT_LONG=1
# (bench/faults_long.sh): the issue's mix, the dead receivers down 30 s, and the
# targets asserted (healthy p99 <= 10 ms, max <= 50 ms: for a quiet machine).
set -uo pipefail
if [[ ${TR_FAULT_LONG:-} == 1 ]]; then
    : "${ISO_HOLE:=5000}" "${ISO_SLOW:=1000}" "${ISO_HEALTHY:=2000}" "${ISO_WINDOW_MS:=10000}"
    : "${ISO_REFUSED:=0}"
    : "${ISO_LIMIT:=64}" "${ISO_TIMEOUT_MS:=10000}" "${ISO_SLOW_SPEC:=drip:20}" "${ISO_DOWN_MS:=30000}"
fi
source "$(dirname "${BASH_SOURCE[0]}")/lib_faults.sh"
ts_setup

n_hole=${ISO_HOLE:-600} n_refused=${ISO_REFUSED:-300} n_slow=${ISO_SLOW:-60}
n_healthy=${ISO_HEALTHY:-400}
window_ms=${ISO_WINDOW_MS:-4000} start_ms=1500
limit=${ISO_LIMIT:-16} timeout_ms=${ISO_TIMEOUT_MS:-5000}
tr_start_sink HOLE --answer timeout || tr_finish
hole_port=${SINK_HOLE_URL##*:}
tr_start_sink SLOW --answer "${ISO_SLOW_SPEC:-drip:15}" || tr_finish
tr_start_sink OK --answer ok || tr_finish
refused_port=$(tr_free_port) || tr_finish
refused_url="http://127.0.0.1:$refused_port"
tr_start_stack --max-body 1048576 || tr_finish
check "the stack's own scheduler is paused" ts_pause_stack_schedulers
ts_start_scheduler iso --scheduler-id iso "${ISO_LIMIT_OPT:---host-limit}" "$limit" --timeout-ms "$timeout_ms" \
    --connect-timeout-ms 1000 --backoff-min-ms 500 --backoff-max-ms 2000

# Each receiver's timers spread evenly over the window (the healthy ones created
# first: the window's start must not pass while the others are created).
at=$(($(ts_now_ms) + start_ms))
for r in ok:"$n_healthy":"$SINK_OK_URL" hole:"$n_hole":"$SINK_HOLE_URL" \
    refused:"$n_refused":"$refused_url" slow:"$n_slow":"$SINK_SLOW_URL"; do
    IFS=: read -r p n url <<<"$r" # url, the last, keeps its own colons
    if ((n > 0)); then
        check "$n timers for $p created" tf_create_batch "$TR_TMP/keys.$p" "$p" "$n" "$url/$p" \
            "$at" "$window_ms"
    else
        : >"$TR_TMP/keys.$p"
    fi
done
total=$(cat "$TR_TMP"/keys.{hole,refused,slow,ok} | wc -l)
t_created=$(ts_now_ms)

# (ts_all_delivered: a poll answers "not yet" from line counts before it runs jq.)
healthy_done() { ts_all_delivered "$TR_TMP/keys.ok" "$SINK_OK_LOG"; }
tr_wait_for "the healthy receiver got all $n_healthy" "${ISO_HEALTHY_WAIT_S:-$(((start_ms + window_ms) / 1000 + 20))}" \
    healthy_done
jq -r '(.t_us / 1000 | floor) - .due_ms' "$SINK_OK_LOG" >"$TR_TMP/late.ok"
p50=$(ts_percentile 50 "$TR_TMP/late.ok") p99=$(ts_percentile 99 "$TR_TMP/late.ok")
max=$(ts_percentile 100 "$TR_TMP/late.ok")
echo "# healthy receiver lateness beside $n_hole timers to a black hole, $n_refused to a" \
    "refusing and $n_slow to a dripping receiver: p50 $p50 ms, p99 $p99 ms, max $max ms" \
    "($n_healthy timers; target in bench/: p99 <= 10, max <= 50)"
# Loose here (a shared, noisy machine; the figure above is the measure): before the
# per-destination queues it was tens of seconds. Half the delivery timeout: a healthy
# timer that waited for a dead receiver's transfer would be a timeout late (a CI-like
# run at load 7-10 saw 1,101 ms in the sanitizer build, a quiet one ~100 ms).
bound_ms=$((timeout_ms / 2))
check "healthy receiver never waits for the others (max $max ms < $bound_ms)" test "$max" -lt "$bound_ms"
check_eq "healthy receiver: each timer once" "" "$(ts_duplicates "$SINK_OK_LOG" | head -3)"
if [[ ${TR_FAULT_LONG:-} == 1 ]]; then
    check "long mode: healthy p99 $p99 ms <= 10" test "$p99" -le 10
    check "long mode: healthy max $max ms <= 50" test "$max" -le 50
fi
if ((n_hole + n_refused + n_slow == 0)); then
    check "the scheduler stops cleanly" ts_stop_scheduler iso 15
    tr_finish # the baseline: nothing else to prove
fi

# What the black hole cost so far: a round of --host-limit, then probes.
swallowed=$(ts_sink_lines "$SINK_HOLE_LOG")
echo "# black hole: $swallowed requests for $n_hole timers (one timeout per timer before the breaker)"
check "the black hole cost about one round of --host-limit plus probes ($swallowed <= $((2 * limit)))" \
    test "$swallowed" -le $((2 * limit))
# Both come back, healthy, on the same ports: their held timers must flow after a probe.
down_ms=${ISO_DOWN_MS:-0}
left_s=$(((t_created + down_ms - $(ts_now_ms)) / 1000))
if ((left_s > 0)); then
    echo "# the dead receivers stay down $left_s s more (ISO_DOWN_MS=$down_ms)"
    sleep "$left_s" # the outage itself: nothing to wait for but time
fi
ref_up=$(ts_now_ms)
echo "# the dead receivers came back $((ref_up - t_created)) ms after the creates"
tr_stop_sink HOLE
swallowed=$(ts_sink_lines "$SINK_HOLE_LOG") # final: probes during a longer outage included
tr_start_sink HOLE2 --listen "127.0.0.1:$hole_port" --answer ok || tr_finish
tr_start_sink REFUSED --listen "127.0.0.1:$refused_port" --answer ok || tr_finish
all_done() {
    ts_all_delivered "$TR_TMP/keys.hole" "$SINK_HOLE_LOG" "$SINK_HOLE2_LOG" &&
        ts_all_delivered "$TR_TMP/keys.refused" "$SINK_REFUSED_LOG" &&
        ts_all_delivered "$TR_TMP/keys.slow" "$SINK_SLOW_LOG"
}
tr_wait_for "every held timer delivered once its receiver is back" 90 all_done
t_all=$(ts_now_ms)
echo "# all $total delivered $((t_all - t_created)) ms after the creates;" \
    "the last $((t_all - ref_up)) ms after the receivers came back" \
    "(breaker probes back off from 1 s to 30 s; held timers return spread over that wait)"
failed=$(tr_redis HGET "$(ts_k stats)" failed)
held=$(tr_redis HGET "$(ts_k stats)" held)
echo "# failures counted: ${failed:-0}; holds (given back undelivered, no attempt spent): ${held:-0}"
check "the dead receivers cost a few failures, not one per timer (failed ${failed:-0})" \
    test "${failed:-0}" -le $((swallowed + 3 * limit))
check "timers were held while their receivers were away" test "${held:-0}" -gt 0

# The common checker over the answered deliveries (the black hole answered none); a
# timer it swallowed may have been answered twice only if an ack was lost.
cat "$TR_TMP"/keys.{hole,refused,slow,ok} >"$TR_TMP/keys.all"
jq -r .key "$SINK_HOLE_LOG" | sort -u >"$TR_TMP/keys.swallowed"
tf_deliveries "$SINK_OK_LOG" "$SINK_HOLE2_LOG" "$SINK_SLOW_LOG" "$SINK_REFUSED_LOG" \
    >"$TR_TMP/delivered"
tf_check_outcome "$TR_TMP/keys.all" "$TR_TMP/delivered" "$TR_TMP/keys.swallowed"
# What the receivers saw: each swallowed request was sent again, nothing else twice.
all_logs=("$SINK_OK_LOG" "$SINK_HOLE_LOG" "$SINK_HOLE2_LOG" "$SINK_SLOW_LOG" "$SINK_REFUSED_LOG")
dups=$(ts_duplicates "${all_logs[@]}" | wc -l)
echo "# requests seen twice: $dups keys (the black hole swallowed $swallowed: each was sent again)"
check "duplicates only among the swallowed requests ($dups <= $swallowed)" test "$dups" -le "$swallowed"
check_eq "duplicates are black-hole timers" "" \
    "$(ts_duplicates "${all_logs[@]}" | grep -v '^hole-' | head -3)"
# A held timer's redelivery carries its first due time (de-duplication key) and an
# attempt that counts only real deliveries.
moved=$(jq -r '[.key, .due_ms] | @tsv' "${all_logs[@]}" | sort -u | cut -f1 | uniq -d | head -3)
check_eq "every delivery of a timer carries the same X-TimeRush-Due-Ms" "" "$moved"
# The dripping receiver answers every request within the timeout: waiting for one of
# its --host-limit slots must not count against a delivery's timeout (it did when
# the wait was inside curl), so none of its deliveries may fail.
if ((n_slow > 0)); then
    slow_failed=$(jq -r 'select(.attempt > 1) | .key' "$SINK_SLOW_LOG" | sort -u | wc -l)
    echo "# dripping receiver: $n_slow timers, $(ts_sink_lines "$SINK_SLOW_LOG") requests," \
        "$slow_failed timers needed a second attempt"
    check_eq "no delivery to the dripping receiver failed (queue time is not delivery time)" 0 \
        "$slow_failed"
fi
if ((n_refused > 0)); then
    refused_attempts=$(jq -r '.attempt' "$SINK_REFUSED_LOG" | sort -n | tail -1)
    echo "# refusing receiver: highest attempt seen $refused_attempts"
    check "held timers spent no attempts (highest attempt $refused_attempts <= 3)" \
        test "${refused_attempts:-99}" -le 3
fi
check "the breaker opened and closed (logged)" \
    grep -q "breaker open" "$TR_TMP/sched.iso.log"
check "the breaker closed again (logged)" grep -q "breaker closed" "$TR_TMP/sched.iso.log"
check "the scheduler stops cleanly" ts_stop_scheduler iso 15
ts_no_sanitizer_reports
tr_finish
