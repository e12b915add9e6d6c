#!/usr/bin/env bash
# test_fault_stream_kill9.sh - schedulers delivering to a Redis stream
# (redis-stream://, scheduler/tr_notify_stream.h) killed (SIGKILL) again and again
# between claim and the ack that XADDs the entry. N timers (TR_FAULT_N, 3,000) fall
# due in TR_FAULT_KILLS (8) clumps over TR_FAULT_SPREAD_MS (6 s); the scheduler
# ("victim") is killed as soon as it holds claims of each clump (polled every ms) and
# restarted at once under the same --scheduler-id (its restart gives back what the
# dead run held). The timers it held at each kill (claimed, entry not written: read
# from {P}:owner right after the kill) are the fault's reach.
# Proves: lost 0 (every timer has an entry); an entry is written only by the ack
# under the claim's fence, so a timer gets a second entry only if an ack was applied
# and the timer still delivered again, which the fence rules out: duplicates 0
# (checked, and bounded by the timers held at the kills as for HTTP in any case),
# each entry with the key and due_ms of its timer. --stream-maxlen 0 keeps every
# entry for the count.
set -uo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib_faults.sh"
ts_setup

n=${TR_FAULT_N:-3000}
spread_ms=${TR_FAULT_SPREAD_MS:-6000}
kills=${TR_FAULT_KILLS:-8}
echo "# size: $n timers over $spread_ms ms, $kills kills"
tr_start_stack --max-body 262144 || tr_finish
check "the stack's own scheduler is paused" ts_pause_stack_schedulers
SK=$(ts_k stream:ks)

# In clumps: clump k (n / kills timers) falls due at one instant, claimed at once by
# the victim, whose acks then take a while to be written: the window the kills aim at.
per=$((n / kills))
n=$((per * kills))
t_create=$(ts_now_ms)
due0=$((t_create + 2000))
step=$((spread_ms / kills))
: >"$TR_TMP/keys"
for ((k = 1; k <= kills; k++)); do
    tf_create_batch "$TR_TMP/keys.$k" "ks$k" "$per" "redis-stream://ks" \
        $((due0 + (k - 1) * step)) || break
    cat "$TR_TMP/keys.$k" >>"$TR_TMP/keys"
done
check_eq "$n timers to redis-stream://ks created through /v1/timers/batch" "$n" \
    "$(sort -u "$TR_TMP/keys" | wc -l)"
echo "# created $n in $(($(ts_now_ms) - t_create)) ms: $kills clumps of $per, due from" \
    "+2000 ms every $step ms"

sched_opts=(--stream-maxlen 0)
# TR_FAULT_STREAM_REDIS=1 (ctest fault_test_fault_stream_kill9_other): the stream is
# in another Redis (--stream-redis, its unix socket; scheduler/tr_notify_xstream.h).
# The entry and the ack are then two steps, so a kill between them delivers the timer
# again; the firing's marker (--stream-dedupe-ms) keeps it to one entry: the same
# checks hold.
if [[ ${TR_FAULT_STREAM_REDIS:-0} == 1 ]]; then
    mkdir -p "$TR_TMP/other"
    OSOCK=$TR_TMP/other/redis.sock
    redis-server --port 0 --unixsocket "$OSOCK" --unixsocketperm 700 --dir "$TR_TMP/other" \
        --save "" --appendonly no --logfile "$TR_TMP/other/redis.log" </dev/null >/dev/null 2>&1 &
    tr_track_pid $!
    other_up() { [[ $(redis-cli -s "$OSOCK" PING 2>/dev/null) == PONG ]]; }
    tr_poll 10 other_up
    check "the other Redis runs" other_up
    sredis() { redis-cli -s "$OSOCK" "$@"; }
    SK=ks
    sched_opts+=(--stream-redis "$OSOCK")
else
    sredis() { tr_redis "$@"; }
fi
ts_start_scheduler victim-0 --scheduler-id ks-victim "${sched_opts[@]}"
victim=victim-0

VICTIM_HELD='local n = 0 for _, v in ipairs(redis.call("HVALS", KEYS[1])) do
  if string.find(v, ":ks-victim/", 1, true) then n = n + 1 end end return n'
held_by_victim() {
    tr_redis HGETALL "$(ts_k owner)" |
        awk 'NR % 2 == 1 { k = $0; next } index($0, ":ks-victim/") { print k }'
}
: >"$TR_TMP/held_at_kills"
held_total=0 hits=0
for ((k = 1; k <= kills; k++)); do
    tr_sleep_until_ms $((due0 + (k - 1) * step - 300))
    # A stream delivery holds its claim only until its ack is written: one redis-cli
    # polls every ms (for at most ~3 s) how many claims the victim holds, and the
    # first nonzero answer kills it at once, inside that window.
    pid=${TS_SCHED_PID[$victim]}
    if [[ -n ${OSOCK:-} ]]; then
        # In another Redis the window is between the XADD and the ack: first wait (as
        # long, polled as often) for this clump's first entries; none left to write:
        # no more kills.
        before=$(sredis XLEN "$SK")
        ((before >= n)) && break
        sredis -r 3000 -i 0.001 XLEN "$SK" 2>/dev/null |
            while read -r c; do ((c > before)) && break; done
    fi
    tr_redis -r 3000 -i 0.001 EVAL "$VICTIM_HELD" 1 "$(ts_k owner)" 2>/dev/null |
        while read -r c; do ((c > 0)) && break; done
    kill -KILL "$pid"
    wait "$pid" 2>/dev/null
    held_by_victim >"$TR_TMP/held.$k"
    held=$(wc -l <"$TR_TMP/held.$k")
    held_total=$((held_total + held))
    ((held > 0)) && hits=$((hits + 1))
    cat "$TR_TMP/held.$k" >>"$TR_TMP/held_at_kills"
    if [[ -n ${OSOCK:-} ]]; then
        # Held at the kill with an entry written already: the timers whose second
        # delivery only the firing's marker keeps from a second entry.
        sredis --json XRANGE "$SK" - + | jq -r '.[] | .[1][1]' | sort >"$TR_TMP/written.$k"
        sort "$TR_TMP/held.$k" | comm -12 - "$TR_TMP/written.$k" >>"$TR_TMP/held_written"
        echo "# kill $k: held with an entry written (the XADD-ack window): $(sort "$TR_TMP/held.$k" | comm -12 - "$TR_TMP/written.$k" | wc -l)"
    fi
    echo "# kill $k at +$(($(ts_now_ms) - due0 - (k - 1) * step)) ms after clump $k's due time:" \
        "the victim held $held timers (claimed, not acked); entries so far $(sredis XLEN "$SK")"
    victim=victim-$k
    ts_start_scheduler "$victim" --scheduler-id ks-victim "${sched_opts[@]}"
done

entries() { sredis XLEN "$SK"; }
all_in() { (($(entries) >= n)); }
tr_wait_for "an entry for each of the $n timers" 60 all_in
echo "# in flight at the $kills kills: $held_total (kills that hit claims: $hits)"
check "the victim held claims at some kills (the fault hit the window)" test "$hits" -gt 0
sredis --json XRANGE "$SK" - + | jq -r '.[] | .[1] | [.[1], .[5]] | @tsv' >"$TR_TMP/delivered"
check_eq "every entry has the fields key, attempt, due_ms, data" "key attempt due_ms data" \
    "$(sredis --json XRANGE "$SK" - + | jq -r '[.[] | .[1] | [.[0], .[2], .[4], .[6]] | join(" ")] | unique | join(",")')"
recovered=$(cat "$TR_TMP"/sched.victim-*.log | grep -oE 'recovered [0-9]+ timers held by an earlier run' |
    awk '{s += $2} END {print s + 0}')
echo "# given back by the restarts: $recovered"
tf_check_outcome "$TR_TMP/keys" "$TR_TMP/delivered" "$TR_TMP/held_at_kills"
echo "# stream: $(entries) entries for $n timers; lost $TF_LOST, doubled $TF_DUPS keys ($TF_EXTRA extra entries; held at the kills $held_total)"
check_eq "no entry doubled (the fence: an entry only with its ack; in another Redis, the marker)" 0 "$TF_EXTRA"
if [[ -n ${OSOCK:-} ]]; then
    in_window=$(sort -u "$TR_TMP/held_written" 2>/dev/null | wc -l)
    echo "# another Redis: $in_window timers were held at a kill with their entry written (delivered again, one entry each)"
    check "some kills fell between an XADD and its ack ($in_window timers)" test "$in_window" -gt 0
fi
ts_no_sanitizer_reports
tr_stop_stack
tr_finish
