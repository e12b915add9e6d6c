#!/usr/bin/env bash
# test_ctl.sh - timerushctl against one real stack with API tokens: every subcommand,
# each checked through the API or Redis; --json parsed with jq; the exit codes of bad
# usage (2), a server error (1), a server that is down (3), an unknown key (4) and a
# wrong or under-scoped token (5); where the URL and token come from (flag > env >
# config file); the bash completion.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/lib_api.sh"
tr_setup

CTL_BIN="$TR_BUILD_DIR/ctl/timerushctl"
check "timerushctl is built" test -x "$CTL_BIN" || tr_finish

# The service's token file: an admin token and a read-only one (mode 0600, as the
# programs and timerushctl require).
tokens="$TR_TMP/api-tokens"
printf '# the stack'"'"'s tokens\ntok-ctl-admin\nread:tok-ctl-read\n' >"$tokens"
chmod 600 "$tokens"
mine="$TR_TMP/my-token"
printf 'tok-ctl-admin\n' >"$mine"
chmod 600 "$mine"

tr_start_sink A --answer ok || tr_finish
tr_start_sink D --answer status:500 || tr_finish
tr_start_stack --api-token-file "$tokens" --max-attempts 1 || tr_finish
TR_API_TOKEN=tok-ctl-admin  # for lib_api.sh's api(): the checks through the API

# ctl ARGS...: runs timerushctl against the stack with the admin token; sets CTL_OUT,
# CTL_ERR, CTL_RC. The environment is cleared of TIMERUSH_* so only flags count.
ctl() {
    env -u TIMERUSH_URL -u TIMERUSH_TOKEN -u TIMERUSH_TOKEN_FILE -u TIMERUSH_CONFIG \
        TIMERUSH_CONFIG="$TR_TMP/none.conf" \
        "$CTL_BIN" --url "$TR_URL" --token-file "$mine" "$@" >"$TR_TMP/ctl.out" 2>"$TR_TMP/ctl.err"
    CTL_RC=$?
    CTL_OUT=$(<"$TR_TMP/ctl.out")
    CTL_ERR=$(<"$TR_TMP/ctl.err")
}
# check_rc DESC RC: the last ctl exited with RC.
check_rc() {
    if [[ $CTL_RC != "$2" ]]; then
        tr_fail "$1" "exit $CTL_RC, want $2; stderr: $CTL_ERR"
        return 1
    fi
    tr_pass "$1"
}
jqo() { jq -r "$1" <<<"$CTL_OUT" 2>/dev/null; }
# No TIMERUSH_CONFIG file exists at $TR_TMP/none.conf, and a named one must be read:
# point the default elsewhere by giving an empty one.
: >"$TR_TMP/none.conf"

# --- help and usage errors (exit 2) ---------------------------------------------------
ctl --help
check_rc "--help: exit 0" 0
check "--help documents the exit codes" grep -q '5  unauthorized or forbidden' <<<"$CTL_OUT"
ctl
check_rc "no command: exit 2" 2
ctl frobnicate
check_rc "unknown command: exit 2" 2
ctl create --data x --delay-ms 5
check_rc "create without a callback URL: exit 2" 2
ctl create "$SINK_A_URL/x" --data x
check_rc "create without a due time: exit 2" 2
ctl create "$SINK_A_URL/x" --data x --delay-ms 5 --seconds 1
check_rc "create with two due times: exit 2" 2
ctl ls --limit 0
check_rc "ls --limit 0: exit 2" 2
ctl ls --state done
check_rc "ls --state done: exit 2" 2
ctl ls --bogus
check_rc "an unknown option: exit 2" 2
ctl top --interval -1
check_rc "top --interval -1: exit 2" 2
ctl get
check_rc "get without a key: exit 2" 2
check_eq "usage errors reached no server (nothing created)" 0 \
    "$(api GET /v1/stats; jqb .totals.created)"

# --- create / get ---------------------------------------------------------------------
ctl create "$SINK_A_URL/hook" --data '{"id":42}' --delay-ms 600000 --key ctl-1 \
    --header 'X-Trace: abc' --max-attempts 3 --json
check_rc "create: exit 0" 0
check_eq "create --json: the API's timer object" ctl-1 "$(jqo .timer.key)"
api GET /v1/timers/ctl-1
check_api "create: the timer exists (API)" 200
check_eq "create: data sent as a string" '{"id":42}' "$(jqb .timer.data)"
check_eq "create: header sent" abc "$(jqb '.timer.headers["X-Trace"]')"
check_eq "create: retry sent" 3 "$(jqb .timer.retry.max_attempts)"
check "create: due in about 600 s" test "$(jqb .timer.ttl_ms)" -gt 590000

ctl create "$SINK_A_URL/hook" --data-json '{"a":[1,2]}' --at "$(($(tr_now_ms) + 300000))" --key ctl-2
check_rc "create --data-json --at (epoch ms): exit 0" 0
check "create: a table row with key, state, RFC 3339 due time and url" \
    grep -Eq '^ctl-2 +pending +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z +in [0-9]m[0-9]{2}s +0 +http' <<<"$CTL_OUT"
api GET /v1/timers/ctl-2
check_eq "create --data-json: compact JSON data" '{"a":[1,2]}' "$(jqb .timer.data)"
ctl create "$SINK_A_URL/hook" --data x --seconds 200.5 --key ctl-3 --json
check_rc "create --seconds 200.5: exit 0" 0
check "create --seconds: fractional seconds taken" test "$(jqo .timer.ttl_ms)" -gt 199000

ctl get ctl-1
check_rc "get: exit 0" 0
check "get: one field a line" grep -Eq '^state +pending$' <<<"$CTL_OUT"
check "get: due time in RFC 3339 and relative" grep -Eq '^due_ms +[0-9-]+T[0-9:.]+Z \(in [0-9]+m[0-9]{2}s\)$' <<<"$CTL_OUT"
ctl get ctl-1 --json
check_eq "get --json (after the command): the API's answer" pending "$(jqo .timer.state)"
ctl get no-such-key
check_rc "get of an unknown key: exit 4" 4
check "... its message printed" grep -q 'HTTP 404 not_found' <<<"$CTL_ERR"

# A server error (409: same key, another body): exit 1 with the API's message.
ctl create "$SINK_A_URL/hook" --data other --delay-ms 600000 --key ctl-1
check_rc "create of a taken key with another body: exit 1" 1
check "... with the API's message" grep -q 'HTTP 409 conflict' <<<"$CTL_ERR"
ctl create "ftp://nowhere/" --data x --delay-ms 5
check_rc "a URL the API refuses: exit 1" 1
check "... naming the field" grep -q 'invalid_field.*url' <<<"$CTL_ERR"

# --- ls: pages, --all, filters -------------------------------------------------------
for i in 1 2 3 4 5; do
    api POST /v1/timers "{\"key\":\"page-$i\",\"url\":\"$SINK_A_URL/p\",\"data\":\"x\",\"delay_ms\":$((400000 + i))}"
done
ctl ls --limit 2 --json
check_rc "ls --limit 2: exit 0" 0
check_eq "ls --limit 2 --json: one array of 2" 2 "$(jqo length)"
check "ls: the next cursor is told on stderr" grep -q -- '--cursor ' <<<"$CTL_ERR"
cursor=$(sed -n 's/.*--cursor //p' <<<"$CTL_ERR")
ctl ls --limit 2 --cursor "$cursor" --json
check_eq "ls --cursor: the next page starts after the first" \
    "$(api GET '/v1/timers?limit=4'; jqb '[.timers[2,3].key] | join(",")')" "$(jqo '[.[].key] | join(",")')"
ctl ls --limit 2 --all --json
check_rc "ls --all: exit 0" 0
api GET '/v1/timers?limit=1000'
check_eq "ls --all --json: every pending timer over 4 pages, in due order" \
    "$(jqb '[.timers[].key] | join(",")')" "$(jqo '[.[].key] | join(",")')"
check_eq "ls --all: 8 timers" 8 "$(jqo length)"
check "ls --all: no cursor left over" test -z "$CTL_ERR"
ctl ls --all --limit 3 --prefix page-
check_eq "ls --prefix page- (human): a header and 5 rows" 6 "$(wc -l <<<"$CTL_OUT")"
check "ls (human): aligned columns" bash -c '[[ $(awk "{print index(\$0, \"pending\")}" <<<"$1" | sed 1d | sort -u | wc -l) == 1 ]]' _ "$CTL_OUT"

api GET /v1/timers/page-2; lo=$(jqb .timer.due_ms)
api GET /v1/timers/page-4; hi=$(jqb .timer.due_ms)
ctl ls --all --limit 2 --due-after "$lo" --due-before "$hi" --json
check_eq "ls --due-after/--due-before: the timers due in [after, before)" "page-2,page-3" \
    "$(jqo '[.[].key] | join(",")')"
ctl ls --due-before 2026-13-01T00:00:00Z
check_rc "ls --due-before with a bad time: exit 2" 2

# --- reschedule / cancel --------------------------------------------------------------
ctl reschedule ctl-3 --delay-ms 900000 --json
check_rc "reschedule: exit 0" 0
api GET /v1/timers/ctl-3
check "reschedule: due in about 900 s (API)" test "$(jqb .timer.ttl_ms)" -gt 890000
ctl reschedule ctl-3
check_rc "reschedule without a due time: exit 2" 2
ctl reschedule no-such-key --seconds 5
check_rc "reschedule of an unknown key: exit 4" 4
ctl cancel ctl-3 page-5
check_rc "cancel of two keys: exit 0" 0
check "cancel: tells the state it was in" grep -q 'cancelled ctl-3 (it was pending' <<<"$CTL_OUT"
api GET /v1/timers/ctl-3
check_api "cancel: the timer is gone (API)" 404
check_eq "cancel: its record is gone (Redis)" 0 "$(tr_rec_exists ctl-3)"
ctl cancel page-4 no-such-key
check_rc "cancel of a known and an unknown key: exit 4" 4
api GET /v1/timers/page-4
check_api "... the known one was cancelled all the same" 404

# --- pause / resume / stats ------------------------------------------------------------
ctl pause
check_rc "pause: exit 0" 0
check_eq "pause: the flag is set in Redis (every shard)" "$(tr_shards)" "$(tr_sum_shards EXISTS paused)"
ctl stats --json
check_eq "stats --json: paused true" true "$(jqo .paused)"
ctl resume --json
check_eq "resume --json: the API's answer" false "$(jqo .paused)"
check_eq "resume: the flag is gone from Redis (every shard)" 0 "$(tr_sum_shards EXISTS paused)"
ctl stats
check_rc "stats: exit 0" 0
api GET /v1/stats
check "stats: the pending count the API gives" grep -Eq "^pending +$(jqb .pending)\$" <<<"$CTL_OUT"
ctl --json stats extra
check_rc "stats with an argument: exit 2" 2

# --- dead letters: ls, replay, delete; replay ------------------------------------------
ctl create "$SINK_D_URL/dead" --data x --delay-ms 0 --key dead-1
check_rc "create of a timer bound to fail: exit 0" 0
is_dead() { api GET /v1/timers/dead-1; [[ $(jqb .timer.state) == dead ]]; }
tr_wait_for "it is dead after one failed attempt" 10 is_dead
ctl dead ls
check_rc "dead ls: exit 0" 0
check "dead ls: its row with the last error" grep -Eq '^dead-1 +dead +[0-9-]+T.* +1 +HTTP 500' <<<"$CTL_OUT"
ctl dead ls --json
check_eq "dead ls --json: the dead timer" dead-1 "$(jqo '.[0].key')"
ctl ls --state dead --json
check_eq "ls --state dead: the same" dead-1 "$(jqo '.[0].key')"
ctl dead delete ctl-1
check_rc "dead delete of a live timer: exit 4, nothing deleted" 4
api GET /v1/timers/ctl-1
check_api "... ctl-1 is still there" 200
ctl pause  # so the replayed timer is not claimed before it is read back
ctl dead replay dead-1 --json
check_rc "dead replay: exit 0" 0
check_eq "dead replay: pending again, attempts reset" "pending 0" "$(jqo '"\(.timer.state) \(.timer.attempts)"')"
check_eq "dead replay: back in the due set (Redis)" 1 "$(tr_redis ZSCORE "$(tr_k_of dead-1 due)" dead-1 | grep -c .)"
ctl resume
tr_wait_for "the replayed timer fails again and is dead" 10 is_dead
ctl pause  # as above: the answer is read after the replay, a scheduler could be quicker
ctl replay dead-1
check_rc "replay (top level): exit 0" 0
check "replay: a pending row" grep -Eq '^dead-1 +pending' <<<"$CTL_OUT"
ctl resume
tr_wait_for "dead once more" 10 is_dead
ctl replay ctl-1
check_rc "replay of a timer that is not dead: exit 4" 4
ctl dead delete dead-1
check_rc "dead delete: exit 0" 0
api GET /v1/timers/dead-1
check_api "dead delete: gone (API)" 404
check_eq "dead delete: not in the dead set (Redis)" "" "$(tr_redis ZSCORE "$(tr_k_of dead-1 dead)" dead-1)"

# --- top -------------------------------------------------------------------------------
for i in 1 2 3 4 5 6; do
    api POST /v1/timers "{\"url\":\"$SINK_A_URL/top\",\"data\":\"x\",\"delay_ms\":$((i * 100))}"
done
start=$(tr_now_ms)
ctl top --json --iterations 3 --interval 0.5
took=$(($(tr_now_ms) - start))
check_rc "top --iterations 3: exit 0" 0
check_eq "top --json: one object a line, 3 lines" 3 "$(jq -c . <<<"$CTL_OUT" | wc -l)"
check "top: 3 samples 0.5 s apart take about 1 s" test "$took" -ge 1000 -a "$took" -lt 5000
check_eq "top: the first sample has no rate yet" null "$(jq -s -r '.[0].delivered_per_s' <<<"$CTL_OUT")"
check "top: later samples have rates" jq -s -e '.[2].created_per_s >= 0 and .[2].interval_s > 0.3' <<<"$CTL_OUT"
check "top: pending, in flight and dead" jq -s -e '.[2] | has("pending") and has("in_flight") and has("dead")' <<<"$CTL_OUT"
delivered_all() { api GET /v1/stats; (($(jqb .pending) <= 5)) && (($(jqb .totals.delivered) >= 6)); }
tr_wait_for "the top timers are delivered" 10 delivered_all
ctl top --json --iterations 1
check "top: lateness percentiles from /metrics" \
    jq -e '.lateness_all_p50_ms >= 0 and .lateness_all_p99_ms >= .lateness_all_p50_ms and .lateness_all_deliveries >= 6' <<<"$CTL_OUT"
ctl top --iterations 2 --interval 0.1
check_rc "top (text): exit 0" 0
check "top (text): rates, lateness" grep -q 'delivered/s.*' <<<"$CTL_OUT"
check "top (text): lateness p50/p99" grep -q 'lateness  p50 .* p99' <<<"$CTL_OUT"
check "top (text) into a pipe: no ANSI escape" bash -c '! grep -q $'"'"'\033'"'"' "$1"' _ "$TR_TMP/ctl.out"
# On a terminal (script(1), bsdutils, gives it one) each refresh clears the screen first.
TIMERUSH_URL=$TR_URL TIMERUSH_TOKEN_FILE=$mine TIMERUSH_CONFIG=$TR_TMP/none.conf \
    script -qec "$CTL_BIN top --iterations 2 --interval 0.1" /dev/null >"$TR_TMP/tty.out" 2>&1
check_eq "top on a terminal: exit 0" 0 $?
check_eq "top on a terminal: the screen cleared once a refresh" 2 \
    "$(grep -o $'\033\\[H\033\\[2J' "$TR_TMP/tty.out" | wc -l)"

# --- tokens and where settings come from ----------------------------------------------
noauth() {
    env -u TIMERUSH_URL -u TIMERUSH_TOKEN -u TIMERUSH_TOKEN_FILE TIMERUSH_CONFIG="$TR_TMP/none.conf" "$@"
}
noauth "$CTL_BIN" --url "$TR_URL" stats >/dev/null 2>&1
check_eq "no token: exit 5" 5 $?
printf 'wrong-token\n' >"$TR_TMP/wrong"
chmod 600 "$TR_TMP/wrong"
noauth "$CTL_BIN" --url "$TR_URL" --token-file "$TR_TMP/wrong" stats >/dev/null 2>"$TR_TMP/err"
check_eq "wrong token: exit 5" 5 $?
check "... HTTP 401 named" grep -q 'HTTP 401 unauthorized' "$TR_TMP/err"
check "... and the token is never printed" bash -c '! grep -q wrong-token "$1"' _ "$TR_TMP/err"
noauth env TIMERUSH_TOKEN=tok-ctl-read "$CTL_BIN" --url "$TR_URL" pause >/dev/null 2>"$TR_TMP/err"
check_eq "a read-only token (TIMERUSH_TOKEN) cannot pause: exit 5 (403)" 5 $?
check "... HTTP 403 named" grep -q 'HTTP 403 forbidden' "$TR_TMP/err"
noauth env TIMERUSH_TOKEN=tok-ctl-read "$CTL_BIN" --url "$TR_URL" stats >/dev/null
check_eq "... but may read stats" 0 $?
chmod 644 "$TR_TMP/wrong"
noauth "$CTL_BIN" --url "$TR_URL" --token-file "$TR_TMP/wrong" stats >/dev/null 2>"$TR_TMP/err"
check_eq "a token file others can read is refused: exit 2" 2 $?
noauth "$CTL_BIN" --url "$TR_URL" --token-file "$TR_TMP/absent" stats >/dev/null 2>&1
check_eq "a token file that does not exist: exit 2" 2 $?

down=$(tr_free_port)
noauth "$CTL_BIN" --url "http://127.0.0.1:$down" --token-file "$mine" stats >/dev/null 2>"$TR_TMP/err"
check_eq "server down: exit 3" 3 $?
check "... the reason printed" grep -q 'cannot reach the server' "$TR_TMP/err"

# The service's config file: listen-host/listen-port and api-token-file, the format of -c.
conf="$TR_TMP/timerush.conf"
printf '# as ./timerush -c reads it\nlisten-host = 0.0.0.0\nlisten-port = %s\napi-token-file = %s\nworkers = 2\n' \
    "$TR_LISTEN_PORT" "$tokens" >"$conf"
env -u TIMERUSH_URL -u TIMERUSH_TOKEN -u TIMERUSH_TOKEN_FILE "$CTL_BIN" --config "$conf" pause >/dev/null
check_eq "--config: URL and token from the service's config file" 0 $?
check_eq "... the pause took effect (Redis)" "$(tr_shards)" "$(tr_sum_shards EXISTS paused)"
env -u TIMERUSH_URL -u TIMERUSH_TOKEN -u TIMERUSH_TOKEN_FILE TIMERUSH_CONFIG="$conf" "$CTL_BIN" resume >/dev/null
check_eq "TIMERUSH_CONFIG: the same" 0 $?
check_eq "... the resume took effect (Redis)" 0 "$(tr_sum_shards EXISTS paused)"
env -u TIMERUSH_TOKEN -u TIMERUSH_TOKEN_FILE TIMERUSH_URL="http://127.0.0.1:$down" \
    TIMERUSH_CONFIG="$conf" "$CTL_BIN" stats >/dev/null 2>&1
check_eq "TIMERUSH_URL beats the config file" 3 $?
env -u TIMERUSH_TOKEN -u TIMERUSH_TOKEN_FILE TIMERUSH_URL="http://127.0.0.1:$down" \
    TIMERUSH_CONFIG="$conf" "$CTL_BIN" --url "$TR_URL" stats >/dev/null 2>&1
check_eq "--url beats TIMERUSH_URL (token still from the config file)" 0 $?
env -u TIMERUSH_URL -u TIMERUSH_TOKEN TIMERUSH_TOKEN_FILE="$TR_TMP/wrong" \
    TIMERUSH_CONFIG="$conf" "$CTL_BIN" stats >/dev/null 2>&1
check_eq "TIMERUSH_TOKEN_FILE beats the config file (a bad one: exit 2)" 2 $?
env -u TIMERUSH_URL -u TIMERUSH_TOKEN -u TIMERUSH_TOKEN_FILE "$CTL_BIN" --url "$TR_URL" \
    --config "$TR_TMP/absent.conf" stats >/dev/null 2>&1
check_eq "a --config file that does not exist: exit 2" 2 $?
printf 'listen-port = 99999\n' >"$TR_TMP/bad.conf"
env -u TIMERUSH_URL -u TIMERUSH_TOKEN -u TIMERUSH_TOKEN_FILE "$CTL_BIN" --config "$TR_TMP/bad.conf" \
    stats >/dev/null 2>"$TR_TMP/err"
check_eq "a config file with a bad listen-port: exit 2" 2 $?
check "... naming the line" grep -q 'bad.conf:1: listen-port' "$TR_TMP/err"

# --- bash completion -------------------------------------------------------------------
completes() {
    bash -c 'source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _timerushctl
             echo "${COMPREPLY[*]}"' _ "$TR_SOURCE_DIR/ctl/timerushctl.bash-completion" "$@"
}
check_eq "completion: 're' gives the three r-commands" "reschedule replay resume" \
    "$(completes timerushctl --url http://x re)"
check_eq "completion: 'dead r' gives replay" replay "$(completes timerushctl dead r)"
check_eq "completion: 'ls --st' gives --state" --state "$(completes timerushctl ls --st)"
check_eq "completion: '--state p' gives pending" pending "$(completes timerushctl ls --state p)"
check_eq "completion: the value of --data is not taken for a command" --key \
    "$(completes timerushctl create --data ls --ke)"
check "completion: registered for timerushctl" \
    bash -c 'source "$1"; complete -p timerushctl' _ "$TR_SOURCE_DIR/ctl/timerushctl.bash-completion"

tr_stop_stack
tr_finish
