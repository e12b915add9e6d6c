#!/usr/bin/env bash
# test_cluster_e2e.sh - the whole service on a real Redis Cluster (issue 11; run by
# ctest under tests/cluster/with_cluster.sh: 3 masters, a replica each, a password).
# ./timerush --cluster SEEDS --shards 16 --wait-replicas 1 starts no Redis of its own
# (every acknowledged write confirmed by its master's replica); 1,000 timers,
# 500 over /register/ and 500 over /v1/timers (a batch and single creates, client
# keys and server-made keys), land in the 16 shards spread over the 3 masters; get,
# cancel and list (one cursor over the shards) work; a callback aimed at a node that
# is no seed (a replica, a bus port) is refused; /v1/stats sums the shards; every
# timer not cancelled is delivered once (lost and duplicated counted and printed);
# a process with --cluster and --shards 1 refuses to start.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib_cluster_test.sh"
export TR_TEST_SHARDS=16
S=16
nreg=500 nbatch=480 nsingle=20 ncancel=20
seeds=$(tc_seeds "${masters[@]}")

# --wait-replicas 1: every create, cancel and ack waits for its master's replica
# (WAIT), which can confirm nothing before its first sync: wait for that.
replicas_online() {
    local p
    for p in "${masters[@]}"; do
        node_cli "$p" INFO replication | grep -q 'state=online' || return 1
    done
}
tr_wait_for "every master's replica is in sync" 30 replicas_online
tr_start_sink A
tr_start_stack --cluster "$seeds" --shards "$S" --redis-password-file "$pwfile" --schedulers 2 \
    --max-body 1000000 --host-limit 512 --wait-replicas 1 || tr_finish
check "no redis-server of the launcher's own" test ! -e "$TR_RUN/pids/redis.pid"
# The launcher hands --cluster, --shards and --wait-replicas to every program.
args=""
for pid in $(tr_stack_pids); do
    c=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)
    [[ $c == *timerush-fcgi* || $c == *timerush-scheduler* ]] && args+="$c"$'\n'
done
nprog=$(grep -c timerush <<<"$args")
full=$(grep -- "--cluster" <<<"$args" | grep -- "--shards" | grep -c -- "--wait-replicas")
check "fcgi workers and schedulers found ($nprog)" test "$nprog" -ge 3
check_eq "each has --cluster, --shards and --wait-replicas" "$nprog" "$full"
check "the ready line names the cluster" grep -q "redis: cluster $seeds, $S shards" \
    "$TR_TMP/launcher.1.out"
check_eq "the shard count is kept in the cluster" "$S" "$(tr_redis GET "{$TR_KEY}:shards")"

# Every node the cluster names is an own address (shared/tr_cluster_self.h), not only
# the seeds (the masters here): a callback to a replica or to a bus port is refused.
bus=$(node_cli "${masters[0]}" CLUSTER NODES | awk '$3 ~ /myself/ { split($2, a, "[@,]"); print a[2] }')
for target in "127.0.0.1:${cports[M]}" "127.0.0.1:$bus"; do
    api POST /v1/timers "{\"url\":\"http://$target/x\",\"data\":\"x\",\"delay_ms\":1000}"
    check_api "a callback to a node that is no seed ($target) is refused" 400 destination_refused
done
check "the programs name the cluster's 6 nodes as own addresses" grep -q \
    "the cluster's 6 nodes (client and bus ports) are own addresses" "$TR_RUN/log/scheduler.1.log"

# Paused while they are created, placed, listed: no timing assumption.
api POST /v1/pause
check_api "deliveries paused (every shard)" 200
t0=$(tr_now_ms)
for ((i = 0; i < nreg; i++)); do echo "1 r$i"; done |
    ts_register_bulk "$TR_TMP/keys.reg" "$SINK_A_URL/reg" 16
check_eq "$nreg timers over /register/" "$nreg" "$(sort -u "$TR_TMP/keys.reg" | wc -l)"
body=$(python3 -c "
import json, sys
n, url = int(sys.argv[1]), sys.argv[2]
t = [{'key': 'ck-%04d' % i, 'url': url + '/v1', 'data': 'c'} if i % 2 else
     {'url': url + '/v1', 'data': 's'} for i in range(n)]
print(json.dumps({'timers': [dict(x, delay_ms=1000) for x in t]}))" "$nbatch" "$SINK_A_URL")
api POST /v1/timers/batch "$body"
check_eq "one batch of $nbatch over every shard: all created" "$nbatch" \
    "$(jqb '[.results[] | select(.status == 201)] | length')"
jqb '.results[].timer.key' >"$TR_TMP/keys.v1"
ok=0
for ((i = 0; i < nsingle; i++)); do
    api POST /v1/timers "{\"key\":\"one-$i\",\"url\":\"$SINK_A_URL/v1\",\"data\":\"o\",\"delay_ms\":1000}"
    [[ $API_STATUS == 201 ]] && ok=$((ok + 1)) && echo "one-$i" >>"$TR_TMP/keys.v1"
done
check_eq "$nsingle single creates on /v1/timers" "$nsingle" "$ok"
echo "# created $((nreg + nbatch + nsingle)) timers in $(($(tr_now_ms) - t0)) ms"
cat "$TR_TMP/keys.reg" "$TR_TMP/keys.v1" >"$TR_TMP/keys.all"
n=$(sort -u "$TR_TMP/keys.all" | wc -l)
check_eq "1000 distinct keys" 1000 "$n"

# Placement: each shard's due set on the master that serves its slot.
tc_due_per_master "$S"
line=""
for p in "${masters[@]}"; do line+=" $p:${TC_DUE[$p]}"; done
echo "# timers per master:$line"
check_eq "every timer is in a shard's due set" 1000 "$TC_DUE_TOTAL"
check_eq "every shard is served by one master, none empty" "$S 0" "$TC_SHARDS_OWNED $TC_SHARDS_EMPTY"
spread=0
for p in "${masters[@]}"; do ((TC_DUE[$p] > 0)) && spread=$((spread + 1)); done
check_eq "the shards are on all 3 masters" 3 "$spread"

# get, cancel, list.
api GET /v1/timers/ck-0001
check_eq "GET a client key on its shard's master" "ck-0001 pending" "$(jqb '"\(.timer.key) \(.timer.state)"')"
k=$(head -n 1 "$TR_TMP/keys.reg")
api GET "/v1/timers/$k"
check_eq "GET a /register/ key" "$k pending" "$(jqb '"\(.timer.key) \(.timer.state)"')"
: >"$TR_TMP/cancelled"
cok=0
for k in $(shuf -n $((ncancel / 2)) --random-source=<(yes) "$TR_TMP/keys.v1"); do
    api DELETE "/v1/timers/$k"
    [[ $API_STATUS == 200 ]] && cok=$((cok + 1)) && echo "$k" >>"$TR_TMP/cancelled"
done
for k in $(shuf -n $((ncancel / 2)) --random-source=<(yes) "$TR_TMP/keys.reg"); do
    a=$(tr_post /unregister/ "$(jq -cn --arg k "$k" '{key: $k}')")
    # ttl 0: due already (deliveries are paused), the answer /unregister/ gives then.
    [[ $(jq -r '.ret' <<<"$a") == 0 ]] && cok=$((cok + 1)) && echo "$k" >>"$TR_TMP/cancelled"
done
check_eq "$ncancel cancels ($((ncancel / 2)) DELETE /v1/timers, $((ncancel / 2)) /unregister/)" \
    "$ncancel" "$cok"
# One curl for all (kept-alive connection): one status line per key.
urls=()
while IFS= read -r k; do urls+=(-o /dev/null "$TR_URL/v1/timers/$k"); done <"$TR_TMP/cancelled"
gone=$(curl -sS --max-time 20 -w '%{http_code}\n' "${urls[@]}" | grep -c '^404$')
check_eq "every cancelled timer is gone (GET answers 404)" "$ncancel" "$gone"
grep -vxF -f "$TR_TMP/cancelled" "$TR_TMP/keys.all" >"$TR_TMP/keys"
left=$((1000 - ncancel))
: >"$TR_TMP/listed"
api_list_pending 200 20 "$TR_TMP/listed"
check_eq "listing over 16 shards on 3 masters: every timer once ($LIST_PAGES pages)" "$left $left" \
    "$(cut -d' ' -f2 "$TR_TMP/listed" | sort -u | wc -l) $(wc -l <"$TR_TMP/listed")"
check "listing: in (due, key) order" bash -c "LC_ALL=C sort -k1,1n -k2,2 -c '$TR_TMP/listed'"
api GET /v1/stats
check_eq "/v1/stats sums the shards (created, cancelled, pending)" "1000 $ncancel $left" \
    "$(jqb '"\(.totals.created) \(.totals.cancelled) \(.pending)"')"

# Delivery by two schedulers: each claims on every shard's master. --host-limit 512:
# the one sink takes the whole burst (the default 64 holds part of it back for
# seconds: the destination's back-pressure, not what this test measures).
t1=$(tr_now_ms)
api POST /v1/resume
check_api "deliveries resumed (every shard)" 200
tr_wait_for "all $left callbacks arrived" 30 ts_all_delivered "$TR_TMP/keys" "$SINK_A_LOG"
echo "# delivered in $(($(tr_now_ms) - t1)) ms after the resume"
tr_wait_for "the store is empty again" 20 tr_no_timers_left
lost=$(ts_missing "$TR_TMP/keys" "$SINK_A_LOG" | wc -l)
dups=$(ts_duplicates "$SINK_A_LOG" | wc -l)
late=$(jq -r .key "$SINK_A_LOG" | grep -cxF -f "$TR_TMP/cancelled")
echo "# delivered $(ts_sink_lines "$SINK_A_LOG"); lost $lost, duplicated $dups, cancelled but delivered $late"
check_eq "lost = 0" 0 "$lost"
check_eq "duplicates = 0" 0 "$dups"
check_eq "no cancelled timer delivered" 0 "$late"
check_eq "stats: delivered = every callback" "$left" "$(ts_stat delivered)"
# A claim racing the resume over the 16 shards must not strand what it took until
# its lease ran out (each would then come as attempt 2, 11.5 s late).
check_eq "every delivery was a first attempt" 0 \
    "$(cat "$TR_RUN"/log/scheduler.*.log | grep ' delivered status=' | grep -vc ' attempt=1 ')"

# A fresh timer wakes a scheduler (SPUBLISH on its shard's master, where the wake line
# SSUBSCRIBEs; test_cluster_wake.sh checks it per master).
k=$(ts_register "$SINK_A_URL/wake" w 1)
tr_wait_for "a timer created after the run fires" 10 tr_sink_has A 1 "select(.key == \"$k\")"

# --shards 1 with --cluster: refused with the reason.
out=$("$TR_BUILD_DIR/scheduler/timerush-scheduler" --cluster "$seeds" --shards 1 --check 2>&1)
check "a scheduler with --cluster --shards 1 is refused" grep -q "needs --shards 2 or more" <<<"$out"

tr_stop_stack
tr_finish
