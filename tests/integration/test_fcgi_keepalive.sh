#!/usr/bin/env bash
# test_fcgi_keepalive.sh - /register/ with far more concurrent clients than
# timerush-fcgi request threads, through an nginx that keeps many idle upstream
# connections (the launcher's `keepalive 32` per nginx worker, raised here to 256):
# no request may wait more than a second. With a process (or thread) held by each
# idle kept-alive connection, new requests would queue behind idle connections
# until those time out (seconds). Prints the round-trip figures.
set -u
: "${TR_SOURCE_DIR:?}" "${TR_BUILD_DIR:?}"
# shellcheck source=lib.sh
. "$TR_SOURCE_DIR/tests/integration/lib.sh"
tr_setup

THREADS=2 CLIENTS=24 N=3000
tr_start_stack --workers 1 --threads "$THREADS" || tr_finish

# A large upstream keepalive in the generated nginx.conf, then a reload (by pid).
conf="$TR_RUN/conf/nginx.conf"
sed -i 's/^\( *\)keepalive [0-9]*;/\1keepalive 256;/' "$conf"
check "nginx keeps 256 idle connections per worker" grep -q '^ *keepalive 256;' "$conf"
check "with fastcgi_keep_conn on" grep -q 'fastcgi_keep_conn on;' "$conf"
nginx_pid=$(cat "$TR_RUN/pids/nginx.pid")
old_workers=$(pgrep -P "$nginx_pid" | sort | tr '\n' ' ')
kill -HUP "$nginx_pid"
new_workers_up() {
    local now
    now=$(pgrep -P "$nginx_pid" | sort | tr '\n' ' ')
    [[ -n $now && " $now " != *" ${old_workers%% *} "* ]]
}
tr_wait_for "nginx reloaded with new workers" 10 new_workers_up

tsv="$TR_TMP/register.tsv"
"$TR_BUILD_DIR/bench/tr_bench_register" --url "$TR_URL" --callback "http://127.0.0.1:9/cb" \
    -n "$N" -c "$CLIENTS" --lo 86400 --hi 86400 --out "$tsv" 2>"$TR_TMP/driver.err"
check_eq "the driver registered every timer" 0 "$?"
check_eq "every request answered 200 with ret 0" "$N" \
    "$(awk -F'\t' '$5 == 200 && $6 == 0' "$tsv" | wc -l)"
check_eq "every answered timer is stored" "$N" "$(tr_due_count)"
# Round trips (t_answered_us - t_sent_us), sorted: p50, p99, max.
read -r p50 p99 max < <(awk -F'\t' '$4 > 0 {print $4 - $3}' "$tsv" | sort -n |
    awk '{a[NR] = $1} END {printf "%d %d %d\n", a[int(NR * 0.5)], a[int(NR * 0.99)], a[NR]}')
echo "# $N creates, $CLIENTS clients, 1 timerush-fcgi x $THREADS threads:" \
    "round trip p50 $((p50 / 1000)) ms, p99 $((p99 / 1000)) ms, max $((max / 1000)) ms"
check "no request waited a second or more (max $((max / 1000)) ms)" test "$max" -lt 1000000

# The situation the test is about: the process holds more idle kept-alive
# connections from nginx than it has threads (its Redis connections are TCP or
# the redis socket, the nginx ones are on fcgi.sock; count the unix stream
# sockets beyond the listener and the Redis ones).
fcgi_pid=$(awk '{print $1}' "$TR_RUN/pids/fcgi.pid")
socks=$(find "/proc/$fcgi_pid/fd" -lname 'socket:*' 2>/dev/null | wc -l)
# listener 1 + Redis: one per thread and one for the create group.
idle=$((socks - 1 - THREADS - 1))
echo "# timerush-fcgi holds $idle connections from nginx with $THREADS threads"
check "more kept-alive connections than threads ($idle > $THREADS)" test "$idle" -gt "$THREADS"

tr_stop_stack
tr_finish
