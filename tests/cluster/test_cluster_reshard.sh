#!/usr/bin/env bash
# test_cluster_reshard.sh - shards moved between masters while their timers fall due
# (issue 11; run under tests/cluster/with_cluster.sh). 900 timers over 16 shards, due
# over 2-9 s; from 4 s in, two shards' slots are moved to another master the way
# `redis-cli --cluster reshard` does it (SETSLOT IMPORTING/MIGRATING, MIGRATE of the
# slot's keys until none is left, SETSLOT NODE on every master): the service follows the
# ASK/MOVED answers (and retries the TRYAGAIN of a script whose keys are split for the
# moment). Every timer is delivered: lost 0; duplicates counted and printed (only a
# timer in flight at a move could repeat).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib_cluster_test.sh"
export TR_TEST_SHARDS=16
S=16 n=900
seeds=$(tc_seeds "${masters[@]}")

# owner SLOT_KEY: the master port that serves the key's slot (the others answer MOVED).
owner() {
    local p
    for p in "${masters[@]}"; do
        [[ $(node_cli "$p" EXISTS "$1" 2>&1) =~ ^[0-9]+$ ]] && { echo "$p"; return 0; }
    done
    return 1
}

# move_shard I: shard I's slot to the next master, as redis-cli --cluster reshard does.
move_shard() {
    local k="{$TR_KEY:$1}:due" slot from to from_id to_id keys m i
    slot=$(node_cli "${masters[0]}" CLUSTER KEYSLOT "$k")
    from=$(owner "$k") || return 1
    for i in "${!masters[@]}"; do [[ ${masters[i]} == "$from" ]] && to=${masters[(i + 1) % M]}; done
    from_id=$(node_cli "$from" CLUSTER MYID)
    to_id=$(node_cli "$to" CLUSTER MYID)
    node_cli "$to" CLUSTER SETSLOT "$slot" IMPORTING "$from_id" >/dev/null || return 1
    node_cli "$from" CLUSTER SETSLOT "$slot" MIGRATING "$to_id" >/dev/null || return 1
    local moved=0 rounds out
    for ((rounds = 0; rounds < 200; rounds++)); do
        # (redis-cli prints one empty line for an empty array: not a key.)
        mapfile -t keys < <(node_cli "$from" CLUSTER GETKEYSINSLOT "$slot" 100 | grep .)
        ((${#keys[@]} == 0)) && break
        out=$(node_cli "$from" MIGRATE 127.0.0.1 "$to" "" 0 10000 AUTH "$TR_TEST_CLUSTER_PASSWORD" \
            KEYS "${keys[@]}" 2>&1)
        [[ $out == OK || $out == NOKEY ]] || { echo "# MIGRATE: $out"; return 1; }
        moved=$((moved + ${#keys[@]}))
    done
    ((rounds < 200)) || return 1
    for m in "${masters[@]}"; do node_cli "$m" CLUSTER SETSLOT "$slot" NODE "$to_id" >/dev/null; done
    echo "# shard $1 (slot $slot, $moved keys) moved from $from to $to"
}

tr_start_sink A
tr_start_stack --cluster "$seeds" --shards "$S" --redis-password-file "$pwfile" --schedulers 2 \
    --max-body 1000000 --host-limit 512 || tr_finish

body=$(tc_batch_body "$n" "$SINK_A_URL/m" 7000)
api POST /v1/timers/batch "$body"
t0=$(tr_now_ms)
check_eq "$n timers created over $S shards" "$n" "$(jqb '[.results[] | select(.status == 201)] | length')"
jqb '.results[] | select(.status == 201) | .timer.key' >"$TR_TMP/keys"

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
