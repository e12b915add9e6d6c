#!/usr/bin/env bash
# test_cluster_local.sh - ./timerush --cluster-local 3 (issue 11): the launcher starts
# a Redis Cluster of its own (3 masters, a replica each, scripts/cluster-local.sh) and
# the service on it. Not run under with_cluster.sh: the cluster is the launcher's.
#   - the 6 redis-server processes of pids/redis.pid are cluster nodes of one cluster,
#     3 masters and 3 replicas, on the ports the ready line names; the generated
#     password file is 0600 and the nodes' directories 0700;
#   - a timer over /register/ and one over /v1/timers fire;
#   - shard balance (--shards 64): 10,000 timers created in batches while deliveries
#     are paused; each master's share of them (its shards' due sets) is within 15% of
#     a third; the split is printed;
#   - after the launcher's SIGTERM every node is gone (tr_stop_stack checks every pid
#     the stack recorded);
#   - scripts/cluster-local.sh makes a 1-master cluster (by hand: redis-cli refuses).
set -uo pipefail
TC_OWN_CLUSTER=1
source "$(dirname "${BASH_SOURCE[0]}")/lib_cluster_test.sh"
S=64 N=10000

tr_start_sink A
tr_start_stack --cluster-local 3 --shards "$S" --max-body 1000000 || tr_finish
pwfile_run=$TR_RUN/run/redis.password
check_eq "the generated password file is 0600" 600 "$(stat -c %a "$pwfile_run")"
ready=$(grep -m1 'TimeRush ready:' "$TR_TMP/launcher.1.out")
check "the ready line names the local cluster and the shards" \
    grep -q "local cluster of 3 masters and 3 replicas (127.0.0.1:.*), $S shards" <<<"$ready"

# The nodes: pids from the pid file, ports from the ready line (masters first, as
# redis-cli --cluster create made them).
mapfile -t pids <"$TR_RUN/pids/redis.pid"
seeds=$(sed -n 's/.*replicas (\([0-9.:,]*\)).*/\1/p' <<<"$ready")
ports=$(sed 's/127\.0\.0\.1://g' <<<"$seeds")
tc_use_cluster "$ports" "$(IFS=,; echo "${pids[*]}")" 3 "$(cat "$pwfile_run")"
check_eq "6 redis-server processes in pids/redis.pid, 6 ports" "6 6" "${#pids[@]} ${#cports[@]}"
title=0
for pid in "${pids[@]}"; do
    [[ $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == redis-server\ 127.0.0.1:*\[cluster\]* ]] &&
        title=$((title + 1))
done
check_eq "each is a redis-server in cluster mode" 6 "$title"
roles=""
for p in "${cports[@]}"; do
    node_cli "$p" CLUSTER INFO | grep -q '^cluster_state:ok' && roles+="ok "
done
check_eq "every node says cluster_state:ok" "ok ok ok ok ok ok " "$roles"
node_cli "${cports[0]}" CLUSTER NODES >"$TR_TMP/nodes"
check_eq "the cluster: 3 masters, 3 replicas" "3 3" \
    "$(awk '$3 ~ /master/' "$TR_TMP/nodes" | wc -l) $(awk '$3 ~ /slave/' "$TR_TMP/nodes" | wc -l)"
check_eq "its nodes are the launcher's" "$(printf '%s\n' "${cports[@]}" | sort | tr '\n' ' ')" \
    "$(awk '{ split($2, a, "[:@]"); print a[2] }' "$TR_TMP/nodes" | sort | tr '\n' ' ')"
check_eq "the nodes' directories are 0700" "700 700 700 700 700 700" \
    "$(stat -c %a "$TR_RUN"/redis/cluster/node* | tr '\n' ' ' | sed 's/ $//')"

# Both creation paths fire through the cluster.
k=$(ts_register "$SINK_A_URL/reg" r 1)
check "a timer over /register/" test -n "$k"
api POST /v1/timers "{\"url\":\"$SINK_A_URL/v1\",\"data\":\"v\",\"delay_ms\":500}"
check_api "a timer over /v1/timers" 201
k2=$(jqb .timer.key)
tr_wait_for "the /register/ timer fires" 20 tr_sink_has A 1 "select(.key == \"$k\")"
tr_wait_for "the /v1/timers timer fires" 20 tr_sink_has A 1 "select(.key == \"$k2\")"

# Shard balance: paused, so every timer stays in its shard's due set to be counted.
api POST /v1/pause
check_api "deliveries paused" 200
# One body (server-made keys: each post makes new timers), 4 posts at a time.
tc_batch_body 1000 "$SINK_A_URL/b" 60000 >"$TR_TMP/batch.json"
args=()
for ((b = 0; b < N / 1000; b++)); do
    ((b > 0)) && args+=(--next)
    args+=(-sS --max-time 120 -H 'Content-Type: application/json' --data-binary "@$TR_TMP/batch.json"
        -o "$TR_TMP/batch.$b.out" "$TR_URL/v1/timers/batch")
done
t0=$(tr_now_ms)
curl --parallel --parallel-max 4 "${args[@]}" 2>"$TR_TMP/batch.err"
created=$(cat "$TR_TMP"/batch.*.out | jq -s '[.[].results[] | select(.status == 201)] | length')
echo "# created $created timers in $((N / 1000)) batches in $(($(tr_now_ms) - t0)) ms"
check_eq "$N timers created over the batch API" "$N" "$created"
tc_due_per_master "$S"
check_eq "every timer is in a shard's due set, each shard on one master" "$N $S" \
    "$TC_DUE_TOTAL $TC_SHARDS_OWNED"
line="" off=0
for p in "${masters[@]}"; do
    # Within 15% of a third: |3 * n - N| <= 0.15 * N.
    d=$((3 * TC_DUE[$p] - N))
    ((d < 0)) && d=$((-d))
    ((d * 100 > 15 * N)) && off=$((off + 1))
    line+=" $p:${TC_DUE[$p]} ($((TC_DUE[$p] * 1000 / N / 10)).$((TC_DUE[$p] * 1000 / N % 10))%)"
done
echo "# $N timers over $S shards on 3 masters:$line"
check_eq "each master holds its third within 15%" 0 "$off"

tr_stop_stack
gone=0
for pid in "${pids[@]}"; do tr_alive "$pid" || gone=$((gone + 1)); done
check_eq "after the launcher's SIGTERM every node is gone" 6 "$gone"

# 1 or 2 masters (--cluster-local 1 and 2), which redis-cli --cluster create refuses:
# the script makes them by hand. One master with its replica, without a stack.
source "$TR_SOURCE_DIR/scripts/cluster-local.sh"
mkdir -p "$TR_TMP/one"
if check "scripts/cluster-local.sh starts a cluster of 1 master and 1 replica" \
    tr_cluster_start "$TR_TMP/one" 1 1 "$(cat "$pwfile")"; then
    for pid in "${TR_CLUSTER_PIDS[@]}"; do tr_track_pid "$pid"; done
    tr_cluster_cli "${TR_CLUSTER_PORTS[1]}" CLUSTER NODES >"$TR_TMP/one.nodes"
    check_eq "... the master serves every slot, the other node is its replica" \
        "master 0-16383|slave |" \
        "$(awk '{ sub(/^myself,/, "", $3); print $3, $9 }' "$TR_TMP/one.nodes" | sort | tr '\n' '|')"
    tr_cluster_stop
fi
tr_finish
