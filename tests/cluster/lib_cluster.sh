#!/usr/bin/env bash
# tests/cluster/lib_cluster.sh - a real Redis Cluster on loopback for tests (sourced).
#
#   tr_cluster_start DIR MASTERS REPLICAS PASSWORD
#       starts MASTERS * (1 + REPLICAS) redis-server processes in cluster mode under
#       DIR (one subdirectory each: redis.conf, nodes.conf, redis.log), each on a free
#       port with its cluster bus on another free port (cluster-port: port+10000 may be
#       over 65535), no persistence, cluster-node-timeout 2000 ms so a failover takes a
#       few seconds. PASSWORD (non-empty) is requirepass and masterauth, and an ACL user
#       "truser" with the password "${PASSWORD}-u" may do everything.
#       Then `redis-cli --cluster create ... --cluster-yes` and a wait until every node
#       says cluster_state:ok and knows all the masters (deadline 60 s).
#       Sets TR_CLUSTER_PORTS and TR_CLUSTER_PIDS (arrays, node order: the first
#       MASTERS are the masters redis-cli made). Returns 1 with the logs on stderr.
#   tr_cluster_stop
#       stops every node by PID (TERM, then KILL after 5 s), also those killed already.
#   tr_cluster_cli PORT ARGS...
#       redis-cli against one node, authenticated (the password from the environment,
#       never on the command line).
set -u

TR_CLUSTER_PORTS=()
TR_CLUSTER_PIDS=()
TR_CLUSTER_PASSWORD=""

# Prints N distinct free ports, one a line: bound together, so none repeats (one
# python3 start for all: it takes a second on a loaded machine).
tr_cluster_free_ports() {
    python3 -c 'import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print("\n".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

tr_cluster_cli() {
    local port=$1
    shift
    REDISCLI_AUTH=$TR_CLUSTER_PASSWORD redis-cli -h 127.0.0.1 -p "$port" "$@"
}

# Starts one node in DIR/nodeN on PORT with its bus on BUS; when it loses a port race,
# retries on other ports.
tr_cluster_start_node() {
    local dir=$1 i=$2 port=$3 bus=$4 try pid
    mkdir -p "$dir/node$i"
    for try in 1 2 3 4 5; do
        if ((try > 1)); then
            local two
            mapfile -t two < <(tr_cluster_free_ports 2) || return 1
            port=${two[0]} bus=${two[1]}
        fi
        {
            echo "bind 127.0.0.1"
            echo "port $port"
            echo "cluster-enabled yes"
            echo "cluster-port $bus"
            echo "cluster-config-file $dir/node$i/nodes.conf"
            echo "cluster-node-timeout 2000"
            echo "dir $dir/node$i"
            echo "logfile $dir/node$i/redis.log"
            echo "daemonize no"
            echo 'save ""'
            echo "appendonly no"
            if [[ -n $TR_CLUSTER_PASSWORD ]]; then
                echo "requirepass $TR_CLUSTER_PASSWORD"
                echo "masterauth $TR_CLUSTER_PASSWORD"
                echo "user truser on >${TR_CLUSTER_PASSWORD}-u ~* &* +@all"
            fi
        } >"$dir/node$i/redis.conf"
        chmod 600 "$dir/node$i/redis.conf"
        rm -f "$dir/node$i/nodes.conf"
        redis-server "$dir/node$i/redis.conf" &
        pid=$!
        local deadline=$((SECONDS + 15))
        while ((SECONDS < deadline)) && kill -0 "$pid" 2>/dev/null; do
            if [[ $(tr_cluster_cli "$port" ping 2>/dev/null) == PONG ]]; then
                TR_CLUSTER_PORTS+=("$port")
                TR_CLUSTER_PIDS+=("$pid")
                return 0
            fi
            sleep 0.02
        done
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    echo "lib_cluster: node $i did not start; its log:" >&2
    cat "$dir/node$i/redis.log" >&2 2>/dev/null
    return 1
}

# 0 when every node says cluster_state:ok and sees MASTERS masters with slots.
tr_cluster_all_ok() {
    local masters=$1 port
    for port in "${TR_CLUSTER_PORTS[@]}"; do
        tr_cluster_cli "$port" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || return 1
        [[ $(tr_cluster_cli "$port" cluster slots 2>/dev/null | grep -c .) -gt 0 ]] || return 1
        (($(tr_cluster_cli "$port" cluster nodes 2>/dev/null |
            awk '$3 ~ /master/ && $9 != "" { n++ } END { print n + 0 }') == masters)) || return 1
    done
    return 0
}

tr_cluster_start() {
    local dir=$1 masters=$2 replicas=$3
    TR_CLUSTER_PASSWORD=$4
    local n=$((masters * (1 + replicas))) i ports
    mapfile -t ports < <(tr_cluster_free_ports $((2 * n))) || return 1
    ((${#ports[@]} == 2 * n)) || return 1
    for ((i = 0; i < n; i++)); do
        tr_cluster_start_node "$dir" "$i" "${ports[2 * i]}" "${ports[2 * i + 1]}" || return 1
    done
    local addrs=()
    for i in "${TR_CLUSTER_PORTS[@]}"; do
        addrs+=("127.0.0.1:$i")
    done
    if ! REDISCLI_AUTH=$TR_CLUSTER_PASSWORD redis-cli --cluster create "${addrs[@]}" \
        --cluster-replicas "$replicas" --cluster-yes >"$dir/create.log" 2>&1; then
        echo "lib_cluster: redis-cli --cluster create failed:" >&2
        cat "$dir/create.log" >&2
        return 1
    fi
    local deadline=$((SECONDS + 60))
    until tr_cluster_all_ok "$masters"; do
        if ((SECONDS >= deadline)); then
            echo "lib_cluster: cluster not ok after 60 s" >&2
            cat "$dir/create.log" >&2
            return 1
        fi
        sleep 0.1
    done
    return 0
}

tr_cluster_stop() {
    local pid
    for pid in "${TR_CLUSTER_PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${TR_CLUSTER_PIDS[@]}"; do
        local deadline=$((SECONDS + 5))
        while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
            sleep 0.02 # polling for exit of a process that may not be our child's child
        done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    TR_CLUSTER_PIDS=()
}
