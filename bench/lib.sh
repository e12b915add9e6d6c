# bench/lib.sh - helpers the benchmark scripts share (sourced; each script defines
# say() for its own message prefix before calling these).
# shellcheck shell=bash
# shellcheck disable=SC2034  # the start_* functions set globals for their callers

# free_port: prints a free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for DESC TIMEOUT_S CMD...: polls CMD every 20 ms until it succeeds; says what
# timed out and returns 1 after TIMEOUT_S seconds (under set -e a bare call exits).
wait_for() {
    local desc=$1 timeout=$2; shift 2
    local deadline=$(( $(date +%s) + timeout ))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || { say "timed out after ${timeout}s: $desc"; return 1; }
        sleep 0.02
    done
}

# close_inherited_fds: closes every descriptor above 2 this shell inherited from its
# caller (bash keeps the script itself on 255), so that nothing started here holds
# the caller's pipes or files open. Call it at the top level, before opening any.
close_inherited_fds() {
    local fd
    for fd in "/proc/$$/fd/"*; do
        fd=${fd##*/}
        case $fd in 0|1|2|255|*[!0-9]*) continue ;; esac
        eval "exec $fd>&-" 2>/dev/null || true
    done
}

# bench_start NAME: the start the probes share (call it at the top level, after
# sourcing this file): closes inherited descriptors, makes WORK (a new temp dir
# tr-NAME.XXXXXX, named on stderr), empties PIDS and LAUNCHER_PID, and on exit
# stops the stack (stop_tr_stack) and every pid in PIDS (stop_pids), then calls
# bench_on_exit if the script defines one.
bench_start() {
    close_inherited_fds
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/tr-$1.XXXXXX")
    say "raw data in $WORK"
    PIDS=()
    LAUNCHER_PID=""
    trap bench_stop EXIT
    trap 'exit 130' INT TERM
}
bench_stop() {
    stop_tr_stack
    stop_pids
    if declare -F bench_on_exit >/dev/null; then bench_on_exit; fi
}

# median: the median of the numbers on stdin, one a line (the lower one of an even count).
median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print 0}'; }

# start_tr_stack RUN_DIR LOG MAX_BODY [./timerush options...]: the TimeRush stack with
# $TREE/timerush --no-install --no-build --build-dir $BUILD on a free port of
# 127.0.0.1, --max-seconds one year (as root also --nginx-user root), stdin from
# /dev/null, its output in LOG. Returns when it prints its ready line (60 s at most;
# else says so and returns 1). Sets LAUNCHER_PID (stop it with stop_tr_stack), RUN,
# URL, NFCGI (timerush-fcgi processes) and REDIS_SOCK (empty: TCP; see rcli).
# TREE (default $SRC) is the checkout whose launcher runs: a probe's --tree measures
# another commit's tree (its own worktree and build) with this checkout's probe.
start_tr_stack() {
    local run=$1 log=$2 max_body=$3; shift 3
    local port deadline extra=("$@")
    port=$(free_port)
    [ "$(id -u)" = 0 ] && extra+=(--nginx-user root)
    "${TREE:-$SRC}/timerush" --no-install --no-build --build-dir "$BUILD" --run-dir "$run" \
        --listen-host 127.0.0.1 --listen-port "$port" --max-body "$max_body" \
        --max-seconds 31536000 "${extra[@]}" </dev/null >"$log" 2>&1 &
    LAUNCHER_PID=$!
    deadline=$(( $(date +%s) + 60 ))
    until grep -q "^TimeRush ready:" "$log"; do
        kill -0 "$LAUNCHER_PID" 2>/dev/null || { tail -20 "$log" >&2; say "stack did not start"; return 1; }
        [ "$(date +%s)" -lt "$deadline" ] || { say "stack not ready in 60 s"; return 1; }
        sleep 0.05
    done
    RUN=$run
    URL="http://127.0.0.1:$port"
    NFCGI=$(wc -w <"$RUN/pids/fcgi.pid")
    REDIS_SOCK=$(awk '/^unixsocket / {print $2}' "$RUN"/conf/redis*.conf 2>/dev/null | head -1 || true)
}

# redis_auth RUN_DIR CMD...: runs CMD (redis-cli ...) with the password of the stack
# on RUN_DIR (its run/redis.password) in REDISCLI_AUTH, where redis-cli reads it:
# never on argv. Without the file CMD runs as is.
redis_auth() {
    local pw="" f="$1/run/redis.password"
    shift
    [ -r "$f" ] && read -r pw <"$f"
    if [ -n "$pw" ]; then REDISCLI_AUTH=$pw "$@"; else "$@"; fi
}

# rcli ARGS...: redis-cli against the stack's Redis (its unix socket: the embedded
# Redis has no TCP port unless --redis-port asks for one).
rcli() {
    if [ -n "$REDIS_SOCK" ]; then
        redis_auth "$RUN" redis-cli -s "$REDIS_SOCK" "$@"
    else
        redis_auth "$RUN" redis-cli -p "$(awk '/^port / {print $2}' "$RUN"/conf/redis*.conf | head -1)" "$@"
    fi
}

# stop_tr_stack: TERM to the launcher (it stops nginx, the workers, the schedulers
# and redis, in that order) and waits for it.
stop_tr_stack() {
    if [ -n "${LAUNCHER_PID:-}" ] && kill -0 "$LAUNCHER_PID" 2>/dev/null; then
        kill -TERM "$LAUNCHER_PID" 2>/dev/null || true
        wait "$LAUNCHER_PID" 2>/dev/null || true
    fi
}

# start_static_nginx DIR MAX_BODY [NGINX_CONF]: the `return 200` baseline, a second
# nginx with the worker settings (worker_processes, user) of NGINX_CONF (the stack's
# generated nginx.conf; without it: auto) answering `return 200 '{"ret":0}'` on a
# free port with the same client settings as the stack's nginx (MAX_BODY bytes, or
# empty: nginx's default limit and a 64k body buffer). Sets NGX_PORT,
# NGX_PID (appended to PIDS) and NGX_WORKERS; returns when it answers.
start_static_nginx() {
    local ngx=$1 max_body=$2 conf=${3:-} user_line="" body_conf="client_body_buffer_size 64k;"
    [ -z "$max_body" ] || body_conf="client_max_body_size $max_body; client_body_buffer_size $max_body;"
    mkdir -p "$ngx/conf" "$ngx/log" "$ngx/tmp"
    NGX_PORT=$(free_port)
    NGX_WORKERS=auto
    if [ -n "$conf" ]; then
        NGX_WORKERS=$(awk '/^ *worker_processes/ {gsub(";",""); print $2; exit}' "$conf")
        user_line=$(grep -m1 '^user ' "$conf" || true)
    fi
    cat >"$ngx/conf/nginx.conf" <<EOF2
$user_line
worker_processes $NGX_WORKERS;
worker_rlimit_nofile 16384;
pid $ngx/nginx.pid;
error_log $ngx/log/error.log warn;
events { worker_connections 4096; }
http {
    access_log $ngx/log/access.log;
    client_body_temp_path $ngx/tmp;
    $body_conf
    keepalive_timeout 65s;
    keepalive_requests 100000;
    tcp_nodelay on;
    server {
        listen 127.0.0.1:$NGX_PORT backlog=4096;
        location / { default_type application/json; return 200 '{"ret":0}'; }
    }
}
EOF2
    nginx -p "$ngx/" -c "$ngx/conf/nginx.conf" -g 'daemon off;' </dev/null >"$ngx/log/stderr" 2>&1 &
    NGX_PID=$!
    PIDS+=("$NGX_PID")
    wait_for "static nginx" 10 curl -sf "http://127.0.0.1:$NGX_PORT/"
}

# stop_pids: TERM to every pid in PIDS, last started first, and waits for each.
stop_pids() {
    local i
    for (( i=${#PIDS[@]}-1; i>=0; i-- )); do
        kill -TERM "${PIDS[$i]}" 2>/dev/null || true
        wait "${PIDS[$i]}" 2>/dev/null || true
    done
}
