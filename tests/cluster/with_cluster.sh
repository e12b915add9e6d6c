#!/usr/bin/env bash
# with_cluster.sh PROGRAM [ARGS...] - runs PROGRAM against a private Redis Cluster.
#
# Starts 3 masters with TR_CLUSTER_REPLICAS replicas each (default 1) on loopback
# (scripts/cluster-local.sh, the launcher's --cluster-local too: free ports, a mktemp
# dir, requirepass/masterauth and the ACL user "truser"), runs PROGRAM and passes its
# exit code through. Every node is stopped by PID in an EXIT trap, also when PROGRAM
# fails or is killed.
#
# One cluster for several programs (the ctest fixture of the integration suite on a
# cluster, tests/CMakeLists.txt's itc_ tests):
#   with_cluster.sh --start DIR            starts the cluster, detached (its nodes in
#                                          their own session), its state in DIR (0700;
#                                          a cluster left there by an earlier run is
#                                          stopped first), and exits
#   with_cluster.sh --use DIR PROGRAM ...  runs PROGRAM against the cluster of DIR
#   with_cluster.sh --stop DIR             stops that cluster's nodes by PID, removes DIR
#
# Exported to PROGRAM:
#   TR_TEST_CLUSTER_PORTS     "p1,p2,..." (127.0.0.1), masters first
#   TR_TEST_CLUSTER_PIDS      "pid1,pid2,..." in the same order (to kill a master)
#   TR_TEST_CLUSTER_MASTERS   3
#   TR_TEST_CLUSTER_PASSWORD  the default user's password (user "truser": PASSWORD-u)
set -u
if (($# < 1)); then
    echo "usage: $0 PROGRAM [ARGS...] | --start DIR | --use DIR PROGRAM [ARGS...] | --stop DIR" >&2
    exit 2
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../../scripts/cluster-local.sh"
TR_CLUSTER_ACL_USER=truser
masters=3

# The state of a shared cluster: the four exported variables, one assignment a line.
state_write() {
    (
        umask 077
        printf 'TR_TEST_CLUSTER_%s=%s\n' PORTS "$(IFS=,; echo "${TR_CLUSTER_PORTS[*]}")" \
            PIDS "$(IFS=,; echo "${TR_CLUSTER_PIDS[*]}")" MASTERS "$masters" \
            PASSWORD "$TR_CLUSTER_PASSWORD" >"$1/cluster.env.tmp"
    ) && mv "$1/cluster.env.tmp" "$1/cluster.env"
}
# Reads it without running it (the values are ports, pids and hex only).
state_read() {
    local line name
    [[ -r $1/cluster.env ]] || return 1
    while IFS= read -r line; do
        name=${line%%=*}
        [[ $name =~ ^TR_TEST_CLUSTER_(PORTS|PIDS|MASTERS|PASSWORD)$ ]] || return 1
        export "$name=${line#*=}"
    done <"$1/cluster.env"
}
# Stops the nodes of DIR's state that are still redis-server processes (a pid may
# have been reused since), then removes DIR. Prints the CPU time each node used (what
# the tests that shared it cost Redis).
state_stop() {
    local pid stat f hz
    hz=$(getconf CLK_TCK)
    if state_read "$1"; then
        IFS=, read -r -a TR_CLUSTER_PIDS <<<"$TR_TEST_CLUSTER_PIDS"
        local mine=()
        for pid in "${TR_CLUSTER_PIDS[@]}"; do
            [[ $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) == redis-server* ]] || continue
            mine+=("$pid")
            read -r stat <"/proc/$pid/stat" && read -r -a f <<<"${stat##*) }"
            # (utime and stime: fields 14 and 15 of stat, 12 and 13 after the name)
            printf '# node pid %s: CPU %d.%02d s\n' "$pid" $(((f[11] + f[12]) / hz)) \
                $(((f[11] + f[12]) * 100 / hz % 100))
        done
        TR_CLUSTER_PIDS=("${mine[@]}")
        tr_cluster_stop
    fi
    rm -rf "$1"
}

start() { # DIR PASSWORD
    if ! tr_cluster_start "$1" "$masters" "${TR_CLUSTER_REPLICAS:-1}" "$2"; then
        echo "with_cluster.sh: the cluster did not start" >&2
        return 1
    fi
}

password=$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n') || exit 1
case $1 in
--start)
    (($# == 2)) || { echo "usage: $0 --start DIR" >&2; exit 2; }
    state_stop "$2"
    mkdir -p "$2" && chmod 700 "$2" || exit 1
    TR_CLUSTER_SPAWN=(setsid)
    start "$2" "$password" || { tr_cluster_stop; exit 1; }
    state_write "$2" || { tr_cluster_stop; exit 1; }
    echo "with_cluster.sh: cluster on ${TR_CLUSTER_PORTS[*]} (state in $2)"
    exit 0
    ;;
--stop)
    (($# == 2)) || { echo "usage: $0 --stop DIR" >&2; exit 2; }
    state_stop "$2"
    exit 0
    ;;
--use)
    (($# >= 3)) || { echo "usage: $0 --use DIR PROGRAM [ARGS...]" >&2; exit 2; }
    state_read "$2" || { echo "with_cluster.sh: no cluster in $2 (--start it first)" >&2; exit 1; }
    shift 2
    "$@"
    exit $?
    ;;
esac

dir=$(mktemp -d "${TMPDIR:-/tmp}/tr-cluster.XXXXXX") || exit 1
cleanup() {
    tr_cluster_stop
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start "$dir" "$password" || exit 1
state_write "$dir" && state_read "$dir" || exit 1
"$@"
exit $?
