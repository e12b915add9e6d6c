# shellcheck shell=bash disable=SC2034
# lib_sched.sh - helpers for the scheduler guarantee tests (sourced after lib.sh).
#
# What lib.sh does not have and these tests share: extra timerush-scheduler processes
# started and stopped by PID, bulk registration, reading the sink's log, Redis keys
# of the store's data model (shared/tr_store.h), and a wall clock in ms without a fork.
# Every process started here is stopped by PID in lib.sh's cleanup trap, also when a
# test fails half-way.

TS_KEY=${TR_KEY:-_timerush_redis_data_}   # the stack's --key (lib.sh's TR_KEY)
declare -A TS_SCHED_PID=()                 # NAME -> pid of a scheduler started here
TS_RC=                                     # exit status from ts_stop_scheduler
TS_STOP_MS=                                # how long ts_stop_scheduler waited

# Wall clock, ms and µs, from bash itself (a fork would add noise to timing checks).
ts_now_ms() { tr_now_ms; }
ts_now_us() { tr_now_us; }

# Redis key of the data model: ts_k due -> {P}:due
ts_k() { printf '{%s}:%s' "$TS_KEY" "$1"; }

# Processes started here are stopped by PID in lib.sh's cleanup trap.
ts_track_pid() { tr_track_pid "$1"; }
ts_setup() { tr_setup; }

# TR_SCHED_BIN: another scheduler binary for the schedulers a test starts itself (a
# before/after comparison of one change in the same run; the stack's keeps the build's).
ts_sched_bin() { printf '%s\n' "${TR_SCHED_BIN:-$TR_BUILD_DIR/scheduler/timerush-scheduler}"; }

# ts_start_scheduler NAME [options...]: a timerush-scheduler on the stack's Redis (or
# cluster: lib.sh's tr_redis_opts), with the stack's prefix and password (its file, as
# the launcher passes it), logging to $TR_TMP/sched.NAME.log (stdout/stderr in .out).
ts_start_scheduler() {
    local name=$1 auth=() redis
    shift
    [[ -n "${TR_REDIS_PASSWORD_FILE:-}" && -r "$TR_REDIS_PASSWORD_FILE" ]] &&
        auth=(--redis-password-file "$TR_REDIS_PASSWORD_FILE")
    mapfile -t redis < <(tr_redis_opts)
    "$(ts_sched_bin)" "${redis[@]}" "${auth[@]}" --key "$TS_KEY" \
        --shards "$(tr_shards)" \
        --logpath "$TR_TMP/sched.$name.log" "$@" >"$TR_TMP/sched.$name.out" 2>&1 &
    TS_SCHED_PID[$name]=$!
    ts_track_pid $!
}

ts_sched_alive() { tr_alive "${TS_SCHED_PID[$1]}"; }

# ts_stop_scheduler NAME [DEADLINE_S] [SIGNAL]: signals it and waits for it to exit.
# Returns 0 when it exited within the deadline (its status in TS_RC), 1 otherwise
# (it is then killed). TS_STOP_MS is how long it took.
ts_stop_scheduler() {
    local name=$1 deadline_s=${2:-10} sig=${3:-TERM}
    local pid=${TS_SCHED_PID[$name]} t0 limit
    t0=$(ts_now_ms)
    limit=$((t0 + deadline_s * 1000))
    kill -"$sig" "$pid" 2>/dev/null || true
    while tr_alive "$pid"; do
        if (($(ts_now_ms) > limit)); then
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null
            TS_RC=timeout
            TS_STOP_MS=$(($(ts_now_ms) - t0))
            return 1
        fi
        sleep 0.01
    done
    TS_STOP_MS=$(($(ts_now_ms) - t0))
    wait "$pid" 2>/dev/null
    TS_RC=$?
    return 0
}

# ts_json_escape STRING: STRING as the inside of a JSON string.
ts_json_escape() {
    local s=$1
    s=${s//\\/\\\\}
    s=${s//\"/\\\"}
    printf '%s' "$s"
}

# ts_register URL DATA SECONDS: registers one timer, prints its key; fails (status 1,
# the answer on stderr) unless ret is 0.
ts_register() {
    local body answer key
    body=$(printf '{"callback_cmd":"%s","callback_data":"%s","seconds":%s}' \
        "$(ts_json_escape "$1")" "$(ts_json_escape "$2")" "$3")
    answer=$(tr_post /register/ "$body") || { echo "register failed: $answer" >&2; return 1; }
    key=$(jq -er 'select(.ret == 0) | .data.key' <<<"$answer" 2>/dev/null) || {
        echo "register answered: $answer" >&2
        return 1
    }
    printf '%s\n' "$key"
}

# ts_register_bulk KEYS_FILE URL PARALLEL < lines "SECONDS DATA": registers every line
# with curl --parallel (one process, kept-alive connections), writes the keys (in no
# particular order) to KEYS_FILE. URL and DATA hold no blank, quote or backslash (so
# no escaping is needed: one awk pass writes curl's config, even for thousands).
# Fails unless every answer had ret 0.
ts_register_bulk() {
    local keys=$1 url=$2 par=${3:-32} dir n got
    dir=$(mktemp -d "$TR_TMP/bulk.XXXXXX")
    cat >"$dir/specs"
    n=$(wc -l <"$dir/specs")
    if [[ $url == *[\"\\\ ]* ]] || grep -q '["\\]' "$dir/specs"; then
        echo "ts_register_bulk: quotes or backslashes in the input" >&2
        return 1
    fi
    # curl's config: one block per transfer, separated by "next" (a trailing "next"
    # would fail every transfer); inside quotes a quote needs a backslash.
    awk -v u="$TR_URL" -v cb="$url" -v dir="$dir" '{
        if (NR > 1) print "next"
        print "url = \"" u "/register/\""
        print "header = \"Content-Type: application/json\""
        printf "data = \"{\\\"callback_cmd\\\":\\\"%s\\\",\\\"callback_data\\\":\\\"%s\\\",\\\"seconds\\\":%s}\"\n", cb, $2, $1
        printf "output = \"%s/r.%d\"\n", dir, NR
    }' "$dir/specs" >"$dir/curl.cfg"
    curl -sS --parallel --parallel-immediate --parallel-max "$par" -K "$dir/curl.cfg" \
        2>"$dir/curl.err" || true
    # The answers are JSON objects one after another; jq reads them as a stream.
    cat "$dir"/r.* 2>/dev/null | jq -r 'select(.ret == 0) | .data.key // empty' >"$keys" \
        2>"$dir/jq.err"
    got=$(sort -u "$keys" | wc -l)
    if ((got != n)); then
        echo "bulk register: $got of $n answered ret 0 with a key;" \
            "curl: $(head -c 300 "$dir/curl.err"); an answer: $(cat "$dir"/r.1 2>/dev/null)" >&2
        return 1
    fi
    rm -rf "$dir"
}

# --- the sink's log: one JSON object per request --------------------------------

ts_sink_lines() { [[ -f $1 ]] && wc -l <"$1" || echo 0; }

# ts_sink_field LOG FIELD: that field of every request, one a line.
ts_sink_field() { [[ -f $1 ]] && jq -r ".$2" "$1"; }

# ts_sink_count_key LOG KEY: requests that carried KEY.
ts_sink_count_key() {
    [[ -f $1 ]] || { echo 0; return; }
    jq -r --arg k "$2" 'select(.key == $k) | .key' "$1" | wc -l
}

# ts_all_delivered KEYS_FILE LOG...: true when every key in KEYS_FILE is in some LOG.
# Polled: while the logs hold fewer lines than KEYS_FILE has distinct keys it answers
# false at once, with builtins (the full check forks five programs and parses every
# log); the distinct count is kept per file and length.
declare -gA TS_KEYS_DISTINCT=()
ts_all_delivered() {
    local keys=$1 f lines=0 want k
    shift
    local l=()
    mapfile -t l <"$keys" || return 1
    want=${TS_KEYS_DISTINCT["$keys:${#l[@]}"]:-}
    if [[ -z $want ]]; then
        local -A u=()
        for k in "${l[@]}"; do u["x$k"]=1; done
        want=${#u[@]}
        TS_KEYS_DISTINCT["$keys:${#l[@]}"]=$want
    fi
    for f in "$@"; do
        [[ -f $f ]] || continue
        mapfile -t l <"$f"
        lines=$((lines + ${#l[@]}))
    done
    ((lines >= want)) || return 1
    [[ -z $(ts_missing "$keys" "$@") ]]
}

# ts_missing KEYS_FILE LOG...: keys of KEYS_FILE that no request carried.
ts_missing() {
    local keys=$1
    shift
    local logs=()
    local f
    for f in "$@"; do [[ -f $f ]] && logs+=("$f"); done
    if ((${#logs[@]} == 0)); then
        sort -u "$keys"
        return
    fi
    comm -23 <(sort -u "$keys") <(jq -r .key "${logs[@]}" | sort -u)
}

# ts_duplicates LOG...: keys carried by more than one request, with their count.
ts_duplicates() { jq -r .key "$@" | sort | uniq -cd | awk '{print $2 " x" $1}'; }

# --- Redis -------------------------------------------------------------------

# ts_zcard NAME: the sorted set NAME's size, all shards added.
ts_zcard() { tr_sum_shards ZCARD "$1"; }
# ts_stat NAME: the {P}:stats counter NAME, all shards added.
ts_stat() { tr_sum_shards HGET stats "$1"; }

# ts_meta KEY: the timer's last-failure JSON ({P}:meta), empty when none.
ts_meta() { tr_redis HGET "$(tr_k_of "$1" meta)" "$1"; }

# ts_attempts KEY: deliveries started ({P}:attempts), 0 when none.
ts_attempts() {
    local n
    n=$(tr_redis HGET "$(tr_k_of "$1" attempts)" "$1")
    printf '%s\n' "${n:-0}"
}

# ts_true_for DESC MS CMD...: CMD must keep succeeding for MS milliseconds (checked
# every 20 ms). Only for "nothing more happens" checks, which no deadline can replace.
ts_true_for() {
    local desc=$1 ms=$2 limit
    shift 2
    limit=$(($(ts_now_ms) + ms))
    while tr_before_ms "$limit"; do
        "$@" || { check "$desc" false; return 1; }
        sleep 0.02
    done
    check "$desc" true
}

# ts_percentile P FILE: the P-th percentile (nearest rank) of the numbers in FILE.
ts_percentile() {
    sort -n "$2" | awk -v p="$1" '{v[NR]=$1} END {
        if (NR == 0) { print "nan"; exit }
        r = int((p / 100) * NR + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR; print v[r] }'
}

# ts_sched_delivered LOG KEYS_FILE: how many keys of KEYS_FILE the scheduler that wrote
# LOG delivered, from its per-timer lines "... key=<key> delivered status=..".
ts_sched_delivered() {
    [[ -f $1 ]] || { echo 0; return; }
    grep -oE 'key=[^ ]+ delivered' "$1" | cut -d' ' -f1 | cut -d= -f2- |
        sort -u | comm -12 - <(sort -u "$2") | wc -l
}

# --- pausing the stack's own schedulers -------------------------------------------
# The launcher runs at least one scheduler and stops the whole stack when one exits,
# so a test that wants only its own schedulers (started above, killed or signalled at
# will) pauses the stack's with SIGSTOP while they hold nothing, and resumes them
# before the stack is stopped (tr_cleanup is wrapped for that, also on failure).

TS_PAUSED=()

ts_paused_state() { # PID: true when the process is stopped (state T)
    local s
    s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    s=${s##*) }
    [[ ${s%% *} == T ]]
}

# ts_pause_stack_schedulers: SIGSTOP every scheduler of the stack; waits until each is
# stopped. Call before registering timers: then they hold no lease.
ts_pause_stack_schedulers() {
    local f pid
    for f in "$TR_RUN"/pids/scheduler.*.pid; do
        [[ -f $f ]] || continue
        pid=$(head -n1 "$f")
        kill -STOP "$pid" || return 1
        TS_PAUSED+=("$pid")
        tr_poll 5 ts_paused_state "$pid" || return 1
    done
    ((${#TS_PAUSED[@]} > 0)) && (($(ts_zcard inflight) == 0))
}

ts_resume_stack_schedulers() {
    local pid
    for pid in "${TS_PAUSED[@]}"; do kill -CONT "$pid" 2>/dev/null; done
    TS_PAUSED=()
}

# Wrap lib.sh's cleanup (the trap calls it by name): resume first, or the launcher
# would wait on a stopped process that cannot see its SIGTERM.
eval "ts_lib_cleanup() $(declare -f tr_cleanup | tail -n +2)"
tr_cleanup() {
    ts_resume_stack_schedulers
    ts_lib_cleanup
}
tr_stop_stack_orig=$(declare -f tr_stop_stack | tail -n +2)
eval "ts_lib_stop_stack() $tr_stop_stack_orig"
unset tr_stop_stack_orig
tr_stop_stack() {
    ts_resume_stack_schedulers
    ts_lib_stop_stack
}

# --- a Redis of the test's own -----------------------------------------------------
# The launcher also stops the whole stack when its embedded redis exits; a test that
# stops and restarts Redis gives the stack an existing one (--redis-socket) instead.

# ts_start_redis: a redis-server on a unix socket in $TR_TMP/redis, appendonly like
# the launcher's; sets TS_REDIS_SOCK, TS_REDIS_CONF, TS_REDIS_PID. Restart with
# ts_restart_redis after stopping it.
ts_start_redis() {
    local d=$TR_TMP/redis
    mkdir -p "$d"
    TS_REDIS_SOCK=$d/redis.sock
    TS_REDIS_CONF=$d/redis.conf
    cat >"$TS_REDIS_CONF" <<CONF
port 0
unixsocket $TS_REDIS_SOCK
unixsocketperm 700
dir $d
daemonize no
appendonly yes
appendfsync everysec
save ""
logfile $d/redis.log
CONF
    ts_restart_redis
}

ts_restart_redis() {
    redis-server "$TS_REDIS_CONF" </dev/null >/dev/null 2>&1 &
    TS_REDIS_PID=$!
    tr_track_pid "$TS_REDIS_PID"
    tr_poll 10 ts_redis_up
}

ts_redis_up() { [[ $(redis-cli -s "$TS_REDIS_SOCK" PING 2>/dev/null) == PONG ]]; }

# ts_no_sanitizer_reports: a check that no scheduler, worker or sink wrote an
# AddressSanitizer or UBSan report (with -DTR_SANITIZE=ON they report and exit).
ts_no_sanitizer_reports() {
    local files=()
    local f
    for f in "$TR_TMP"/sched.*.out "$TR_TMP"/sched.*.log "$TR_TMP"/sink.*.err \
        "${TR_RUN:-/nonexistent}"/log/*.log; do
        [[ -f $f ]] && files+=("$f")
    done
    if ((${#files[@]} == 0)); then
        check "no sanitizer reports" true
        return
    fi
    local hits
    hits=$(grep -lE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "${files[@]}")
    check_eq "no sanitizer reports" "" "$hits"
}

# ts_start_tls_front: sink A behind an nginx that demands a client certificate
# (tests/integration/tls/), for https deliveries. Sets certs (the CA, server and client
# PEMs), https_port and url (https://127.0.0.1:PORT, proxied to sink A).
ts_start_tls_front() {
    certs=$TR_TMP/certs
    check "test certificates made" "$here/tls/make_certs.sh" "$certs"

    tr_start_sink A || tr_finish
    https_port=$(tr_free_port)
    check "nginx TLS config rendered" "$here/tls/render_nginx.sh" "$TR_TMP" "$certs" "$https_port" \
        "127.0.0.1:${SINK_A_URL##*:}"
    nginx -p "$TR_TMP" -c "$TR_TMP/nginx-tls.conf" >"$TR_TMP/nginx-tls.out" 2>&1 &
    ts_track_pid $!
    # Ready when a TLS handshake with the client certificate gets an HTTP answer.
    https_up() {
        curl -s -o /dev/null --cacert "$certs/ca.pem" --cert "$certs/client.pem" \
            "https://127.0.0.1:$https_port/ready"
    }
    tr_wait_for "the TLS front answers" 10 https_up
    url=https://127.0.0.1:$https_port
}
