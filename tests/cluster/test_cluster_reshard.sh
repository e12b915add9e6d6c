#!/usr/bin/env bash
# test_cluster_reshard.sh - shards moved between masters while their timers fall due
# (issue 11; run under tests/cluster/with_cluster.sh). 5,000 timers over 16 shards, due
# over 2-9 s; from 4 s in, two shards' slots are moved to another master the way
# `redis-cli --cluster reshard` does it (SETSLOT IMPORTING/MIGRATING, MIGRATE of the
# slot's keys until none is left, SETSLOT NODE on every master): the service follows the
# ASK/MOVED answers (and retries the TRYAGAIN of a script whose keys are split for the
# moment). Every timer is delivered: lost 0; duplicates counted and printed (only a
# timer in flight at a move could repeat).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib_cluster_test.sh"
export TR_TEST_SHARDS=16
S=16 n=5000
seeds=$(tc_seeds "${masters[@]}")

# move_shard I: shard I's slot to the next master.
move_shard() { tc_move_slot "{$TR_KEY:$1}:due"; }

tc_stack_and_spread "$seeds" "$S" "$n" /m 7000

wait_ms=$((t0 + 4000 - $(tr_now_ms)))
((wait_ms > 0)) && tr_sleep "$(printf '%d.%03d' $((wait_ms / 1000)) $((wait_ms % 1000)))"
before=$(ts_sink_lines "$SINK_A_LOG")
t1=$(tr_now_ms)
out=$(move_shard 3)
rc=$?
echo "$out"
check_eq "shard 3 moved while its timers fall due ($before delivered before)" 0 "$rc"
out=$(move_shard 11)
rc=$?
echo "$out"
check_eq "shard 11 moved too (both in $(($(tr_now_ms) - t1)) ms)" 0 "$rc"
check_eq "shard 3's due set answers on its new master only" 1 \
    "$(for p in "${masters[@]}"; do node_cli "$p" ZCARD "{$TR_KEY:3}:due" 2>&1; done | grep -c '^[0-9]')"

tr_wait_for "every timer is delivered" 30 ts_all_delivered "$TR_TMP/keys" "$SINK_A_LOG"
lost=$(ts_missing "$TR_TMP/keys" "$SINK_A_LOG" | wc -l)
dups=$(ts_duplicates "$SINK_A_LOG" | wc -l)
echo "# delivered $(ts_sink_lines "$SINK_A_LOG") callbacks for $n timers; lost $lost, duplicated $dups"
check_eq "lost = 0" 0 "$lost"
check "duplicates only among timers in flight at a move (<= 10% of $n)" test "$dups" -le $((n / 10))
down=$(cat "$TR_RUN"/log/scheduler.*.log "$TR_RUN"/log/fcgi.log 2>/dev/null | grep -c 'redis unavailable')
echo "# 'redis unavailable' lines in the programs' logs: $down"

# New timers on the moved shards: created and delivered through the new masters.
body=$(python3 -c "
import json, sys
print(json.dumps({'timers': [{'key': 'after-%d' % i, 'url': sys.argv[1] + '/a', 'data': 'y',
                              'delay_ms': 300} for i in range(64)]}))" "$SINK_A_URL")
api POST /v1/timers/batch "$body"
check_eq "64 timers created after the moves" 64 "$(jqb '[.results[] | select(.status == 201)] | length')"
jqb '.results[] | select(.status == 201) | .timer.key' >"$TR_TMP/keys2"
tr_wait_for "... and delivered" 20 ts_all_delivered "$TR_TMP/keys2" "$SINK_A_LOG"

tr_stop_stack
tr_finish
