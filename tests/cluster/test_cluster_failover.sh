#!/usr/bin/env bash
# test_cluster_failover.sh - a master killed with SIGKILL while timers fall due (issue
# 11; run under tests/cluster/with_cluster.sh: 3 masters, a replica each,
# cluster-node-timeout 2 s). 5,000 timers over 16 shards, due over 2-11 s; 5 s in, the
# first master is killed; its replica is promoted and the service
# goes on (the schedulers give the dead master up and deliver the other masters'
# timers meanwhile, their lateness printed; those due before the promotion each
# within 1 s, the nodes running with cluster-require-full-coverage no): every timer is delivered (lost counted: replication is asynchronous, so an
# acknowledged write can be lost with its master; these were made seconds before the
# kill; creates made one after another across the kill are counted and printed, not
# checked: without WAIT one may be lost), duplicates counted and printed (an ack not yet replicated when the master
# died makes its timer due again on the replica: at-least-once), and a timer created
# after the failover on the promoted replica's shards fires.
# With TR_FAILOVER_WAIT_REPLICAS=1 (ctest cluster_test_cluster_failover_wait) the stack
# runs with --wait-replicas 1, started once every replica is in sync: then no
# acknowledged timer may be lost, the creates racing the kill included (checked, not
# printed). The promoted replica has no replica of its own, so its writes cannot be
# confirmed until the killed node, started again (as an operator would), rejoins as its
# replica and syncs: meanwhile its shards' creates answer 5xx and its acks are held.
# The schedulers give that master up for its replicas (the cut-off) and check, with
# timers due throughout that period, that the other masters' are not late by a WAIT
# timeout per batch (--redis-timeout-ms 4000 here, so a WAIT waits 2 s: far above
# this machine's noise).
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib_cluster_test.sh"
export TR_TEST_SHARDS=16
S=16 n=5000
wait_replicas=${TR_FAILOVER_WAIT_REPLICAS:-0}
seeds=$(tc_seeds "${cports[@]}")

replicas_online() {
    local p
    for p in "$@"; do
        node_cli "$p" INFO replication | grep -q 'state=online' || return 1
    done
}
TC_STACK_OPTS=""
wait_ms=0
if ((wait_replicas > 0)); then
    # WAIT confirms nothing before a replica's first sync.
    tr_wait_for "every master's replica is in sync" 30 replicas_online "${masters[@]}"
    wait_ms=2000 # half --redis-timeout-ms: how long a WAIT waits for a replica
    TC_STACK_OPTS="--wait-replicas $wait_replicas --redis-timeout-ms $((2 * wait_ms))"
fi
tc_stack_and_spread "$seeds" "$S" "$n" /f 9000
if ((wait_replicas > 0)); then
    # Timers due while the promoted master will have no replica (from ~9 s after the
    # create until the old master, started again, is in sync: ~30-40 s here): 3,000
    # more, due 12-42 s from now, about 100 a second, on every shard.
    : >"$TR_TMP/late.unsorted"
    for ((from = 0; from < 3000; from += 1000)); do
        api POST /v1/timers/batch "$(python3 -c "
import json, sys
url, first = sys.argv[1], int(sys.argv[2])
print(json.dumps({'timers': [{'url': url, 'data': 'x', 'delay_ms': 12000 + 30000 * i // 3000}
                             for i in range(first, first + 1000)]}))" "$SINK_A_URL/w" "$from")"
        jqb '.results[] | select(.status == 201) | .timer.key' >>"$TR_TMP/late.unsorted"
    done
    check_eq "3000 more timers due 12-42 s after the create" 3000 "$(wc -l <"$TR_TMP/late.unsorted")"
    LC_ALL=C sort "$TR_TMP/late.unsorted" >"$TR_TMP/late_keys"
    LC_ALL=C sort -m "$TR_TMP/keys" "$TR_TMP/late_keys" >"$TR_TMP/keys.all"
    mv "$TR_TMP/keys.all" "$TR_TMP/keys"
    n=$((n + 3000))
fi

# The victim: the first master (every master holds shards: test_cluster_e2e.sh), and
# its share of the timers; the other masters' go on while it is away (the cut-off).
victim=0
tc_master_keys "${cports[victim]}" "$S" "$TR_TMP/keys" >"$TR_TMP/victim_keys"
LC_ALL=C comm -23 "$TR_TMP/keys" "$TR_TMP/victim_keys" >"$TR_TMP/other_keys"
most=$(wc -l <"$TR_TMP/victim_keys")
check "the victim master holds timers ($most on port ${cports[victim]})" test "$most" -gt 0
survivor=$(((victim + 1) % M))

# Killed 5 s after the create: in the middle of the due times (2-11 s).
sleep_ms=$((t0 + 5000 - $(tr_now_ms)))
((sleep_ms > 0)) && tr_sleep "$(printf '%d.%03d' $((sleep_ms / 1000)) $((sleep_ms % 1000)))"
delivered_before=$(ts_sink_lines "$SINK_A_LOG")
# Creates racing the kill: one at a time, each acknowledged key (201) noted; they must
# all be delivered, unless the master acknowledged one its replica never received.
racer() {
    local i=0 code
    while [[ ! -e $TR_TMP/race.stop ]]; do
        code=$(curl -sS --max-time 10 -o /dev/null -w '%{http_code}' -X POST \
            -H 'Content-Type: application/json' "$TR_URL/v1/timers" \
            --data-binary "{\"key\":\"race-$i\",\"url\":\"$SINK_A_URL/r\",\"data\":\"r\",\"delay_ms\":1500}")
        [[ $code == 201 ]] && echo "race-$i" >>"$TR_TMP/race.acked"
        [[ $code == 201 ]] || echo "race-$i $code" >>"$TR_TMP/race.refused"
        i=$((i + 1))
    done
}
: >"$TR_TMP/race.acked"
: >"$TR_TMP/race.refused"
racer &
racer_pid=$!
tr_track_pid "$racer_pid"
tr_sleep 0.5
# Its config file, to start it again after the failover (the --wait-replicas run).
victim_conf=$(node_cli "${cports[victim]}" INFO server | sed -n 's/^config_file:\(.*\)\r$/\1/p')
kill -9 "${cpids[victim]}"
tkill=$(tr_now_ms)
echo "# killed master ${cports[victim]} (pid ${cpids[victim]}) $((tkill - t0)) ms after the create; $delivered_before delivered before"

# Promoted: a survivor sees M masters serving slots again, none of them the victim.
promoted() {
    node_cli "${cports[survivor]}" CLUSTER INFO 2>/dev/null | grep -q '^cluster_state:ok' &&
        (($(node_cli "${cports[survivor]}" CLUSTER NODES 2>/dev/null |
            awk -v v="127.0.0.1:${cports[victim]}@" '$3 ~ /master/ && $3 !~ /fail/ && $9 != "" &&
                index($2, v) != 1 { n++ } END { print n + 0 }') == M))
}
tr_wait_for "the victim's replica is promoted" 30 promoted
tpromoted=$(tr_now_ms)
echo "# cluster ok again $((tpromoted - tkill)) ms after the kill"

if ((wait_replicas > 0)); then
    # Until then the promoted one has no replica: its shards' creates cannot be
    # confirmed (5xx, maybe applied), the other shards' are acknowledged. (Without
    # --wait-replicas all would be.)
    : >"$TR_TMP/gap.acked"
    gap_refused=0
    for ((i = 1; i <= 20; i++)); do
        api POST /v1/timers "{\"key\":\"gap-$i\",\"url\":\"$SINK_A_URL/gap\",\"data\":\"g\",\"delay_ms\":1500}"
        if [[ $API_STATUS == 201 ]]; then echo "gap-$i" >>"$TR_TMP/gap.acked"; else gap_refused=$((gap_refused + 1)); fi
    done
    check "with no replica behind the promoted master, its shards' creates are refused, the others' acknowledged ($gap_refused of 20 refused)" \
        test "$gap_refused" -gt 0 -a "$gap_refused" -lt 20
    # From here the schedulers have long found the promoted master short of replicas
    # (each found it once, with one WAIT of its own, right after the promotion).
    tgap=$(tr_now_ms)
    cat "$TR_TMP/gap.acked" >>"$TR_TMP/race.acked"
    # The promoted replica confirms writes again once the old master, started again,
    # is its replica and in sync (the node rejoins from its nodes.conf as a replica).
    setsid redis-server "$victim_conf" </dev/null >>"$TR_TMP/victim-again.log" 2>&1 &
    tr_track_pid $!
    # The promoted one: the master serving slots that was not a master before.
    new_master=$(node_cli "${cports[survivor]}" CLUSTER NODES 2>/dev/null |
        awk -v old=" ${masters[*]} " '$3 ~ /master/ && $3 !~ /fail/ && $9 != "" {
            split($2, a, "[:@]"); if (index(old, " " a[2] " ") == 0) print a[2] }')
    check "the victim's replica is the new master (port ${new_master:-none})" test -n "$new_master"
    tr_wait_for "the old master rejoined as its replica and is in sync" 40 \
        replicas_online "$new_master"
    tsynced=$(tr_now_ms)
    echo "# the promoted master has a replica again $((tsynced - tkill)) ms after the kill"
fi
tr_sleep 1
touch "$TR_TMP/race.stop"
wait "$racer_pid"
echo "# creates racing the kill: $(wc -l <"$TR_TMP/race.acked") acknowledged, $(wc -l <"$TR_TMP/race.refused") refused (503 while the master was away)"
cat "$TR_TMP/race.acked" >>"$TR_TMP/keys"
tr_wait_for "every timer is delivered" 40 ts_all_delivered "$TR_TMP/keys" "$SINK_A_LOG"
lost=$(ts_missing "$TR_TMP/keys" "$SINK_A_LOG" | wc -l)
dups=$(ts_duplicates "$SINK_A_LOG" | wc -l)
nrace=$(wc -l <"$TR_TMP/race.acked")
lost_race=$(ts_missing "$TR_TMP/race.acked" "$SINK_A_LOG" | wc -l)
echo "# delivered $(ts_sink_lines "$SINK_A_LOG") callbacks for $((n + nrace)) timers; lost $lost ($lost_race of the $nrace racing the kill), duplicated $dups"
check_eq "lost among the $n created seconds before the kill = 0 (replicated)" 0 "$((lost - lost_race))"
if ((wait_replicas > 0)); then
    check "creates racing the kill were acknowledged ($nrace)" test "$nrace" -gt 0
    check_eq "--wait-replicas $wait_replicas: acknowledged creates racing the kill lost = 0" 0 "$lost_race"
else
    # Not a check: asynchronous replication may lose an acknowledged create.
    echo "# acknowledged creates lost with the master: $lost_race of $nrace"
fi
check "duplicates within the at-least-once window (at most the victim's $most)" test "$dups" -le "$most"
# The cut-off: the schedulers gave the dead master up and went on with the others'
# shards; then its replica served them. Lateness printed for the others' timers, and
# checked for those due from the kill to the promotion.
read -r other_max other_p50 < <(tc_lateness "$SINK_A_LOG" "$TR_TMP/other_keys")
echo "# the other masters' $((n - most)) timers: lateness max $other_max ms, median $other_p50 ms"
read -r fo_n fo_max fo_p50 < <(tc_lateness_due_between "$SINK_A_LOG" "$TR_TMP/other_keys" \
    "$tkill" "$tpromoted")
echo "# ... of them due from the kill to the promotion: $fo_n, lateness max $fo_max ms, median $fo_p50 ms"
if ((wait_replicas == 0)); then
    # Neither the cluster (cluster-require-full-coverage no: the other masters keep
    # their slots while the dead one is failed) nor a scheduler (its cut-off gives the
    # dead master up at its first refused connect) holds them up for the failover:
    # before, CLUSTERDOWN everywhere and the client's ~2.3 s of retries made 1.3-2.3 s.
    # (With --wait-replicas a scheduler's first write to the promoted master waits a
    # WAIT: the bound below covers it.)
    check "the other masters' timers due from the kill to the promotion ($fo_n) each within 1 s of due (max $fo_max ms)" \
        test "$fo_n" -gt 0 -a "$fo_max" -le 1000
fi
# With --wait-replicas each scheduler waits one WAIT when it finds the promoted master
# short of replicas (right after the promotion, beside the cluster's own pause).
check "the other masters' timers each within $(((6000 + wait_ms) / 1000)) s of due (max $other_max ms)" \
    test "$other_max" -le $((6000 + wait_ms))
if ((wait_replicas > 0)); then
    # While the promoted master had no replica: each scheduler gave it up for its
    # replicas (its WAITs fell short), so the other masters' batches wait for no WAIT.
    # Without that, every batch that wrote there (its held acks, written again each
    # time) waited a whole WAIT timeout, and the other masters' timers with it.
    read -r win_n win_max win_p50 < <(tc_lateness_due_between "$SINK_A_LOG" "$TR_TMP/other_keys" \
        "$tpromoted" "$tsynced")
    echo "# the other masters' $win_n timers due from the promotion to the replica's sync: lateness max $win_max ms, median $win_p50 ms"
    read -r win_n win_max win_p50 < <(tc_lateness_due_between "$SINK_A_LOG" "$TR_TMP/other_keys" \
        "$tgap" "$tsynced")
    echo "# ... due after the 20 creates until the sync ($(((tsynced - tgap) / 1000)) s): $win_n, lateness max $win_max ms, median $win_p50 ms"
    check "the other masters' timers due while the promoted master had no replica ($win_n) were delivered" \
        test "$win_n" -ge 100
    check "... each within one WAIT timeout ($wait_ms ms) of due (max $win_max ms)" \
        test "$win_max" -lt "$wait_ms"
    check "a scheduler gave the promoted master up for its replicas ..." \
        grep -q "master 127.0.0.1:$new_master given up for now: 0 of $wait_replicas replicas" \
        "$TR_RUN"/log/scheduler.*.log
    check "... and took it back once in sync" \
        grep -q "master 127.0.0.1:$new_master has [0-9]* of $wait_replicas replicas in sync again" \
        "$TR_RUN"/log/scheduler.*.log
    grep -h "redis cluster: master 127.0.0.1:$new_master " "$TR_RUN"/log/scheduler.*.log | head -n 6 | sed 's/^/#   /'
    # Once each per scheduler: no flapping between given up and taken back.
    for f in "$TR_RUN"/log/scheduler.*.log; do
        ups=$(grep -c "master 127.0.0.1:$new_master given up for now" "$f")
        backs=$(grep -c "master 127.0.0.1:$new_master has [0-9]* of $wait_replicas replicas in sync again" "$f")
        check "$(basename "$f"): the promoted master given up at most once ($ups) and taken back as often ($backs)" \
            test "$ups" -le 1 -a "$backs" -eq "$ups"
    done
fi
check "a scheduler gave the dead master up (cut-off) ..." \
    grep -q "master 127.0.0.1:${cports[victim]} given up for now" "$TR_RUN"/log/scheduler.*.log
check "... and saw its shards served again" \
    grep -Eq "master 127.0.0.1:${cports[victim]} (serves none of the shards any more|answers again)" \
    "$TR_RUN"/log/scheduler.*.log
grep -h -i 'redis\|store\|claim' "$TR_RUN"/log/scheduler.*.log | grep -v 'listpack\|delivered\|status ' |
    head -n 6 | sed 's/^/#   /' 

# After the failover, new timers on every shard (incl. the promoted replica's) fire.
: >"$TR_TMP/keys2"
body=$(python3 -c "
import json, sys
url = sys.argv[1]
print(json.dumps({'timers': [{'key': 'after-%d' % i, 'url': url + '/g', 'data': 'y', 'delay_ms': 300}
                             for i in range(64)]}))" "$SINK_A_URL")
api POST /v1/timers/batch "$body"
check_eq "64 timers created after the failover" 64 "$(jqb '[.results[] | select(.status == 201)] | length')"
jqb '.results[] | select(.status == 201) | .timer.key' >"$TR_TMP/keys2"
tr_wait_for "... and delivered" 20 ts_all_delivered "$TR_TMP/keys2" "$SINK_A_LOG"

tr_stop_stack
tr_finish
