#!/usr/bin/env bash
# test_stream_external.sh - redis-stream:// targets in another Redis (--stream-redis,
# scheduler/tr_notify_xstream.h, docs/PROTOCOL.md "A stream in another Redis"): a
# due timer is XADDed to the stream NAME there (fields key, attempt, due_ms, data),
# then acked in TimeRush's Redis. Covers: 300 timers read with a real consumer group
# on the other Redis (every key once, the fields in order, a marker per firing with
# its TTL, nothing written to TimeRush's own stream key, no timer left pending); a
# stall of that Redis (SIGSTOP past --timeout-ms while timers fall due): each timer's
# XADDs of the attempts that timed out still run once Redis resumes, and the marker
# (--stream-dedupe-ms) keeps them to one entry: lost 0, duplicates 0; a password
# changed under the scheduler: deliveries fail with "AUTH refused" as the timer's
# last error and go through once it is set back; a stream key holding a string: the
# delivery fails with WRONGTYPE, sets no marker, and writes once the key is fixed; a
# bad --stream-redis is refused at start.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$(dirname "${BASH_SOURCE[0]}")/lib_stream.sh"
tr_setup

tr_start_stream_redis

check "a --stream-redis that is no address is refused at start" \
    bash -c '! "$1" --stream-redis "no-port" --check >/dev/null 2>&1' _ \
    "$TR_BUILD_DIR/scheduler/timerush-scheduler"
check "--stream-redis-password-file without --stream-redis is refused" \
    bash -c '! "$1" --stream-redis-password-file "$2" --check >/dev/null 2>&1' _ \
    "$TR_BUILD_DIR/scheduler/timerush-scheduler" "$XDIR/password"

tr_start_stack --stream-redis "127.0.0.1:$XPORT" --stream-redis-password-file "$XDIR/password" \
    --timeout-ms 1000 --connect-timeout-ms 500 --backoff-min-ms 200 --backoff-max-ms 400 \
    --max-body 262144 || tr_finish
check_eq "the consumer group is made on the other Redis" OK \
    "$(xr XGROUP CREATE orders g '$' MKSTREAM)"

# batch N PREFIX DELAY_MS: N timers PREFIX-1..N to redis-stream://orders, data "PREFIX-i".
batch() {
    local n=$1 p=$2 d=$3 i items=()
    for ((i = 1; i <= n; i++)); do
        items+=("{\"key\":\"$p-$i\",\"url\":\"redis-stream://orders\",\"data\":\"$p-$i\",\"delay_ms\":$d}")
    done
    tr_post /v1/timers/batch "{\"timers\":[$(IFS=,; echo "${items[*]}")]}" |
        jq '[.results[] | select(.status == 201)] | length'
}
xlen_at_least() { (($(xr XLEN orders) >= $1)); }
# The entries not read yet, one a line (read with the consumer group, not acked).
read_keys() { tr_stream_read orders g c1 xr; }

# --- delivery ----------------------------------------------------------------------
check_eq "300 timers created" 300 "$(batch 300 a 300)"
tr_wait_for "300 entries in the other Redis" 15 xlen_at_least 300
tr_wait_for "no timer left pending" 10 tr_no_timers_left
read_keys >"$TR_TMP/a.entries"
check_eq "XREADGROUP hands over 300 entries" 300 "$(wc -l <"$TR_TMP/a.entries")"
check_eq "each key once" 300 "$(jq -r .key "$TR_TMP/a.entries" | sort -u | wc -l)"
check_eq "the fields, in order" "id key attempt due_ms data" \
    "$(head -n1 "$TR_TMP/a.entries" | jq -r 'keys_unsorted | join(" ")')"
check_eq "data is the timer's" "" "$(jq -r 'select(.data != .key) | .key' "$TR_TMP/a.entries")"
check_eq "attempt 1" "" "$(jq -r 'select(.attempt != "1") | .key' "$TR_TMP/a.entries")"
ttl=$(xr PTTL "orders:timerush-sent:$(jq -r 'select(.key == "a-1") | .due_ms' "$TR_TMP/a.entries"):a-1")
check "the firing's marker is there, with the TTL of --stream-dedupe-ms (${ttl} ms)" \
    test "$ttl" -gt 3500000 -a "$ttl" -le 3600000
check_eq "nothing written to TimeRush's own stream key" 0 \
    "$(tr_redis EXISTS "{$TR_KEY}:stream:orders")"

# --- a stall past the timeout --------------------------------------------------------
retried0=$(tr_sum_shards HGET stats retried)
check_eq "200 timers created, due in 0.3 s" 200 "$(batch 200 b 300)"
kill -STOP "$XPID"
t_stop=$(tr_now_ms)
tr_sleep 2.5 # past --timeout-ms (1 s): outstanding XADDs time out, retries fail
kill -CONT "$XPID"
echo "# the other redis stalled $(($(tr_now_ms) - t_stop)) ms"
all_b() { [[ $(jq -r .key "$TR_TMP/b.entries" 2>/dev/null | sort -u | grep -c '^b-') == 200 ]]; }
collect_b() { read_keys >>"$TR_TMP/b.entries"; all_b; }
tr_wait_for "every timer of the stall got its entry" 20 collect_b
tr_wait_for "no timer left pending after the stall" 10 tr_no_timers_left
read_keys >>"$TR_TMP/b.entries"
lost=$(comm -23 <(seq 1 200 | sed 's/^/b-/' | sort) <(jq -r .key "$TR_TMP/b.entries" | sort -u) | wc -l)
dups=$(($(jq -r .key "$TR_TMP/b.entries" | wc -l) - $(jq -r .key "$TR_TMP/b.entries" | sort -u | wc -l)))
retried=$(($(tr_sum_shards HGET stats retried) - retried0))
echo "# stall: 200 timers, lost $lost, duplicated entries $dups, failed attempts retried $retried"
check_eq "lost = 0" 0 "$lost"
check_eq "duplicates = 0 (the attempts that timed out found the marker)" 0 "$dups"
check "the stall failed attempts (the fault hit something: $retried retried)" test "$retried" -gt 0

# --- a password changed under the scheduler -----------------------------------------
NEWPASS=$XPASS-new
xr CONFIG SET requirepass "$NEWPASS" >/dev/null
XPASS=$NEWPASS
xr CLIENT KILL TYPE normal >/dev/null
K=$(tr_post /v1/timers '{"key":"c-1","url":"redis-stream://orders","data":"c","delay_ms":100}' |
    jq -r '.timer.key // empty')
check_eq "a timer created" c-1 "$K"
last_error() { curl -s "$TR_URL/v1/timers/c-1" | jq -r '(.timer // .) | .last_error // empty'; }
refused() { [[ $(last_error) == *"AUTH refused"* ]]; }
tr_wait_for "its delivery fails with AUTH refused" 10 refused
echo "# last error: $(last_error)"
xr CONFIG SET requirepass "$(cat "$XDIR/password")" >/dev/null
XPASS=$(cat "$XDIR/password")
c_arrived() { read_keys >>"$TR_TMP/c.entries"; grep -q '"key":"c-1"' "$TR_TMP/c.entries"; }
tr_wait_for "delivered once the password is back" 15 c_arrived

# --- a key of another type ------------------------------------------------------------
xr SET wrong x >/dev/null
tr_post /v1/timers '{"key":"w-1","url":"redis-stream://wrong","data":"w","delay_ms":50}' >/dev/null
w_error() { curl -s "$TR_URL/v1/timers/w-1" | jq -r '(.timer // .) | .last_error // empty'; }
wrongtype() { [[ $(w_error) == *WRONGTYPE* ]]; }
tr_wait_for "a stream key holding a string fails the delivery with WRONGTYPE" 10 wrongtype
echo "# last error: $(w_error)"
check_eq "and sets no marker (a retry after the fix writes)" 0 \
    "$(xr --scan --pattern 'wrong:timerush-sent:*' | wc -l)"
xr DEL wrong >/dev/null
w_arrived() { [[ $(xr XLEN wrong) == 1 ]]; }
tr_wait_for "the key fixed, the retry writes the entry" 10 w_arrived

tr_stop_stack
tr_finish
