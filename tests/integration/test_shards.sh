#!/usr/bin/env bash
# test_shards.sh - the sharded keyspace on one Redis (--shards 4, shared/tr_shard.h):
# 520 timers (client keys and server-made keys in one batch, and /register/ timers
# whose answers chain) spread over all 4 shards ({P:i}:due; nothing under the
# unsharded {P}:due); listing pages through them with limit 60: every key once, in
# (due, key) order; two schedulers deliver every timer exactly once (lost and
# duplicated counted); each chained timer lands in its parent's shard; /v1/stats sums
# the shards; a process started with another --shards, or with --shards 4 on
# unsharded data, refuses to start.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/lib_api.sh"
source "$here/lib_sched.sh"
ts_setup
export TR_TEST_SHARDS=4
S=4
nclient=380 nserver=100 nchain=20

tr_start_sink B
tr_start_sink A \
    --route "/chain=chain:{\"callback_cmd\":\"$SINK_B_URL/second\",\"callback_data\":\"second\",\"seconds\":1}"
tr_start_stack --schedulers 2 --max-body 1000000 || tr_finish
check_eq "the shard count is kept in Redis" "$S" "$(tr_redis GET "{$TR_KEY}:shards")"

# The wake line on one Redis: classic pub/sub (SUBSCRIBE, the scripts PUBLISH), every
# shard's channel; sharded pub/sub (SSUBSCRIBE/SPUBLISH) is the cluster's only.
wake_channels() { tr_redis PUBSUB CHANNELS "{$TR_KEY*" | LC_ALL=C sort | paste -sd' '; }
want_channels=$(for ((i = 0; i < S; i++)); do echo "{$TR_KEY:$i}:wake"; done | LC_ALL=C sort | paste -sd' ')
wake_lines_up() { [[ $(wake_channels) == "$want_channels" ]]; }
tr_wait_for "one Redis: the wake lines SUBSCRIBE every shard's {P:i}:wake" 20 wake_lines_up
check_eq "... both schedulers on each channel" "$S" \
    "$(tr_redis PUBSUB NUMSUB $want_channels | awk 'NR % 2 == 0 && $1 == 2' | wc -l)"
check_eq "... and no sharded channel" "" "$(tr_redis PUBSUB SHARDCHANNELS "{$TR_KEY*")"

# shardcheck: "KEY SHARD" lines in, the lines whose SHARD is not KEY's (FNV-1a 32
# mod S, as shared/tr_shard.c) out. One process for every key: forks are slow when loaded.
shardcheck() {
    python3 -c '
import sys
S = int(sys.argv[1])
def shard(k):
    h = 2166136261
    for b in k.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h % S
for line in sys.stdin:
    k, s = line.split()
    if shard(k) != int(s):
        print(k, s)' "$S"
}

# Paused while they are created, counted and listed: no timing assumption.
api POST /v1/pause
check_api "deliveries paused" 200
body=$(python3 -c "
import json, sys
c, s, ch, url, now = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
# Client keys at 7 due times shared across the shards: the merged pages must interleave them.
t = [{'key': 'sk-%04d' % i, 'url': url + '/one', 'data': 'c', 'at': now + 2000 + i % 7} for i in range(c)]
t += [{'url': url + '/one', 'data': 's', 'delay_ms': 500} for i in range(s)]
t += [{'url': url + '/chain', 'data': 'first', 'delay_ms': 500} for i in range(ch)]
print(json.dumps({'timers': t}))" "$nclient" "$nserver" "$nchain" "$SINK_A_URL" "$(tr_now_ms)")
api POST /v1/timers/batch "$body"
n=$((nclient + nserver + nchain))
check_eq "one batch over every shard: all created" "$n" \
    "$(jqb '[.results[] | select(.status == 201)] | length')"
jqb '.results[].timer.key' >"$TR_TMP/keys"
check_eq "$n distinct keys" "$n" "$(sort -u "$TR_TMP/keys" | wc -l)"

# Where they are: each shard's due set, read with redis-cli, against each key's hash.
counts=()
: >"$TR_TMP/placed"
for ((i = 0; i < S; i++)); do
    tr_redis ZRANGE "{$TR_KEY:$i}:due" 0 -1 | sed "s/\$/ $i/" >>"$TR_TMP/placed"
    counts+=("$(grep -c " $i\$" "$TR_TMP/placed")")
done
echo "# timers per shard: ${counts[*]}"
min=$n
for c in "${counts[@]}"; do ((c < min)) && min=$c; done
check_eq "every timer is in one shard's due set" "$n" "$(cut -d' ' -f1 "$TR_TMP/placed" | sort -u | wc -l)"
check "every shard holds at least half its share (min $min of $n / $S)" test "$min" -ge $((n / S / 2))
check_eq "each key is in the shard its hash names" "" "$(shardcheck <"$TR_TMP/placed" | head -3)"
check_eq "nothing under the unsharded names" "0 0" \
    "$(tr_redis EXISTS "{$TR_KEY}:due") $(tr_redis EXISTS "{$TR_KEY}:stats")"
api GET "/v1/timers/sk-0007"
check_eq "GET goes to the key's shard" "sk-0007 pending" "$(jqb '"\(.timer.key) \(.timer.state)"')"

# Listing: one cursor over the shards, limit 60.
: >"$TR_TMP/listed"
api_list_pending 60 30 "$TR_TMP/listed"
echo "# listed in $LIST_PAGES pages"
check_eq "listing: every timer once" "$n" "$(cut -d' ' -f2 "$TR_TMP/listed" | sort -u | wc -l)"
check_eq "listing: no timer twice" "$n" "$(wc -l <"$TR_TMP/listed")"
check_eq "listing: exactly the created keys" "" \
    "$(comm -3 <(sort -u "$TR_TMP/keys") <(cut -d' ' -f2 "$TR_TMP/listed" | sort -u) | head -3)"
check "listing: in (due, key) order" bash -c "LC_ALL=C sort -k1,1n -k2,2 -c '$TR_TMP/listed'"
api GET /v1/stats
check_eq "/v1/stats sums the shards (created, pending)" "$n $n" "$(jqb '"\(.totals.created) \(.pending)"')"
api POST /v1/resume
check_api "deliveries resumed (every shard)" 200

# Delivery: every timer once; the chained ones in their parents' shards.
tr_wait_for "all $n callbacks arrived" 60 ts_all_delivered "$TR_TMP/keys" "$SINK_A_LOG"
tr_wait_for "$nchain chained callbacks arrived" 30 tr_sink_has B "$nchain"
tr_wait_for "the store is empty again" 20 tr_no_timers_left
lost=$(ts_missing "$TR_TMP/keys" "$SINK_A_LOG" | wc -l)
dups=$(ts_duplicates "$SINK_A_LOG" "$SINK_B_LOG" | wc -l)
echo "# delivered: $(ts_sink_lines "$SINK_A_LOG") + $(ts_sink_lines "$SINK_B_LOG") chained; lost $lost, duplicated $dups"
check_eq "lost = 0" 0 "$lost"
check_eq "duplicates = 0" 0 "$dups"
check_eq "chained callbacks = $nchain" "$nchain" "$(ts_sink_lines "$SINK_B_LOG")"
# The schedulers log each chain: "key=PARENT chained new_key=CHILD".
grep -ho 'key=[^ ]* chained new_key=[^ ]*' "$TR_RUN"/log/scheduler.*.log |
    sed 's/key=\([^ ]*\) chained new_key=\(.*\)/\1 \2/' >"$TR_TMP/chains"
check_eq "$nchain chains logged" "$nchain" "$(wc -l <"$TR_TMP/chains")"
# The child's shard must be its parent's (FNV-1a 32 mod S of each).
python3 -c '
import sys
def shard(k):
    h = 2166136261
    for b in k.encode():
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return h % int(sys.argv[1])
bad = [l for l in open(sys.argv[2]) if shard(l.split()[0]) != shard(l.split()[1])]
print(len(bad))' "$S" "$TR_TMP/chains" >"$TR_TMP/chain_bad"
check_eq "every chained key is in its parent's shard" 0 "$(cat "$TR_TMP/chain_bad")"
check_eq "stats: delivered = every callback" "$((n + nchain))" "$(ts_stat delivered)"

# Another shard count on this Redis: refused, with the reason.
for other in 2 1; do
    ts_start_scheduler "s$other" --shards "$other"
    tr_wait_for "a scheduler with --shards $other exits" 20 bash -c "! kill -0 ${TS_SCHED_PID[s$other]} 2>/dev/null"
    wait "${TS_SCHED_PID[s$other]}"
    rc=$?
    check_eq "... with status 1" 1 "$rc"
    check "... saying why" grep -q "cannot start: --shards $other refused: Redis holds this deployment's data in $S shards" \
        "$TR_TMP/sched.s$other.log"
done
# timerush-fcgi serves the socket on its stdin (spawn-fcgi's way): give it one.
out=$(timeout 30 python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(8)
os.dup2(s.fileno(), 0)
os.execv(sys.argv[2], sys.argv[2:])' "$TR_TMP/fcgi8.sock" "$TR_BUILD_DIR/fcgi/timerush-fcgi" \
    --redis-socket "$TR_REDIS_SOCK" --redis-password-file "$TR_REDIS_PASSWORD_FILE" \
    --key "$TR_KEY" --shards 8 2>&1)
rc=$?
check "timerush-fcgi with --shards 8 refuses to start (status $rc)" \
    test "$rc" -ne 0 -a -n "$(grep "cannot start: --shards 8 refused" <<<"$out")"
# --shards 4 where unsharded data (--shards 1) lives under the key: refused too.
tr_redis HSET "{tr_unsharded}:stats" created 1 >/dev/null
TS_KEY=tr_unsharded ts_start_scheduler u4 --shards 4
tr_wait_for "--shards 4 on unsharded data exits" 20 bash -c "! kill -0 ${TS_SCHED_PID[u4]} 2>/dev/null"
check "... saying why" grep -q "Redis holds unsharded data" "$TR_TMP/sched.u4.log"
check_eq "... and writes no shard count" 0 "$(tr_redis EXISTS "{tr_unsharded}:shards")"

tr_stop_stack
tr_finish
