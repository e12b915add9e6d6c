#!/usr/bin/env bash
# bench/burst_probe.sh - how fast the scheduler drains a burst, and what it costs.
#
#   bench/burst_probe.sh [--build-dir DIR] [-n N] [--reps R] [--spread-ms S] [--lead-ms L]
#                        [--tcp | --tls | --stream] [--keep] [--perf FILE] [--shards S]
#                        [-- extra ./timerush options]
#
# Starts the stack (./timerush --no-install --no-build, one FastCGI worker: the
# probe never registers through nginx) and timerush-sink, writes N timers due at
# one instant (or spread uniformly over S ms after it) straight into Redis with
# redis-cli --pipe (records staged, then put in their buckets {P}:timers:<b> by the
# store's own Lua helpers; ZADD {P}:due due id: the layout of docs/DATA_MODEL.md, the
# record format of shared/tr_timer.h, keys shaped like generated ones), announces the earliest on the wake channel, and
# waits until the sink has logged N requests. Prints per repetition:
#   callbacks/s from the first to the last arrival (sink log t_us),
#   CPU us per timer of the scheduler, redis-server and the sink (/proc ticks
#   between just before the instant and the last arrival),
#   lateness at the receiver (arrival - X-TimeRush-Due-Ms) p50/p99/max,
#   lost (keys never seen) and duplicates,
# then the median of each over the repetitions. Every process is stopped by PID.
# --tcp: the timers go to tcp://127.0.0.1:PORT (the TCP notifier, JSON lines over one
# connection) and timerush-linesink --stamp receives them instead of timerush-sink.
# --tls: the same lines to tls://localhost:PORT: a socat OPENSSL-LISTEN front (a
# certificate of tests/integration/tls/make_certs.sh, made in the work dir; the
# scheduler gets --cacert) relays them to timerush-linesink. sink_us is the
# linesink's alone (socat's relaying is not counted).
# --stream: the timers go to redis-stream://probe (the stream notifier: the entry is
# XADDed by the ack script) and no receiver runs (sink_us 0); an "arrival" is the
# entry's id (Redis's clock when its ack ran), read back with XRANGE once all N are
# in; the scheduler runs with --stream-maxlen 0 so every entry stays to be counted.
# --perf FILE: `perf record -g -p <scheduler>,<redis-server>` from the instant to the
# last callback of the last repetition, report (--sort comm,dso,sym, and by pid)
# written to FILE. perf's own cost slows that repetition: quote its rate apart.
# --shards S: the stack runs with --shards S and each timer is written into its key's
# shard {P:i} (FNV-1a 32 of the key mod S, shared/tr_shard.h); all due at one instant.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD="$SRC/build-p1"
N=100000
REPS=3
SPREAD=0
LEAD=3000
KEEP=0
TCP=0
TLS=0
FRONT_PID=""
STREAM=0
PERF_OUT=""
PERF_PID=""
EXTRA=()
SHARDS=1

die() { echo "probe: $*" >&2; exit 1; }
say() { echo "probe: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
        --build-dir) BUILD=$2; shift ;;
        -n) N=$2; shift ;;
        --reps) REPS=$2; shift ;;
        --spread-ms) SPREAD=$2; shift ;;
        --lead-ms) LEAD=$2; shift ;;
        --keep) KEEP=1 ;;
        --tcp) TCP=1 ;;
        --tls) TCP=1; TLS=1 ;;
        --stream) STREAM=1 ;;
        --perf) PERF_OUT=$2; shift ;;
        --shards) SHARDS=$2; shift ;;
        --) shift; EXTRA=("$@"); break ;;
        -h|--help) sed -n '2,32p' "${BASH_SOURCE[0]}"; exit 0 ;;
        *) die "unknown option: $1 (see --help)" ;;
    esac
    shift
done
case "$BUILD" in /*) ;; *) BUILD="$PWD/$BUILD" ;; esac
# Only when sharded: a build older than --shards (a baseline) runs unchanged.
SHARD_OPT=()
[ "$SHARDS" -gt 1 ] && SHARD_OPT=(--shards "$SHARDS")
SINK="$BUILD/tests/sink/timerush-sink"
[ "$TCP" = 1 ] && SINK="$BUILD/tests/sink/timerush-linesink"
[ "$TCP" = 1 ] && [ "$STREAM" = 1 ] && die "--tcp or --stream, not both"
[ "$STREAM" = 1 ] && EXTRA+=(--stream-maxlen 0)
[ -x "$SINK" ] || die "no $SINK: build first (cmake --build $BUILD)"
[ -x "$BUILD/scheduler/timerush-scheduler" ] || die "no scheduler in $BUILD"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

WORK=$(mktemp -d /tmp/burst_probe.XXXXXX)
PREFIX=_timerush_redis_data_
LAUNCHER_PID=""
SINK_PID=""

stop_stack() {
    [ -n "$LAUNCHER_PID" ] || return 0
    kill -TERM "$LAUNCHER_PID" 2>/dev/null || true
    local deadline=$(( $(date +%s) + 60 ))
    while kill -0 "$LAUNCHER_PID" 2>/dev/null; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            kill -KILL "$LAUNCHER_PID" 2>/dev/null || true
            break
        fi
        sleep 0.1
    done
    wait "$LAUNCHER_PID" 2>/dev/null || true
    LAUNCHER_PID=""
}
stop_sink() {
    if [ -n "$FRONT_PID" ]; then
        kill -TERM "$FRONT_PID" 2>/dev/null || true
        wait "$FRONT_PID" 2>/dev/null || true
        FRONT_PID=""
    fi
    [ -n "$SINK_PID" ] || return 0
    kill -TERM "$SINK_PID" 2>/dev/null || true
    wait "$SINK_PID" 2>/dev/null || true
    SINK_PID=""
}
cleanup() {
    if [ -n "$PERF_PID" ]; then kill -INT "$PERF_PID" 2>/dev/null || true; wait "$PERF_PID" 2>/dev/null || true; fi
    stop_stack
    stop_sink
    if [ "$KEEP" = 1 ]; then say "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ticks() { # utime + stime of a pid, in clock ticks
    awk '{sub(/.*\) /, ""); print $12 + $13}' "/proc/$1/stat"
}

# redis_ms SOCK: Redis TIME in ms (bash arithmetic: mawk's %d stops at 2^31).
redis_ms() {
    local t; mapfile -t t < <(redis_auth "$(dirname "$(dirname "$1")")" redis-cli -s "$1" TIME)
    echo $(( t[0] * 1000 + 10#${t[1]} / 1000 ))
}

lines_at_least() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }
# entries_at_least STACK_DIR N: the probe stream holds N entries.
entries_at_least() {
    [ "$(redis_auth "$1" redis-cli -s "$1/redis/redis.sock" XLEN "{$PREFIX}:stream:probe")" -ge "$2" ]
}

one_run() {
    local rep=$1 dir="$WORK/run$rep"
    mkdir -p "$dir"
    local port; port=$(free_port)
    "$SRC/timerush" --no-install --no-build --build-dir "$BUILD" --run-dir "$dir/stack" \
        --listen-port "$port" --nginx-user root --workers 1 --interval 1 "${SHARD_OPT[@]}" "${EXTRA[@]}" \
        >"$dir/launcher.out" 2>&1 &
    LAUNCHER_PID=$!
    wait_for "stack ready" 60 grep -q "^TimeRush ready:" "$dir/launcher.out" ||
        { tail -20 "$dir/launcher.out" >&2; return 1; }
    if [ "$STREAM" = 1 ]; then
        echo 0 >"$dir/sink.port" # no receiver: the entries are read back from Redis
    elif [ "$TCP" = 1 ]; then
        "$SINK" --port-file "$dir/sink.port" --log "$dir/sink.log" --stamp >"$dir/sink.out" 2>&1 &
    else
        "$SINK" --listen 127.0.0.1:0 --port-file "$dir/sink.port" --log "$dir/sink.log" \
            >"$dir/sink.out" 2>&1 &
    fi
    [ "$STREAM" = 1 ] || SINK_PID=$!
    wait_for "sink listening" 10 test -s "$dir/sink.port"
    local sink_port; sink_port=$(cat "$dir/sink.port")
    if [ "$TLS" = 1 ]; then
        # The TLS front: the timers' target port is its port.
        local front_port; front_port=$(free_port)
        socat "OPENSSL-LISTEN:$front_port,bind=127.0.0.1,reuseaddr,fork,cert=$WORK/certs/server.pem,key=$WORK/certs/server.key,verify=0" \
            "TCP:127.0.0.1:$sink_port" 2>"$dir/front.err" &
        FRONT_PID=$!
        wait_for "TLS front listening" 10 bash -c "ss -ltn | grep -q '127.0.0.1:$front_port '"
        sink_port=$front_port
    fi
    local sock="$dir/stack/redis/redis.sock"
    local redis_pid sched_pid
    redis_pid=$(head -n1 "$dir/stack/pids/redis.pid")
    sched_pid=$(head -n1 "$dir/stack/pids/scheduler.1.pid")

    # Records first, with their offsets from the instant in a staging set; then one
    # script moves them all into {P}:due at now + LEAD (Redis clock), so the slow
    # part (generating and piping N records) never eats into the lead.
    python3 - "$N" "$SPREAD" "$sink_port" "$PREFIX" "$TCP$TLS" "$STREAM" "$SHARDS" >"$dir/pipe.resp" <<'EOF'
import base64, random, sys
n, spread, port, prefix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
shards = int(sys.argv[7])
def tag(k):
    # The key's shard tag (shared/tr_shard.c: FNV-1a 32 mod S); {P} for one shard.
    if shards <= 1:
        return prefix
    h = 2166136261
    for b in k:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return "%s:%d" % (prefix, h % shards)
url = {"10": "tcp://127.0.0.1:%s", "11": "tls://localhost:%s"}.get(
    sys.argv[5], "http://127.0.0.1:%s/cb") % port
if sys.argv[6] == "1":
    url = "redis-stream://probe"
rec = ('{"u":"%s","d":"%s"}' % (url, "x" * 100)).encode()
def cmd(*parts):
    out = [b"*%d\r\n" % len(parts)]
    for p in parts:
        out.append(b"$%d\r\n%s\r\n" % (len(p), p))
    return b"".join(out)
rng = random.Random(1)
w = sys.stdout.buffer
for i in range(n):
    # 16 characters shaped like tr_timer_new_key's: a 3-character prefix shared by
    # runs of 32 keys, then 13 random ones. The records go to a staging hash; the
    # script below puts them in their buckets with the store's own helpers.
    if i % 32 == 0:
        run = base64.b64encode(rng.getrandbits(24).to_bytes(3, "big"), b"_.")[1:]
    k = run + base64.b64encode(rng.getrandbits(96).to_bytes(12, "big"), b"_.")[3:]
    off = rng.randrange(spread + 1) if spread > 0 else 0
    t = tag(k)
    w.write(cmd(b"HSET", ("{%s}:probe_recs" % t).encode(), k, rec))
    w.write(cmd(b"ZADD", ("{%s}:probe_stage" % t).encode(), str(off).encode(), k))
EOF
    redis_auth "$dir/stack" redis-cli -s "$sock" --pipe <"$dir/pipe.resp" >"$dir/pipe.out" 2>&1 || { cat "$dir/pipe.out" >&2; return 1; }
    local due="" sh tg
    for ((sh = 0; sh < SHARDS; sh++)); do
    tg=$PREFIX
    ((SHARDS > 1)) && tg="$PREFIX:$sh"
    # The staged records into their buckets (prelude.lua's helpers, 1000 a call).
    local left=1
    while [ "$left" != 0 ]; do
        left=$(redis_auth "$dir/stack" redis-cli -s "$sock" EVAL "$(cat "$SRC/shared/lua/prelude.lua")
            local kv = redis.call('HRANDFIELD', KEYS[2], 1000, 'WITHVALUES')
            local ids, recs = {}, {}
            for i = 1, #kv, 2 do ids[#ids + 1] = kv[i]; recs[#recs + 1] = kv[i + 1] end
            if #ids == 0 then return 0 end
            tr_rec_put_new(KEYS[1], ids, recs)
            redis.call('HDEL', KEYS[2], unpack(ids))
            return redis.call('HLEN', KEYS[2])" 2 "{$tg}:timers" "{$tg}:probe_recs")
    done
    done
    # Every shard's staged timers due at the same instant (the first shard's TIME + LEAD).
    for ((sh = 0; sh < SHARDS; sh++)); do
    tg=$PREFIX
    ((SHARDS > 1)) && tg="$PREFIX:$sh"
    due=$(redis_auth "$dir/stack" redis-cli -s "$sock" EVAL "
        local t = redis.call('TIME')
        local due = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[1])
        if ARGV[2] ~= '' then due = tonumber(ARGV[2]) end
        local s = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
        for i = 1, #s, 2 do redis.call('ZADD', KEYS[1], due + tonumber(s[i + 1]), s[i]) end
        redis.call('DEL', KEYS[2])
        redis.call('PUBLISH', KEYS[3], due)
        return due" 3 "{$tg}:due" "{$tg}:probe_stage" "{$tg}:wake" "$LEAD" "$due")
    done
    local t_loaded; t_loaded=$(redis_ms "$sock")
    [ "$t_loaded" -lt "$due" ] || say "run $rep: loading ran $(( t_loaded - due )) ms past the instant (raise --lead-ms)"

    local s0 r0 k0 s1 r1 k1
    s0=$(ticks "$sched_pid"); r0=$(ticks "$redis_pid"); k0=0
    [ -n "$SINK_PID" ] && k0=$(ticks "$SINK_PID")
    if [ -n "$PERF_OUT" ] && [ "$rep" = "$REPS" ]; then
        perf record -g -p "$sched_pid,$redis_pid" -o "$dir/perf.data" >"$dir/perf.out" 2>&1 &
        PERF_PID=$!
    fi
    if [ "$STREAM" = 1 ]; then
        wait_for "$N entries" $(( LEAD / 1000 + SPREAD / 1000 + 300 )) entries_at_least "$dir/stack" "$N" || true
    else
        wait_for "$N callbacks" $(( LEAD / 1000 + SPREAD / 1000 + 300 )) lines_at_least "$dir/sink.log" "$N" || true
    fi
    s1=$(ticks "$sched_pid"); r1=$(ticks "$redis_pid"); k1=0
    [ -n "$SINK_PID" ] && k1=$(ticks "$SINK_PID")
    if [ "$STREAM" = 1 ]; then
        # The entries as the sink's log lines: arrival = the entry id's ms.
        redis_auth "$dir/stack" redis-cli -s "$sock" --json XRANGE "{$PREFIX}:stream:probe" - + |
            python3 -c '
import json, sys
for e in json.load(sys.stdin):
    f = e[1]
    d = dict(zip(f[0::2], f[1::2]))
    print(json.dumps({"t_us": int(e[0].split("-")[0]) * 1000, "key": d["key"], "due_ms": int(d["due_ms"])}))
' >"$dir/sink.log"
    fi
    if [ -n "$PERF_PID" ]; then
        kill -INT "$PERF_PID" 2>/dev/null || true
        wait "$PERF_PID" 2>/dev/null || true
        PERF_PID=""
        {
            echo "# perf record -g -p scheduler $sched_pid, redis $redis_pid: instant to last callback, run $rep"
            echo "## by pid"
            perf report -i "$dir/perf.data" --no-children --sort pid -g none --stdio 2>/dev/null | grep -E '^ +[0-9]'
            echo "## by comm, dso"
            perf report -i "$dir/perf.data" --no-children --sort comm,dso -g none --stdio 2>/dev/null | grep -E '^ +[0-9]'
            echo "## by comm, dso, sym (top 80)"
            perf report -i "$dir/perf.data" --no-children --sort comm,dso,sym -g none --stdio 2>/dev/null | grep -E '^ +[0-9]' | head -80
        } >"$PERF_OUT" || true
    fi
    cp "$dir/stack/log/scheduler.1.log" "$dir/scheduler.log" 2>/dev/null || true
    # Script calls and their cost (usec_per_call): how many claim/finish rounds ran.
    redis_auth "$dir/stack" redis-cli -s "$sock" INFO commandstats >"$dir/commandstats.txt" 2>&1 || true
    stop_stack
    stop_sink
    python3 - "$dir/sink.log" "$N" "$due" "$((s1 - s0))" "$((r1 - r0))" "$((k1 - k0))" \
        "$(getconf CLK_TCK)" <<'EOF'
import json, sys
path, n, due = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
st, rt, kt, hz = (int(x) for x in sys.argv[4:8])
ts, late, keys = [], [], {}
with open(path) as f:
    for line in f:
        r = json.loads(line)
        ts.append(r["t_us"])
        late.append(r["t_us"] / 1000.0 - r["due_ms"])
        keys[r["key"]] = keys.get(r["key"], 0) + 1
got = len(ts)
dups = sum(c - 1 for c in keys.values())
lost = n - len(keys)
span = (max(ts) - min(ts)) / 1e6 if got > 1 else 0
rate = (got - 1) / span if span > 0 else 0
late.sort()
pct = lambda p: late[min(len(late) - 1, int(p * len(late)))] if late else 0
us = lambda t: t * 1e6 / hz / max(1, got)
print(f"{rate:.0f} {us(st):.1f} {us(rt):.1f} {us(kt):.1f} {pct(0.5):.1f} {pct(0.99):.1f} "
      f"{late[-1] if late else 0:.1f} {lost} {dups} {span:.2f}")
EOF
}

if [ "$TLS" = 1 ]; then
    bash "$SRC/tests/integration/tls/make_certs.sh" "$WORK/certs" || die "cannot make the test certificates"
    EXTRA+=(--cacert "$WORK/certs/ca.pem")
fi
say "N=$N spread=${SPREAD}ms reps=$REPS tcp=$TCP tls=$TLS stream=$STREAM shards=$SHARDS build=$BUILD extra=[${EXTRA[*]:-}] load=$(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-4s %10s %10s %10s %10s %9s %9s %9s %6s %5s %7s\n' rep 'cb/s' 'sched_us' 'redis_us' \
    'sink_us' 'late_p50' 'late_p99' 'late_max' lost dups 'span_s'
RESULTS="$WORK/results"
: >"$RESULTS"
for rep in $(seq 1 "$REPS"); do
    line=$(one_run "$rep") || die "run $rep failed (work dir $WORK; --keep keeps it)"
    echo "$line" >>"$RESULTS"
    # shellcheck disable=SC2086
    printf '%-4s %10s %10s %10s %10s %9s %9s %9s %6s %5s %7s\n' "$rep" $line
done
med() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-4s' med
for col in 1 2 3 4 5 6 7 8 9 10; do
    w=10; [ "$col" -ge 5 ] && w=9; [ "$col" -ge 8 ] && w=6; [ "$col" -eq 9 ] && w=5; [ "$col" -eq 10 ] && w=7
    printf " %${w}s" "$(awk -v c="$col" '{print $c}' "$RESULTS" | med)"
done
echo
