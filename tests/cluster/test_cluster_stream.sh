#!/usr/bin/env bash
# test_cluster_stream.sh - redis-stream:// timers on a real Redis Cluster (issues 11
# and 13; run by ctest under tests/cluster/with_cluster.sh: 3 masters, a replica
# each, a password). On a cluster the stream {P}:stream:NAME is not in the timer's
# shard's slot, so the scheduler writes the entry first (the marker SET NX PX and
# the XADD in one EVAL on the stream's master, scheduler/tr_notify_cstream.h), then
# acks on the shard. Covers: 1,000 timers over 16 shards, read back on the stream's
# master with a real consumer group: each exactly once (lost and duplicates printed),
# the fields, the firing's marker in the stream's slot, no CROSSSLOT, nothing left
# pending; a stream key holding a string fails the delivery with WRONGTYPE until it
# is fixed; the stream's slot moved to another master while 300 timers fire (lost 0,
# duplicates 0) and the cluster client's counters in /v1/stats and /metrics; a
# scheduler killed with SIGKILL while it drains 500 (lost 0, duplicates 0); then the
# stack again with --stream-redis pointed at a standalone Redis:
# 300 timers land there once each and nothing more in the cluster's stream.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib_cluster_test.sh"
source "$_tc_integration/lib_stream.sh"
export TR_TEST_SHARDS=16
S=16 N=1000 NM=300 NK=500 NX=300
seeds=$(tc_seeds "${masters[@]}")
skey="{$TR_KEY}:stream:orders"

# once_each WHAT KEYS ENTRIES: every key of the file KEYS has exactly one entry in the
# file ENTRIES (tr_stream_read's lines): lost and duplicates printed and checked.
once_each() {
    local lost dups
    lost=$(comm -23 "$2" <(jq -r .key "$3" | sort -u) | wc -l)
    dups=$(jq -r .key "$3" | sort | uniq -d | wc -l)
    echo "# $1: $(wc -l <"$2") timers, $(wc -l <"$3") entries read; lost $lost, duplicates $dups"
    check_eq "lost = 0" 0 "$lost"
    check_eq "duplicates = 0" 0 "$dups"
}

snode=$(tc_owner "$skey")
check "the stream key's master is found (port $snode)" test -n "$snode"
sc() { node_cli "$snode" "$@"; }
check_eq "the consumer group is made on the stream's master" OK \
    "$(sc XGROUP CREATE "$skey" g '$' MKSTREAM)"

tr_start_stack --cluster "$seeds" --shards "$S" --redis-password-file "$pwfile" --schedulers 2 \
    --max-body 1000000 --backoff-min-ms 200 --backoff-max-ms 400 || tr_finish
# says_where TEXT: a scheduler's log has the line that says where the entries go.
says_where() { grep -qsF "$1" "$TR_RUN"/log/scheduler.*.log; }
tr_wait_for "the schedulers say where the streams go" 10 says_where \
    "redis-stream:// targets go to {$TR_KEY}:stream:NAME on the cluster"

# Created while paused, so their spread over the shards is seen before any fires.
api POST /v1/pause
check_api "deliveries paused (every shard)" 200
api POST /v1/timers/batch "$(tc_batch_body "$N" redis-stream://orders 1000)"
check_eq "$N timers to redis-stream://orders in one batch" "$N" \
    "$(jqb '[.results[] | select(.status == 201)] | length')"
jqb '.results[].timer.key' | sort >"$TR_TMP/keys"
# One redis-cli per master; the other masters' shards answer MOVED, not counted.
shards_used=$(for p in "${masters[@]}"; do
    for ((i = 0; i < S; i++)); do echo "ZCARD $(tr_tag "$i"):due"; done | node_cli "$p"
done | grep -c '^[1-9][0-9]*$')
check_eq "the timers are on all $S shards" "$S" "$shards_used"
t0=$(tr_now_ms)
api POST /v1/resume
check_api "deliveries resumed" 200
# /v1/stats sums the shards in one call (a redis-cli per shard is slow on a loaded machine).
none_left() { api GET /v1/stats && [[ $(jqb '"\(.pending) \(.in_flight)"') == "0 0" ]]; }
delivered() { api GET /v1/stats && jqb .totals.delivered; }
xlen_at_least() { (($(sc XLEN "$skey") >= $1)); }
tr_wait_for "$N entries in $skey" 30 xlen_at_least "$N"
echo "# $N entries written in $(($(tr_now_ms) - t0)) ms after the resume"
tr_wait_for "no timer left pending or in flight" 20 none_left
tr_stream_read "$skey" g c1 sc >"$TR_TMP/a.entries"
once_each "cluster stream" "$TR_TMP/keys" "$TR_TMP/a.entries"
check_eq "XREADGROUP hands over $N entries, XLEN says $N" "$N $N" \
    "$(wc -l <"$TR_TMP/a.entries") $(sc XLEN "$skey")"
check_eq "the fields, in order" "id key attempt due_ms data" \
    "$(head -n1 "$TR_TMP/a.entries" | jq -r 'keys_unsorted | join(" ")')"
check_eq "data is the timer's" "" "$(jq -r 'select(.data != "x") | .key' "$TR_TMP/a.entries")"
first=$(head -n1 "$TR_TMP/a.entries")
marker="$skey:timerush-sent:$(jq -r .due_ms <<<"$first"):$(jq -r .key <<<"$first")"
check_eq "the firing's marker is in the stream's slot" "$(sc CLUSTER KEYSLOT "$skey")" \
    "$(sc CLUSTER KEYSLOT "$marker")"
ttl=$(sc PTTL "$marker")
check "the marker is on the stream's master, with the TTL of --stream-dedupe-ms (${ttl} ms)" \
    test "$ttl" -gt 3500000 -a "$ttl" -le 3600000
check_eq "stats: delivered = $N" "$N" "$(delivered)"
check_eq "no CROSSSLOT in the schedulers' logs" 0 \
    "$(cat "$TR_RUN"/log/scheduler.*.log | grep -c CROSSSLOT)"

# A stream key holding a string: an error reply in the pipeline fails that delivery
# alone, with the reason as its last error; the retry after the fix writes it.
wkey="{$TR_KEY}:stream:wrong"
sc SET "$wkey" x >/dev/null
api POST /v1/timers '{"key":"w-1","url":"redis-stream://wrong","data":"w","delay_ms":50}'
check_api "a timer to redis-stream://wrong" 201
w_error() { curl -s "$TR_URL/v1/timers/w-1" | jq -r '(.timer // .) | .last_error // empty'; }
wrongtype() { [[ $(w_error) == *WRONGTYPE* ]]; }
tr_wait_for "its delivery fails with WRONGTYPE" 10 wrongtype
echo "# last error: $(w_error)"
sc DEL "$wkey" >/dev/null
w_written() { [[ $(sc XLEN "$wkey") == 1 ]]; }
tr_wait_for "the key fixed, the retry writes the entry" 10 w_written

# --- the stream's slot moved while its timers fall due ----------------------------------
# The writes follow -ASK (the stream or a marker already on the new master) and -MOVED,
# and retry -TRYAGAIN (a script's two keys on both sides for a moment); marker and
# stream move together (one slot), so no firing gets a second entry.
base=$(sc XLEN "$skey")
# The client's redirections and resends so far, every process's (/v1/stats).
followed() { api GET /v1/stats && jqb '.cluster.moved + .cluster.ask + .cluster.retries'; }
followed0=$(followed)
# Due over 2-10 s: the move (six redis-cli calls before MIGRATING, then its MIGRATEs)
# took 12 s under load once, and a spread of 3 s had them all written before it began.
api POST /v1/timers/batch "$(tc_batch_body "$NM" redis-stream://orders 8000)"
check_eq "$NM timers due over 2-10 s" "$NM" "$(jqb '[.results[] | select(.status == 201)] | length')"
jqb '.results[].timer.key' | sort >"$TR_TMP/keys.m"
tr_wait_for "their first entries" 20 xlen_at_least $((base + 10))
t1=$(tr_now_ms)
out=$(tc_move_slot "$skey")
rc=$?
echo "$out"
t_moved=$(tr_now_ms)
check_eq "the stream's slot moved while they fire (in $((t_moved - t1)) ms)" 0 "$rc"
old_node=$snode
snode=$(tc_owner "$skey")
check "the stream is on another master now ($old_node -> $snode)" test "$snode" != "$old_node"
tr_wait_for "every entry on the new master" 30 xlen_at_least $((base + NM))
tr_wait_for "no timer left pending or in flight" 20 none_left
tr_stream_read "$skey" g c1 sc >"$TR_TMP/m.entries"
once_each "slot move" "$TR_TMP/keys.m" "$TR_TMP/m.entries"
# An entry's id is the ms Redis wrote it: some must have been written during the move.
during_move=$(jq -r '.id | split("-")[0]' "$TR_TMP/m.entries" | awk -v a="$t1" -v b="$t_moved" '$1 >= a && $1 < b' | wc -l)
check "entries written while the slot moved ($during_move of $NM)" test "$during_move" -gt 0
# The client's counters, every process's, in /v1/stats and /metrics.
# The move answers -TRYAGAIN (the script's marker is new, so its keys are never all
# on one side), -ASK or -MOVED, depending on the moment; each process adds what grew
# at most once a second, after a call of its own.
counted() { (($(followed) > followed0)); }
tr_wait_for "/v1/stats counts the move's redirections and resends (from $followed0)" 15 counted
echo "# /v1/stats cluster: $(jq -c .cluster <<<"$API_BODY")"
check "/v1/stats: map loads and connections counted" \
    test "$(jqb '[.cluster.map_loads, .cluster.connects] | min')" -gt 0
metrics=$(curl -sS --max-time 20 "$TR_URL/metrics")
# Counters only grow (the processes keep adding), so /metrics, read later, has as many.
loads=$(awk '$1 == "timerush_redis_cluster_map_loads_total" { print $2 }' <<<"$metrics")
check "/metrics: the same counters (map loads $loads, /v1/stats said $(jqb .cluster.map_loads))" \
    test "${loads:-0}" -ge "$(jqb .cluster.map_loads)" -a "$(jqb .cluster.map_loads)" -gt 0
check_eq "/metrics: six cluster counters, each with its HELP and TYPE" "6 6 6" \
    "$(grep -c '^timerush_redis_cluster_.*_total [0-9]' <<<"$metrics") \
$(grep -c '^# HELP timerush_redis_cluster_' <<<"$metrics") \
$(grep -c '^# TYPE timerush_redis_cluster_.* counter$' <<<"$metrics")"

# --- a scheduler killed (SIGKILL) while it writes and acks -----------------------------
# The stack's schedulers stopped, a scheduler of the test's own (--timeout-ms 1000: its
# leases end 2.5 s after a claim) takes the timers and is killed mid-drain; what it
# held comes back to the stack's schedulers after the leases. A timer whose entry was
# written but not acked is written again: its marker keeps it to one entry.
check "the stack's schedulers are stopped" ts_pause_stack_schedulers
"$(ts_sched_bin)" --cluster "$seeds" --shards "$S" --redis-password-file "$pwfile" \
    --key "$TR_KEY" --timeout-ms 1000 --connect-timeout-ms 500 --max-inflight 64 --logpath "$TR_TMP/victim.log" >"$TR_TMP/victim.out" 2>&1 &
victim=$!
tr_track_pid "$victim"
check "the scheduler of the test's own runs" tr_poll 10 grep -qs "scheduler id" "$TR_TMP/victim.log"
base=$(sc XLEN "$skey")
# Due over 2-5 s, so the drain takes 3 s whatever the machine's speed and the kill,
# made once a tenth is written, lands in it; where it lands in the victim's cycle
# (claim, write up to 64, ack) is chance: what it held is printed.
api POST /v1/timers/batch "$(tc_batch_body "$NK" redis-stream://orders 3000)"
check_eq "$NK timers due over 2-5 s" "$NK" "$(jqb '[.results[] | select(.status == 201)] | length')"
jqb '.results[].timer.key' | sort >"$TR_TMP/keys.k"
tr_wait_for "the scheduler of the test's own writes entries" 20 xlen_at_least $((base + NK / 10))
kill -KILL "$victim"
wait "$victim" 2>/dev/null
check "it is killed mid-drain ($(($(sc XLEN "$skey") - base)) of $NK written)" \
    test "$(sc XLEN "$skey")" -lt $((base + NK))
# What it held at the kill; those already in the stream would be written twice
# without their markers.
held=$(for ((i = 0; i < S; i++)); do tr_redis ZRANGE "$(tr_tag "$i"):inflight" 0 -1; done | grep . | sort)
written=$(sc XRANGE "$skey" - + | grep -xF -f <(echo "$held") | sort -u | wc -l)
echo "# killed holding $(grep -c . <<<"$held") timers, $written of them written but not acked"
ts_resume_stack_schedulers
tr_wait_for "every entry once the leases ran out" 30 xlen_at_least $((base + NK))
tr_wait_for "no timer left pending or in flight" 20 none_left
tr_stream_read "$skey" g c1 sc >"$TR_TMP/k.entries"
once_each "kill -9" "$TR_TMP/keys.k" "$TR_TMP/k.entries"
tr_stop_stack

# --- --stream-redis on a cluster deployment: the entries go to that Redis ------------
tr_start_stream_redis
check_eq "the consumer group is made on the other Redis" OK \
    "$(xr XGROUP CREATE orders g '$' MKSTREAM)"
tr_start_stack --cluster "$seeds" --shards "$S" --redis-password-file "$pwfile" --schedulers 2 \
    --max-body 1000000 --backoff-min-ms 200 --backoff-max-ms 400 \
    --stream-redis "127.0.0.1:$XPORT" --stream-redis-password-file "$XDIR/password" || tr_finish
tr_wait_for "the schedulers say where the streams go" 10 says_where \
    "redis-stream:// targets go to the redis at 127.0.0.1:$XPORT"
api POST /v1/timers/batch "$(tc_batch_body "$NX" redis-stream://orders 500)"
check_eq "$NX timers to redis-stream://orders" "$NX" \
    "$(jqb '[.results[] | select(.status == 201)] | length')"
jqb '.results[].timer.key' | sort >"$TR_TMP/keys.x"
x_at_least() { (($(xr XLEN orders) >= $1)); }
tr_wait_for "$NX entries in the other Redis" 30 x_at_least "$NX"
tr_wait_for "no timer left pending or in flight" 20 none_left
tr_stream_read orders g c1 xr >"$TR_TMP/x.entries"
once_each "--stream-redis on the cluster" "$TR_TMP/keys.x" "$TR_TMP/x.entries"
check_eq "nothing more in the cluster's stream" $((N + NM + NK)) "$(sc XLEN "$skey")"
check_eq "stats: delivered = $N + 1 + $NM + $NK + $NX" $((N + 1 + NM + NK + NX)) "$(delivered)"

tr_stop_stack
tr_finish
