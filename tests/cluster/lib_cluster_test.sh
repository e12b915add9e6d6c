# shellcheck shell=bash
# tests/cluster/lib_cluster_test.sh - what the script tests on a real Redis Cluster share
# (sourced; ctest runs them under tests/cluster/with_cluster.sh, which exports the
# cluster as TR_TEST_CLUSTER_*). Sourcing it sources lib.sh, lib_api.sh and
# lib_sched.sh, refuses to go on outside with_cluster.sh (unless TC_OWN_CLUSTER=1: a
# test whose cluster the launcher starts, --cluster-local, calls tc_use_cluster once
# the stack runs), and runs ts_setup. Then:
#   cports, cpids   every node's port and pid (node order: the first M are the masters)
#   M, masters      how many masters, and their ports
#   pwfile          a 0600 file holding the cluster's password (--redis-password-file)
#   tc_use_cluster PORTS PIDS MASTERS PASSWORD
#                   sets the above (and TR_TEST_CLUSTER_PASSWORD) for another cluster
#   tc_seeds PORT...        "127.0.0.1:PORT,..." for --cluster
#   node_cli PORT ARGS...   redis-cli against one node, authenticated (the password
#                           from the environment, never on the command line)
#   tr_redis ARGS...        lib.sh's (and so tr_sum_shards, ts_stat, tr_no_timers_left)
#                           on the cluster: redis-cli -c follows the MOVED answers
#   tc_owner KEY            the master port that serves KEY's slot
#   tc_move_slot KEY        KEY's slot (and every key in it) to the next master, the way
#                           `redis-cli --cluster reshard` does it; prints what it moved
#   tc_batch_body N URL SPREAD_MS [FROM COUNT]
#                   a POST /v1/timers/batch body of N timers to URL, data "x", timer i
#                   due 2000 + SPREAD_MS * i / N ms after the create (only timers
#                   FROM..FROM+COUNT-1 of the N when given)
#   tc_stack_and_spread SEEDS S N PATH SPREAD_MS
#                   sink A, a stack on the cluster (SEEDS, S shards, two schedulers),
#                   then N timers to sink A's PATH spread as tc_batch_body, in batches
#                   of 1,000 (the API's most): checks all N created, sets t0 (ms, the
#                   last create's answer) and writes their keys, sorted, to
#                   $TR_TMP/keys; TC_STACK_OPTS (words) adds launcher options
#   tc_due_per_master S
#                   the timers in the due sets of shards 0..S-1 on each master, asked
#                   of each master alone (a shard it does not serve answers MOVED, not
#                   counted): TC_DUE[port], TC_DUE_TOTAL, TC_SHARDS_OWNED (shard
#                   answers, S when each shard has one master) and TC_SHARDS_EMPTY
#   tc_master_keys PORT S KEYS_FILE
#                   the keys of KEYS_FILE (sorted) due on master PORT: the members of
#                   its shards' due sets ({$TR_KEY:0..S-1}:due), sorted, one a line
#   tc_lateness LOG KEYS_FILE
#                   "MAX MEDIAN": ms from due to the first delivery in sink LOG of the
#                   keys of KEYS_FILE (sorted) that were delivered
#   tc_lateness_due_between LOG KEYS_FILE FROM_MS TO_MS
#                   "N MAX MEDIAN": the same for those keys due in [FROM, TO) (ms
#                   since the epoch), N of them delivered
#   tc_last_delivery LOG KEYS_FILE
#                   the sink's time (ms since the epoch) of the last first delivery
#                   of those keys
#   tc_delivered_between LOG KEYS_FILE FROM_MS TO_MS
#                   how many of those keys had their first delivery in [FROM, TO)
_tc_integration=$(cd "$(dirname "${BASH_SOURCE[0]}")/../integration" && pwd)
source "$_tc_integration/lib.sh"
source "$_tc_integration/lib_api.sh"
source "$_tc_integration/lib_sched.sh"

[[ -n ${TR_TEST_CLUSTER_PORTS:-} || ${TC_OWN_CLUSTER:-} == 1 ]] ||
    { echo "not ok - run me under tests/cluster/with_cluster.sh"; exit 1; }
ts_setup

tc_use_cluster() {
    IFS=, read -r -a cports <<<"$1"
    IFS=, read -r -a cpids <<<"$2"
    M=$3
    masters=("${cports[@]:0:$M}")
    TR_TEST_CLUSTER_PASSWORD=$4
    pwfile=$TR_TMP/cluster.password
    (umask 077 && printf '%s\n' "$TR_TEST_CLUSTER_PASSWORD" >"$pwfile")
}
[[ -z ${TR_TEST_CLUSTER_PORTS:-} ]] || tc_use_cluster "$TR_TEST_CLUSTER_PORTS" \
    "$TR_TEST_CLUSTER_PIDS" "$TR_TEST_CLUSTER_MASTERS" "$TR_TEST_CLUSTER_PASSWORD"

tc_seeds() {
    local s
    s=$(printf '127.0.0.1:%s,' "$@")
    echo "${s%,}"
}

node_cli() { tr_node_cli "$@"; }
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
first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
count = int(sys.argv[5]) if len(sys.argv) > 5 else n
print(json.dumps({'timers': [{'url': url, 'data': 'x', 'delay_ms': 2000 + spread * i // n}
                             for i in range(first, min(n, first + count))]}))" "$@"
}

tc_stack_and_spread() {
    local seeds=$1 S=$2 n=$3 path=$4 spread=$5
    tr_start_sink A
    tr_start_stack --cluster "$seeds" --shards "$S" --redis-password-file "$pwfile" --schedulers 2 \
        --max-body 1000000 --host-limit 512 ${TC_STACK_OPTS:-} || tr_finish
    local from created=0
    : >"$TR_TMP/keys.unsorted"
    for ((from = 0; from < n; from += 1000)); do
        api POST /v1/timers/batch "$(tc_batch_body "$n" "$SINK_A_URL$path" "$spread" "$from" 1000)"
        created=$((created + $(jqb '[.results[] | select(.status == 201)] | length')))
        jqb '.results[] | select(.status == 201) | .timer.key' >>"$TR_TMP/keys.unsorted"
    done
    t0=$(tr_now_ms)
    check_eq "$n timers created over $S shards" "$n" "$created"
    LC_ALL=C sort "$TR_TMP/keys.unsorted" >"$TR_TMP/keys"
}

tc_due_per_master() {
    local S=$1 p i
    declare -gA TC_DUE=()
    TC_DUE_TOTAL=0
    for p in "${masters[@]}"; do
        for ((i = 0; i < S; i++)); do echo "ZCARD {$TR_KEY:$i}:due"; done |
            node_cli "$p" >"$TR_TMP/zc.$p" 2>&1
        TC_DUE[$p]=$(awk '/^[0-9]+$/ { n += $1 } END { print n + 0 }' "$TR_TMP/zc.$p")
        TC_DUE_TOTAL=$((TC_DUE_TOTAL + TC_DUE[$p]))
    done
    # A shard answered by no master, or an empty one, shows as a missing or 0 line.
    TC_SHARDS_OWNED=$(cat "$TR_TMP"/zc.* | grep -c '^[0-9][0-9]*$')
    TC_SHARDS_EMPTY=$(cat "$TR_TMP"/zc.* | grep -c '^0$')
}

tc_master_keys() {
    local s
    # Other masters' shards answer MOVED, printed as an error line, not a member.
    for ((s = 0; s < $2; s++)); do echo "ZRANGE {$TR_KEY:$s}:due 0 -1"; done |
        node_cli "$1" 2>/dev/null | LC_ALL=C grep -Fxf "$3" | LC_ALL=C sort -u
}

# Each key's first delivery: "KEY T_MS DUE_MS", sorted by key, for join.
_tc_firsts() {
    jq -r '"\(.key) \(.t_us / 1000 | floor) \(.due_ms)"' "$1" | LC_ALL=C sort -k1,1 -k2,2n |
        LC_ALL=C sort -k1,1 -u -s | LC_ALL=C join - "$2"
}

tc_lateness() {
    _tc_firsts "$1" "$2" | awk '{ print $2 - $3 }' | sort -n |
        awk '{ a[NR] = $1 } END { print a[NR] + 0, a[int((NR + 1) / 2)] + 0 }'
}

tc_lateness_due_between() {
    _tc_firsts "$1" "$2" | awk -v a="$3" -v b="$4" '$3 >= a && $3 < b { print $2 - $3 }' | sort -n |
        awk '{ v[NR] = $1 } END { print NR + 0, v[NR] + 0, v[int((NR + 1) / 2)] + 0 }'
}

tc_delivered_between() {
    _tc_firsts "$1" "$2" | awk -v a="$3" -v b="$4" '$2 >= a && $2 < b' | wc -l
}

tc_last_delivery() { _tc_firsts "$1" "$2" | awk '{ print $2 }' | sort -n | tail -n 1; }
