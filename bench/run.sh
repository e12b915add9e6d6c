#!/usr/bin/env bash
# bench/run.sh - TimeRush's benchmarks, one command.
#
#   bench/run.sh --smoke   a few seconds: 200 timers over 1-2 s through the whole
#                          stack; fails (exit 1) unless every timer arrived exactly once
#   bench/run.sh --replot DIR   redraw docs/img/lateness-*.png from a results folder
#   bench/run.sh --full    every scenario of docs/BENCHMARKS.md; writes
#                          bench/results/<date>/ and docs/img/lateness-*.png and prints
#                          the markdown tables
#
# Options:
#   --build-dir DIR   main project build (default build-bench/main, Release)
#   --no-build        use the binaries already in --build-dir
#   --no-install      never apt-get (gnuplot); plots are skipped when it is missing
#   --out DIR         results folder (default bench/results/<UTC date>)
#   --work DIR        raw data and run dirs (default a fresh mktemp -d; kept)
#   --only LIST       comma-separated scenario names to run (default: all)
#   --reps N          repetitions of the cheap wrk measurements (default 3; median quoted)
#   --mem-count N     pending timers for the memory scenario (default 1000000)
#   --nice N          run the stack and the sink under `nice -n N` (a diagnostic: on a
#                     shared machine, shows how much lateness is CPU contention)
#   --no-plot         leave docs/img alone
#   --burst-lead S    burst: the instant is S seconds after registration starts
#                     (default: from the create rate measured in the same run)
#   --stack-opt OPT   one more launcher option for every stack (repeatable), e.g.
#                     --stack-opt --max-per-host=256 (diagnostic runs)
#   --subsec-count N  timers of the sub-second scenario (default 10000)
#   --batch-size N    timers per POST /v1/timers/batch request (default 1000)
#   --batch-max-body B  --max-body of the batch scenario's stack (default 1048576)
# Environment: TR_BENCH_COMMIT names the commit in machine.txt when the source tree
# is an export without .git (git archive), e.g. to measure a commit apart from a
# shared working tree's uncommitted edits.
#
# Scenarios (--full, in this order; the short ones first):
#   sink_capacity create redis_baseline batch_create orig_100_60 orig_10k_60
#   orig_10k_60_4sched subsec_10k t100k_60 burst_100k memory_1m orig_10k_600
#
# Every stack is started by ./timerush (--no-install --no-build) in its own run dir on
# free ports and stopped by PID (SIGTERM to the launcher); every other process this
# script starts is stopped by PID in the EXIT trap.
set -euo pipefail

SRC=${TR_BENCH_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
MODE=""
BUILD="$SRC/build-bench/main"
DO_BUILD=1
DO_INSTALL=1
OUT=""
WORK=""
ONLY=""
REPS=3
MEM_COUNT=1000000
NICE=""
DO_PLOT=1
STACK_OPTS=()
BURST_LEAD=""
SUBSEC_COUNT=10000
BATCH_SIZE=1000
BATCH_MAX_BODY=1048576

die() { echo "bench: $*" >&2; exit 1; }
say() { echo "bench: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) MODE=smoke ;;
        --replot) MODE=replot; OUT=$2; shift ;;
        --full) MODE=full ;;
        --build-dir) BUILD=$2; shift ;;
        --no-build) DO_BUILD=0 ;;
        --no-install) DO_INSTALL=0 ;;
        --out) OUT=$2; shift ;;
        --work) WORK=$2; shift ;;
        --only) ONLY=$2; shift ;;
        --reps) REPS=$2; shift ;;
        --mem-count) MEM_COUNT=$2; shift ;;
        --nice) NICE=$2; shift ;;
        --no-plot) DO_PLOT=0 ;;
        --stack-opt) STACK_OPTS+=("$2"); shift ;;
        --burst-lead) BURST_LEAD=$2; shift ;;
        --subsec-count) SUBSEC_COUNT=$2; shift ;;
        --batch-size) BATCH_SIZE=$2; shift ;;
        --batch-max-body) BATCH_MAX_BODY=$2; shift ;;
        -h|--help) sed -n '2,37p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) die "unknown option: $1 (see --help)" ;;
    esac
    shift
done
[ -n "$MODE" ] || die "say --smoke or --full (see --help)"
case "$BUILD" in /*) ;; *) BUILD="$PWD/$BUILD" ;; esac

# Many connections at once: the driver, wrk, nginx and the sink each hold hundreds.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 65536 2>/dev/null || true

for cmd in curl python3 redis-cli nginx; do
    command -v "$cmd" >/dev/null || die "$cmd not found"
done

# --- processes started here, stopped by PID -------------------------------------
PIDS=()
LAUNCHER_PID=""
cleanup() {
    local p
    if [ -n "$LAUNCHER_PID" ]; then stop_stack || true; fi
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && kill "$p" 2>/dev/null || true
    done
    for p in "${PIDS[@]:-}"; do
        [ -n "$p" ] && wait "$p" 2>/dev/null || true
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now_us() { date +%s%6N; }

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- build ------------------------------------------------------------------------
if [ "$DO_BUILD" = 1 ]; then
    say "building the main project (Release) in $BUILD"
    cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$BUILD" -j2 >/dev/null
fi
SINK="$BUILD/tests/sink/timerush-sink"
[ -x "$SINK" ] || die "no $SINK (build the main project, or drop --no-build)"
# The driver: from the main build when it includes bench/, else built on its own.
DRIVER="$BUILD/bench/tr_bench_register"
if [ ! -x "$DRIVER" ]; then
    DRIVER="$BUILD/bench-tools/tr_bench_register"
    if [ ! -x "$DRIVER" ] || [ "$SRC/bench/tr_bench_register.c" -nt "$DRIVER" ]; then
        cmake -S "$SRC/bench" -B "$BUILD/bench-tools" -DCMAKE_BUILD_TYPE=Release >/dev/null
        cmake --build "$BUILD/bench-tools" -j2 >/dev/null
    fi
fi
[ -x "$DRIVER" ] || die "cannot build tr_bench_register"
ANALYZE="$SRC/bench/analyze.py"

if [ -z "$WORK" ]; then WORK=$(mktemp -d "${TMPDIR:-/tmp}/timerush-bench.XXXXXX"); fi
mkdir -p "$WORK"
say "raw data in $WORK"

# --- the stack --------------------------------------------------------------------
STACK_URL=""
STACK_RUN=""
REDIS_SOCK=""
KEY_PREFIX="_timerush_redis_data_"

# start_stack NAME [launcher options...]
start_stack() {
    local name=$1; shift
    STACK_RUN="$WORK/$name/stack"
    mkdir -p "$WORK/$name"
    local port; port=$(free_port)
    ${NICE:+nice -n "$NICE"} "$SRC/timerush" --no-build --no-install --build-dir "$BUILD" --run-dir "$STACK_RUN" \
        --listen-host 127.0.0.1 --listen-port "$port" --interval 5 ${STACK_OPTS[@]+"${STACK_OPTS[@]}"} "$@" >"$WORK/$name/launcher.out" 2>&1 &
    LAUNCHER_PID=$!
    local deadline=$(( $(date +%s) + 60 ))
    until grep -q "^TimeRush ready:" "$WORK/$name/launcher.out"; do
        if ! kill -0 "$LAUNCHER_PID" 2>/dev/null || [ "$(date +%s)" -ge "$deadline" ]; then
            say "stack $name did not come up:"
            tail -20 "$WORK/$name/launcher.out" >&2
            stop_stack
            return 1
        fi
        sleep 0.05
    done
    STACK_URL="http://127.0.0.1:$port"
    REDIS_SOCK="$STACK_RUN/redis/redis.sock"
    say "stack $name: $(grep '^TimeRush ready:' "$WORK/$name/launcher.out")"
}

stop_stack() {
    [ -n "$LAUNCHER_PID" ] || return 0
    kill -TERM "$LAUNCHER_PID" 2>/dev/null || true
    local deadline=$(( $(date +%s) + 40 ))
    while kill -0 "$LAUNCHER_PID" 2>/dev/null; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            say "launcher $LAUNCHER_PID still running 40 s after SIGTERM: SIGKILL"
            kill -KILL "$LAUNCHER_PID" 2>/dev/null || true
            break
        fi
        sleep 0.1
    done
    wait "$LAUNCHER_PID" 2>/dev/null || true
    LAUNCHER_PID=""
}

rcli() { redis_auth "$STACK_RUN" redis-cli -s "$REDIS_SOCK" "$@"; }

# CPU split of one measurement: cpu_begin NAME [NAME=PID...]; ...; cpu_end NAME REQUESTS
# appends "where the CPU went" (bench/proc_cpu.py) to the scenario's table.
cpu_begin() {
    local name=$1; shift
    python3 "$SRC/bench/proc_cpu.py" snap "$STACK_RUN" "$@" >"$WORK/$name.cpu0.json" || true
}
cpu_end() {
    local name=$1 requests=$2; shift 2
    python3 "$SRC/bench/proc_cpu.py" snap "$STACK_RUN" "$@" >"$WORK/$name.cpu1.json" || true
    python3 "$SRC/bench/proc_cpu.py" diff "$WORK/$name.cpu0.json" "$WORK/$name.cpu1.json" \
        "$requests" >"$OUT/$name.cpu.md" 2>&1 || true
}

# Keeps what explains a figure: Redis's own view and the scheduler's status lines.
save_diagnostics() {
    local name=$1 dst=$2
    mkdir -p "$dst"
    {
        echo "## SLOWLOG GET 20"; rcli SLOWLOG GET 20 || true
        echo "## LATENCY LATEST"; rcli LATENCY LATEST || true
        echo "## INFO stats"; rcli INFO stats || true
        echo "## INFO commandstats"; rcli INFO commandstats || true
        echo "## INFO persistence"; rcli INFO persistence | grep -E 'aof_rewrites|aof_last_rewrite_time|rdb_saves|aof_delayed_fsync' || true
        echo "## INFO memory"; rcli INFO memory | grep -E '^used_memory(_human)?:|^mem_fragmentation_ratio:' || true
        echo "## HGETALL {$KEY_PREFIX}:stats"; rcli HGETALL "{$KEY_PREFIX}:stats" || true
    } >"$dst/$name.redis.txt" 2>&1
    local f
    for f in "$STACK_RUN"/log/scheduler.*.log; do
        [ -f "$f" ] || continue
        # Status lines only: every timer's own lines would be megabytes.
        grep -E ' status inflight=' "$f" | tail -40 >"$dst/$name.$(basename "$f" .log).status.txt" || true
    done
}

# --- the sink ---------------------------------------------------------------------
SINK_URL=""
SINK_LOG=""
SINK_PID=""
start_sink() {
    local dir=$1
    mkdir -p "$dir"
    SINK_LOG="$dir/sink.log"
    rm -f "$dir/sink.port" "$SINK_LOG"
    ${NICE:+nice -n "$NICE"} "$SINK" --listen 127.0.0.1:0 --port-file "$dir/sink.port" --log "$SINK_LOG" \
        >"$dir/sink.out" 2>&1 &
    SINK_PID=$!
    PIDS+=("$SINK_PID")
    wait_for "sink listening" 10 test -s "$dir/sink.port" || return 1
    SINK_URL="http://127.0.0.1:$(cat "$dir/sink.port")"
}
stop_sink() {
    [ -n "$SINK_PID" ] || return 0
    kill -TERM "$SINK_PID" 2>/dev/null || true
    wait "$SINK_PID" 2>/dev/null || true
    SINK_PID=""
}

lines_at_least() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }

median() { sort -g | awk '{a[NR]=$1} END {if (NR==0) print 0; else print a[int((NR+1)/2)]}'; }

# wrk_timed LOG CPUFILE WRK-ARGS...: runs wrk with its output in LOG and its own CPU
# seconds (user + sys, bash's time) in CPUFILE: it shares the 2 cores with the stack.
wrk_timed() {
    local log=$1 cpuf=$2; shift 2
    { TIMEFORMAT='%U %S'; time wrk "$@" >"$log" 2>&1; } 2>"$cpuf"
}
# wrk_cpu_note CPUFILE: one line for a CPU table, wrk's own CPU seconds.
wrk_cpu_note() {
    awk '{printf "wrk itself (the load generator, in \"everything else\"): %.2f CPU s.\n", $1 + $2}' "$1" 2>/dev/null || true
}

# wrk_rate URL LUA SECONDS: prints Requests/sec.
wrk_rate() {
    local url=$1 lua=$2 secs=$3 log=$4
    wrk -t2 -c64 -d"${secs}s" -s "$lua" "$url" >"$log" 2>&1
    awk '/^Requests\/sec:/ {print $2}' "$log"
}

# --- results ----------------------------------------------------------------------
DATE=$(date -u +%Y-%m-%d)
if [ "$MODE" = smoke ]; then
    OUT=${OUT:-$WORK/results}
else
    OUT=${OUT:-$SRC/bench/results/$DATE}
fi
mkdir -p "$OUT"
TABLES="$OUT/tables.md"
[ "$MODE" = replot ] || : >"$TABLES"
FAILED_FLOORS=()

want() { [ -z "$ONLY" ] || [[ ",$ONLY," == *",$1,"* ]]; }

plot() {
    local name=$1 prefix=$2 title=$3
    [ "$DO_PLOT" = 1 ] || return 0
    command -v gnuplot >/dev/null || return 0
    mkdir -p "$SRC/docs/img"
    if [ "$prefix" != "$OUT/$name" ]; then
        cp "$prefix.hist" "$OUT/$name.hist"
        cp "$prefix.cdf" "$OUT/$name.cdf"
    fi
    gnuplot <<EOF || say "gnuplot failed for $name"
set terminal pngcairo size 900,700 font ",10" noenhanced
set output "$SRC/docs/img/lateness-$name.png"
set multiplot layout 2,1 title "$title"
set xlabel "lateness at the receiver (ms)"
set ylabel "% of timers"
set style fill solid 0.6
set grid
plot "$prefix.hist" using 1:3 with boxes lc rgb "#3366aa" title "histogram"
set ylabel "cumulative %"
set yrange [0:100]
set key bottom right
plot "$prefix.cdf" using 1:2 with lines lw 2 lc rgb "#aa3333" title "CDF"
unset multiplot
EOF
}

# timers NAME N LO HI CONC "FLOORS" [launcher options...]: one lateness scenario.
# CONC is the driver's concurrency: lateness is measured from the moment a request
# left the driver, so a queue of requests in front of the FastCGI workers would be
# counted as lateness; the lateness scenarios therefore register with about as many
# requests in flight as there are workers.
# DRIVER_OPTS (array) adds driver options (the sub-second scenario: --rest --lo-ms
# --hi-ms) and SCEN_TITLE replaces the plot's title; both are reset after each call.
DRIVER_OPTS=()
SCEN_TITLE=""
timers_scenario() {
    local name=$1 n=$2 lo=$3 hi=$4 conc=$5 floors=$6; shift 6
    local dir="$WORK/$name"
    local title=${SCEN_TITLE:-"TimeRush: $n timers over $lo-$hi s ($name)"}
    local dopts=(${DRIVER_OPTS[@]+"${DRIVER_OPTS[@]}"})
    DRIVER_OPTS=()
    SCEN_TITLE=""
    say "== $name: $n timers over $lo-$hi s ${dopts[*]:-} $*"
    start_stack "$name" "$@" || return 1
    start_sink "$dir" || return 1
    local load0; load0=$(cut -d' ' -f1-3 /proc/loadavg)
    cpu_begin "$name" "sink=$SINK_PID"
    "$DRIVER" --url "$STACK_URL" --callback "$SINK_URL/cb" -n "$n" --lo "$lo" --hi "$hi" \
        -c "$conc" ${dopts[@]+"${dopts[@]}"} --out "$dir/driver.tsv" 2>"$dir/driver.err" ||
        say "$name: some registrations failed"
    cat "$dir/driver.err" >&2
    local ok; ok=$(awk -F'\t' 'NR>1 && $6==0 && $7!="-"' "$dir/driver.tsv" | wc -l)
    # Wait for every callback: the last is due hi seconds after its registration.
    wait_for "$name: $ok callbacks" $(( hi + 30 + n / 2000 )) lines_at_least "$SINK_LOG" "$ok" || true
    # Give a duplicate the chance to show up before counting.
    sleep 1
    cpu_end "$name" "$n" "sink=$SINK_PID"
    save_diagnostics "$name" "$OUT"
    stop_stack
    stop_sink
    local fl=() f
    for f in $floors; do fl+=(--floor "$f"); done
    local rc=0
    python3 "$ANALYZE" --driver "$dir/driver.tsv" --sink "$SINK_LOG" --label "$name" \
        --json "$OUT/$name.json" --dat-prefix "$dir/lateness" "${fl[@]}" \
        ${REQUIRE_COMPLETE:+--require-complete} >"$dir/table.md" || rc=$?
    {
        cat "$dir/table.md"
        echo "Load average (1/5/15 min) at the start: $load0. CPU over the scenario (registration included):"
        echo
        cat "$OUT/$name.cpu.md" 2>/dev/null
        echo
    } | tee -a "$TABLES"
    grep -q MISSED "$dir/table.md" && FAILED_FLOORS+=("$name")
    plot "$name" "$dir/lateness" "$title"
    return $rc
}

# ==================================================================================
if [ "$MODE" = replot ]; then
    for f in "$OUT"/*.json; do
        name=$(basename "$f" .json)
        [ -f "$OUT/$name.hist" ] || continue
        title=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(f\"TimeRush: {d['registered']} timers ({d['label']})\")" "$f")
        plot "$name" "$OUT/$name" "$title"
    done
    exit 0
fi
if [ "$MODE" = smoke ]; then
    REQUIRE_COMPLETE=1
    DO_PLOT=0  # a smoke run never touches docs/img
    rc=0
    timers_scenario smoke 200 1 2 2 "lost<=0 duplicates<=0" --workers 2 || rc=$?
    [ $rc -eq 0 ] && echo "bench smoke: ok" || echo "bench smoke: FAILED ($rc)"
    exit $rc
fi

REQUIRE_COMPLETE=""
ORIG_FLOORS="zero_bucket_pct>=100 p99_ms<=5 max_ms<=50 lost<=0 duplicates<=0"

{
    echo "date_utc: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    # "-dirty": the tree measured held uncommitted edits. TR_BENCH_COMMIT names the
    # commit when SRC is an export (git archive) without .git.
    echo "git: ${TR_BENCH_COMMIT:-$(git -C "$SRC" describe --always --dirty 2>/dev/null || echo unknown)}"
    echo "nproc: $(nproc)"
    echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "memory: $(free -m | awk '/^Mem:/ {print $2 " MiB"}')"
    echo "kernel: $(uname -sr)"
    echo "redis: $(redis-server --version | awk '{print $3}')"
    echo "nginx: $(nginx -v 2>&1 | cut -d/ -f2)"
    echo "libcurl: $(curl --version | head -1 | awk '{print $2}')"
    echo "gcc: $(gcc -dumpfullversion 2>/dev/null || echo unknown)"
    echo "wrk: $(wrk -v 2>&1 | head -1 | awk '{print $2}')"
    echo "loadavg_at_start: $(cut -d' ' -f1-3 /proc/loadavg)"
} >"$OUT/machine.txt"

if ! command -v gnuplot >/dev/null && [ "$DO_INSTALL" = 1 ]; then
    apt-get install -y gnuplot-nox >/dev/null || say "could not install gnuplot-nox: no plots"
fi
command -v wrk >/dev/null || { [ "$DO_INSTALL" = 1 ] && apt-get install -y wrk >/dev/null; } ||
    die "wrk not found"

# POST bodies for wrk.
SINK_LUA="$WORK/sink_post.lua"
cat >"$SINK_LUA" <<'EOF'
wrk.method = "POST"
wrk.body = '{"id":1,"p":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}'
wrk.headers["Content-Type"] = "application/json"
EOF

SINK_CAP=0
if want sink_capacity; then
    say "== sink_capacity: wrk -t2 -c64 -d5s POST against timerush-sink, $REPS runs"
    start_sink "$WORK/sink_capacity"
    for i in $(seq "$REPS"); do
        wrk_rate "$SINK_URL/cb" "$SINK_LUA" 5 "$WORK/sink_capacity/wrk.$i.txt"
    done >"$WORK/sink_capacity/rates"
    stop_sink
    SINK_CAP=$(median <"$WORK/sink_capacity/rates")
    echo "{\"label\":\"sink_capacity\",\"runs\":[$(paste -sd, "$WORK/sink_capacity/rates")],\"median_rps\":$SINK_CAP}" >"$OUT/sink_capacity.json"
    {
        echo "### sink_capacity"; echo
        echo "timerush-sink with wrk -t2 -c64 -d5s (POST, 85-byte body), $REPS runs: $(paste -sd' ' "$WORK/sink_capacity/rates") requests/s; median **$SINK_CAP/s**."
        echo
    } | tee -a "$TABLES"
fi

CREATE_RATE=0
if want create || want redis_baseline; then
    start_stack create
    start_sink "$WORK/create"
    REG_LUA="$WORK/create/register.lua"
    # seconds far in the future: nothing fires while wrk runs.
    cat >"$REG_LUA" <<EOF
wrk.method = "POST"
wrk.body = '{"callback_cmd":"$SINK_URL/cb","callback_data":"{\\\\"id\\\\":1}","seconds":864000}'
wrk.headers["Content-Type"] = "application/json"
EOF
    # Check the body is accepted before timing it.
    curl -sS -X POST --data-binary "$(sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$REG_LUA" | sed 's/\\\\/\\/g')" \
        "$STACK_URL/register/" >"$WORK/create/probe.json"
    cat "$WORK/create/probe.json" >&2; echo >&2
    grep -Eq '"ret" *: *0' "$WORK/create/probe.json" || die "create: /register/ refused the wrk body"

    start_static_nginx "$WORK/create/nginx-static" "" "$STACK_RUN/conf/nginx.conf"

    if want create; then
        say "== create: wrk -t2 -c64 -d10s POST /register/ vs nginx return 200, $REPS runs each"
        due_key="{$KEY_PREFIX}:due"
        : >"$WORK/create/reg_rates"; : >"$WORK/create/ngx_rates"; : >"$WORK/create/created"
        for i in $(seq "$REPS"); do
            before=$(rcli ZCARD "$due_key")
            wrk_timed "$WORK/create/wrk_reg.$i.txt" "$WORK/create/wrk_reg.$i.cpu" \
                -t2 -c64 -d10s -s "$REG_LUA" "$STACK_URL/register/" &
            wrk_pid=$!
            cpu_begin "create.$i" "sink=$SINK_PID"
            wait "$wrk_pid" || true
            reqs=$(awk '/requests in/ {print $1}' "$WORK/create/wrk_reg.$i.txt")
            cpu_end "create.$i" "${reqs:-0}" "sink=$SINK_PID"
            wrk_cpu_note "$WORK/create/wrk_reg.$i.cpu" >>"$OUT/create.$i.cpu.md"
            awk '/^Requests\/sec:/ {print $2}' "$WORK/create/wrk_reg.$i.txt" >>"$WORK/create/reg_rates"
            after=$(rcli ZCARD "$due_key")
            echo "$(( after - before ))" >>"$WORK/create/created"
            wrk_rate "http://127.0.0.1:$NGX_PORT/register/" "$REG_LUA" 10 "$WORK/create/wrk_ngx.$i.txt" >>"$WORK/create/ngx_rates"
        done
        cp "$WORK"/create/wrk_*.txt "$OUT/" 2>/dev/null || true
        CREATE_RATE=$(median <"$WORK/create/reg_rates")
        NGX_RATE=$(median <"$WORK/create/ngx_rates")
        RATIO=$(python3 -c "print(f'{$CREATE_RATE/$NGX_RATE:.3f}')")
        errs=$(grep -h "Non-2xx" "$WORK"/create/wrk_reg.*.txt | paste -sd' ' || true)
        echo "{\"label\":\"create\",\"register_rps\":[$(paste -sd, "$WORK/create/reg_rates")],\"nginx_return200_rps\":[$(paste -sd, "$WORK/create/ngx_rates")],\"created_in_redis\":[$(paste -sd, "$WORK/create/created")],\"median_register_rps\":$CREATE_RATE,\"median_nginx_rps\":$NGX_RATE,\"ratio\":$RATIO}" >"$OUT/create.json"
        ok=$(python3 -c "print('ok' if $RATIO >= 0.3 else 'MISSED')")
        [ "$ok" = ok ] || FAILED_FLOORS+=(create)
        {
            echo "### create"; echo
            echo "| wrk -t2 -c64 -d10s, POST | runs (requests/s) | median |"
            echo "| --- | --- | ---: |"
            echo "| /register/ (nginx + timerush-fcgi + Redis) | $(paste -sd' ' "$WORK/create/reg_rates") | $CREATE_RATE |"
            echo "| nginx \`return 200\`, same workers | $(paste -sd' ' "$WORK/create/ngx_rates") | $NGX_RATE |"
            echo
            echo "Ratio /register/ : nginx = **$RATIO** (floor 0.3: $ok). Timers created in Redis per run (ZCARD delta): $(paste -sd' ' "$WORK/create/created"). ${errs:+wrk: $errs}"
            echo
            echo "Where the CPU went during the last /register/ run (the sink idles):"
            echo
            cat "$OUT/create.$REPS.cpu.md" 2>/dev/null
            echo
        } | tee -a "$TABLES"
    fi

    if want redis_baseline; then
        say "== redis_baseline: redis-benchmark SET/GET on the stack's Redis"
        # No pipelining: one round trip per command, the shape of one script call per request.
        redis-benchmark -s "$REDIS_SOCK" -t set,get -n 200000 -c 50 --csv \
            >"$WORK/create/redis-bench.csv" 2>&1 || true
        cp "$WORK/create/redis-bench.csv" "$OUT/redis_baseline.csv"
        SET_RPS=$(awk -F'"' '$2=="SET" {print $4}' "$WORK/create/redis-bench.csv")
        GET_RPS=$(awk -F'"' '$2=="GET" {print $4}' "$WORK/create/redis-bench.csv")
        echo "{\"label\":\"redis_baseline\",\"set_rps\":${SET_RPS:-0},\"get_rps\":${GET_RPS:-0}}" >"$OUT/redis_baseline.json"
        {
            echo "### redis_baseline"; echo
            echo "redis-benchmark -s <stack's socket> -t set,get -n 200000 -c 50: SET **${SET_RPS:-?}/s**, GET **${GET_RPS:-?}/s**."
            [ "$CREATE_RATE" != 0 ] && echo "/register/ runs one script call per request: $CREATE_RATE/s is $(python3 -c "print(f'{$CREATE_RATE/${SET_RPS:-1}:.3f}')") x Redis's SET rate."
            echo
        } | tee -a "$TABLES"
    fi
    save_diagnostics create "$OUT"
    kill "$NGX_PID" 2>/dev/null || true
    wait "$NGX_PID" 2>/dev/null || true
    stop_stack
    stop_sink
fi

if want batch_create; then
    name=batch_create; dir="$WORK/$name"
    say "== $name: wrk -t2 -c64 -d10s POST /v1/timers/batch ($BATCH_SIZE timers a request) vs nginx return 200, $REPS runs each"
    # The default --max-body (64 KiB) holds about 1000 minimal timers at most: raised.
    start_stack "$name" --max-body "$BATCH_MAX_BODY"
    BATCH_LUA="$dir/batch.lua"
    # Timers 10 days ahead (nothing fires), callback on the discard port of loopback.
    python3 - "$BATCH_LUA" "$dir/batch_body.json" "$BATCH_SIZE" <<'EOF'
import json, sys
items = [{"url": "http://127.0.0.1:9/cb", "data": {"id": i}, "delay_ms": 864000000}
         for i in range(int(sys.argv[3]))]
body = json.dumps({"timers": items}, separators=(",", ":"))
with open(sys.argv[2], "w") as f:
    f.write(body)
with open(sys.argv[1], "w") as f:
    f.write('wrk.method = "POST"\n')
    f.write("wrk.body = '" + body + "'\n")
    f.write('wrk.headers["Content-Type"] = "application/json"\n')
EOF
    body_bytes=$(wc -c <"$dir/batch_body.json")
    # Check one batch is accepted whole before timing it.
    code=$(curl -sS -o "$dir/probe.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        --data-binary @"$dir/batch_body.json" "$STACK_URL/v1/timers/batch")
    created_probe=$(grep -o '"status":201' "$dir/probe.json" | wc -l)
    [ "$code" = 200 ] && [ "$created_probe" = "$BATCH_SIZE" ] ||
        die "$name: the batch was refused ($code, $created_probe created): $(head -c 300 "$dir/probe.json")"
    start_static_nginx "$dir/nginx-static" "$BATCH_MAX_BODY" "$STACK_RUN/conf/nginx.conf"
    due_key="{$KEY_PREFIX}:due"
    : >"$dir/batch_rates"; : >"$dir/ngx_rates"; : >"$dir/created"; : >"$dir/latency"
    for i in $(seq "$REPS"); do
        before=$(rcli ZCARD "$due_key")
        wrk_timed "$dir/wrk_batch.$i.txt" "$dir/wrk_batch.$i.cpu" \
            -t2 -c64 -d10s -s "$BATCH_LUA" "$STACK_URL/v1/timers/batch" &
        wrk_pid=$!
        cpu_begin "$name.$i"
        wait "$wrk_pid" || true
        reqs=$(awk '/requests in/ {print $1}' "$dir/wrk_batch.$i.txt")
        # Per timer, not per request: the CPU table's "µs per request" is per timer.
        cpu_end "$name.$i" "$(( ${reqs:-0} * BATCH_SIZE ))"
        wrk_cpu_note "$dir/wrk_batch.$i.cpu" >>"$OUT/$name.$i.cpu.md"
        awk '/^Requests\/sec:/ {print $2}' "$dir/wrk_batch.$i.txt" >>"$dir/batch_rates"
        awk '$1=="Latency" {print $2}' "$dir/wrk_batch.$i.txt" >>"$dir/latency"
        after=$(rcli ZCARD "$due_key")
        # Every answered request must have stored BATCH_SIZE timers.
        echo "$(( after - before )) ${reqs:-0}" >>"$dir/created"
        wrk_rate "http://127.0.0.1:$NGX_PORT/v1/timers/batch" "$BATCH_LUA" 10 "$dir/wrk_ngx.$i.txt" >>"$dir/ngx_rates"
    done
    for f in "$dir"/wrk_*.txt; do cp "$f" "$OUT/$name.$(basename "$f")"; done
    B_RATE=$(median <"$dir/batch_rates")
    B_NGX=$(median <"$dir/ngx_rates")
    B_TIMERS=$(python3 -c "print(int(round($B_RATE * $BATCH_SIZE)))")
    B_RATIO=$(python3 -c "print(f'{$B_RATE/$B_NGX:.4f}')")
    B_OK=$(python3 -c "print('ok' if $B_TIMERS >= 200000 else 'MISSED')")
    [ "$B_OK" = ok ] || FAILED_FLOORS+=("$name")
    # Timers stored against timers answered, per run.
    stored_ok=$(awk -v b="$BATCH_SIZE" '{if ($1 < $2 * b) bad=1} END {print bad ? "no" : "yes"}' "$dir/created")
    errs=$(grep -h "Non-2xx\|Socket errors" "$dir"/wrk_batch.*.txt | paste -sd' ' || true)
    # wrk's latency leaves out requests still waiting when it stops; nginx logs them
    # (499) with how long they waited.
    slow=$(awk '$0 ~ /POST \/v1\/timers\/batch/ {n++; for (i=1;i<=NF;i++) if ($i ~ /^rt=/) {v=substr($i,4)+0; if (v>1) s++}; if ($0 ~ /" 499 /) c++} END {printf "%d of %d batch requests took over 1 s at nginx; %d were cut off (499) when wrk stopped", s, n, c}' "$STACK_RUN/log/nginx-access.log" 2>/dev/null || true)
    echo "{\"label\":\"$name\",\"batch_size\":$BATCH_SIZE,\"body_bytes\":$body_bytes,\"max_body\":$BATCH_MAX_BODY,\"batch_rps\":[$(paste -sd, "$dir/batch_rates")],\"nginx_return200_rps\":[$(paste -sd, "$dir/ngx_rates")],\"created_in_redis\":[$(awk '{print $1}' "$dir/created" | paste -sd,)],\"requests\":[$(awk '{print $2}' "$dir/created" | paste -sd,)],\"median_batch_rps\":$B_RATE,\"median_timers_per_s\":$B_TIMERS,\"median_nginx_rps\":$B_NGX,\"ratio_requests\":$B_RATIO,\"every_answered_timer_stored\":\"$stored_ok\"}" >"$OUT/$name.json"
    {
        echo "### $name"; echo
        echo "POST /v1/timers/batch, $BATCH_SIZE timers a request ($body_bytes-byte body, delay_ms 864000000), stack started with \`--max-body $BATCH_MAX_BODY\`."
        echo
        echo "| wrk -t2 -c64 -d10s, POST | runs (requests/s) | median | timers/s |"
        echo "| --- | --- | ---: | ---: |"
        echo "| /v1/timers/batch (nginx + timerush-fcgi + Redis) | $(paste -sd' ' "$dir/batch_rates") | $B_RATE | **$B_TIMERS** |"
        echo "| nginx \`return 200\`, same workers, same body | $(paste -sd' ' "$dir/ngx_rates") | $B_NGX | |"
        echo
        echo "Timers/s = requests/s x $BATCH_SIZE = **$B_TIMERS** (floor 200,000: $B_OK); requests : nginx return 200 = $B_RATIO. Mean latency per batch request: $(paste -sd' ' "$dir/latency"). Timers stored in Redis per run (ZCARD delta) / requests answered: $(awk '{printf "%s/%s ", $1, $2}' "$dir/created")(every answered request stored its $BATCH_SIZE timers: $stored_ok). ${errs:+wrk: $errs.} ${slow:+nginx access log: $slow.}"
        echo
        echo "Where the CPU went during the last batch run (\"CPU us / request\" is per timer here):"
        echo
        cat "$OUT/$name.$REPS.cpu.md" 2>/dev/null
        echo
    } | tee -a "$TABLES"
    save_diagnostics "$name" "$OUT"
    kill "$NGX_PID" 2>/dev/null || true
    wait "$NGX_PID" 2>/dev/null || true
    stop_stack
fi

if want orig_100_60; then
    timers_scenario orig_100_60 100 1 60 4 "$ORIG_FLOORS" || true
fi
if want orig_10k_60; then
    timers_scenario orig_10k_60 10000 1 60 4 "$ORIG_FLOORS" || true
fi
if want orig_10k_60_4sched; then
    timers_scenario orig_10k_60_4sched 10000 1 60 4 "$ORIG_FLOORS" --schedulers 4 || true
fi
if want subsec_10k; then
    # delay_ms uniform in [20, 1000] through POST /v1/timers. The seconds table is all
    # "0 s" by construction; the ms percentiles are the figures.
    DRIVER_OPTS=(--rest --lo-ms 20 --hi-ms 1000)
    SCEN_TITLE="TimeRush: $SUBSEC_COUNT timers, delay_ms 20-1000 via /v1/timers (subsec_10k)"
    timers_scenario subsec_10k "$SUBSEC_COUNT" 1 1 4 "$ORIG_FLOORS" || true
fi
if want t100k_60; then
    timers_scenario t100k_60 100000 1 60 4 "p99_ms<=10 lost<=0 duplicates<=0" || true
fi

if want burst_100k; then
    name=burst_100k; n=100000; dir="$WORK/$name"
    say "== $name: $n timers due at one instant"
    start_stack "$name"
    start_sink "$dir"
    # Registration must end before the instant: allow for the measured create rate.
    rate=${CREATE_RATE%.*}; [ "${rate:-0}" -gt 500 ] 2>/dev/null || rate=3000
    lead_s=${BURST_LEAD:-$(( n / rate * 3 / 2 + 5 ))}
    due_at_us=$(( ( $(date +%s) + lead_s ) * 1000000 ))
    "$DRIVER" --url "$STACK_URL" --callback "$SINK_URL/cb" -n "$n" --due-at-us "$due_at_us" \
        --out "$dir/driver.tsv" 2>"$dir/driver.err" || say "$name: some registrations failed"
    cat "$dir/driver.err" >&2
    ok=$(awk -F'\t' 'NR>1 && $6==0 && $7!="-"' "$dir/driver.tsv" | wc -l)
    [ "$(now_us)" -lt "$due_at_us" ] || say "$name: registration ran past the instant"
    load0=$(cut -d' ' -f1-3 /proc/loadavg)
    cpu_begin "$name" "sink=$SINK_PID"
    wait_for "$name: $ok callbacks" $(( lead_s + 120 )) lines_at_least "$SINK_LOG" "$ok" || true
    cpu_end "$name" "$ok" "sink=$SINK_PID"
    sleep 1
    save_diagnostics "$name" "$OUT"
    stop_stack
    stop_sink
    cap_half=$(python3 -c "print(int(${SINK_CAP:-0} * 0.5))")
    floor=$(( cap_half < 20000 ? cap_half : 20000 ))
    [ "$floor" -gt 0 ] || floor=20000
    python3 "$ANALYZE" --driver "$dir/driver.tsv" --sink "$SINK_LOG" --label "$name" \
        --json "$OUT/$name.json" --dat-prefix "$dir/lateness" --due-at-us "$due_at_us" \
        --floor "callbacks_per_s>=$floor" --floor "lost<=0" --floor "duplicates<=0" \
        >"$dir/table.md" || true
    cat "$dir/table.md" | tee -a "$TABLES"
    {
        echo "(burst floor: >= 20,000 callbacks/s or >= 0.5 x sink capacity ${SINK_CAP}/s, i.e. >= $floor/s)"
        echo
        echo "Load average at the instant: $load0. CPU from the end of registration to the last callback:"
        echo
        cat "$OUT/$name.cpu.md" 2>/dev/null
        echo
    } | tee -a "$TABLES"
    grep -q MISSED "$dir/table.md" && FAILED_FLOORS+=("$name")
    plot "$name" "$dir/lateness" "TimeRush: $n timers due at one instant"
fi

if want memory_1m; then
    name=memory_1m; dir="$WORK/$name"
    say "== $name: $MEM_COUNT pending timers, 100-byte callback_data, through /register/"
    start_stack "$name"
    start_sink "$dir"
    mem() { rcli INFO memory | awk -F: '/^used_memory:/ {gsub("\r",""); print $2}'; }
    # The empty figure: the stack is up (scripts loaded), no timer stored yet.
    empty=$(mem)
    "$DRIVER" --url "$STACK_URL" --callback "$SINK_URL/cb" -n "$MEM_COUNT" --lo 8640000 --hi 8640000 \
        --pad 100 --out "$dir/driver.tsv" 2>"$dir/driver.err" || say "$name: some registrations failed"
    cat "$dir/driver.err" >&2
    full=$(mem)
    pending=$(rcli ZCARD "{$KEY_PREFIX}:due")
    keys=$(rcli DBSIZE)
    {
        echo "## MEMORY STATS"; rcli MEMORY STATS
        # Where the bytes are: each key of the data model, whole (SAMPLES 0), and one record.
        for k in due timers inflight attempts meta dead stats; do
            echo "## {$KEY_PREFIX}:$k: $(rcli TYPE "{$KEY_PREFIX}:$k") $(rcli OBJECT ENCODING "{$KEY_PREFIX}:$k" 2>/dev/null) usage=$(rcli MEMORY USAGE "{$KEY_PREFIX}:$k" SAMPLES 0)"
        done
        one=$(awk -F'\t' 'NR==2 {print $7}' "$dir/driver.tsv")
        echo "## one record ($one): HSTRLEN $(rcli HSTRLEN "{$KEY_PREFIX}:timers" "$one")"
        rcli HGET "{$KEY_PREFIX}:timers" "$one"
    } >"$OUT/$name.memory-stats.txt" 2>&1 || true
    save_diagnostics "$name" "$OUT"
    stop_stack
    stop_sink
    per=$(python3 -c "print(f'{($full-$empty)/max(1,$pending):.1f}')")
    beyond=$(python3 -c "print(f'{($full-$empty)/max(1,$pending)-100:.1f}')")
    ok=$(python3 -c "print('ok' if $beyond <= 200 else 'MISSED')")
    [ "$ok" = ok ] || FAILED_FLOORS+=("$name")
    rate=$(grep -o '[0-9]*/s;' "$dir/driver.err" | tr -d '/s;' | head -1)
    echo "{\"label\":\"$name\",\"pending\":$pending,\"used_memory_empty\":$empty,\"used_memory_full\":$full,\"bytes_per_timer\":$per,\"beyond_callback_data\":$beyond,\"redis_keys\":$keys,\"register_rate\":\"${rate:-}\"}" >"$OUT/$name.json"
    {
        echo "### $name"; echo
        echo "| pending timers | used_memory empty | used_memory full | bytes / timer | beyond the 100-byte callback_data |"
        echo "| ---: | ---: | ---: | ---: | ---: |"
        echo "| $pending | $empty | $full | $per | **$beyond** (floor 200: $ok) |"
        echo
        echo "Written through /register/ with tr_bench_register (-c 200) at ${rate:-?}/s; $keys Redis keys in the database."
        echo
        echo "Where the bytes are (MEMORY USAGE ... SAMPLES 0 divided by the pending timers):"
        echo
        grep '^## {' "$OUT/$name.memory-stats.txt" | sed 's/^## //' |
            awk -v n="$pending" '{u=$NF; sub("usage=","",u); if (u+0>0) printf "- %s %s %s: %.1f bytes/timer\n", $1, $2, $3, u/n}'
        grep '^## one record' "$OUT/$name.memory-stats.txt" | sed 's/^## /- /'
        echo
    } | tee -a "$TABLES"
fi

if want orig_10k_600; then
    timers_scenario orig_10k_600 10000 1 600 4 "$ORIG_FLOORS" || true
fi

echo "loadavg_at_end: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT/machine.txt"
say "results in $OUT; tables in $TABLES"
if [ ${#FAILED_FLOORS[@]} -gt 0 ]; then
    say "floors missed: ${FAILED_FLOORS[*]}"
fi
exit 0
