#!/usr/bin/env bash
# test_fault_storm.sh - N timers due in one instant (TR_FAULT_N: 10,000 in CI;
# 200,000 in bench/faults_long.sh, issue 9's size), created through the product's
# batch endpoint while no scheduler runs, then drained by one scheduler with its
# defaults (--max-inflight 512). Redis SLOWLOG records every command of the drain
# (slowlog-log-slower-than 0): the longest script call (EVALSHA, named by the sha1 of
# its embedded source) is printed with each script's count and maximum, and the
# drain rate. Proves: every timer delivered exactly once (lost 0, duplicates 0). The
# target for the longest call, <= 10 ms (issue 9: 18.4 ms before), is asserted only
# in the long mode (TR_FAULT_LONG=1): a shared CI box is too noisy for it.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib_faults.sh"
ts_setup

n=${TR_FAULT_N:-10000}
# Creating takes ~50 us a timer here, up to ~400 us in the sanitizer build at CI's
# load (4,068 ms for 10,000 seen): the instant must lie beyond it (an `at` in the past
# is now, and the check below would see several instants).
if grep -q '^TR_SANITIZE:BOOL=ON' "$TR_BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
    lead_ms=${TR_FAULT_LEAD_MS:-$((1500 + n * 3 / 5))}
else
    lead_ms=${TR_FAULT_LEAD_MS:-$((1500 + n / 8))}
fi
target_us=10000
echo "# size: $n timers due in one instant (TR_FAULT_N; issue 9's 200,000: bench/faults_long.sh)"
tr_start_sink A || tr_finish
tr_start_stack --max-body 262144 || tr_finish
check "the stack's own scheduler is paused" ts_pause_stack_schedulers

t0=$(ts_now_ms)
at=$((t0 + lead_ms))
check "$n timers created through /v1/timers/batch, all due at $at" \
    tf_create_batch "$TR_TMP/keys" st "$n" "$SINK_A_URL/st" "$at"
echo "# created $n in $(($(ts_now_ms) - t0)) ms (the instant: +$lead_ms ms, TR_FAULT_LEAD_MS)"
check_eq "all $n due at one instant (else raise TR_FAULT_LEAD_MS)" "1 $n" \
    "$(tr_redis ZRANGE "$(ts_k due)" 0 -1 WITHSCORES | awk 'NR % 2 == 0' | sort -u | wc -l) $(ts_zcard due)"
tr_sleep_until_ms $((at + 1))

# The sha1 of each script as the programs load it on one Redis (shared/embed_lua.cmake:
# publish/classic.lua and the prelude in front of the script).
lua=$TR_SOURCE_DIR/shared/lua
declare -A script_of=()
for f in "$lua"/*.lua; do
    name=$(basename "$f" .lua)
    [[ $name == prelude ]] && continue
    script_of[$(cat "$lua/publish/classic.lua" "$lua/prelude.lua" "$f" | sha1sum | cut -d' ' -f1)]=$name
done

tr_redis CONFIG SET slowlog-max-len 1000000 >/dev/null
tr_redis CONFIG SET slowlog-log-slower-than 0 >/dev/null
tr_redis SLOWLOG RESET >/dev/null
ts_start_scheduler drain --scheduler-id st-drain
# Polled every 200 ms and from Redis, not by reading the sink's log every 20 ms:
# the poll competes with Redis for the 2 cores and would show up in its timings.
drained() { sleep 0.2; (($(ts_zcard inflight) == 0)) && tr_no_timers_left; }
tr_wait_for "all $n delivered and acked" $((60 + n / 1000)) drained
check "every key reached the receiver" ts_all_delivered "$TR_TMP/keys" "$SINK_A_LOG"
tr_redis CONFIG SET slowlog-log-slower-than 10000 >/dev/null
tr_redis --json SLOWLOG GET -1 >"$TR_TMP/slowlog.json"
tr_redis CONFIG SET slowlog-max-len 128 >/dev/null

span=$(jq -s '(map(.t_us) | max) - (map(.t_us) | min)' "$SINK_A_LOG")
echo "# drain: $n in $((span / 1000)) ms at the receiver (first to last):" \
    "$((span > 0 ? n * 1000000 / span : 0)) callbacks/s"
# One line per EVALSHA: duration in µs, script name.
jq -r '.[] | select((.[3][0] | ascii_upcase) == "EVALSHA") | "\(.[2]) \(.[3][1])"' \
    "$TR_TMP/slowlog.json" | while read -r us sha; do
    echo "$us ${script_of[$sha]:-$sha}"
done | sort -n >"$TR_TMP/calls"
check "the slowlog recorded the drain's script calls" test -s "$TR_TMP/calls"
echo "# script calls during the drain (count, max, p99 in µs):"
for s in $(cut -d' ' -f2 "$TR_TMP/calls" | sort -u); do
    awk -v s="$s" '$2 == s {v[++c] = $1} END {
        r = int(0.99 * c + 0.999999); if (r < 1) r = 1
        printf "#   %-10s %6d calls, max %6d us, p99 %6d us\n", s, c, v[c], v[r] }' "$TR_TMP/calls"
done
read -r max_us max_script < <(tail -n1 "$TR_TMP/calls")
echo "# longest script call: $max_us us ($max_script); target <= $target_us us (issue 9: 18400 before)"
if ((TF_LONG)); then
    check "the longest script call <= 10 ms ($max_us us, $max_script)" test "$max_us" -le "$target_us"
fi

tf_deliveries "$SINK_A_LOG" >"$TR_TMP/delivered"
tf_check_outcome "$TR_TMP/keys" "$TR_TMP/delivered"
check_eq "no duplicates" 0 "$TF_DUPS"
ts_no_sanitizer_reports
tr_stop_stack
tr_finish
