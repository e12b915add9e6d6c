#!/usr/bin/env bash
# bench/create_peer.sh - TimeRush's create path beside its BullMQ peer and nginx
# `return 200`, on the same machine in the same run (issue 10).
#
#   bench/create_peer.sh [--keepalive launcher|0|32] [--workers N] [--reps N] [--secs S]
#                        [--only static,bullmq,timerush] [--build-dir DIR]
#                        [--peer-procs N] [--warmup S] [--max-body BYTES] [--keep-data]
#                        [-- extra ./timerush options, e.g. --appendfsync always]
#
# Starts, each on a free loopback port:
#   static    a tiny nginx answering `return 200 '{"ret":0}'` with the TimeRush
#             nginx's worker settings (bench/lib.sh start_static_nginx)
#   bullmq    bench/bullmq/peer.js (--peer-procs node processes, default 1) and its
#             own redis-server (unix socket in the work dir, the launcher's
#             persistence: appendonly yes, appendfsync everysec, save "")
#   timerush  ./timerush --no-install --no-build in a fresh run dir
# and runs `wrk -t1 -c64 -d SECS --latency` on each in turn, REPS rounds (static,
# bullmq, timerush, static, ...; so that load from others on the machine hits them
# alike), every one POSTing the same /register/ body (seconds 864000: nothing fires;
# callback_data 100 bytes; the peer takes TimeRush's field names too). Before the
# timed rounds each scenario gets an untimed wrk run of --warmup seconds (default 2;
# node's JIT warms up in it).
# --keepalive: launcher keeps the generated nginx.conf; 0 removes the
#   `keepalive` line of `upstream timerush_fcgi` and sets fastcgi_keep_conn off; 32
#   sets `keepalive 32;` and fastcgi_keep_conn on. Then nginx is reloaded (HUP to
#   its master) and the script waits for the new workers.
# Quotes for each scenario the median requests/s, p50/p99/max of the median run,
# errors (socket errors, timeouts, non-2xx, and creates not found in Redis), and CPU
# per request by process for the median run (bench/proc_cpu.py); the ratios
# timerush/bullmq and timerush/static; the goals of issue 10 beside them. Any error
# is printed loudly and makes the exit status 1 (after the report).
# Markdown on stdout, raw files in the work dir (printed on stderr). Every process
# started here is stopped by PID on exit; none inherits the caller's descriptors.
# The two Redis data dirs and the baseline's access log (~200 MB after a default
# run) are removed on exit unless --keep-data.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$SRC/build-p2
KEEPALIVE=launcher
WORKERS=""
REPS=3
SECS=8
ONLY="static,bullmq,timerush"
PEER_PROCS=1
WARMUP=2
KEEP_DATA=0
MAX_BODY=65536
STACK_EXTRA=()
QUEUE=timers

die() { echo "create_peer: $*" >&2; exit 1; }
say() { echo "create_peer: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --keepalive) KEEPALIVE=$2; shift ;;
        --workers) WORKERS=$2; shift ;;
        --reps) REPS=$2; shift ;;
        --secs) SECS=$2; shift ;;
        --only) ONLY=$2; shift ;;
        --build-dir) BUILD=$(cd "$2" && pwd); shift ;;
        --peer-procs) PEER_PROCS=$2; shift ;;
        --warmup) WARMUP=$2; shift ;;
        --max-body) MAX_BODY=$2; shift ;;
        --keep-data) KEEP_DATA=1 ;;
        -h|--help) sed -n '2,35p' "$0"; exit 0 ;;
        --) shift; STACK_EXTRA=("$@"); break ;;
        *) die "unknown option $1" ;;
    esac
    shift
done
case $KEEPALIVE in launcher|0|32) ;; *) die "--keepalive: launcher, 0 or 32 (not $KEEPALIVE)" ;; esac
for n in "$REPS" "$SECS" "$PEER_PROCS"; do
    case $n in ''|*[!0-9]*|0) die "--reps, --secs and --peer-procs take a whole number > 0" ;; esac
done
case $WARMUP in ''|*[!0-9]*) die "--warmup takes a whole number of seconds (0: none)" ;; esac
for s in ${ONLY//,/ }; do
    case $s in static|bullmq|timerush) ;; *) die "--only: static, bullmq, timerush (not $s)" ;; esac
done
want() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }

# shellcheck source=bench/lib.sh
source "$SRC/bench/lib.sh"
close_inherited_fds

command -v wrk >/dev/null || "$SRC/scripts/install-deps.sh" --for bench </dev/null >&2 ||
    die "wrk not found (scripts/install-deps.sh --for bench)"
if want timerush; then
    [ -x "$BUILD/fcgi/timerush-fcgi" ] || die "no $BUILD/fcgi/timerush-fcgi (build it first, or --build-dir)"
fi
PEER_DIR=$SRC/bench/bullmq
if want bullmq; then
    command -v node >/dev/null || die "node not found (BullMQ peer)"
    command -v redis-server >/dev/null || die "redis-server not found"
    if [ ! -f "$PEER_DIR/node_modules/bullmq/package.json" ]; then
        say "npm ci in $PEER_DIR"
        (cd "$PEER_DIR" && npm ci --no-audit --no-fund </dev/null >&2) || die "npm ci failed in $PEER_DIR"
    fi
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tr-create-peer.XXXXXX")
say "raw data in $WORK"
PIDS=()
LAUNCHER_PID=""
PEER_PIDS=""
RUN=""
# shellcheck disable=SC2317  # called by the trap
cleanup() {
    local p
    stop_tr_stack
    stop_pids
    # The peer's cluster processes, in case its primary could not stop them.
    for p in ${PEER_PIDS//,/ }; do
        if grep -qs peer.js "/proc/$p/cmdline"; then kill -TERM "$p" 2>/dev/null || true; fi
    done
    if [ "$KEEP_DATA" = 0 ]; then
        rm -rf "$WORK/peer-redis/appendonlydir" "$WORK/nginx-static/log/access.log"
        if [ -n "$RUN" ]; then rm -rf "$RUN/redis"; fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the TimeRush stack -------------------------------------------------------------
# ka_text NGINX_CONF: "keepalive N|none, fastcgi_keep_conn on|off" of the upstream.
ka_text() {
    awk '/^[ \t]*upstream timerush_fcgi/ {up = 1} up && /^[ \t]*keepalive / {gsub(";", ""); v = $2} up && /^[ \t]*\}/ {up = 0}
         /^[ \t]*fastcgi_keep_conn / {gsub(";", ""); kc = $2}
         END {printf "keepalive %s, fastcgi_keep_conn %s", (v == "" ? "none" : v), kc}' "$1"
}
NGX_CONF=""
KA_TEXT="-"
if want timerush; then
    extra=("${STACK_EXTRA[@]}")
    [ -n "$WORKERS" ] && extra+=(--workers "$WORKERS")
    start_tr_stack "$WORK/stack" "$WORK/launcher.out" "$MAX_BODY" "${extra[@]}" || die "the TimeRush stack did not start"
    NGX_CONF=$RUN/conf/nginx.conf
    cp "$NGX_CONF" "$WORK/nginx.conf.launcher"
    if [ "$KEEPALIVE" != launcher ]; then
        # Rewrite the upstream block's keepalive line and fastcgi_keep_conn.
        awk -v ka="$KEEPALIVE" '
            /^[ \t]*upstream timerush_fcgi[ \t]*\{/ { up = 1 }
            up && /^[ \t]*(keepalive[ \t]|# keepalive off)/ { next }
            up && /^[ \t]*\}/ { if (ka > 0) print "        keepalive " ka ";  # create_peer.sh --keepalive"; up = 0 }
            /^[ \t]*fastcgi_keep_conn[ \t]/ { sub(/fastcgi_keep_conn[ \t]+[a-z]+;/, "fastcgi_keep_conn " (ka > 0 ? "on" : "off") ";") }
            { print }' "$WORK/nginx.conf.launcher" >"$NGX_CONF.tmp"
        mv "$NGX_CONF.tmp" "$NGX_CONF"
        case $KEEPALIVE:$(ka_text "$NGX_CONF") in
            "0:keepalive none, fastcgi_keep_conn off"|"32:keepalive 32, fastcgi_keep_conn on") ;;
            *) die "--keepalive $KEEPALIVE: the rewritten nginx.conf has $(ka_text "$NGX_CONF") (has nginx/timerush.conf.in changed?)" ;;
        esac
        nginx -t -q -p "$RUN/" -c "$NGX_CONF" -e "$RUN/log/nginx-error.log" </dev/null >"$WORK/nginx-t.out" 2>&1 ||
            { cat "$WORK/nginx-t.out" >&2; die "nginx rejects the rewritten $NGX_CONF"; }
        master=$(cat "$RUN/pids/nginx.pid")
        old=$(pgrep -P "$master" | sort | paste -sd' ')
        kill -HUP "$master"
        # New workers up, the old ones gone (they hold no connection: they go at once).
        # shellcheck disable=SC2317  # called by wait_for
        reloaded() {
            local now p
            now=$(pgrep -P "$master" | sort | paste -sd' ')
            [ -n "$now" ] || return 1
            for p in $old; do case " $now " in *" $p "*) return 1 ;; esac; done
            curl -sf -o /dev/null "$URL/healthz"
        }
        wait_for "nginx reload" 20 reloaded || die "nginx did not reload"
        say "nginx reloaded with keepalive $KEEPALIVE (workers $old -> $(pgrep -P "$master" | paste -sd' '))"
    fi
    diff -u "$WORK/nginx.conf.launcher" "$NGX_CONF" >"$WORK/nginx.conf.diff" || true
    KA_TEXT=$(ka_text "$NGX_CONF")
fi

# --- the baseline nginx -------------------------------------------------------------
if want static; then
    start_static_nginx "$WORK/nginx-static" "$MAX_BODY" "$NGX_CONF" || die "static nginx did not start"
    STATIC_URL="http://127.0.0.1:$NGX_PORT/register/"
fi

# --- the BullMQ peer and its redis --------------------------------------------------
if want bullmq; then
    PR=$WORK/peer-redis
    mkdir -p "$PR"
    PEER_REDIS_SOCK=$PR/redis.sock
    # The persistence of the launcher's generated redis.conf (./timerush,
    # write_redis_conf), with its default --appendfsync everysec.
    cat >"$PR/redis.conf" <<EOF
daemonize no
bind 127.0.0.1
port $(free_port)
unixsocket $PEER_REDIS_SOCK
unixsocketperm 700
dir $PR
logfile $PR/redis.log
appendonly yes
appendfsync everysec
save ""
maxmemory-policy noeviction
tcp-keepalive 60
EOF
    redis-server "$PR/redis.conf" </dev/null >"$PR/stderr" 2>&1 &
    PEER_REDIS_PID=$!
    PIDS+=("$PEER_REDIS_PID")
    # shellcheck disable=SC2016  # $1 is the inner shell's
    wait_for "the peer's redis" 20 bash -c '[ "$(redis-cli -s "$1" ping)" = PONG ]' _ "$PEER_REDIS_SOCK" ||
        die "the peer's redis did not start ($PR/redis.log)"
    PEER_PORT=$(free_port)
    node "$PEER_DIR/peer.js" --redis-socket "$PEER_REDIS_SOCK" --host 127.0.0.1 --port "$PEER_PORT" \
        --procs "$PEER_PROCS" --queue "$QUEUE" --max-body "$MAX_BODY" </dev/null >"$WORK/peer.out" 2>"$WORK/peer.err" &
    PEER_PID=$!
    PIDS+=("$PEER_PID")
    wait_for "the BullMQ peer" 60 grep -q '^peer ready:' "$WORK/peer.out" ||
        { cat "$WORK/peer.err" >&2; die "the BullMQ peer did not start"; }
    PEER_PIDS=$(sed -n 's/^peer ready: .* pids //p' "$WORK/peer.out")
    PEER_URL="http://127.0.0.1:$PEER_PORT/register/"
    BULLMQ_VERSION=$(node -p "require('$PEER_DIR/node_modules/bullmq/package.json').version")
    IOREDIS_VERSION=$(node -p "require('$PEER_DIR/node_modules/ioredis/package.json').version")
fi

# --- the request --------------------------------------------------------------------
# callback_data: a JSON text of 100 bytes, sent as a string (TimeRush stores its bytes).
DATA='{"order":42,"user":"u-0000000123","note":"'$(printf 'x%.0s' $(seq 1 56))'"}'
BODY='{"callback_cmd":"http://127.0.0.1:9/cb","callback_data":"'${DATA//\"/\\\"}'","seconds":864000}'
LUA=$WORK/register.lua
{
    echo 'wrk.method = "POST"'
    # A long bracket: Lua reads the body as is, backslashes included.
    printf 'wrk.body = [==[%s]==]\n' "$BODY"
    echo 'wrk.headers["Content-Type"] = "application/json"'
} >"$LUA"
printf '%s' "$BODY" >"$WORK/body.json"
check_create() { # NAME URL: one create must answer ret 0
    curl -sS -X POST -H 'Content-Type: application/json' --data-binary @"$WORK/body.json" "$2" >"$WORK/probe_$1.json" ||
        die "$1: no answer from $2"
    grep -Eq '"ret" *: *0' "$WORK/probe_$1.json" || die "$1 refused the create: $(cat "$WORK/probe_$1.json")"
}
want bullmq && check_create bullmq "$PEER_URL"
want timerush && check_create timerush "$URL/register/"

# stored NAME: how many timers the scenario's store holds (- for static).
stored() {
    case $1 in
        timerush) rcli ZCARD '{_timerush_redis_data_}:due' ;;
        bullmq) redis-cli -s "$PEER_REDIS_SOCK" ZCARD "bull:$QUEUE:delayed" ;;
        *) echo - ;;
    esac
}
# snap: CPU so far of every process started here (bench/proc_cpu.py snap).
snap() {
    local extra=()
    [ -n "${NGX_PID:-}" ] && extra+=("nginx-static=tree:$NGX_PID")
    if [ -n "${PEER_PID:-}" ]; then
        extra+=("node=tree:$PEER_PID" "peer-redis=forks:$PEER_REDIS_PID")
    fi
    python3 "$SRC/bench/proc_cpu.py" snap "${RUN:-$WORK/no-stack}" "${extra[@]}"
}

# one NAME URL I: one timed run, with the load, the CPU and the store around it.
one() {
    local name=$1 url=$2 i=$3 f=$WORK/$1.$3 reqs
    cut -d' ' -f1-3 /proc/loadavg >"$f.load"
    stored "$name" >"$f.stored"
    snap >"$f.a.json"
    wrk -t1 -c64 -d"${SECS}s" --latency -s "$LUA" "$url" </dev/null >"$f.wrk" 2>&1 || true
    snap >"$f.b.json"
    stored "$name" >>"$f.stored"
    cut -d' ' -f1-3 /proc/loadavg >>"$f.load"
    reqs=$(awk '/requests in/ {print $1}' "$f.wrk")
    python3 "$SRC/bench/proc_cpu.py" diff "$f.a.json" "$f.b.json" "${reqs:-0}" >"$f.cpu"
    python3 "$SRC/bench/proc_cpu.py" diffjson "$f.a.json" "$f.b.json" "${reqs:-0}" >"$f.cpu.json"
    say "$name run $i: $(awk '/^Requests\/sec:/ {print $2}' "$f.wrk") requests/s, load $(paste -sd' ' "$f.load" | awk '{print $1 " -> " $4}')"
    grep -h 'Non-2xx\|Socket errors' "$f.wrk" >&2 || true
}

SCEN=()
for s in static bullmq timerush; do want "$s" && SCEN+=("$s"); done
url_of() {
    case $1 in static) echo "$STATIC_URL" ;; bullmq) echo "$PEER_URL" ;; timerush) echo "$URL/register/" ;; esac
}
if [ "$WARMUP" -gt 0 ]; then
    for s in "${SCEN[@]}"; do
        wrk -t1 -c64 -d"${WARMUP}s" -s "$LUA" "$(url_of "$s")" </dev/null >"$WORK/$s.warmup.wrk" 2>&1 || true
        say "$s warm-up: $(awk '/^Requests\/sec:/ {print $2}' "$WORK/$s.warmup.wrk") requests/s"
    done
fi
for i in $(seq 1 "$REPS"); do
    for s in "${SCEN[@]}"; do one "$s" "$(url_of "$s")" "$i"; done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
# The stack's nginx: how each /register/ ended, warm-up and all runs: "STATUS COUNT
# COUNT_THAT_TOOK_2_S_OR_MORE" (499: the client closed first; wrk does so for the
# requests in flight when it stops, and for those it gave up after 2 s).
if [ -n "$RUN" ]; then
    awk '$5 ~ /^\/register\/?$/ {n[$7]++; sub(/^rt=/, "", $10); if ($10 + 0 >= 2) slow[$7]++}
         END {for (s in n) print s, n[s], slow[s] + 0}' "$RUN/log/nginx-access.log" 2>/dev/null |
        sort >"$WORK/timerush.status" || true
fi

# --- the report ---------------------------------------------------------------------
{
    echo "date=$(date -u +%FT%TZ)"
    echo "cores=$(nproc)"
    echo "load_start=$LOAD_START"
    echo "load_end=$LOAD_END"
    echo "secs=$SECS"
    echo "reps=$REPS"
    echo "scenarios=${SCEN[*]}"
    echo "keepalive_mode=$KEEPALIVE"
    echo "keepalive=$KA_TEXT"
    echo "fcgi_workers=${NFCGI:--}"
    echo "nginx_workers=$(awk '/^ *worker_processes/ {gsub(";",""); print $2; exit}' "${NGX_CONF:-$WORK/nginx-static/conf/nginx.conf}" 2>/dev/null || echo -)"
    echo "peer_procs=$PEER_PROCS"
    echo "warmup=$WARMUP"
    echo "bullmq=${BULLMQ_VERSION:--}"
    echo "ioredis=${IOREDIS_VERSION:--}"
    echo "node=$(node --version 2>/dev/null || echo -)"
    echo "redis=$(redis-server --version | sed -n 's/.* v=\([^ ]*\).*/\1/p')"
    echo "nginx=$(nginx -v 2>&1 | sed 's/.*nginx\///')"
    # The last commit that changed what the stack is built and started from.
    echo "commit=$(git -C "$SRC" log -1 --format=%h -- fcgi shared scheduler nginx timerush CMakeLists.txt cmake 2>/dev/null || echo -)$(git -C "$SRC" diff --quiet HEAD -- fcgi shared scheduler nginx timerush CMakeLists.txt cmake 2>/dev/null || echo '+uncommitted edits')"
    echo "build=$BUILD"
    echo "extra=${STACK_EXTRA[*]}"
    echo "body_bytes=$(wc -c <"$WORK/body.json")"
} >"$WORK/meta"
rc=0
python3 "$SRC/bench/create_peer_report.py" "$WORK" || rc=$?
if [ -n "$RUN" ]; then grep -h 'rejected\|ERROR' "$RUN"/log/fcgi.log 2>/dev/null | head -3 >&2 || true; fi
[ -s "$WORK/peer.err" ] && { say "the peer's stderr:"; head -5 "$WORK/peer.err" >&2; }
say "raw data in $WORK"
exit "$rc"
