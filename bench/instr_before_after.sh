#!/usr/bin/env bash
# bench/instr_before_after.sh - issue 11's "single-Redis figures must not get worse by
# more than 5%" counted in instructions instead of timed: two trees of TimeRush (each a
# checkout with a build of its own), one Redis with the default --shards 1, every
# process of the work under valgrind's callgrind, which counts the instructions each
# one runs (this VM exposes no hardware counters to perf). The count does not depend
# on how busy the machine is, which the timed rates (bench/single_before_after.sh)
# do: their rounds spread 12-50% even on a quiet machine, so a 5% change could be
# neither shown nor excluded there.
#
#   bench/instr_before_after.sh --base TREE:BUILD [--head TREE:BUILD] [--rounds R]
#                               [-n N] [--register M] [--out DIR]
#
# TREE is a checkout (its ./timerush starts the stack), BUILD its build (Release:
# scripts/build.sh BUILD -DCMAKE_BUILD_TYPE=Release); --head defaults to this checkout
# and its build-rel. Each round runs base then head (odd rounds) or head then base. A
# run: the tree's ./timerush (embedded Redis, its defaults: AOF everysec, one
# timerush-fcgi worker, one scheduler) with redis-server, timerush-fcgi and
# timerush-scheduler each started under `valgrind --tool=callgrind` (a PATH shim for
# redis-server, a shim build dir whose fcgi/ and scheduler/ programs are wrappers;
# --print-options, --launcher-settings and --check run natively), deliveries paused
# (POST /v1/pause), then four phases, each closed by `callgrind_control --dump` of
# every process (its counters since the previous dump; zeroed before the first):
#   idle      5 s with nothing to do (the background: Redis's cron, the loops' ticks)
#   register  M timers with the compatible POST /register/ (seconds 1), 8 at a time
#   batch     N timers with POST /v1/timers/batch, 1,000 a request, 2 at a time
#   drain     POST /v1/resume, until the sink has all M + N callbacks
# Instructions per timer: register and batch per created timer, drain per delivered
# one; the idle phase's rate per second shows how much of a phase is background
# (a run under callgrind is 20-100x slower than native, so a phase's background grows
# with it, alike in both trees). Raw dumps and a JSON line per run in DIR (default a
# new temp dir); bench/instr_report.py DIR prints the medians and head/base ratios.
# Defaults: -n 10000, --register 1000, --rounds 2. Every process started here is
# stopped by PID.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASE=""
HEAD="$SRC:$SRC/build-rel"
ROUNDS=2
N=10000
REG=1000
OUT=""
IDLE_S=5

say() { echo "instr_before_after: $*" >&2; }
die() { say "$*"; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --base) BASE=$2; shift ;;
        --head) HEAD=$2; shift ;;
        --rounds) ROUNDS=$2; shift ;;
        -n) N=$2; shift ;;
        --register) REG=$2; shift ;;
        --out) OUT=$2; shift ;;
        -h|--help) sed -n '2,36p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) die "unknown option: $1 (see --help)" ;;
    esac
    shift
done
[ -n "$BASE" ] || die "--base TREE:BUILD is required"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "--rounds must be 1 or more"
[[ $N =~ ^[1-9][0-9]*000$ ]] || die "-n must be a multiple of 1000"
[[ $REG =~ ^[0-9]+$ ]] || die "--register must be a number"
for t in "$BASE" "$HEAD"; do
    [[ $t == *:* ]] || die "$t: TREE:BUILD expected"
    [ -x "${t%%:*}/timerush" ] || die "${t%%:*}: no ./timerush there"
    [ -x "${t#*:}/fcgi/timerush-fcgi" ] || die "${t#*:}: not a build (no fcgi/timerush-fcgi)"
done
command -v callgrind_control >/dev/null || "$SRC/scripts/install-deps.sh" --for bench </dev/null >&2 ||
    die "valgrind not found (scripts/install-deps.sh --for bench)"
for c in valgrind callgrind_control redis-server curl python3; do
    command -v "$c" >/dev/null || die "needs $c"
done
REAL_REDIS=$(command -v redis-server)
SINK=${HEAD#*:}/tests/sink/timerush-sink
[ -x "$SINK" ] || die "no $SINK (build the head tree's tests)"
[ -n "$OUT" ] || OUT=$(mktemp -d "${TMPDIR:-/tmp}/tr-instr.XXXXXX")
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# shellcheck source=bench/lib.sh
source "$SRC/bench/lib.sh"
bench_start instr
say "output in $OUT"

# shim DIR BUILD: DIR/path/redis-server and DIR/build (BUILD's entries as symlinks,
# its timerush-fcgi and timerush-scheduler as wrappers), each wrapped program's
# callgrind output in DIR/cg/KIND.PID[.DUMP].
shim() {
    local dir=$1 build=$2 e sub prog
    mkdir -p "$dir/path" "$dir/build" "$dir/cg"
    cat >"$dir/path/redis-server" <<EOF
#!/bin/sh
case "\$1" in -v|--version|-h|--help) exec "$REAL_REDIS" "\$@" ;; esac
exec valgrind --tool=callgrind --callgrind-out-file="$dir/cg/redis.%p" "$REAL_REDIS" "\$@"
EOF
    chmod +x "$dir/path/redis-server"
    for e in "$build"/*; do ln -s "$e" "$dir/build/${e##*/}"; done
    for sub in fcgi:timerush-fcgi scheduler:timerush-scheduler; do
        prog=${sub#*:} sub=${sub%%:*}
        rm "$dir/build/$sub"
        mkdir "$dir/build/$sub"
        for e in "$build/$sub"/*; do ln -s "$e" "$dir/build/$sub/${e##*/}"; done
        rm "$dir/build/$sub/$prog"
        cat >"$dir/build/$sub/$prog" <<EOF
#!/bin/sh
for a in "\$@"; do
    case "\$a" in --print-options|--launcher-settings|--check|--help|--version) exec "$build/$sub/$prog" "\$@" ;; esac
done
exec valgrind --tool=callgrind --callgrind-out-file="$dir/cg/$sub.%p" "$build/$sub/$prog" "\$@"
EOF
        chmod +x "$dir/build/$sub/$prog"
    done
}

# The processes under callgrind: the embedded Redis, the fcgi workers, the schedulers.
cg_pids() {
    cat "$RUN/pids/redis.pid" "$RUN/pids/fcgi.pid" "$RUN"/pids/scheduler*.pid 2>/dev/null |
        grep -E '^[0-9]+$' | sort -u
}
# cg_all OPTION: callgrind_control OPTION on each of them (-z zero, -d dump).
cg_all() {
    local p
    for p in $(cg_pids); do
        callgrind_control "$1" "$p" >/dev/null 2>&1 || { say "callgrind_control $1 $p failed"; return 1; }
    done
}
now_ms() { echo $(( ${EPOCHREALTIME/./} / 1000 )); }
lines_at_least() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }

# one_run TAG TREE:BUILD ROUND: appends the run's JSON line to $OUT/results.jsonl.
one_run() {
    local tag=$1 tree=${2%%:*} build=${2#*:} round=$3
    local dir=$OUT/$tag.$round
    rm -rf "$dir"
    mkdir -p "$dir"
    shim "$dir" "$build"
    "$SINK" --listen 127.0.0.1:0 --port-file "$dir/sink.port" --log "$dir/sink.log" \
        >"$dir/sink.out" 2>&1 &
    SINK_PID=$!
    PIDS+=("$SINK_PID")
    wait_for "sink listening" 10 test -s "$dir/sink.port" || return 1
    local cb; cb="http://127.0.0.1:$(cat "$dir/sink.port")/cb"
    local load; load=$(cut -d' ' -f1 /proc/loadavg)
    # The launcher waits up to 10 s for the pool: slow under valgrind, but enough.
    PATH="$dir/path:$PATH" TREE=$tree BUILD=$dir/build \
        start_tr_stack "$dir/stack" "$dir/launcher.out" 4194304 || return 1
    [ "$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$URL/v1/pause")" = 200 ] ||
        { say "pause refused"; return 1; }
    local pids; pids=$(cg_pids | paste -sd' ')
    say "$tag round $round: under callgrind: $pids (load $load)"

    # The request bodies.
    python3 - "$cb" "$REG" "$N" "$URL" "$dir" <<'EOF'
import json, sys
cb, reg, n, url, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
with open(d + "/register.json", "w") as f:
    f.write(json.dumps({"callback_cmd": cb, "callback_data": json.dumps({"id": 1}), "seconds": 1}))
with open(d + "/register.curl", "w") as f:
    for i in range(reg):
        f.write("next\n" if i else "")  # each request its own options
        f.write('url = "%s/register/"\nrequest = "POST"\nheader = "Content-Type: application/json"\n'
                'data-binary = "@%s/register.json"\noutput = "%s/reg.%d.out"\n' % (url, d, d, i))
with open(d + "/batch.json", "w") as f:
    f.write(json.dumps({"timers": [{"url": cb, "data": "x" * 100, "delay_ms": 0}
                                   for _ in range(1000)]}, separators=(",", ":")))
with open(d + "/batch.curl", "w") as f:
    for i in range(n // 1000):
        f.write("next\n" if i else "")
        f.write('url = "%s/v1/timers/batch"\nrequest = "POST"\n'
                'header = "Content-Type: application/json"\ndata-binary = "@%s/batch.json"\n'
                'output = "%s/batch.%d.out"\nmax-time = 600\n' % (url, d, d, i))
EOF

    local t0 t1 t2 t3 t4
    cg_all -z || return 1
    t0=$(now_ms)
    sleep "$IDLE_S" # the idle phase is a fixed time by design
    cg_all -d || return 1
    t1=$(now_ms)
    ((REG == 0)) || curl -sS --parallel --parallel-max 8 -K "$dir/register.curl" 2>"$dir/register.err" || true
    cg_all -d || return 1
    t2=$(now_ms)
    curl -sS --parallel --parallel-max 2 -K "$dir/batch.curl" 2>"$dir/batch.err" || true
    cg_all -d || return 1
    t3=$(now_ms)
    local registered=0 created
    ((REG == 0)) || registered=$(cat "$dir"/reg.*.out | grep -Eo '"ret" *: *0' | wc -l)
    created=$(cat "$dir"/batch.*.out | grep -o '"status":201' | wc -l)
    rm -f "$dir"/reg.*.out "$dir"/batch.*.out
    ((registered == REG && created == N)) ||
        { say "$tag round $round: registered $registered of $REG, created $created of $N"; return 1; }
    [ "$(curl -sS -o /dev/null -w '%{http_code}' -X POST "$URL/v1/resume")" = 200 ] ||
        { say "resume refused"; return 1; }
    local want=$((REG + N)) deadline=$(( $(date +%s) + 1800 ))
    until lines_at_least "$dir/sink.log" "$want"; do
        [ "$(date +%s)" -lt "$deadline" ] || { say "$tag round $round: not all $want arrived in 1800 s"; return 1; }
        sleep 0.5
    done
    cg_all -d || return 1
    t4=$(now_ms)
    stop_tr_stack
    kill -TERM "$SINK_PID" 2>/dev/null || true
    wait "$SINK_PID" 2>/dev/null || true
    unset 'PIDS[${#PIDS[@]}-1]'
    python3 "$SRC/bench/instr_report.py" run "$dir" "$tag" "$round" "$load" "$REG" "$N" \
        "$t0" "$t1" "$t2" "$t3" "$t4" >>"$OUT/results.jsonl" || return 1
    tail -n1 "$OUT/results.jsonl" | python3 "$SRC/bench/instr_report.py" line
}

say "base ${BASE%%:*} ($(git -C "${BASE%%:*}" rev-parse --short HEAD 2>/dev/null || echo ?)), head ${HEAD%%:*} ($(git -C "${HEAD%%:*}" rev-parse --short HEAD 2>/dev/null || echo ?)); -n $N --register $REG --rounds $ROUNDS; $(valgrind --version), $("$REAL_REDIS" --version | awk '{print $1, $2, $3}'), $(nproc) CPUs"
for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then order=(base head); else order=(head base); fi
    for t in "${order[@]}"; do
        if [ "$t" = base ]; then one_run base "$BASE" "$r"; else one_run head "$HEAD" "$r"; fi
    done
done
python3 "$SRC/bench/instr_report.py" report "$OUT"
