#!/usr/bin/env bash
# with_cluster.sh PROGRAM [ARGS...] - runs PROGRAM against a private Redis Cluster.
#
# Starts 3 masters with TR_CLUSTER_REPLICAS replicas each (default 1) on loopback
# (scripts/cluster-local.sh, the launcher's --cluster-local too: free ports, a mktemp
# dir, requirepass/masterauth and the ACL user "truser"), runs PROGRAM and passes its
# exit code through. Every node is stopped by PID in an EXIT trap, also when PROGRAM
# fails or is killed.
#
# Exported to PROGRAM:
#   TR_TEST_CLUSTER_PORTS     "p1,p2,..." (127.0.0.1), masters first
#   TR_TEST_CLUSTER_PIDS      "pid1,pid2,..." in the same order (to kill a master)
#   TR_TEST_CLUSTER_MASTERS   3
#   TR_TEST_CLUSTER_PASSWORD  the default user's password (user "truser": PASSWORD-u)
set -u
if (($# < 1)); then
    echo "usage: $0 PROGRAM [ARGS...]" >&2
    exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../../scripts/cluster-local.sh"
TR_CLUSTER_ACL_USER=truser

dir=$(mktemp -d "${TMPDIR:-/tmp}/tr-cluster.XXXXXX") || exit 1
cleanup() {
    tr_cluster_stop
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

password=$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n') || exit 1
masters=3
if ! tr_cluster_start "$dir" "$masters" "${TR_CLUSTER_REPLICAS:-1}" "$password"; then
    echo "with_cluster.sh: the cluster did not start" >&2
    exit 1
fi
TR_TEST_CLUSTER_PORTS=$(IFS=,; echo "${TR_CLUSTER_PORTS[*]}")
TR_TEST_CLUSTER_PIDS=$(IFS=,; echo "${TR_CLUSTER_PIDS[*]}")
export TR_TEST_CLUSTER_PORTS TR_TEST_CLUSTER_PIDS
export TR_TEST_CLUSTER_MASTERS=$masters TR_TEST_CLUSTER_PASSWORD=$password
"$@"
exit $?
