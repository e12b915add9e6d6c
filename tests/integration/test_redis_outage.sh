#!/usr/bin/env bash
# Redis goes away mid-test: /register/ answers ret 10 quickly (never hangs), the
# scheduler stays alive; Redis comes back: /register/ works again and a timer
# registered before the outage is still delivered.
#
# Round 1 kills the launcher's embedded redis (the documented restart is
# `redis-server RUN/conf/redis.conf`). Should the launcher not survive that, round 2
# repeats the outage on a Redis this test runs itself (--redis-socket), so the
# programs' own behaviour is still tested.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tr_setup
tr_start_sink A
tr_start_stack || tr_finish

redis_up() { [[ $(tr_redis PING 2>/dev/null) == PONG ]]; }
ret_of() { jq -r '.ret // empty' 2>/dev/null <<<"$1"; }

# outage LABEL REDIS_PID REDIS_CONF CHECK_LAUNCHER
outage() {
    local label=$1 rpid=$2 conf=$3 check_launcher=$4
    local kb ka t0 ans ms sched
    kb=$(tr_register "$SINK_A_URL/before-$label" '"before"' 6)
    check "[$label] a timer registers before the outage" test -n "$kb"
    sched=$(head -n 1 "$TR_RUN/pids/scheduler.1.pid" 2>/dev/null)

    kill -KILL "$rpid"
    tr_poll 5 bash -c "! kill -0 $rpid 2>/dev/null" # gone (a zombie counts as gone)
    local i
    for i in 1 2; do
        t0=$(tr_now_ms)
        ans=$(TR_POST_MAX_TIME=5 tr_post /register/ \
            "{\"callback_cmd\":\"$SINK_A_URL/during\",\"callback_data\":\"x\",\"seconds\":1}" 2>&1)
        ms=$(($(tr_now_ms) - t0))
        check_eq "[$label] /register/ while Redis is down answers ret 10 (try $i, ${ms} ms)" 10 "$(ret_of "$ans")"
        check "[$label] ... within 3 s (${ms} ms)" test "$ms" -le 3000
    done
    ans=$(TR_POST_MAX_TIME=5 tr_post /unregister/ "{\"key\":\"$kb\"}" 2>&1)
    check_eq "[$label] /unregister/ while Redis is down answers ret 10" 10 "$(ret_of "$ans")"
    check "[$label] the scheduler is alive during the outage" tr_alive "$sched"
    if [[ "$check_launcher" == 1 ]]; then
        check "[$label] the launcher is alive during the outage" tr_alive "$TR_LAUNCHER_PID"
        check "[$label] nginx is alive during the outage" tr_alive "$(head -n 1 "$TR_RUN/pids/nginx.pid")"
    fi

    redis-server "$conf" >>"$TR_TMP/redis-restart.log" 2>&1 </dev/null &
    tr_track_pid $!
    tr_wait_for "[$label] redis is back" 10 redis_up
    tr_wait_for "[$label] /register/ works again" 5 \
        bash -c "[[ \$(curl -sS --max-time 5 -X POST --data-binary '{\"callback_cmd\":\"$SINK_A_URL/after-$label\",\"callback_data\":\"after\",\"seconds\":1}' $TR_URL/register/ | jq -r .ret) == 0 ]]"
    check "[$label] the scheduler is still alive" tr_alive "$sched"
    tr_wait_for "[$label] the timer registered after the outage is delivered" 8 \
        tr_sink_has A 1 "select(.path == \"/after-$label\")"
    tr_wait_for "[$label] the timer registered before the outage is delivered" 10 \
        tr_sink_has A 1 "select(.key == \"$kb\")"
    check_eq "[$label] ... exactly once" 1 "$(tr_sink_count A "select(.key == \"$kb\")")"
    check_eq "[$label] nothing registered during the outage is delivered" 0 \
        "$(tr_sink_count A 'select(.path == "/during")')"
}

outage embedded "$(head -n 1 "$TR_RUN/pids/redis.pid")" "$TR_RUN/conf/redis.conf" 1

if ! tr_alive "$TR_LAUNCHER_PID"; then
    tr_fail "the launcher survives an outage of its redis" \
        "it exited: $(tail -n 3 "$TR_TMP/launcher.$TR_STACK_N.err" | tr '\n' ' ')"
    tr_stop_stack
    # Round 2: a Redis the launcher does not supervise.
    EXT=$TR_TMP/ext-redis
    mkdir -p "$EXT"
    cat >"$EXT/redis.conf" <<CONF
daemonize no
port 0
unixsocket $EXT/redis.sock
unixsocketperm 700
dir $EXT
appendonly yes
appendfsync everysec
logfile $EXT/redis.log
CONF
    redis-server "$EXT/redis.conf" </dev/null &
    EXT_PID=$!
    tr_track_pid "$EXT_PID"
    TR_REDIS_SOCK=$EXT/redis.sock
    tr_poll 10 redis_up
    TR_RUN=$TR_TMP/stack2 TR_LISTEN_PORT=
    TR_LISTEN_PORT=$(tr_free_port)
    if tr_start_stack --redis-socket "$EXT/redis.sock"; then
        TR_REDIS_SOCK=$EXT/redis.sock
        outage external "$EXT_PID" "$EXT/redis.conf" 0
    fi
fi

tr_stop_stack
tr_finish
