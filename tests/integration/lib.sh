# lib.sh - sourced by every integration test (bash).
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#   tr_setup
#   tr_start_sink A --answer ok
#   tr_start_stack --backoff-min-ms 100
#   check_eq "register answers ret 0" 0 "$(tr_post /register/ "$json" | jq .ret)"
#   tr_finish
#
# Environment: TR_SOURCE_DIR (the checkout) and TR_BUILD_DIR (the build with
# timerush-fcgi, timerush-scheduler and tests/sink/timerush-sink); ctest sets both,
# run by hand they default to this checkout and its ./build. TR_KEEP=1 keeps the
# temp dir. Every process a test starts is stopped by PID in the cleanup trap, also
# when the test fails; the stack's own children are found in its pid files.

: "${TR_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${TR_BUILD_DIR:=$TR_SOURCE_DIR/build}"
# TR_TEST_CLUSTER=1: the stack runs on the Redis Cluster that tests/cluster/with_cluster.sh
# started (TR_TEST_CLUSTER_PORTS, masters first, and TR_TEST_CLUSTER_PASSWORD) instead of
# an embedded Redis: see "on a Redis Cluster" below. Its key prefix names the test and
# the shell, as several tests may share one cluster (a ctest fixture), and its
# --shards defaults to 16 (the launcher refuses fewer than 2 on a cluster).
if [[ ${TR_TEST_CLUSTER:-} == 1 ]]; then
    _tr_script=${0##*/}
    : "${TR_KEY:=itc-${_tr_script%.sh}-$$}" "${TR_TEST_SHARDS:=16}"
    export TR_TEST_SHARDS
fi
: "${TR_KEY:=_timerush_redis_data_}"
export TR_SOURCE_DIR TR_BUILD_DIR

TR_PASSED=0
TR_FAILED=0
TR_PIDS=()            # processes this test started itself (sinks, a hand-started redis)
TR_LAUNCHER_PID=""
TR_STACK_N=0

# --- results -------------------------------------------------------------------

# Every result line ends with the seconds since the test started ("[12.3 s]"): the
# slow steps of a slow test show in its ctest output.
TR_T0_US=${EPOCHREALTIME/./}
tr_elapsed() {
    local us=$((${EPOCHREALTIME/./} - TR_T0_US))
    printf '[%d.%d s]' $((us / 1000000)) $((us / 100000 % 10))
}
# Without $(tr_elapsed): a subshell's fork costs ~10 ms here, once per check.
tr_pass() { TR_PASSED=$((TR_PASSED + 1)); printf 'ok - %s ' "$1"; tr_elapsed; echo; }
tr_fail() { TR_FAILED=$((TR_FAILED + 1)); printf 'not ok - %s ' "$1${2:+ ($2)}"; tr_elapsed; echo; }

# check DESC CMD...: passes when CMD exits 0.
check() {
    local desc=$1
    shift
    if "$@" >/dev/null 2>&1; then
        tr_pass "$desc"
    else
        tr_fail "$desc" "command failed: $*"
        return 1
    fi
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
    if [[ "$2" == "$3" ]]; then
        tr_pass "$1"
    else
        tr_fail "$1" "expected '$2', got '$3'"
        return 1
    fi
}

# tr_finish: the last line is "N passed, N failed"; exit 1 if any failed or none ran.
tr_finish() {
    echo "$TR_PASSED passed, $TR_FAILED failed"
    if ((TR_FAILED > 0 || TR_PASSED == 0)); then
        exit 1
    fi
    exit 0
}

# --- time and waiting ----------------------------------------------------------

# Wall clock in ms / µs, from bash itself (no fork).
tr_now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
tr_now_us() { echo "${EPOCHREALTIME/./}"; }
# Loops that wait on the clock use these, not $(tr_now_ms): a subshell's fork costs
# ~10 ms of CPU here, and the suite is CPU-bound.
# tr_before_ms T: true while the clock (tr_now_ms) is before T.
tr_before_ms() { local t=${EPOCHREALTIME/./}; ((t / 1000 < $1)); }
# tr_sleep_until_ms T: returns once the clock reached T, in one sleep.
tr_sleep_until_ms() {
    local left=$(($1 * 1000 - ${EPOCHREALTIME/./})) frac
    ((left > 0)) || return 0
    printf -v frac '%06d' $((left % 1000000))
    tr_sleep "$((left / 1000000)).$frac"
}

# Seconds (whole or with a fraction, e.g. 2.5) to µs.
tr_s_to_us() {
    local s=$1 int frac
    int=${s%%.*}
    [[ "$s" == *.* ]] && frac=${s#*.} || frac=""
    frac=${frac}000000
    echo $(( ${int:-0} * 1000000 + 10#${frac:0:6} ))
}

# tr_sleep SECONDS: sleeps without a fork. The suite is CPU-bound on 2 cores, and
# `sleep` in a 20 ms polling loop cost a fork and an exec each time, so lib.sh loads
# bash's loadable sleep builtin (Debian's bash-builtins, a run dependency): every
# `sleep` of a test is then the builtin. Not `read -t` on a fifo (the earlier way):
# bash 5.2's read restores, when its timeout fires before its read loop began, a
# signal mask it never saved; a loaded machine can deschedule a shell that long, and
# the launcher, which did the same, was once left with SIGTERM blocked (timerush,
# pause). Without the builtin, tr_sleep forks sleep.
enable -f /usr/lib/bash/sleep sleep 2>/dev/null || true
tr_sleep() {
    sleep "$1"
    return 0
}

# tr_poll_pause N: the pause after the Nth failed try ($1, from 0) of a poll: 10 ms, then
# doubling up to 100 ms. A condition that holds soon is seen within ~10 ms; a long
# wait polls its (forking) command 10 times a second, not 50.
# A test watching for a short-lived state sets TR_POLL_FAST=1: 10 ms, then 20 ms.
tr_poll_pause() {
    if [[ -n ${TR_POLL_FAST:-} ]]; then
        if (($1 >= 1)); then tr_sleep 0.02; else tr_sleep 0.01; fi
    elif (($1 >= 4)); then
        tr_sleep 0.1
    else
        tr_sleep "0.0$((1 << $1))"
    fi
}

# tr_wait_for DESC TIMEOUT_S CMD...: polls CMD (tr_poll_pause between tries) until it
# succeeds (ok) or the deadline passes (not ok, returns 1).
tr_wait_for() {
    local _tr_desc=$1 _tr_timeout=$2
    shift 2
    if tr_poll "$_tr_timeout" "$@"; then
        tr_pass "$_tr_desc"
        return 0
    fi
    tr_fail "$_tr_desc" "not true after ${_tr_timeout}s: $*"
    return 1
}

# tr_poll TIMEOUT_S CMD...: like tr_wait_for but records nothing (for helpers).
# (Its locals are _tr_ names: bash scopes dynamically, and CMD is often a test's
# function reading the test's own globals, such as n.)
tr_poll() {
    local _tr_timeout_s=$1 _tr_tries=0
    shift
    local _tr_deadline=$((${EPOCHREALTIME/./} + $(tr_s_to_us "$_tr_timeout_s")))
    until "$@" >/dev/null 2>&1; do
        ((${EPOCHREALTIME/./} >= _tr_deadline)) && return 1
        tr_poll_pause $((_tr_tries++))
    done
    return 0
}

# --- setup and cleanup ---------------------------------------------------------

tr_setup() {
    TR_TMP=$(mktemp -d "${TMPDIR:-/tmp}/timerush-it.XXXXXX") || exit 1
    trap tr_cleanup EXIT
    trap 'tr_cleanup; trap - EXIT; exit 130' INT
    trap 'tr_cleanup; trap - EXIT; exit 143' TERM
    local tool
    for tool in curl jq redis-cli; do
        command -v "$tool" >/dev/null || { echo "not ok - $tool is not installed"; exit 1; }
    done
    if tr_on_cluster; then tr_cluster_use || tr_finish; fi
}

# Is PID alive (and not a zombie)?
# (Read by the shell itself: this runs in every wait loop.)
tr_alive() {
    local stat
    { IFS= read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    stat=${stat##*) } # the state follows the command name, which may hold spaces
    [[ -n $stat && ${stat%% *} != [ZX] ]]
}

# tr_kill_wait SIG DEADLINE_S PID...: signals each PID, waits until all are gone.
# Returns 1 when some still lives at the deadline.
tr_kill_wait() {
    local sig=$1 timeout_s=$2 pid
    shift 2
    for pid in "$@"; do kill "-$sig" "$pid" 2>/dev/null; done
    local deadline=$((${EPOCHREALTIME/./} + $(tr_s_to_us "$timeout_s")))
    while :; do
        local left=0
        for pid in "$@"; do tr_alive "$pid" && left=1; done
        ((left == 0)) && return 0
        ((${EPOCHREALTIME/./} >= deadline)) && return 1
        tr_sleep 0.02
    done
}

# Every pid the stack recorded in its pid files (one per line), launcher's excluded.
tr_stack_pids() {
    [[ -n "${TR_RUN:-}" && -d "$TR_RUN/pids" ]] || return 0
    local f line
    for f in "$TR_RUN"/pids/*.pid; do
        [[ -f $f && $f != */launcher.pid ]] || continue
        while IFS= read -r line || [[ -n $line ]]; do
            [[ $line =~ ^[0-9]+$ ]] && printf '%s\n' "$line"
        done <"$f"
    done
    return 0
}

tr_cleanup() {
    local pids=() pid
    if [[ -n "$TR_LAUNCHER_PID" ]] && tr_alive "$TR_LAUNCHER_PID"; then
        tr_kill_wait TERM 15 "$TR_LAUNCHER_PID" || tr_kill_wait KILL 5 "$TR_LAUNCHER_PID"
    fi
    # Whatever the launcher left behind (it was killed, or it failed to stop them).
    for pid in $(tr_stack_pids); do tr_alive "$pid" && pids+=("$pid"); done
    for pid in "${TR_PIDS[@]}"; do tr_alive "$pid" && pids+=("$pid"); done
    if ((${#pids[@]} > 0)); then
        tr_kill_wait TERM 5 "${pids[@]}" || tr_kill_wait KILL 5 "${pids[@]}"
    fi
    if ((TR_FAILED > 0)) && [[ -n "${TR_RUN:-}" && -d "$TR_RUN/log" ]]; then
        local f
        for f in "$TR_TMP"/launcher.*.err "$TR_RUN"/log/*.log "$TR_TMP"/sched.*.log; do
            [[ -s "$f" ]] || continue
            echo "--- last lines of $f" >&2
            tail -n 15 "$f" >&2
        done
    fi
    if [[ -n "${TR_TMP:-}" && -d "$TR_TMP" ]]; then
        if [[ "${TR_KEEP:-0}" == 1 ]]; then
            echo "# kept $TR_TMP" >&2
        else
            rm -rf "$TR_TMP"
        fi
    fi
}

# tr_track_pid PID: stop PID in the cleanup trap (for processes a test starts itself).
tr_track_pid() { TR_PIDS+=("$1"); }

# --- ports ---------------------------------------------------------------------

# Prints a TCP port on 127.0.0.1 that nobody listens on.
tr_free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' && return 0
    fi
    local port i
    for i in $(seq 1 200); do
        port=$((20000 + RANDOM % 30000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    return 1
}

# --- the stack -----------------------------------------------------------------

# tr_file_has_prefix FILE PREFIX: does a line of FILE begin with PREFIX? (No fork.)
tr_file_has_prefix() {
    local line
    [[ -r $1 ]] || return 1
    while IFS= read -r line || [[ -n $line ]]; do
        [[ $line == "$2"* ]] && return 0
    done <"$1"
    return 1
}

# tr_start_stack [launcher options...]: starts ./timerush in the background on
# $TR_TMP/stack (kept across restarts, as is the port) and waits for its ready line.
# Sets TR_URL, TR_RUN, TR_REDIS_SOCK, TR_LAUNCHER_PID. Returns 1 (after a not ok)
# when it does not get ready within 60 s. Unless the options name --workers, the
# stack runs TR_TEST_WORKERS (default 2) timerush-fcgi processes, not the launcher's
# 8: starting and stopping 8 per test cost about a second each, ~50 times a build.
tr_start_stack() {
    : "${TR_RUN:=$TR_TMP/stack}"
    : "${TR_LISTEN_PORT:=$(tr_free_port)}"
    TR_STACK_N=$((TR_STACK_N + 1))
    local out="$TR_TMP/launcher.$TR_STACK_N.out" err="$TR_TMP/launcher.$TR_STACK_N.err"
    local workers=(--workers "${TR_TEST_WORKERS:-2}") shards=()
    [[ " $* " == *" --workers "* ]] && workers=()
    # TR_TEST_SHARDS: the stack's --shards (the sharded variants of some tests).
    [[ -n ${TR_TEST_SHARDS:-} && " $* " != *" --shards "* ]] && shards=(--shards "$TR_TEST_SHARDS")
    TR_REDIS_SOCK="$TR_RUN/redis/redis.sock"
    TR_REDIS_PASSWORD_FILE="$TR_RUN/run/redis.password"
    local redis=()
    if tr_on_cluster; then
        TR_REDIS_PASSWORD_FILE=$TR_TMP/cluster.password
        mapfile -t redis < <(tr_redis_opts)
        # (A test that gives the password itself gives the cluster's.)
        [[ " $* " == *" --redis-password"[\ -]* ]] ||
            redis+=(--redis-password-file "$TR_REDIS_PASSWORD_FILE")
        [[ " $* " == *" --key "* ]] || redis+=(--key "$TR_KEY")
    fi
    (
        exec "$TR_SOURCE_DIR/timerush" --no-build --no-install --build-dir "$TR_BUILD_DIR" \
            --run-dir "$TR_RUN" --listen-port "$TR_LISTEN_PORT" "${workers[@]}" "${shards[@]}" \
            "${redis[@]}" "$@" >"$out" 2>"$err" </dev/null
    ) &
    TR_LAUNCHER_PID=$!
    TR_URL="http://127.0.0.1:$TR_LISTEN_PORT"
    # 60 s: a start takes 1-5 s, and 30 s was seen at load 19.
    local deadline=$((${EPOCHREALTIME/./} + 60 * 1000000))
    until tr_file_has_prefix "$out" 'TimeRush ready:'; do
        if ! tr_alive "$TR_LAUNCHER_PID"; then
            tr_fail "stack $TR_STACK_N starts" "launcher exited; stderr: $(tail -n 5 "$err" | tr '\n' ' ')"
            return 1
        fi
        if ((${EPOCHREALTIME/./} >= deadline)); then
            tr_fail "stack $TR_STACK_N starts" "no ready line after 60 s"
            return 1
        fi
        tr_sleep 0.02
    done
    # On a cluster: the stack must really be on it (not on a Redis of its own).
    if tr_on_cluster && ! grep -q "redis: cluster $(tr_cluster_seeds)," "$out"; then
        tr_fail "stack $TR_STACK_N runs on the cluster" "ready line: $(cat "$out")"
        return 1
    fi
    return 0
}

# tr_stop_stack: SIGTERM to the launcher; not ok when it or any process it started
# is still there after 20 s (those are then killed).
tr_stop_stack() {
    [[ -n "$TR_LAUNCHER_PID" ]] || return 0
    local pid=$TR_LAUNCHER_PID children=() left=() p
    for p in $(tr_stack_pids); do children+=("$p"); done
    if ! tr_kill_wait TERM 20 "$pid"; then
        # Seen once in 240 stops (a fresh Debian root, ASan build), not reproduced
        # since: say what the launcher was doing and which signals it blocked,
        # ignored and caught, so the next one explains itself.
        tr_fail "launcher stops on SIGTERM" "pid $pid still running after 20 s: $(
            grep -E '^(State|SigPnd|ShdPnd|SigBlk|SigIgn|SigCgt):' "/proc/$pid/status" 2>/dev/null |
                tr -s '\t\n' '  ') wchan $(cat "/proc/$pid/wchan" 2>/dev/null)"
        tr_kill_wait KILL 5 "$pid"
    fi
    wait "$pid" 2>/dev/null
    TR_LAUNCHER_PID=""
    for p in "${children[@]}"; do tr_alive "$p" && left+=("$p"); done
    local rc=0
    if ((${#left[@]} > 0)); then
        tr_fail "launcher stops every process" "still running: ${left[*]}"
        tr_kill_wait TERM 5 "${left[@]}" || tr_kill_wait KILL 5 "${left[@]}"
        rc=1
    fi
    # A sanitizer build reports into the programs' logs; nobody reads those otherwise.
    local reports
    reports=$(grep -l -E 'ERROR: (Address|Leak)Sanitizer|runtime error:' \
        "$TR_RUN"/log/*.log 2>/dev/null | tr '\n' ' ')
    if [[ -n "$reports" ]]; then
        tr_fail "no sanitizer report in the stack's logs" "see $reports"
        rc=1
    fi
    return $rc
}

# tr_redis_auth CMD...: runs CMD (redis-cli ...) with the stack's Redis password in
# REDISCLI_AUTH, read from TR_REDIS_PASSWORD_FILE (the launcher's run/redis.password
# unless a test points it elsewhere, or empty for a Redis without one): redis-cli
# reads it there, so the password is never on argv.
tr_redis_auth() {
    local pw=""
    if [[ -n "${TR_REDIS_PASSWORD_FILE:-}" && -r "$TR_REDIS_PASSWORD_FILE" ]]; then
        read -r pw <"$TR_REDIS_PASSWORD_FILE"
    fi
    if [[ -n "$pw" ]]; then REDISCLI_AUTH=$pw "$@"; else "$@"; fi
}

# tr_redis CMD...: redis-cli on the stack's unix socket, authenticated; on a cluster,
# on the node that serves the command's key (redis-cli -c follows -MOVED).
tr_redis() {
    if tr_on_cluster; then
        tr_node_cli "${TR_CLUSTER_MASTERS[0]}" -c "$@"
    else
        tr_redis_auth redis-cli -s "$TR_REDIS_SOCK" "$@"
    fi
}

# tr_redis_opts: the options that point a program of the stack at its Redis (the
# launcher's socket, or the cluster's masters as seeds), one a line.
tr_redis_opts() {
    if tr_on_cluster; then
        printf '%s\n' --cluster "$(tr_cluster_seeds)"
    else
        printf '%s\n' --redis-socket "$TR_REDIS_SOCK"
    fi
}

# --- on a Redis Cluster (TR_TEST_CLUSTER=1) ------------------------------------------
# The stack's keys are the same as on one Redis with TR_TEST_SHARDS shards, each shard
# on the master that serves its slot; what a test reads goes through tr_redis and the
# shard helpers below, which reach each key there, so it means the same on both.

tr_on_cluster() { [[ ${TR_TEST_CLUSTER:-} == 1 ]]; }

# tr_node_cli PORT ARGS...: redis-cli against one node of the cluster, authenticated
# (the password through the environment, never on the command line).
tr_node_cli() { REDISCLI_AUTH=$TR_TEST_CLUSTER_PASSWORD redis-cli -h 127.0.0.1 -p "$1" "${@:2}"; }

# tr_cluster_use (tr_setup calls it): reads the cluster of with_cluster.sh
# (TR_CLUSTER_MASTERS: the masters' ports) and writes its password to a 0600 file,
# $TR_TMP/cluster.password, which tr_start_stack passes as --redis-password-file
# (TR_REDIS_PASSWORD_FILE). Not ok without a cluster.
tr_cluster_use() {
    if [[ -z ${TR_TEST_CLUSTER_PORTS:-} || -z ${TR_TEST_CLUSTER_PASSWORD:-} ]]; then
        tr_fail "a Redis Cluster to run on" "TR_TEST_CLUSTER=1 outside tests/cluster/with_cluster.sh"
        return 1
    fi
    local ports
    IFS=, read -r -a ports <<<"$TR_TEST_CLUSTER_PORTS"
    TR_CLUSTER_MASTERS=("${ports[@]:0:${TR_TEST_CLUSTER_MASTERS:-3}}")
    TR_REDIS_PASSWORD_FILE=$TR_TMP/cluster.password
    (umask 077 && printf '%s\n' "$TR_TEST_CLUSTER_PASSWORD" >"$TR_REDIS_PASSWORD_FILE")
}

# tr_cluster_seeds: "127.0.0.1:PORT,..." of the masters (--cluster).
tr_cluster_seeds() {
    local s
    s=$(printf '127.0.0.1:%s,' "${TR_CLUSTER_MASTERS[@]}")
    echo "${s%,}"
}

# tr_each_master CMD...: prints CMD's answer on each master (one Redis: on it). For
# what no single key routes: a scan of the stack's keys.
tr_each_master() {
    local p
    if tr_on_cluster; then
        for p in "${TR_CLUSTER_MASTERS[@]}"; do tr_node_cli "$p" "$@"; done
    else
        tr_redis "$@"
    fi
}

# tr_stack_keys: every key of the stack ({KEY}... and {KEY:i}...), one a line (a
# cluster may hold other tests' keys too).
tr_stack_keys() { tr_each_master --scan --pattern "{${TR_KEY}[}:]*"; }

# tr_key_count: how many keys the stack has: DBSIZE on a Redis of its own (any key,
# its prefix or not), its prefix's keys on a cluster but the shards' stats hashes:
# any process writes the cluster client's counters into the stats hash of the shard
# its last call went to (shared/tr_store_cluster.c), creating it when that shard had
# none, whatever the requests were (itc_test_hostile saw one appear).
tr_key_count() {
    if tr_on_cluster; then tr_stack_keys | grep -v ':stats$' | grep -c .; else tr_redis DBSIZE; fi
}

# tr_flush_keys: deletes every key of the stack: FLUSHALL on a Redis of its own, its
# prefix's keys on a cluster.
tr_flush_keys() {
    local k
    if ! tr_on_cluster; then
        [[ $(tr_redis FLUSHALL) == OK ]]
        return
    fi
    tr_stack_keys | while IFS= read -r k; do tr_redis UNLINK "$k" >/dev/null || return 1; done
}

# --- shards (shared/tr_shard.h): TR_TEST_SHARDS is the stack's --shards ----------

tr_shards() { echo "${TR_TEST_SHARDS:-1}"; }
# tr_tag I: shard I's hash tag, "{P}" with one shard, else "{P:I}".
tr_tag() {
    if (($(tr_shards) > 1)); then printf '{%s:%s}' "$TR_KEY" "$1"; else printf '{%s}' "$TR_KEY"; fi
}
# tr_shard_of KEY: KEY's shard, FNV-1a 32 of its bytes mod S (keys are ASCII).
tr_shard_of() {
    local S k=$1 h=2166136261 i c
    S=$(tr_shards)
    ((S <= 1)) && { echo 0; return; }
    for ((i = 0; i < ${#k}; i++)); do
        printf -v c '%d' "'${k:i:1}"
        h=$((((h ^ c) * 16777619) & 0xFFFFFFFF))
    done
    echo $((h % S))
}
# tr_k_of KEY SUFFIX: the store key SUFFIX (due, meta, ...) of timer KEY's shard.
tr_k_of() { printf '%s:%s' "$(tr_tag "$(tr_shard_of "$1")")" "$2"; }
# tr_redis_line ARGS...: one command as a line of redis-cli's input (each argument in
# double quotes, escaped), for tr_redis_pipe.
tr_redis_line() {
    local a out=()
    for a in "$@"; do
        a=${a//\\/\\\\}
        a=${a//\"/\\\"}
        out+=("\"${a//$'\n'/\\n}\"")
    done
    printf '%s\n' "${out[*]}"
}
# tr_redis_pipe: the commands of its input (tr_redis_line's) through one redis-cli,
# the answers in order: on a cluster it follows each -MOVED (and then says so on
# stdout: those lines are dropped). One process for all shards: 16 redis-cli each
# took ~1 s on a loaded machine, too slow for a test that looks while timers fly.
tr_redis_pipe() { tr_redis | grep -v '^-> Redirected to slot \['; }
# tr_each_shard CMD SUFFIX [ARGS...]: CMD on every shard's SUFFIX key, the answers one
# after another (ZRANGE inflight 0 -1: every timer in flight).
tr_each_shard() {
    local cmd=$1 suffix=$2 i S
    shift 2
    S=$(tr_shards)
    for ((i = 0; i < S; i++)); do
        tr_redis_line "$cmd" "$(tr_tag "$i"):$suffix" "$@"
    done | tr_redis_pipe
}
# tr_sum_shards CMD SUFFIX [ARGS...]: the integer answers of tr_each_shard added up
# (ZCARD due, HGET stats delivered, EXISTS paused, ...).
tr_sum_shards() { tr_each_shard "$@" | tr_sum_lines; }
# tr_sum_lines: the integers of its input added up (an empty line counts 0).
tr_sum_lines() {
    local v n=0
    while IFS= read -r v; do n=$((n + ${v:-0})); done
    echo "$n"
}

# Timers waiting in the due set(s).
tr_due_count() { tr_sum_shards ZCARD due; }

# Succeeds when no timer record is left (every timer done or cancelled). For
# tr_wait_for: pass a function, not "$(...)", which would be expanded only once.
tr_no_timers_left() { [[ $(tr_rec_count) == 0 ]]; }

# The records (shared/lua/prelude.lua): timer ID's sits in its bucket
# {P}:timers:<b> (tr_rec_key), or, written by an older version and not moved yet,
# in the single hash {P}:timers.
# tr_rec_count: the records in all the buckets and the old hash.
tr_rec_count() {
    tr_rec_eval "local n = redis.call('HLEN', KEYS[1])
        for _, k in ipairs(redis.call('KEYS', KEYS[1] .. ':*')) do n = n + redis.call('HLEN', k) end
        return n" | tr_sum_lines
}
# tr_rec_values: every record (buckets and old hash), one per line.
tr_rec_values() {
    tr_rec_eval "local out = redis.call('HVALS', KEYS[1])
        for _, k in ipairs(redis.call('KEYS', KEYS[1] .. ':*')) do
            for _, v in ipairs(redis.call('HVALS', k)) do out[#out + 1] = v end
        end
        return out"
}
# tr_rec_eval SCRIPT: SCRIPT with KEYS[1] each shard's {P}:timers, the answers in order.
tr_rec_eval() {
    local i S
    S=$(tr_shards)
    for ((i = 0; i < S; i++)); do tr_redis_line EVAL "$1" 1 "$(tr_tag "$i"):timers"; done |
        tr_redis_pipe
}
# tr_rec_key ID: the bucket key of ID's record, from the one definition
# (shared/lua/record_key.lua behind the prelude, as the programs embed them).
tr_rec_key() {
    tr_redis EVAL "$(cat "$TR_SOURCE_DIR/shared/lua/prelude.lua" \
        "$TR_SOURCE_DIR/shared/lua/record_key.lua")" 1 "$(tr_k_of "$1" timers)" "$1"
}
# tr_rec_exists ID: 1 when ID has a record (in its bucket or the old hash), else 0.
tr_rec_exists() {
    local b
    b=$(tr_rec_key "$1") || return 1
    tr_redis EVAL "return math.max(redis.call('HEXISTS', KEYS[1], ARGV[1]),
        redis.call('HEXISTS', KEYS[2], ARGV[1]))" 2 "$b" "$(tr_k_of "$1" timers)" "$1"
}

# tr_post PATH JSON: POSTs JSON to the stack, prints the answer body.
tr_post() {
    curl -sS --max-time "${TR_POST_MAX_TIME:-5}" -X POST -H 'Content-Type: application/json' \
        --data-binary "$2" "$TR_URL$1"
}

# tr_register URL DATA_JSON SECONDS: prints the key of a new timer (empty on error).
# DATA_JSON is the JSON value of callback_data (a string "..." or an object).
tr_register() {
    local body
    body=$(jq -cn --arg u "$1" --argjson d "$2" --argjson s "$3" \
        '{callback_cmd: $u, callback_data: $d, seconds: $s}') || return 1
    tr_post /register/ "$body" | jq -r '.data.key // empty'
}

# --- npm packages of a test -------------------------------------------------------

# tr_npm_install SRC_DIR DEST_DIR: copies SRC_DIR's files (package.json, its
# package-lock.json pinning every version, the test's scripts) to DEST_DIR and runs
# `npm ci` there: once per build tree, again when the lock changes. npm's output goes
# to stderr only when it fails.
tr_npm_install() {
    local src=$1 dest=$2
    mkdir -p "$dest" && cp "$src"/* "$dest/" || return 1
    cmp -s "$src/package-lock.json" "$dest/installed.lock" && return 0
    (cd "$dest" && npm_config_cache=$dest/.npm-cache npm ci --no-audit --no-fund \
        --loglevel=error) >"$TR_TMP/npm.log" 2>&1 || { cat "$TR_TMP/npm.log" >&2; return 1; }
    cp "$src/package-lock.json" "$dest/installed.lock"
}

# --- the sink ------------------------------------------------------------------

# tr_start_sink NAME [sink options...]: sets SINK_<NAME>_URL, SINK_<NAME>_LOG and
# SINK_<NAME>_PID once it listens. With TR_SINK_PORT=N in its environment it listens
# on port N (a receiver whose answers name itself); else on a free one.
tr_start_sink() {
    local name=$1 port=${TR_SINK_PORT:-0} var
    shift
    tr_start_receiver SINK "$name" "$TR_BUILD_DIR/tests/sink/timerush-sink" \
        --listen "127.0.0.1:$port" "$@" || return 1
    var=SINK_${name}_PORT
    declare -g "SINK_${name}_URL=http://127.0.0.1:${!var}"
}

# tr_start_receiver PREFIX NAME PROGRAM [options...]: starts a test receiver (a
# program of tests/sink/ taking --port-file and --log) in the background, its files
# $TR_TMP/<prefix>.NAME.{port,log,err} (prefix in lower case); sets PREFIX_NAME_PID,
# PREFIX_NAME_LOG and, once it listens, PREFIX_NAME_PORT.
tr_start_receiver() {
    local prefix=$1 name=$2 prog=$3
    shift 3
    local base="$TR_TMP/${prefix,,}.$name"
    rm -f "$base.port"
    : >"$base.log"
    "$prog" --port-file "$base.port" --log "$base.log" "$@" 2>>"$base.err" &
    local pid=$!
    tr_track_pid "$pid"
    declare -g "${prefix}_${name}_PID=$pid" "${prefix}_${name}_LOG=$base.log"
    if ! tr_poll 10 test -s "$base.port"; then
        tr_fail "${prog##*/} $name starts" "$(cat "$base.err" 2>/dev/null)"
        return 1
    fi
    declare -g "${prefix}_${name}_PORT=$(cat "$base.port")"
}

# tr_stop_sink NAME
tr_stop_sink() {
    local var="SINK_$1_PID"
    local pid=${!var:-}
    [[ -n "$pid" ]] || return 0
    tr_kill_wait TERM 5 "$pid" || tr_kill_wait KILL 5 "$pid"
    wait "$pid" 2>/dev/null
    declare -g "SINK_$1_PID="
}

# tr_sink_count NAME [JQ_SELECT]: how many logged requests match (all by default),
# e.g. tr_sink_count A 'select(.key == "k")'.
tr_sink_count() {
    local var="SINK_$1_LOG"
    jq -c "${2:-.}" "${!var}" | wc -l
}

# tr_sink_has NAME N [JQ_SELECT]: succeeds when at least N requests match. Polled:
# while the log holds fewer than N lines it fails at once, without jq (JQ_SELECT
# keeps or drops a request, as select() does: never more than one output each).
tr_sink_has() {
    local var="SINK_$1_LOG" l=()
    [[ -f ${!var} ]] && mapfile -t l <"${!var}"
    ((${#l[@]} >= $2)) || return 1
    (($(tr_sink_count "$1" "${3:-.}") >= $2))
}
