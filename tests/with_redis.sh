#!/usr/bin/env bash
# with_redis.sh PROGRAM [ARGS...] - runs PROGRAM against a private redis-server.
#
# Writes a redis.conf into a mktemp dir (no persistence, TCP on 127.0.0.1 plus a
# unix socket), starts redis-server in the background, waits until PING answers
# (deadline 10 s), runs PROGRAM and passes its exit code through. Redis is stopped
# by PID in an EXIT trap, also when PROGRAM fails or is killed.
#
# Port choice: Redis cannot bind port 0 and report it, so a free port is found by
# binding port 0 from python3 and closing it; if redis-server then loses the race
# for it, another port is tried (5 times).
#
# Exported to PROGRAM:
#   TR_TEST_REDIS_PORT     the TCP port (127.0.0.1)
#   TR_TEST_REDIS_SOCKET   the unix socket path
#   TR_TEST_REDIS_CONF     the config file: `redis-server "$TR_TEST_REDIS_CONF"
#                          --daemonize yes` restarts Redis on the same port/socket
#   TR_TEST_REDIS_PIDFILE  Redis writes its pid there (also after such a restart)
set -u

if [ $# -lt 1 ]; then
    echo "usage: $0 PROGRAM [ARGS...]" >&2
    exit 2
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/tr-redis.XXXXXX") || exit 1
redis_pid=""

cleanup() {
    # The test may have restarted Redis: stop whichever pid the pidfile names too.
    local p
    for p in "$redis_pid" "$(cat "$dir/redis.pid" 2>/dev/null)"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null
    done
    for p in "$redis_pid" "$(cat "$dir/redis.pid" 2>/dev/null)"; do
        [ -n "$p" ] || continue
        for _ in $(seq 1 250); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.02 # polling for exit: there is nothing to wait(1) on after a restart
        done
        kill -9 "$p" 2>/dev/null
    done
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

started=0
for _ in 1 2 3 4 5; do
    port=$(free_port) || exit 1
    cat >"$dir/redis.conf" <<CONF
bind 127.0.0.1
port $port
unixsocket $dir/redis.sock
unixsocketperm 700
daemonize no
pidfile $dir/redis.pid
dir $dir
logfile $dir/redis.log
save ""
appendonly no
CONF
    redis-server "$dir/redis.conf" &
    redis_pid=$!
    deadline=$((SECONDS + 10))
    while [ $SECONDS -lt $deadline ]; do
        if ! kill -0 "$redis_pid" 2>/dev/null; then
            break # exited: most likely the port was taken meanwhile
        fi
        if [ "$(redis-cli -s "$dir/redis.sock" ping 2>/dev/null)" = "PONG" ]; then
            started=1
            break
        fi
        sleep 0.02
    done
    [ $started -eq 1 ] && break
    kill "$redis_pid" 2>/dev/null
    wait "$redis_pid" 2>/dev/null
    redis_pid=""
done
if [ $started -ne 1 ]; then
    echo "with_redis.sh: redis-server did not start; its log:" >&2
    cat "$dir/redis.log" >&2 2>/dev/null
    exit 1
fi

export TR_TEST_REDIS_PORT=$port
export TR_TEST_REDIS_SOCKET=$dir/redis.sock
export TR_TEST_REDIS_CONF=$dir/redis.conf
export TR_TEST_REDIS_PIDFILE=$dir/redis.pid

"$@"
rc=$?
exit $rc
