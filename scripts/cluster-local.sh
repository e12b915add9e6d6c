# shellcheck shell=bash
# scripts/cluster-local.sh - a real Redis Cluster on loopback (sourced). Used by the
# launcher (./timerush --cluster-local N) and by the tests (tests/cluster/with_cluster.sh):
# one copy of how a local cluster is started.
#
#   tr_cluster_start DIR MASTERS REPLICAS PASSWORD
#       starts MASTERS * (1 + REPLICAS) redis-server processes in cluster mode under
#       DIR (one 0700 subdirectory each: redis.conf 0600, nodes.conf, redis.log), each
#       on a free port with its cluster bus on another free port (cluster-port:
#       port+10000 may be over 65535), no persistence, cluster-node-timeout 2000 ms so
#       a failover takes a few seconds, cluster-require-full-coverage no (the other
#       masters' slots stay served while one master's are not). PASSWORD (non-empty) is requirepass and
#       masterauth; with TR_CLUSTER_ACL_USER set, that ACL user with the password
#       "${PASSWORD}-u" may do everything too. Then, for 3 masters or more, `redis-cli
#       --cluster create ... --cluster-yes`; for 1 or 2 (which redis-cli refuses) the
#       same by hand: the slots split evenly (CLUSTER ADDSLOTSRANGE), CLUSTER MEET, and
#       node MASTERS + k made a replica of master k mod MASTERS (CLUSTER REPLICATE).
#       Then a wait until every node says cluster_state:ok and sees all the masters
#       with their slots and all the replicas as replicas (deadline 60 s). Sets TR_CLUSTER_PORTS, TR_CLUSTER_BUS and TR_CLUSTER_PIDS
#       (arrays, node order: the first MASTERS are the masters); a node that did not
#       start is stopped before the return. Returns 1 with the logs on stderr.
#       Each node is started as TR_CLUSTER_SPAWN redis-server ... (an array, empty by
#       default; the launcher puts setsid there), its stdin /dev/null and its output
#       in its redis.log.
#   tr_cluster_wait_synced TIMEOUT_S
#       waits until every replica says master_link_status:up (its first sync done:
#       before it, WAIT counts it not). 1 at the deadline.
#   tr_cluster_stop
#       stops every node by PID (TERM, then KILL after 5 s), also those killed already.
#   tr_cluster_cli PORT ARGS...
#       redis-cli against one node, authenticated (the password through the
#       environment, never on the command line).
# Needs redis-server and redis-cli (redis-tools); ports are found with bash's
# /dev/tcp alone, so the launcher's run-time packages suffice.

TR_CLUSTER_PORTS=()
TR_CLUSTER_BUS=()
TR_CLUSTER_PIDS=()
TR_CLUSTER_PASSWORD=""
: "${TR_CLUSTER_ACL_USER:=}"
[[ -n ${TR_CLUSTER_SPAWN+x} ]] || TR_CLUSTER_SPAWN=()

# Prints N distinct ports nobody listens on, one a line, picked at random below the
# kernel's ephemeral range (an outgoing connection cannot take one meanwhile). A port
# taken between this check and redis-server's bind makes that node start again on
# others (tr_cluster_start_node).
tr_cluster_free_ports() {
    local n=$1 lo=20000 hi=60000 eph p tries=0 got=0 seen=" "
    read -r eph _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null && ((eph > lo + 2000)) && hi=$eph
    while ((got < n && tries < 2000)); do
        tries=$((tries + 1))
        p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo)))
        [[ $seen == *" $p "* ]] && continue
        seen+="$p "
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && continue # someone listens
        echo "$p"
        got=$((got + 1))
    done
    ((got == n))
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
    mkdir -p "$dir/node$i" && chmod 700 "$dir/node$i" || return 1
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
            # With the default "yes" every node answers CLUSTERDOWN for every slot from
            # the moment a master is marked failed until its replica is promoted: all
            # timers stall, not only that master's (docs/CLUSTER.md, "Failover").
            echo "cluster-require-full-coverage no"
            echo "dir $dir/node$i"
            echo "logfile $dir/node$i/redis.log"
            echo "daemonize no"
            echo 'save ""'
            echo "appendonly no"
            # As the embedded Redis: a timer's record stays in a listpack bucket
            # (docs/DATA_MODEL.md); Redis's default 64 costs ~40 bytes a timer.
            echo "hash-max-listpack-value 1024"
            if [[ -n $TR_CLUSTER_PASSWORD ]]; then
                echo "requirepass $TR_CLUSTER_PASSWORD"
                echo "masterauth $TR_CLUSTER_PASSWORD"
                if [[ -n $TR_CLUSTER_ACL_USER ]]; then
                    echo "user $TR_CLUSTER_ACL_USER on >${TR_CLUSTER_PASSWORD}-u ~* &* +@all"
                fi
            fi
        } >"$dir/node$i/redis.conf" || return 1
        chmod 600 "$dir/node$i/redis.conf"
        rm -f "$dir/node$i/nodes.conf"
        "${TR_CLUSTER_SPAWN[@]}" redis-server "$dir/node$i/redis.conf" \
            </dev/null >>"$dir/node$i/redis.log" 2>&1 &
        pid=$!
        local deadline=$((SECONDS + 15))
        while ((SECONDS < deadline)) && kill -0 "$pid" 2>/dev/null; do
            if [[ $(tr_cluster_cli "$port" ping 2>/dev/null) == PONG ]]; then
                TR_CLUSTER_PORTS+=("$port")
                TR_CLUSTER_BUS+=("$bus")
                TR_CLUSTER_PIDS+=("$pid")
                return 0
            fi
            sleep 0.02
        done
        kill "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    echo "cluster-local: node $i did not start; its log:" >&2
    cat "$dir/node$i/redis.log" >&2 2>/dev/null
    return 1
}

# 0 when every node says cluster_state:ok and sees MASTERS masters with slots and
# REPLICAS replicas: "ok" alone may come while a node still lists a new replica as a
# master without slots (its gossip not in yet), and a caller reading CLUSTER NODES at
# once saw 5 masters and 1 replica. Parsed by the shell: this is polled.
tr_cluster_all_ok() {
    local masters=$1 replicas=$2 port m s f
    for port in "${TR_CLUSTER_PORTS[@]}"; do
        [[ $(tr_cluster_cli "$port" cluster info 2>/dev/null) == *cluster_state:ok* ]] || return 1
        m=0 s=0
        while read -r -a f; do
            # <id> <addr> <flags> <master> <ping> <pong> <epoch> <link> [<slots>...]
            [[ ${f[2]:-} == *fail* || ${f[2]:-} == *handshake* ]] && continue
            if [[ ${f[2]:-} == *master* && -n ${f[8]:-} ]]; then
                m=$((m + 1))
            elif [[ ${f[2]:-} == *slave* ]]; then
                s=$((s + 1))
            fi
        done < <(tr_cluster_cli "$port" cluster nodes 2>/dev/null)
        ((m == masters && s == replicas)) || return 1
    done
    return 0
}

# What `redis-cli --cluster create` does, for the 1 or 2 masters it refuses: slots,
# meet, replicas (each step checked; the gossip is waited for with a deadline).
tr_cluster_create_by_hand() {
    local m=$1 n=${#TR_CLUSTER_PORTS[@]} i lo hi id deadline
    for ((i = 0; i < m; i++)); do
        lo=$((i * 16384 / m)) hi=$(((i + 1) * 16384 / m - 1))
        [[ $(tr_cluster_cli "${TR_CLUSTER_PORTS[i]}" CLUSTER ADDSLOTSRANGE "$lo" "$hi") == OK ]] || return 1
    done
    for ((i = 1; i < n; i++)); do
        [[ $(tr_cluster_cli "${TR_CLUSTER_PORTS[0]}" CLUSTER MEET 127.0.0.1 \
            "${TR_CLUSTER_PORTS[i]}" "${TR_CLUSTER_BUS[i]}") == OK ]] || return 1
    done
    for ((i = m; i < n; i++)); do
        id=$(tr_cluster_cli "${TR_CLUSTER_PORTS[(i - m) % m]}" CLUSTER MYID) || return 1
        # A node can follow a master only once it knows it (the meet's gossip).
        deadline=$((SECONDS + 30))
        until [[ $(tr_cluster_cli "${TR_CLUSTER_PORTS[i]}" CLUSTER REPLICATE "$id" 2>&1) == OK ]]; do
            ((SECONDS < deadline)) || return 1
            sleep 0.1
        done
    done
}

tr_cluster_start() {
    local dir=$1 masters=$2 replicas=$3
    TR_CLUSTER_PASSWORD=$4
    local n=$((masters * (1 + replicas))) i ports
    mapfile -t ports < <(tr_cluster_free_ports $((2 * n)))
    if ((${#ports[@]} != 2 * n)); then
        echo "cluster-local: found no $((2 * n)) free ports" >&2
        return 1
    fi
    for ((i = 0; i < n; i++)); do
        tr_cluster_start_node "$dir" "$i" "${ports[2 * i]}" "${ports[2 * i + 1]}" || return 1
    done
    if ((masters < 3)); then
        tr_cluster_create_by_hand "$masters" >"$dir/create.log" 2>&1 || {
            echo "cluster-local: creating the cluster by hand failed:" >&2
            cat "$dir/create.log" >&2
            return 1
        }
    else
        local addrs=()
        for i in "${TR_CLUSTER_PORTS[@]}"; do
            addrs+=("127.0.0.1:$i")
        done
        if ! REDISCLI_AUTH=$TR_CLUSTER_PASSWORD redis-cli --cluster create "${addrs[@]}" \
            --cluster-replicas "$replicas" --cluster-yes </dev/null >"$dir/create.log" 2>&1; then
            echo "cluster-local: redis-cli --cluster create failed:" >&2
            cat "$dir/create.log" >&2
            return 1
        fi
    fi
    local deadline=$((SECONDS + 60))
    until tr_cluster_all_ok "$masters" $((masters * replicas)); do
        if ((SECONDS >= deadline)); then
            echo "cluster-local: cluster not ok after 60 s" >&2
            cat "$dir/create.log" >&2
            return 1
        fi
        sleep 0.1
    done
    return 0
}

tr_cluster_wait_synced() {
    local deadline=$((SECONDS + $1)) port info pending
    while :; do
        pending=0
        for port in "${TR_CLUSTER_PORTS[@]}"; do
            info=$(tr_cluster_cli "$port" info replication 2>/dev/null | tr -d '\r')
            [[ $info == *role:slave* && $info != *master_link_status:up* ]] && pending=1
        done
        ((pending)) || return 0
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
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
