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

ts_sched_bin() { printf '%s\n' "$TR_BUILD_DIR/scheduler/timerush-scheduler"; }

# ts_start_scheduler NAME [options...]: a timerush-scheduler on the stack's Redis, with
# the stack's prefix, logging to $TR_TMP/sched.NAME.log (stdout/stderr in .out).
ts_start_scheduler() {
    local name=$1
    shift
    "$(ts_sched_bin)" --redis-socket "$TR_REDIS_SOCK" --key "$TS_KEY" \
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
ts_all_delivered() {
    local keys=$1
    shift
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

ts_zcard() { tr_redis ZCARD "$(ts_k "$1")"; }

# ts_meta KEY: the timer's last-failure JSON ({P}:meta), empty when none.
ts_meta() { tr_redis HGET "$(ts_k meta)" "$1"; }

# ts_attempts KEY: deliveries started ({P}:attempts), 0 when none.
ts_attempts() {
    local n
    n=$(tr_redis HGET "$(ts_k attempts)" "$1")
    printf '%s\n' "${n:-0}"
}

# ts_true_for DESC MS CMD...: CMD must keep succeeding for MS milliseconds (checked
# every 20 ms). Only for "nothing more happens" checks, which no deadline can replace.
ts_true_for() {
    local desc=$1 ms=$2 limit
    shift 2
    limit=$(($(ts_now_ms) + ms))
    while (($(ts_now_ms) < limit)); do
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
# LOG delivered, from its per-timer "delivered" lines (the key starts the line's text).
ts_sched_delivered() {
    [[ -f $1 ]] || { echo 0; return; }
    grep -i 'delivered' "$1" |
        grep -oE '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}' |
        sort -u | comm -12 - <(sort -u "$2") | wc -l
}
