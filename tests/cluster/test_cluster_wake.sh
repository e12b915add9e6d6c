#!/usr/bin/env bash
# test_cluster_wake.sh - the scheduler's wake-ups on a real Redis Cluster through
# sharded pub/sub (run by ctest under tests/cluster/with_cluster.sh: 3 masters, a
# replica each). One scheduler, --shards 16: each master lists, as sharded channels
# (PUBSUB SHARDCHANNELS), exactly the wake channels {P:i}:wake of the shards whose
# slots it serves, with one subscriber each, and none of ours as a classic channel
# (PUBSUB CHANNELS). A timer created while the scheduler sleeps (nothing else due,
# due in 1.5 s), on a shard of each master, wakes it: the scheduler logs the
# announcement of that very due time (--level DEBUG: "wake: N message(s), earliest
# due_ms=D"), and the timer fires within the bound the other timing tests use (1 s).
# After a shard's slot moves to another master (tc_move_slot), the old master drops
# the channel, the new owner shows it subscribed (PUBSUB SHARDNUMSUB), and a new
# timer on that shard wakes the scheduler.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib_cluster_test.sh"
export TR_TEST_SHARDS=16
S=16
seeds=$(tc_seeds "${masters[@]}")
LATE_MAX_MS=1000 # tests/integration/test_precision.sh's bound

tr_start_sink A
tr_start_stack --cluster "$seeds" --shards "$S" --redis-password-file "$pwfile" --schedulers 1 \
    --level DEBUG || tr_finish
slog=$TR_RUN/log/scheduler.1.log

chan() { printf '{%s:%s}:wake' "$TR_KEY" "$1"; }
# The master serving shard I's slot (the channel's slot is the shard's).
owner_of() { tc_owner "$(chan "$1")"; }
# Subscribers of shard I's channel on master PORT.
subs_on() { node_cli "$1" PUBSUB SHARDNUMSUB "$(chan "$2")" | sed -n 2p; }
# Subscribers of every shard's channel, over all masters (each answers 0 for the
# channels it does not serve).
all_subscribed() {
    local i p chans=() n=0 c
    for ((i = 0; i < S; i++)); do chans+=("$(chan "$i")"); done
    for p in "${masters[@]}"; do
        c=$(node_cli "$p" PUBSUB SHARDNUMSUB "${chans[@]}" | awk 'NR % 2 == 0 { n += $1 } END { print n + 0 }')
        n=$((n + c))
    done
    ((n == S))
}
tr_wait_for "the wake line subscribed every shard's channel once" 30 all_subscribed

declare -A serves=()
for ((i = 0; i < S; i++)); do
    o=$(owner_of "$i")
    serves[$o]+="$(chan "$i")"$'\n'
done
for p in "${masters[@]}"; do
    want=$(printf '%s' "${serves[$p]:-}" | grep . | LC_ALL=C sort | paste -sd' ')
    got=$(node_cli "$p" PUBSUB SHARDCHANNELS "{$TR_KEY:*" | grep . | LC_ALL=C sort | paste -sd' ')
    check "master $p serves shards ($want)" test -n "$want"
    check_eq "master $p: PUBSUB SHARDCHANNELS lists exactly its shards' wake channels" "$want" "$got"
    check_eq "master $p: PUBSUB CHANNELS lists none of ours" "" \
        "$(node_cli "$p" PUBSUB CHANNELS "{$TR_KEY*" | grep .)"
done

# A key of shard I (FNV-1a, tr_shard_of), with PREFIX.
key_on_shard() {
    local n=0 k
    while :; do
        k="$2-$n"
        (($(tr_shard_of "$k") == $1)) && { echo "$k"; return; }
        n=$((n + 1))
    done
}
# The scheduler logged the announcement of due time D (its wake line heard it).
heard() { grep -q "wake: [0-9]* message(s), earliest due_ms=$1 " "$slog"; }
# Creates a timer of shard I due in 1.5 s and checks the scheduler was woken for it
# and fired it on time. WHAT names the case, TAG its keys.
wake_case() {
    local i=$1 what=$2 k due late
    k=$(key_on_shard "$i" "wk-$3")
    api POST /v1/timers "{\"key\":\"$k\",\"url\":\"$SINK_A_URL/wake\",\"data\":\"w\",\"delay_ms\":1500}"
    check_api "$what: a timer of shard $i created" 201
    due=$(jqb .timer.due_ms)
    tr_wait_for "$what: the scheduler heard shard $i's announcement (due_ms=$due)" 10 heard "$due"
    tr_wait_for "$what: it fired" 10 tr_sink_has A 1 "select(.key == \"$k\")"
    late=$(jq -r "select(.key == \"$k\") | (.t_us / 1000 | floor) - .due_ms" "$SINK_A_LOG" | head -n 1)
    echo "# $what: shard $i on master $(owner_of "$i"): fired $late ms after its due time"
    check "$what: on time (${late} ms late, bound $LATE_MAX_MS ms)" test "${late:-99999}" -lt "$LATE_MAX_MS"
}

# Nothing due: the scheduler sleeps (its idle claim every second) until woken.
for p in "${masters[@]}"; do
    for ((i = 0; i < S; i++)); do
        [[ $(owner_of "$i") == "$p" ]] && break
    done
    wake_case "$i" "master $p" "$p"
done

# A shard's slot moves: the old master drops its channel (sunsubscribe), the line
# subscribes it again on the new owner.
m=3
from=$(owner_of "$m")
tc_move_slot "$(chan "$m")" || tr_fail "slot of shard $m moved" "tc_move_slot failed"
to=$(owner_of "$m")
check "shard $m's slot moved ($from -> $to)" test "$to" != "$from"
new_owner_subscribed() { [[ $(subs_on "$to" "$m") == 1 && $(subs_on "$from" "$m") == 0 ]]; }
tr_wait_for "after the move: the new owner $to shows shard $m's channel subscribed (SHARDNUMSUB 1)" \
    20 new_owner_subscribed
check "the scheduler logged the dropped channel" grep -q "dropped by master" "$slog"
check "... and subscribed again" grep -q "wake line subscribed again" "$slog"
tr_wait_for "one subscription per shard in all" 10 all_subscribed
wake_case "$m" "after the move" moved

tr_stop_stack
tr_finish
