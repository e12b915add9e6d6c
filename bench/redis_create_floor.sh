#!/usr/bin/env bash
# bench/redis_create_floor.sh - what one Redis needs, at the least, to store N
# timers: the bare writes of the data model (docs/DATA_MODEL.md), with no script,
# no existence check, no stats, no client-side work. A floor for the batch create
# goal of issue 10: no TimeRush create can cost Redis less than this.
#
#   bench/redis_create_floor.sh [--batches B] [--reps R]
#
# Starts its own redis-server (unix socket in a temp dir; the launcher's persistence:
# appendonly yes, appendfsync everysec, save "", hash-max-listpack-value 1024; no
# automatic AOF rewrite, whose fork and child are not the writes' cost), then
# REPS times: B batches of 1,000 timers sent with `redis-cli --pipe`, each batch one
# `ZADD {P}:due` of 1,000 members (16-character keys, random due times) and one
# `HSET {P}:timers:<bucket>` per 31 records (a 146-byte record, random buckets of
# 65,536: the layout of generated keys). Quotes per rep Redis's own CPU
# (used_cpu_user + used_cpu_sys of INFO cpu: the process, not its children) per timer and
# the rate that CPU allows on one core (1e6 / µs per timer), and the medians. The zset
# grows over the reps (1,000 x B more members each), as a real Redis would.
# Stops its Redis by PID on exit.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
say() { echo "redis_create_floor: $*" >&2; }
# shellcheck source=bench/lib.sh
source "$here/lib.sh"
close_inherited_fds

batches=300 reps=3
while (($#)); do
    case $1 in
    --batches) batches=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    *) say "unknown option $1"; exit 2 ;;
    esac
done

work=$(mktemp -d /tmp/tr-redis-floor.XXXXXX)
PIDS=()
cleanup() {
    stop_pids
    rm -rf "$work"
}
trap cleanup EXIT
sock=$work/r.sock
redis-server --port 0 --unixsocket "$sock" --dir "$work" --appendonly yes \
    --appendfsync everysec --save "" --hash-max-listpack-value 1024 \
    --auto-aof-rewrite-percentage 0 \
    --logfile "$work/redis.log" </dev/null >/dev/null 2>&1 &
PIDS+=($!)
wait_for "redis-server answers" 10 redis-cli -s "$sock" PING

# RESP for B batches; awk's rand() is seeded per rep so every rep writes new keys.
gen() {
    awk -v B="$batches" -v seed="$1" 'BEGIN {
        srand(seed)
        rec = "{\"u\":\"http://127.0.0.1:8080/cb\",\"d\":\"" sprintf("%100s", "") "\",\"a\":1,\"m\":{}}"
        gsub(/ /, "x", rec)
        for (b = 0; b < B; b++) {
            printf "*%d\r\n$4\r\nZADD\r\n$7\r\n{P}:due\r\n", 2 + 2000
            for (i = 0; i < 1000; i++) {
                k[i] = sprintf("%08x%08x", int(rand() * 4294967296), int(rand() * 4294967296))
                s = sprintf("%d", 1700000000000 + int(rand() * 1000000000))
                printf "$%d\r\n%s\r\n$16\r\n%s\r\n", length(s), s, k[i]
            }
            for (j = 0; j < 1000; j += 31) {
                n = (j + 31 <= 1000) ? 31 : 1000 - j
                bk = sprintf("{P}:timers:%d", int(rand() * 65536))
                printf "*%d\r\n$4\r\nHSET\r\n$%d\r\n%s\r\n", 2 + 2 * n, length(bk), bk
                for (i = j; i < j + n; i++)
                    printf "$16\r\n%s\r\n$%d\r\n%s\r\n", k[i], length(rec), rec
            }
        }
    }'
}
cpu() { redis-cli -s "$sock" INFO cpu | tr -d '\r' | awk -F: '/^used_cpu_(user|sys):/ { s += $2 } END { printf "%.6f", s }'; }

echo "| rep | timers | Redis CPU s | µs a timer | timers/s on one core |"
echo "| ---: | ---: | ---: | ---: | ---: |"
per=()
for ((r = 1; r <= reps; r++)); do
    gen "$r" >"$work/cmds"
    c0=$(cpu)
    redis-cli -s "$sock" --pipe <"$work/cmds" >"$work/pipe.out"
    grep -q "errors: 0" "$work/pipe.out" || { say "redis-cli --pipe: $(tail -n1 "$work/pipe.out")"; exit 1; }
    c1=$(cpu)
    n=$((batches * 1000))
    us=$(awk -v a="$c0" -v b="$c1" -v n="$n" 'BEGIN { printf "%.2f", (b - a) * 1e6 / n }')
    per+=("$us")
    echo "| $r | $n | $(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }') | $us | $(awk -v u="$us" 'BEGIN { printf "%.0f", 1e6 / u }') |"
done
med=$(printf '%s\n' "${per[@]}" | median)
echo
echo "Median: **$med µs of Redis CPU a timer**, so at most $(awk -v u="$med" 'BEGIN { printf "%.0f", 1e6 / u }') timers/s on one Redis core for the bare writes; zset size at the end $(redis-cli -s "$sock" ZCARD '{P}:due')."
