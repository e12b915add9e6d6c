#!/usr/bin/env bash
# test_fault_redis_kill9_acked.sh - Redis killed (SIGKILL) right after N creates were
# acknowledged, with appendfsync always (--appendfsync always, what the launcher
# writes for the embedded Redis): restarted from its AOF, every acknowledged timer
# is there and is delivered. Counts missing and duplicated timers.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../integration" && pwd)
source "$here/lib.sh"
source "$here/lib_api.sh"
source "$here/lib_sched.sh"
ts_setup

n=${TR_FAULT_N:-300}
tr_start_sink A || tr_finish
check "a redis-server of our own runs" ts_start_redis
sed -i 's/^appendfsync .*/appendfsync always/' "$TS_REDIS_CONF"
redis-cli -s "$TS_REDIS_SOCK" CONFIG SET appendfsync always >/dev/null
check_eq "it fsyncs every write (appendfsync always)" always \
    "$(redis-cli -s "$TS_REDIS_SOCK" CONFIG GET appendfsync | tail -n1)"
tr_start_stack --redis-socket "$TS_REDIS_SOCK" || tr_finish
TR_REDIS_SOCK=$TS_REDIS_SOCK

# Half through /register/ (one request each), half in one REST batch; due in 4 s,
# so none fires before the kill. Only acknowledged creates count.
for ((i = 1; i <= n / 2; i++)); do echo "4 ka-$i"; done >"$TR_TMP/specs"
ts_register_bulk "$TR_TMP/keys" "$SINK_A_URL/ka" 16 <"$TR_TMP/specs"
items=()
for ((i = 1; i <= n - n / 2; i++)); do
    items+=("{\"key\":\"kb-$i\",\"url\":\"$SINK_A_URL/kb\",\"data\":\"b\",\"delay_ms\":4000}")
done
api POST /v1/timers/batch "{\"timers\":[$(IFS=,; echo "${items[*]}")]}"
jqb '.results[] | select(.status == 201) | .timer.key' >>"$TR_TMP/keys"
kill -KILL "$TS_REDIS_PID"
wait "$TS_REDIS_PID" 2>/dev/null
acked=$(sort -u "$TR_TMP/keys" | wc -l)
echo "# $acked creates acknowledged, then redis-server was killed (SIGKILL)"
check_eq "every create was acknowledged" "$n" "$acked"
check "redis restarts from its append-only file" ts_restart_redis
tr_wait_for "every acknowledged timer is delivered" 30 ts_all_delivered "$TR_TMP/keys" "$SINK_A_LOG"
missing=$(ts_missing "$TR_TMP/keys" "$SINK_A_LOG" | wc -l)
dups=$(ts_duplicates "$SINK_A_LOG" | wc -l)
echo "# missing $missing, duplicated $dups of $acked"
check_eq "missing = 0" 0 "$missing"
check_eq "duplicates = 0" 0 "$dups"
ts_no_sanitizer_reports
tr_stop_stack
tr_finish
