# shellcheck shell=bash
# tests/integration/lib_stream.sh - what the redis-stream:// tests share (sourced after
# lib.sh):
#   tr_start_stream_redis   a standalone redis-server of the test's own, with a password,
#                           for --stream-redis: sets XPORT, XPASS, XDIR (its password in
#                           $XDIR/password, 0600), XPID; xr ARGS... is redis-cli there
#   tr_stream_read STREAM GROUP CONSUMER CLI...
#                           every entry not yet handed to GROUP, read with XREADGROUP
#                           (COUNT 1000 until none is left) through the redis-cli
#                           command CLI... (e.g. xr), one JSON object a line:
#                           {"id":..,"key":..,"attempt":..,"due_ms":..,"data":..}
tr_start_stream_redis() {
    XPORT=$(tr_free_port)
    XDIR=$TR_TMP/xredis
    mkdir -p "$XDIR"
    XPASS=$(od -An -N16 -tx1 -v /dev/urandom | tr -d ' \n')
    printf '%s\n' "$XPASS" >"$XDIR/password"
    chmod 600 "$XDIR/password"
    redis-server --port "$XPORT" --bind 127.0.0.1 --dir "$XDIR" --save "" --appendonly no \
        --requirepass "$XPASS" --logfile "$XDIR/redis.log" </dev/null >/dev/null 2>&1 &
    XPID=$!
    tr_track_pid "$XPID"
    tr_poll 10 _tr_stream_redis_up
    check "the other Redis runs (port $XPORT, a password)" _tr_stream_redis_up
}
xr() { REDISCLI_AUTH=$XPASS redis-cli -p "$XPORT" "$@"; }
_tr_stream_redis_up() { [[ $(xr PING 2>/dev/null) == PONG ]]; }

tr_stream_read() {
    local stream=$1 group=$2 consumer=$3 out
    shift 3
    while :; do
        out=$("$@" --json XREADGROUP GROUP "$group" "$consumer" COUNT 1000 STREAMS "$stream" '>')
        [[ $out == null || -z $out ]] && break
        jq -c '(if type == "object" then to_entries[0].value else .[0][1] end)[] |
            {id: .[0]} + (.[1] | [recurse(.[2:]; length > 0) | {(.[0]): .[1]}] | add)' <<<"$out"
    done
}
