#!/usr/bin/env bash
# bench/cluster_probe.sh - one Redis against a local Redis Cluster (issue 11): Redis CPU
# per created and per delivered timer, its split over the masters, and the create and
# burst-drain rates, in one run.
#
#   bench/cluster_probe.sh [--build-dir DIR] [--base-build DIR] [-n N] [--rounds R]
#                          [--configs LIST] [--shards S] [--parallel P] [--as-launched]
#                          [--keep] [--tree DIR] [--results FILE] [-- extra ./timerush options]
#
# Configurations (--configs, default single,single16,cl1,cl3), each on a fresh stack
# (bench/lib.sh's start_tr_stack: ./timerush --no-build --no-install, its defaults):
#   single    the embedded Redis, --shards 1 (today's deployment: unix socket, AOF)
#   singleK   the embedded Redis, --shards K (the shards' own cost, without a cluster)
#   clM       --cluster-local M --shards S: M masters, a replica each
#   clM-K     --cluster-local M --shards K
#   any of these +wR and/or +sN: with --wait-replicas R, with --schedulers N
#             (cl3+w1, cl3+s2: the same run against cl3)
#   base-CFG  CFG with the programs of --base-build (another tree's build, e.g. main's:
#             before/after in one run; this tree's launcher and sink)
# Every round runs each configuration once, in that order, so that load from elsewhere
# hits them alike. One run: timerush-sink, the stack, deliveries paused (POST
# /v1/pause); N timers to the sink (100 bytes of data, delay 0) created with POST
# /v1/timers/batch, 1,000 a request, P requests at a time (curl --parallel); then
# POST /v1/resume and a wait until the sink has logged N requests. Over the create
# phase and over the drain phase (resume to the last arrival): CPU from /proc
# (bench/proc_cpu.py) of each redis-server (masters and replicas apart), the
# scheduler, timerush-fcgi, nginx, the sink and the machine; each master's commands
# (INFO stats total_commands_processed; INFO commandstats per command) and, after the
# create, the timers its shards' due sets hold. Prints a line per run, then medians per configuration with ratios,
# the split over cl3's masters and the capacity model those figures give. Raw files
# in the work dir (named on stderr; removed unless --keep). Every process started
# here is stopped by PID. Sizes for a smoke run: -n 2000 --rounds 1.
# The cluster's nodes get `CONFIG SET hash-max-listpack-value 1024`, the embedded
# Redis's setting (docs/OPERATIONS.md asks it of any Redis; --cluster-local's nodes
# had Redis's default 64 before scripts/cluster-local.sh set it too): --as-launched
# leaves them as the launcher made them.
# --tree DIR: the stack is DIR's ./timerush (another commit's worktree, --build-dir its
# build). --results FILE: each run's JSON line (cluster_report.py run) appended there too.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$SRC/build
BASE_BUILD=
N=100000
ROUNDS=3
CONFIGS=single,single16,cl1,cl3
SHARDS=16
PAR=4
KEEP=0
AS_LAUNCHED=0
EXTRA=()
BATCH=1000
PREFIX=_timerush_redis_data_
TREE=$SRC
RESULTS=""

die() { echo "cluster_probe: $*" >&2; exit 1; }
say() { echo "cluster_probe: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --build-dir) BUILD=$(cd "$2" && pwd); shift ;;
        --base-build) BASE_BUILD=$(cd "$2" && pwd); shift ;;
        -n) N=$2; shift ;;
        --rounds) ROUNDS=$2; shift ;;
        --configs) CONFIGS=$2; shift ;;
        --shards) SHARDS=$2; shift ;;
        --parallel) PAR=$2; shift ;;
        --keep) KEEP=1 ;;
        --as-launched) AS_LAUNCHED=1 ;;
        --tree) TREE=$(cd "$2" && pwd); shift ;;
        --results) RESULTS=$2; shift ;;
        --) shift; EXTRA=("$@"); break ;;
        -h|--help) sed -n '2,38p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) die "unknown option: $1 (see --help)" ;;
    esac
    shift
done
if ! [[ $N =~ ^[0-9]+$ ]] || ((N < BATCH || N % BATCH != 0)); then die "-n must be a multiple of $BATCH"; fi
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds must be 1 or more"
if ! [[ $SHARDS =~ ^[0-9]+$ ]] || ((SHARDS < 2)); then die "--shards must be 2 or more (a cluster needs it)"; fi
IFS=, read -r -a CFGS <<<"$CONFIGS"
# cfg_opts CONFIG: sets CUR_OPTS (the launcher's options), CUR_SHARDS and CUR_BUILD.
cfg_opts() {
    CUR_BUILD=$BUILD
    if [[ $1 == base-* ]]; then
        [ -n "$BASE_BUILD" ] || return 1
        cfg_opts "${1#base-}" || return 1
        CUR_BUILD=$BASE_BUILD
        return 0
    fi
    local cfg=$1 more=()
    while [[ $cfg =~ ^(.+)\+([ws])([0-9]+)$ ]]; do
        if [[ ${BASH_REMATCH[2]} == w ]]; then more+=(--wait-replicas "${BASH_REMATCH[3]}")
        else more+=(--schedulers "${BASH_REMATCH[3]}"); fi
        cfg=${BASH_REMATCH[1]}
    done
    cfg_base "$cfg" || return 1
    CUR_OPTS+=("${more[@]}")
}
cfg_base() {
    if [[ $1 == single ]]; then
        CUR_OPTS=() CUR_SHARDS=1
    elif [[ $1 =~ ^single([0-9]+)$ ]]; then
        CUR_SHARDS=${BASH_REMATCH[1]} CUR_OPTS=(--shards "${BASH_REMATCH[1]}")
    elif [[ $1 =~ ^cl([0-9]+)(-([0-9]+))?$ ]]; then
        CUR_SHARDS=${BASH_REMATCH[3]:-$SHARDS}
        CUR_OPTS=(--cluster-local "${BASH_REMATCH[1]}" --shards "$CUR_SHARDS")
    else
        return 1
    fi
}
for c in "${CFGS[@]}"; do
    cfg_opts "$c" || die "unknown configuration $c (single, singleK, clM or clM-K, each +wR, +sN; base-CFG with --base-build)"
done
SINK=$BUILD/tests/sink/timerush-sink
[ -x "$SINK" ] || die "no $SINK: build first (scripts/build.sh $BUILD)"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# shellcheck source=bench/lib.sh
source "$SRC/bench/lib.sh"
CPU=$SRC/bench/proc_cpu.py
REPORT=$SRC/bench/cluster_report.py
bench_on_exit() {
    if [ "$KEEP" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
bench_start cluster-probe

# Redis nodes of the running stack, one "ROLE PID PORT" a line, masters first
# (ROLE m or r; PORT "sock" for the embedded Redis). A cluster's node I is line I
# of pids/redis.pid and listens on the port of redis/cluster/nodeI/redis.conf; its
# role is asked (INFO replication), not assumed.
NODES=()
read_nodes() {
    local pids i role port
    NODES=()
    mapfile -t pids <"$RUN/pids/redis.pid"
    if [ ! -d "$RUN/redis/cluster" ]; then
        NODES=("m ${pids[0]} sock")
        return 0
    fi
    local ms=() rs=()
    for i in "${!pids[@]}"; do
        port=$(awk '$1 == "port" {print $2}' "$RUN/redis/cluster/node$i/redis.conf")
        role=$(node_cli "$port" INFO replication | tr -d '\r' | sed -n 's/^role://p')
        case $role in
            master) ms+=("m ${pids[i]} $port") ;;
            slave) rs+=("r ${pids[i]} $port") ;;
            *) say "node $i (port $port): role '$role'"; return 1 ;;
        esac
    done
    NODES=("${ms[@]}" "${rs[@]}")
}
# node_cli PORT ARGS...: redis-cli against one node ("sock": the embedded Redis).
node_cli() {
    local port=$1
    shift
    if [ "$port" = sock ]; then rcli "$@"; else redis_auth "$RUN" redis-cli -h 127.0.0.1 -p "$port" "$@"; fi
}
# The masters' commands processed so far, one a line (node order).
master_cmds() {
    local n role pid port
    for n in "${NODES[@]}"; do
        read -r role pid port <<<"$n"
        [ "$role" = m ] || continue
        node_cli "$port" INFO stats | tr -d '\r' | sed -n 's/^total_commands_processed://p'
    done
}
# cmdstats PHASE: each master's INFO commandstats into $dir/PHASE.mI.txt, then
# CONFIG RESETSTAT there, so the next phase's figures are its own.
cmdstats() {
    local n role pid port i=0
    for n in "${NODES[@]}"; do
        read -r role pid port <<<"$n"
        [ "$role" = m ] || continue
        [ "$1" = start ] || node_cli "$port" INFO commandstats | tr -d '\r' >"$dir/$1.m$i.txt"
        node_cli "$port" CONFIG RESETSTAT >/dev/null
        i=$((i + 1))
    done
}
# The timers in each master's shards' due sets, one a line (a shard of another
# master answers MOVED: not a number, not counted).
master_due() {
    local n s role pid port
    for n in "${NODES[@]}"; do
        read -r role pid port <<<"$n"
        [ "$role" = m ] || continue
        if [ "$CUR_SHARDS" = 1 ]; then
            echo "ZCARD {$PREFIX}:due"
        else
            for ((s = 0; s < CUR_SHARDS; s++)); do echo "ZCARD {$PREFIX:$s}:due"; done
        fi | node_cli "$port" 2>/dev/null | awk '/^[0-9]+$/ {t += $1} END {print t + 0}'
    done
}
# snap FILE: proc_cpu.py's snapshot with every node (m0.., r0..) and the sink.
snap() {
    local out=$1 n extra=("sink=$SINK_PID") im=0 ir=0 role pid port
    for n in "${NODES[@]}"; do
        read -r role pid port <<<"$n"
        if [ "$role" = m ]; then extra+=("m$im=$pid"); im=$((im + 1)); else extra+=("r$ir=$pid"); ir=$((ir + 1)); fi
    done
    python3 "$CPU" snap "$RUN" "${extra[@]}" >"$out"
}
lines_at_least() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }
now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }
api_post() { curl -sS -o /dev/null -w '%{http_code}' -X POST "$URL$1"; }

# The batch body: BATCH timers to the sink, due at once (deliveries are paused).
make_body() {
    python3 - "$1" "$BATCH" >"$2" <<'EOF'
import json, sys
url, n = sys.argv[1], int(sys.argv[2])
print(json.dumps({"timers": [{"url": url, "data": "x" * 100, "delay_ms": 0} for _ in range(n)]},
                 separators=(",", ":")))
EOF
}

# one_run CONFIG ROUND: appends the run's JSON to $WORK/results.jsonl.
one_run() {
    local cfg=$1 round=$2 dir=$WORK/$1.$2
    cfg_opts "$cfg"
    mkdir -p "$dir"
    "$SINK" --listen 127.0.0.1:0 --port-file "$dir/sink.port" --log "$dir/sink.log" \
        >"$dir/sink.out" 2>&1 &
    SINK_PID=$!
    PIDS+=("$SINK_PID")
    wait_for "sink listening" 10 test -s "$dir/sink.port" || return 1
    local load; load=$(cut -d' ' -f1 /proc/loadavg)
    # start_tr_stack runs the programs of $BUILD: this configuration's.
    BUILD=$CUR_BUILD start_tr_stack "$dir/stack" "$dir/launcher.out" 1048576 "${CUR_OPTS[@]}" "${EXTRA[@]}" || return 1
    read_nodes || return 1
    if [ "$AS_LAUNCHED" = 0 ] && [ -d "$RUN/redis/cluster" ]; then
        local n role pid port
        for n in "${NODES[@]}"; do
            read -r role pid port <<<"$n"
            [ "$(node_cli "$port" CONFIG SET hash-max-listpack-value 1024)" = OK ] ||
                { say "CONFIG SET on port $port failed"; return 1; }
        done
    fi
    [ "$(api_post /v1/pause)" = 200 ] || { say "pause refused"; return 1; }
    make_body "http://127.0.0.1:$(cat "$dir/sink.port")/cb" "$dir/batch.json" || return 1

    # Create: N / BATCH requests, PAR at a time.
    local args=() b t0 t1 c0 c1
    for ((b = 0; b < N / BATCH; b++)); do
        ((b > 0)) && args+=(--next)
        args+=(-sS --max-time 300 -H 'Content-Type: application/json' --data-binary "@$dir/batch.json"
            -o "$dir/batch.$b.out" "$URL/v1/timers/batch")
    done
    cmdstats start
    c0=$(master_cmds | paste -sd,)
    snap "$dir/create.a.json" || return 1
    t0=$(now_ms)
    curl --parallel --parallel-max "$PAR" "${args[@]}" 2>"$dir/batch.err" || true
    t1=$(now_ms)
    snap "$dir/create.b.json" || return 1
    c1=$(master_cmds | paste -sd,)
    local created due
    created=$(cat "$dir"/batch.*.out | grep -o '"status":201' | wc -l)
    due=$(master_due | paste -sd,)
    rm -f "$dir"/batch.*.out
    # Every batch must have stored its timers: a short run is no measurement.
    ((created == N)) || { say "$cfg round $round: $created of $N created ($(head -c 300 "$dir/batch.err"))"; return 1; }

    # Drain: resume, wait for N arrivals (polled every 0.2 s: reading a large log
    # more often would take CPU from the drain; its times come from the log itself).
    local d0 d1 tr
    cmdstats create
    d0=$(master_cmds | paste -sd,)
    snap "$dir/drain.a.json" || return 1
    tr=$(now_ms)
    [ "$(api_post /v1/resume)" = 200 ] || { say "resume refused"; return 1; }
    local deadline=$(( $(date +%s) + 600 ))
    until lines_at_least "$dir/sink.log" "$created"; do
        [ "$(date +%s)" -lt "$deadline" ] || { say "$cfg round $round: not all $created arrived in 600 s"; break; }
        sleep 0.2
    done
    snap "$dir/drain.b.json" || return 1
    d1=$(master_cmds | paste -sd,)
    cmdstats drain
    cp "$RUN/log/scheduler.1.log" "$dir/scheduler.log" 2>/dev/null || true
    stop_tr_stack
    kill -TERM "$SINK_PID" 2>/dev/null || true
    wait "$SINK_PID" 2>/dev/null || true
    unset 'PIDS[${#PIDS[@]}-1]'

    python3 "$REPORT" run "$dir" "$cfg" "$round" "$load" "$N" "$created" "$t0" "$t1" "$tr" \
        "$c0" "$c1" "$d0" "$d1" "$due" >>"$WORK/results.jsonl" || return 1
    [ -z "$RESULTS" ] || tail -n1 "$WORK/results.jsonl" >>"$RESULTS"
    tail -n1 "$WORK/results.jsonl" | python3 "$REPORT" line
}

say "N=$N rounds=$ROUNDS configs=$CONFIGS shards=$SHARDS parallel=$PAR build=$BUILD base=${BASE_BUILD:-none} extra=[${EXTRA[*]:-}] load=$(cut -d' ' -f1-3 /proc/loadavg)"
: >"$WORK/results.jsonl"
echo "# cluster probe $(date -u +%FT%TZ), commit $(git -C "$TREE" describe --always --dirty 2>/dev/null || echo '?')," \
    "$(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1))," \
    "$(redis-server --version | awk '{print $1, $2, $3}'), build $BUILD${BASE_BUILD:+, base-* build $BASE_BUILD}"
echo "# N=$N timers a run, batches of $BATCH, $PAR requests in parallel, S=$SHARDS, configs $CONFIGS," \
    "as launched $AS_LAUNCHED, extra options [${EXTRA[*]:-}], load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %5s %6s %9s %9s %8s %8s %6s %5s\n' config round load 'create/s' 'drain/s' \
    'm_us/cr' 'm_us/dl' lost dups
for ((round = 1; round <= ROUNDS; round++)); do
    for cfg in "${CFGS[@]}"; do
        one_run "$cfg" "$round" || die "$cfg round $round failed (work dir $WORK; --keep keeps it)"
    done
done
python3 "$REPORT" summary "$WORK/results.jsonl"
