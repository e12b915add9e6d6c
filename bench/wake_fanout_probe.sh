#!/usr/bin/env bash
# bench/wake_fanout_probe.sh - what one wake-up message costs a Redis Cluster's nodes:
# classic PUBLISH (a cluster forwards it over the cluster bus to every node) against
# Redis 7's SPUBLISH (kept to the shard's master and its replicas). Run it under the
# tests' cluster fixture (3 masters, a replica each):
#
#   tests/cluster/with_cluster.sh bash bench/wake_fanout_probe.sh [-n N] [--rounds R]
#
# bench/cluster_probe.sh cannot show this: its workload (batches created while
# paused, then a burst drain) announces about 16 due times per 100,000 timers. A live
# service whose scheduler keeps up announces nearly every create (each new timer is
# the earliest of an emptied due set), so the message itself is the figure.
#
# Each round runs both modes (the order alternating per round): N messages of 13
# bytes (a due time in ms) on the shard channel {wfp:3}:wake, sent to the master
# serving its slot by redis-cli --pipe, with one subscriber listening as the
# scheduler's wake line does (PUBLISH: a SUBSCRIBE on the first master, where the
# line of main's build listened; SPUBLISH: an SSUBSCRIBE on the owning master). Every
# node's CPU time (utime + stime from /proc, 10 ms ticks) before and after gives µs per
# message: the owning master, the other masters, the owner's replica, the other
# replicas, all six. Defaults: -n 200000 --rounds 3. Every process started here is
# stopped by PID.
set -euo pipefail
N=200000
ROUNDS=3
while (($#)); do
    case $1 in
        -n) N=$2; shift ;;
        --rounds) ROUNDS=$2; shift ;;
        -h | --help) sed -n '2,23p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[[ -n ${TR_TEST_CLUSTER_PORTS:-} ]] || { echo "run me under tests/cluster/with_cluster.sh" >&2; exit 2; }
IFS=, read -r -a ports <<<"$TR_TEST_CLUSTER_PORTS"
IFS=, read -r -a pids <<<"$TR_TEST_CLUSTER_PIDS"
M=$TR_TEST_CLUSTER_MASTERS
export REDISCLI_AUTH=$TR_TEST_CLUSTER_PASSWORD # never on a command line
cli() { redis-cli --no-auth-warning -p "$@"; }

chan='{wfp:3}:wake'
owner=""
for ((i = 0; i < M; i++)); do
    # The others answer -MOVED.
    [[ $(cli "${ports[i]}" EXISTS "$chan" 2>&1) =~ ^[0-9]+$ ]] && owner=$i
done
[[ -n $owner ]] || { echo "no master serves $chan" >&2; exit 1; }
# Role of node i: owner, master, owner-replica, replica.
declare -a role
for ((i = 0; i < ${#ports[@]}; i++)); do
    if ((i < M)); then
        ((i == owner)) && role[i]=owner || role[i]=master
    else
        mp=$(cli "${ports[i]}" INFO replication | tr -d '\r' | awk -F: '$1 == "master_port" { print $2 }')
        [[ $mp == "${ports[owner]}" ]] && role[i]=owner-replica || role[i]=replica
    fi
done

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
work=$(mktemp -d)
sub_pid=""
cleanup() {
    [[ -z $sub_pid ]] || kill "$sub_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
for ((k = 0; k < N; k++)); do echo "X $chan 1796213830938"; done >"$work/msgs"

# run MODE: one measurement; prints "MODE owner master owner-replica replica all" (µs/msg).
run() {
    local mode=$1 sub_port sub_cmd i before=() after=()
    if [[ $mode == PUBLISH ]]; then sub_port=${ports[0]} sub_cmd=SUBSCRIBE; else sub_port=${ports[owner]} sub_cmd=SSUBSCRIBE; fi
    setsid redis-cli --no-auth-warning -p "$sub_port" "$sub_cmd" "$chan" </dev/null >"$work/sub.out" 2>&1 &
    sub_pid=$!
    # Subscribed once the server counts it.
    local n=0 tries
    for ((tries = 0; tries < 100; tries++)); do
        if [[ $mode == PUBLISH ]]; then n=$(cli "$sub_port" PUBSUB NUMSUB "$chan" | sed -n 2p)
        else n=$(cli "$sub_port" PUBSUB SHARDNUMSUB "$chan" | sed -n 2p); fi
        [[ $n == 1 ]] && break
        sleep 0.05
    done
    [[ $n == 1 ]] || { echo "subscriber not seen" >&2; exit 1; }
    for ((i = 0; i < ${#pids[@]}; i++)); do before[i]=$(ticks "${pids[i]}"); done
    sed "s/^X/$mode/" "$work/msgs" | cli "${ports[owner]}" --pipe >"$work/pipe.out" 2>&1 ||
        { cat "$work/pipe.out" >&2; exit 1; }
    grep -q "errors: 0, replies: $N" "$work/pipe.out" || { cat "$work/pipe.out" >&2; exit 1; }
    # The bus and the replicas lag the pipe's last reply a little: let them settle.
    sleep 1
    for ((i = 0; i < ${#pids[@]}; i++)); do after[i]=$(ticks "${pids[i]}"); done
    kill "$sub_pid" 2>/dev/null || true
    wait "$sub_pid" 2>/dev/null || true
    sub_pid=""
    awk -v mode="$mode" -v n="$N" -v hz="$hz" -v b="${before[*]}" -v a="${after[*]}" -v r="${role[*]}" '
        BEGIN {
            split(b, B, " "); split(a, A, " "); split(r, R, " ")
            for (i in B) { t[R[i]] += A[i] - B[i]; all += A[i] - B[i] }
            us = 1e6 / hz / n
            printf "%-9s %8.2f %8.2f %8.2f %8.2f %8.2f\n", mode, t["owner"] * us, t["master"] * us,
                t["owner-replica"] * us, t["replica"] * us, all * us
        }'
}

echo "# wake_fanout_probe $(date -u +%FT%TZ): N=$N rounds=$ROUNDS, $(redis-server --version | awk '{print $3}'), $M masters + $((${#ports[@]} - M)) replicas, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# µs of CPU per message, summed over the nodes of each role (master: the 2 others; replica: the 2 others)"
printf '%-9s %8s %8s %8s %8s %8s\n' mode owner masters own-repl replicas all
for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then run PUBLISH; run SPUBLISH; else run SPUBLISH; run PUBLISH; fi
done
echo "# load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
