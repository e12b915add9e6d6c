#!/usr/bin/env bash
# test_redis_restart_due.sh - timers that fall due while Redis is away are delivered
# promptly once it is back: 20 timers due in 2-4 s, Redis stopped (SIGTERM: its AOF is
# written) for ~5 s so they all fall due meanwhile, then restarted from its config.
# Every timer arrives within 2 s of the restart, none is lost or doubled, and the
# scheduler rode it out (same pid, never exited).
# The launcher stops the whole stack when its embedded redis exits, so the stack is
# given an existing Redis of the test's own (--redis-socket), with the launcher's
# persistence settings (appendonly yes, appendfsync everysec).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/lib_sched.sh"
ts_setup

n=20
tr_start_sink A || tr_finish
check "a redis-server of our own runs" ts_start_redis
tr_start_stack --redis-socket "$TS_REDIS_SOCK" || tr_finish
TR_REDIS_SOCK=$TS_REDIS_SOCK

sched_pid=$(head -n1 "$TR_RUN/pids/scheduler.1.pid")
redis_pid=$TS_REDIS_PID
check "the scheduler runs" tr_alive "$sched_pid"
check "redis runs" tr_alive "$redis_pid"

for ((i = 1; i <= n; i++)); do echo "$((i % 3 + 2)) rr-$i"; done >"$TR_TMP/specs"
check "$n timers registered" ts_register_bulk "$TR_TMP/keys" "$SINK_A_URL/rr" 16 <"$TR_TMP/specs"
t_reg=$(ts_now_ms)

kill -TERM "$redis_pid"
redis_gone() { ! tr_alive "$redis_pid" 2>/dev/null; }
tr_wait_for "redis stopped" 10 redis_gone
t_down=$(ts_now_ms)
echo "# redis down $((t_down - t_reg)) ms after the registrations"
check_eq "no timer was delivered before redis stopped" 0 "$(ts_sink_lines "$SINK_A_LOG")"

# Stay down until every timer is past due (4 s) and a little more: ~5 s in all.
tr_sleep_until_ms $((t_reg + 5000))
check "the scheduler is still running while redis is away" tr_alive "$sched_pid"

ts_restart_redis
check "redis is back" ts_redis_up
t_up=$(ts_now_ms)
echo "# redis was away $((t_up - t_down)) ms"
# (The records themselves may be gone already: the scheduler can deliver within ms.)
check_eq "the store survived in the AOF (stats: created = $n)" "$n" \
    "$(tr_redis HGET "$(ts_k stats)" created)"

tr_wait_for "all $n timers delivered after the restart" 10 ts_all_delivered "$TR_TMP/keys" \
    "$SINK_A_LOG"
last=$(jq -s 'map(.t_us) | max / 1000 | floor' "$SINK_A_LOG")
first=$(jq -s 'map(.t_us) | min / 1000 | floor' "$SINK_A_LOG")
echo "# deliveries from $((first - t_up)) to $((last - t_up)) ms after redis answered"
check "all delivered within 2 s of the restart" test $((last - t_up)) -le 2000
check_eq "none lost" "" "$(ts_missing "$TR_TMP/keys" "$SINK_A_LOG" | head -3)"
check_eq "none doubled" "" "$(ts_duplicates "$SINK_A_LOG" | head -3)"
check_eq "each on its first attempt" "1" "$(ts_sink_field "$SINK_A_LOG" attempt | sort -u | paste -sd,)"
check "the scheduler never exited (same pid)" tr_alive "$sched_pid"
check_eq "the scheduler's pid file is unchanged" "$sched_pid" \
    "$(head -n1 "$TR_RUN/pids/scheduler.1.pid")"

# And the whole stack works again: a new timer goes through.
key=$(ts_register "$SINK_A_URL/after" "after-restart" 1)
check "a new timer registered after the restart" test -n "$key"
arrived() { (($(ts_sink_count_key "$SINK_A_LOG" "$key") >= 1)); }
tr_wait_for "the new timer is delivered" 10 arrived

ts_no_sanitizer_reports

tr_finish
