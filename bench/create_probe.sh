#!/usr/bin/env bash
# bench/create_probe.sh - create throughput: POST /register/ and POST /v1/timers/batch
# against nginx answering `return 200`, on the same machine in the same run.
#
#   bench/create_probe.sh [--build-dir DIR] [--workers N] [--reps N] [--secs S]
#                         [--perf] [--perf-on register|refuse|batch] [--strace] [--only LIST] [--max-body BYTES]
#                         [--tree DIR] [--json FILE]
#                         [-- extra ./timerush options, e.g. --appendfsync always]
#
# Starts the stack with ./timerush (--no-install --no-build) in a fresh run dir on a
# free port, a second tiny nginx with the same worker settings answering
# `return 200`, then for each scenario runs wrk -t2 -c64 REPS times and quotes the
# median, with CPU per request by process (bench/proc_cpu.py) for the median run:
#   static    nginx return 200 (POST, the same body as register)
#   register  POST /register/ (compat create, seconds far ahead: nothing fires)
#   refuse    GET /register/ (405 from timerush-fcgi, no Redis)
#   batch     POST /v1/timers/batch, 1000 timers a request (generated keys)
# --perf: `perf record -g -p <the stack's pids>` during one extra register run (not -a:
#         others' builds on a shared machine drown it), report by comm,dso,sym.
# --strace: `strace -c -f -p` on one fcgi worker during one extra register run.
# --tree DIR: the stack is DIR's ./timerush (another commit's worktree; --build-dir
#         its build), measured by this checkout's probe (bench/single_before_after.sh).
# --json FILE: also appends one JSON line a wrk run to FILE: {"scenario", "rep", "rate"
#         (requests/s), "timers" (created by the run), "cpu" (proc_cpu.py diffjson),
#         "cmdstats" ({command: [calls, usec]}: Redis's INFO commandstats of the run,
#         CONFIG RESETSTAT before it)}.
# Every process started here is stopped by PID on exit. Output: markdown on stdout,
# raw files in the work dir (printed on stderr).
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$SRC/build-p2
WORKERS=""
REPS=3
SECS=8
DO_PERF=0
PERF_ON=register
DO_STRACE=0
ONLY="static,register,refuse,batch"
STACK_EXTRA=()
MAX_BODY=1048576
TREE=$SRC
JSON_OUT=""

die() { echo "create_probe: $*" >&2; exit 1; }
say() { echo "create_probe: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --build-dir) BUILD=$(cd "$2" && pwd); shift ;;
        --workers) WORKERS=$2; shift ;;
        --reps) REPS=$2; shift ;;
        --secs) SECS=$2; shift ;;
        --perf) DO_PERF=1 ;;
        --perf-on) DO_PERF=1; PERF_ON=$2; shift ;;
        --strace) DO_STRACE=1 ;;
        --only) ONLY=$2; shift ;;
        --max-body) MAX_BODY=$2; shift ;;
        --tree) TREE=$(cd "$2" && pwd); shift ;;
        --json) JSON_OUT=$2; shift ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        --) shift; STACK_EXTRA=("$@"); break ;;
        *) die "unknown option $1" ;;
    esac
    shift
done
want() { case ",$ONLY," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
command -v wrk >/dev/null || "$SRC/scripts/install-deps.sh" --for bench || die "wrk not found (scripts/install-deps.sh --for bench)"
[ -x "$BUILD/fcgi/timerush-fcgi" ] || die "no $BUILD/fcgi/timerush-fcgi (build it first)"

# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_start create-probe

# --- the stack ----------------------------------------------------------------------
extra=("${STACK_EXTRA[@]}")
[ -n "$WORKERS" ] && extra+=(--workers "$WORKERS")
start_tr_stack "$WORK/stack" "$WORK/launcher.out" "$MAX_BODY" "${extra[@]}" || die "no stack"

# --- the baseline nginx: the stack's worker settings, return 200 ---------------------
NGX=$WORK/nginx-static
start_static_nginx "$NGX" "$MAX_BODY" "$RUN/conf/nginx.conf"
ngx_workers=$NGX_WORKERS

# --- wrk scripts ------------------------------------------------------------------
REG_LUA=$WORK/register.lua
cat >"$REG_LUA" <<'EOF'
wrk.method = "POST"
wrk.body = '{"callback_cmd":"http://127.0.0.1:9/cb","callback_data":"{\\"id\\":1}","seconds":864000}'
wrk.headers["Content-Type"] = "application/json"
EOF
GET_LUA=$WORK/get.lua
echo 'wrk.method = "GET"' >"$GET_LUA"
BATCH_LUA=$WORK/batch.lua
python3 - "$BATCH_LUA" <<'EOF'
import json, sys
items = [{"url": "http://127.0.0.1:9/cb", "data": {"id": i}, "delay_ms": 864000000}
         for i in range(1000)]
body = json.dumps({"timers": items}, separators=(",", ":"))
with open(sys.argv[1], "w") as f:
    f.write('wrk.method = "POST"\n')
    f.write("wrk.body = '" + body + "'\n")
    f.write('wrk.headers["Content-Type"] = "application/json"\n')
EOF

# Check both create paths answer success before timing them.
curl -sS -X POST -H 'Content-Type: application/json' \
    --data-binary '{"callback_cmd":"http://127.0.0.1:9/cb","callback_data":"{\"id\":1}","seconds":864000}' \
    "$URL/register/" >"$WORK/probe_register.json"
grep -Eq '"ret" *: *0' "$WORK/probe_register.json" || die "/register/ refused: $(cat "$WORK/probe_register.json")"
sed -n "s/^wrk.body = '\(.*\)'$/\1/p" "$BATCH_LUA" >"$WORK/batch_body.json"
code=$(curl -sS -o "$WORK/probe_batch.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    --data-binary @"$WORK/batch_body.json" "$URL/v1/timers/batch")
[ "$code" = 200 ] && [ "$(grep -o '"status":201' "$WORK/probe_batch.json" | wc -l)" = 1000 ] ||
    die "batch refused ($code): $(head -c 300 "$WORK/probe_batch.json")"

# run NAME URL LUA: REPS wrk runs, CPU snapshots around each; prints the median.
CPU=$SRC/bench/proc_cpu.py
run() {
    local name=$1 url=$2 lua=$3 i reqs
    : >"$WORK/$name.rates"
    for i in $(seq 1 "$REPS"); do
        [ -z "$JSON_OUT" ] || rcli CONFIG RESETSTAT >/dev/null
        python3 "$CPU" snap "$RUN" "nginx-static=$(cat "$NGX/nginx.pid")" >"$WORK/$name.$i.a.json"
        wrk -t2 -c64 -d"${SECS}s" -s "$lua" "$url" >"$WORK/$name.$i.wrk" 2>&1
        python3 "$CPU" snap "$RUN" "nginx-static=$(cat "$NGX/nginx.pid")" >"$WORK/$name.$i.b.json"
        [ -z "$JSON_OUT" ] || rcli INFO commandstats | tr -d '\r' >"$WORK/$name.$i.cmdstats"
        reqs=$(awk '/requests in/ {print $1}' "$WORK/$name.$i.wrk")
        python3 "$CPU" diff "$WORK/$name.$i.a.json" "$WORK/$name.$i.b.json" "${reqs:-0}" >"$WORK/$name.$i.cpu"
        printf '%s %s\n' "$(awk '/^Requests\/sec:/ {print $2}' "$WORK/$name.$i.wrk")" "$i" >>"$WORK/$name.rates"
        [ -z "$JSON_OUT" ] || json_line "$name" "$i" "${reqs:-0}" >>"$JSON_OUT"
        grep -h 'Non-2xx\|Socket errors' "$WORK/$name.$i.wrk" >&2 || true
    done
    say "$name: $(awk '{print $1}' "$WORK/$name.rates" | paste -sd' ')"
}
# json_line NAME REP REQUESTS: the --json line of run REP of NAME (a batch request
# creates 1000 timers, a register one, the others none).
json_line() {
    local per=0
    case $1 in register) per=1 ;; batch) per=1000 ;; esac
    python3 "$CPU" diffjson "$WORK/$1.$2.a.json" "$WORK/$1.$2.b.json" "$3" |
        python3 -c 'import json, re, sys
cpu = json.load(sys.stdin)
name, rep, reqs, per, wrk = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
rate = next((float(l.split()[1]) for l in open(wrk) if l.startswith("Requests/sec:")), 0.0)
errs = [l.strip() for l in open(wrk) if "Non-2xx" in l or "Socket errors" in l]
cmd = {m[0]: [int(m[1]), int(m[2])] for m in re.findall(
    r"^cmdstat_([^:]+):calls=(\d+),usec=(\d+)", open(sys.argv[6]).read(), re.M)}
print(json.dumps({"scenario": name, "rep": rep, "rate": rate, "requests": reqs,
                  "timers": reqs * per, "errors": errs, "cpu": cpu, "cmdstats": cmd}))' \
        "$1" "$2" "$3" "$per" "$WORK/$1.$2.wrk" "$WORK/$1.$2.cmdstats"
}
# median_run NAME: the index of the median run (its CPU table is quoted).
median_run() { sort -g "$WORK/$1.rates" | awk '{a[NR]=$2} END {print a[int((NR+1)/2)]}'; }
rate() { awk '{print $1}' "$WORK/$1.rates" | median; }

before=$(rcli ZCARD '{_timerush_redis_data_}:due' 2>/dev/null || echo 0)
# Interleaved so that load from others on the machine hits every scenario alike.
want static && run static "http://127.0.0.1:$NGX_PORT/register/" "$REG_LUA"
want register && run register "$URL/register/" "$REG_LUA"
want refuse && run refuse "$URL/register/" "$GET_LUA"
want batch && run batch "$URL/v1/timers/batch" "$BATCH_LUA"

echo "## create probe $(date -u +%FT%TZ) — $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), fcgi workers $NFCGI, nginx worker_processes $ngx_workers"
echo
echo "| wrk -t2 -c64 -d${SECS}s | runs (requests/s) | median | ratio to return 200 |"
echo "| --- | --- | ---: | ---: |"
ST=$(want static && rate static || echo 0)
for s in static register refuse batch; do
    want "$s" || continue
    r=$(rate "$s")
    ratio=$(awk -v a="$r" -v b="$ST" 'BEGIN {if (b > 0) printf "%.3f", a / b; else print "-"}')
    extra_txt=""
    [ "$s" = batch ] && extra_txt=" (= $(awk -v a="$r" 'BEGIN {printf "%.0f", a * 1000}') timers/s)"
    echo "| $s | $(awk '{print $1}' "$WORK/$s.rates" | paste -sd' ') | $r$extra_txt | $ratio |"
done
echo
for s in register refuse batch; do
    want "$s" || continue
    echo "CPU during the median $s run:"
    echo
    cat "$WORK/$s.$(median_run "$s").cpu"
    echo
done
after=$(rcli ZCARD '{_timerush_redis_data_}:due' 2>/dev/null || echo 0)
echo "Timers pending in Redis: $before before, $after after."
grep -h 'rejected\|ERROR' "$RUN"/log/fcgi.log 2>/dev/null | head -3 || true

if [ "$DO_PERF" = 1 ]; then
    # Only the stack's processes: others' builds on a shared machine would drown them.
    ours=$(cat "$RUN/pids/fcgi.pid" "$RUN/pids/redis.pid" "$RUN/pids/nginx.pid" | tr -s ' \n' ',' | sed 's/,$//')
    for p in $(cat "$RUN/pids/nginx.pid"); do ours="$ours,$(pgrep -P "$p" | paste -sd,)"; done
    case $PERF_ON in
        refuse) p_lua=$GET_LUA; p_url=$URL/register/ ;;
        batch) p_lua=$BATCH_LUA; p_url=$URL/v1/timers/batch ;;
        *) p_lua=$REG_LUA; p_url=$URL/register/ ;;
    esac
    say "perf record -g -p $ours during a $PERF_ON run"
    perf record -g -p "$ours" -o "$WORK/perf.data" -- wrk -t2 -c64 -d"${SECS}s" -s "$p_lua" "$p_url" \
        >"$WORK/perf.wrk" 2>"$WORK/perf.err" || true
    perf report -i "$WORK/perf.data" --no-children --sort comm,dso,sym -g none --stdio 2>/dev/null |
        grep -E '^ +[0-9]' | head -60 >"$WORK/perf.txt" || true
    echo; echo '```'; echo "perf ($PERF_ON, --sort comm,dso,sym, top 60)"; cat "$WORK/perf.txt"; echo '```'
fi
if [ "$DO_STRACE" = 1 ]; then
    pid=$(head -1 "$RUN/pids/fcgi.pid")
    say "strace -c -f -p $pid during a register run"
    strace -c -f -p "$pid" -o "$WORK/strace.txt" &
    st=$!
    wrk -t2 -c64 -d"${SECS}s" -s "$REG_LUA" "$URL/register/" >"$WORK/strace.wrk" 2>&1
    kill -INT "$st" 2>/dev/null || true
    wait "$st" 2>/dev/null || true
    reqs=$(awk '/requests in/ {print $1}' "$WORK/strace.wrk")
    echo; echo '```'; echo "strace -c of fcgi worker $pid (the whole stack served $reqs requests)"
    head -25 "$WORK/strace.txt"; echo '```'
fi
