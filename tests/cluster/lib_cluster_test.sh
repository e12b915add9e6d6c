# shellcheck shell=bash
# tests/cluster/lib_cluster_test.sh - what the script tests on a real Redis Cluster share
# (sourced; ctest runs them under tests/cluster/with_cluster.sh, which exports the
# cluster as TR_TEST_CLUSTER_*). Sourcing it sources lib.sh, lib_api.sh and
# lib_sched.sh, refuses to go on outside with_cluster.sh, and runs ts_setup. Then:
#   cports, cpids   every node's port and pid (node order: the first M are the masters)
#   M, masters      how many masters, and their ports
#   pwfile          a 0600 file holding the cluster's password (--redis-password-file)
#   tc_seeds PORT...        "127.0.0.1:PORT,..." for --cluster
#   node_cli PORT ARGS...   redis-cli against one node, authenticated (the password
#                           from the environment, never on the command line)
#   tr_redis ARGS...        lib.sh's (and so tr_sum_shards, ts_stat, tr_no_timers_left)
#                           on the cluster: redis-cli -c follows the MOVED answers
#   tc_owner KEY            the master port that serves KEY's slot
#   tc_move_slot KEY        KEY's slot (and every key in it) to the next master, the way
#                           `redis-cli --cluster reshard` does it; prints what it moved
#   tc_batch_body N URL SPREAD_MS
#                   a POST /v1/timers/batch body of N timers to URL, data "x", timer i
#                   due 2000 + SPREAD_MS * i / N ms after the create
_tc_integration=$(cd "$(dirname "${BASH_SOURCE[0]}")/../integration" && pwd)
source "$_tc_integration/lib.sh"
source "$_tc_integration/lib_api.sh"
source "$_tc_integration/lib_sched.sh"

[[ -n ${TR_TEST_CLUSTER_PORTS:-} ]] || { echo "not ok - run me under tests/cluster/with_cluster.sh"; exit 1; }
ts_setup
IFS=, read -r -a cports <<<"$TR_TEST_CLUSTER_PORTS"
IFS=, read -r -a cpids <<<"$TR_TEST_CLUSTER_PIDS"
M=$TR_TEST_CLUSTER_MASTERS
masters=("${cports[@]:0:$M}")
pwfile=$TR_TMP/cluster.password
(umask 077 && printf '%s\n' "$TR_TEST_CLUSTER_PASSWORD" >"$pwfile")

tc_seeds() {
    local s
    s=$(printf '127.0.0.1:%s,' "$@")
    echo "${s%,}"
}

node_cli() { REDISCLI_AUTH=$TR_TEST_CLUSTER_PASSWORD redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }
tr_redis() { node_cli "${masters[0]}" -c "$@"; }

# The others answer -MOVED.
tc_owner() {
    local p
    for p in "${masters[@]}"; do
        [[ $(node_cli "$p" EXISTS "$1" 2>&1) =~ ^[0-9]+$ ]] && { echo "$p"; return 0; }
    done
    return 1
}

# SETSLOT IMPORTING/MIGRATING, MIGRATE of the slot's keys until none is left, SETSLOT
# NODE on every master.
tc_move_slot() {
    local k=$1 slot from to from_id to_id keys m i
    slot=$(node_cli "${masters[0]}" CLUSTER KEYSLOT "$k")
    from=$(tc_owner "$k") || return 1
    for i in "${!masters[@]}"; do [[ ${masters[i]} == "$from" ]] && to=${masters[(i + 1) % M]}; done
    from_id=$(node_cli "$from" CLUSTER MYID)
    to_id=$(node_cli "$to" CLUSTER MYID)
    node_cli "$to" CLUSTER SETSLOT "$slot" IMPORTING "$from_id" >/dev/null || return 1
    node_cli "$from" CLUSTER SETSLOT "$slot" MIGRATING "$to_id" >/dev/null || return 1
    local moved=0 rounds out
    for ((rounds = 0; rounds < 200; rounds++)); do
        # (redis-cli prints one empty line for an empty array: not a key.)
        mapfile -t keys < <(node_cli "$from" CLUSTER GETKEYSINSLOT "$slot" 500 | grep .)
        ((${#keys[@]} == 0)) && break
        out=$(node_cli "$from" MIGRATE 127.0.0.1 "$to" "" 0 10000 AUTH "$TR_TEST_CLUSTER_PASSWORD" \
            KEYS "${keys[@]}" 2>&1)
        [[ $out == OK || $out == NOKEY ]] || { echo "# MIGRATE: $out"; return 1; }
        moved=$((moved + ${#keys[@]}))
    done
    ((rounds < 200)) || return 1
    for m in "${masters[@]}"; do node_cli "$m" CLUSTER SETSLOT "$slot" NODE "$to_id" >/dev/null; done
    echo "# $k: slot $slot ($moved keys) moved from $from to $to"
}

tc_batch_body() {
    python3 -c "
import json, sys
n, url, spread = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
print(json.dumps({'timers': [{'url': url, 'data': 'x', 'delay_ms': 2000 + spread * i // n}
                             for i in range(n)]}))" "$@"
}
