#!/usr/bin/env bash
# test_launcher.sh - ./timerush itself: bad options fail clearly, --check says OK,
# the stack starts on free ports in a temp dir and prints its ready line, every pid
# file names a live process, nginx answers JSON 404 / 413 on its own, a timer goes
# all the way to a receiver, a second launcher on the same run dir is refused,
# SIGTERM stops every process and exits 0, a dead scheduler stops everything with
# exit 1 (a dead FastCGI worker is respawned instead: test_launcher_supervise.sh), and
# -d / `./timerush stop` detach and stop.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
tr_setup

launcher=("$TR_SOURCE_DIR/timerush" --no-build --no-install --build-dir "$TR_BUILD_DIR")
max_body=1024

# run_launcher ARGS...: runs the launcher in the foreground; sets RC and OUT (both streams).
run_launcher() {
    OUT=$("${launcher[@]}" "$@" 2>&1 </dev/null)
    RC=$?
}
contains() { [[ $1 == *"$2"* ]]; }

# --- options ---------------------------------------------------------------------
run_launcher --run-dir "$TR_TMP/bad" --bogus-option
check "an unknown option exits 2" test "$RC" -eq 2
check "and names the option" contains "$OUT" "unknown option '--bogus-option'"
run_launcher --run-dir "$TR_TMP/bad" --workers 257
check "--workers 257 is refused" test "$RC" -ne 0
check "with the allowed range" contains "$OUT" "outside 0..256"
run_launcher --run-dir "$TR_TMP/bad" --listen-port
check "an option without its value is refused" contains "$OUT" "--listen-port needs a value"
printf 'listen-port = 8081\nno-such-key = 1\n' >"$TR_TMP/bad.conf"
run_launcher --run-dir "$TR_TMP/bad" -c "$TR_TMP/bad.conf"
check "an unknown key in the -c file is refused" test "$RC" -ne 0
check "and named" contains "$OUT" "no-such-key"
for c in -c --config=; do
    run_launcher --run-dir "$TR_TMP/bad" --listen-port "$(tr_free_port)" --check "$c"
    check "$c without a file exits 2" test "$RC" -eq 2
    check "and says it needs one" contains "$OUT" "-c/--config needs a file name"
done
OUT=$("$TR_BUILD_DIR/fcgi/timerush-fcgi" --check -c 2>&1)
check_eq "timerush-fcgi -c without a file exits 2" 2 "$?"
check "and says it needs one" contains "$OUT" "-c/--config needs a file name"
printf 'workers = 257\n' >"$TR_TMP/workers.conf"
run_launcher --run-dir "$TR_TMP/bad" -c "$TR_TMP/workers.conf"
check "a -c file's value out of bounds exits 2" test "$RC" -eq 2
check "with the allowed range" contains "$OUT" "--workers: 257 is outside 0..256"
run_launcher --run-dir "$TR_TMP/bad" --max-seconds 0
check "a program's value out of bounds exits 2" test "$RC" -eq 2
check "with the program's message" contains "$OUT" "timerush-fcgi: --max-seconds: 0 is outside"
run_launcher --help
check_eq "--help exits 0" 0 "$RC"
for line in "--workers N            timerush-fcgi processes (each runs --threads threads); 0: one per CPU core [1]" \
    "--max-inflight N       deliveries in flight at once, in all [512]"; do
    check "--help lists the table's '${line%% *}' with its default" contains "$OUT" "$line"
done
missing=()
while IFS=$'\t' read -r name _; do
    [[ $name == '#'* ]] && continue
    contains "$OUT" "--$name " || missing+=("$name")
done < <("$TR_BUILD_DIR/fcgi/timerush-fcgi" --print-options)
check_eq "--help lists every option of the table" "" "${missing[*]}"
# The launcher's defaults are the table's: each option's [default] in --help, and the
# settings the launcher starts from (--launcher-settings, no option given).
wrong=() compared=0
while IFS=$'\x1f' read -r name _ type def _ _ _ flags _; do
    [[ $name == '#'* || $type == flag || -z $def ]] && continue
    compared=$((compared + 1))
    grep -E -- "^ *(-., )?--$name [NS] " <<<"$OUT" | grep -qF -- "[$def]" || wrong+=("$name")
done < <("$TR_BUILD_DIR/fcgi/timerush-fcgi" --print-options | tr '\t' '\037')
check_eq "--help gives each option the table's default ($compared compared)" "" "${wrong[*]}"
check "--help marks secrets" grep -qE -- "--api-token S .*\[secret\]" <<<"$OUT"
wrong=()
while IFS=$'\t' read -r name src val; do
    [[ $src == default ]] || wrong+=("$name: $src")
    def=$("$TR_BUILD_DIR/fcgi/timerush-fcgi" --print-options | awk -F'\t' -v n="$name" '$1 == n { print $4 }')
    case $def in true|false|"") ;; *) [[ $val == "$def" ]] || wrong+=("$name: $val, table $def") ;; esac
done < <("$TR_BUILD_DIR/fcgi/timerush-fcgi" --launcher-settings)
check_eq "the launcher's starting settings are the table's defaults" "" "${wrong[*]}"
for o in "check = true" "api-token-reset = true"; do
    printf '%s\n' "$o" >"$TR_TMP/cli-only.conf"
    run_launcher --run-dir "$TR_TMP/bad" -c "$TR_TMP/cli-only.conf" --check
    check_eq "a -c file setting the command-line-only '${o%% *}' exits 2" 2 "$RC"
    check "saying it belongs on the command line" contains "$OUT" "${o%% *} belongs on the command line only"
done
run_launcher --run-dir "$TR_TMP/bad" --listen-port "$(tr_free_port)" --appendfsync sometimes --check
check_eq "--appendfsync sometimes exits 2" 2 "$RC"
check "saying what it takes" contains "$OUT" "--appendfsync must be always, everysec or no"
run_launcher --run-dir "$TR_TMP/checked" --listen-port "$(tr_free_port)" --check
check_eq "--check prints OK" "OK" "$(tail -n1 <<<"$OUT")"
check_eq "--check exits 0" 0 "$RC"
check "--check rendered nginx.conf" test -s "$TR_TMP/checked/conf/nginx.conf"
check "--check started nothing" test ! -e "$TR_TMP/checked/pids/launcher.pid"

# --- start -----------------------------------------------------------------------
tr_start_sink A
tr_start_stack --workers 2 --max-body "$max_body" || tr_finish
ready=$(grep '^TimeRush ready:' "$TR_TMP/launcher.$TR_STACK_N.out")
check "the ready line names the URL" contains "$ready" "TimeRush ready: $TR_URL/ (logs: $TR_RUN/log"
for name in launcher redis nginx fcgi fcgi-pool scheduler.1; do
    f=$TR_RUN/pids/$name.pid
    check "pids/$name.pid exists" test -s "$f"
    for p in $(grep -E '^[0-9]+$' "$f"); do
        check "pids/$name.pid: $p is alive" tr_alive "$p"
    done
done
check_eq "pids/fcgi.pid names every worker" 2 "$(grep -cE '^[0-9]+$' "$TR_RUN/pids/fcgi.pid")"
check_eq "launcher.pid is the launcher" "$TR_LAUNCHER_PID" "$(cat "$TR_RUN/pids/launcher.pid")"
check_eq "redis answers on redis/redis.sock" PONG "$(tr_redis PING)"
check_eq "redis appends to its AOF" "yes" "$(tr_redis CONFIG GET appendonly | tail -n1)"
check_eq "fsync'ed once a second by default" "everysec" "$(tr_redis CONFIG GET appendfsync | tail -n1)"
for f in redis.log nginx-error.log nginx-access.log; do
    check "log/$f exists" test -e "$TR_RUN/log/$f"
done

# --- nginx's own answers -----------------------------------------------------------
status=$(curl -s -o "$TR_TMP/404.body" -w '%{http_code}' "$TR_URL/nonexistent")
check_eq "/nonexistent answers 404" 404 "$status"
check_eq "with ret 7" 7 "$(jq -r .ret "$TR_TMP/404.body")"
check_eq "and a message" "no such endpoint" "$(jq -r .msg "$TR_TMP/404.body")"
head -c $((max_body + 1)) /dev/zero | tr '\0' 'a' >"$TR_TMP/big.body"
status=$(curl -s -o "$TR_TMP/413.body" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary @"$TR_TMP/big.body" "$TR_URL/register/")
check_eq "a body over --max-body answers 413" 413 "$status"
check_eq "with ret 5" 5 "$(jq -r .ret "$TR_TMP/413.body")"
check "naming the limit" grep -q "limit $max_body bytes" "$TR_TMP/413.body"
check "the access log has the request with its times" \
    grep -qE '"POST /register/ HTTP/1.1" 413 .* rt=[0-9.]+' "$TR_RUN/log/nginx-access.log"

# --- end to end ----------------------------------------------------------------------
body=$(jq -cn --arg u "$SINK_A_URL/cb" '{callback_cmd: $u, callback_data: "{\"x\":1}", seconds: 1}')
answer=$(tr_post /register/ "$body")
check_eq "register answers ret 0" 0 "$(jq -r .ret <<<"$answer" 2>/dev/null)"
key=$(jq -r '.data.key // empty' <<<"$answer" 2>/dev/null)
tr_wait_for "the callback reaches the receiver" 10 tr_sink_has A 1 "select(.key == \"$key\")"
check_eq "with the data as its body" '{"x":1}' \
    "$(jq -r "select(.key == \"$key\") | .body" "$SINK_A_LOG" | head -n1)"

# --- a second launcher on the same run dir ---------------------------------------------
run_launcher --run-dir "$TR_RUN" --listen-port "$(tr_free_port)"
check "a second launcher on the same run dir is refused" test "$RC" -ne 0
check "saying so" contains "$OUT" "already running"
check "the first one still runs" tr_alive "$TR_LAUNCHER_PID"

# --- SIGTERM ---------------------------------------------------------------------------
mapfile -t stack_pids < <(tr_stack_pids)
kill -TERM "$TR_LAUNCHER_PID"
gone() { ! tr_alive "$1"; }
tr_wait_for "the launcher exits after SIGTERM" 20 gone "$TR_LAUNCHER_PID"
wait "$TR_LAUNCHER_PID"
check_eq "with status 0" 0 "$?"
TR_LAUNCHER_PID=""
left=()
for p in "${stack_pids[@]}"; do tr_alive "$p" && left+=("$p"); done
check_eq "every process it started is gone (${#stack_pids[@]})" "" "${left[*]}"
check "its pid files are removed" test -z "$(ls "$TR_RUN/pids/"*.pid 2>/dev/null)"
check "the AOF is on disk" test -n "$(ls "$TR_RUN/redis/appendonlydir/" 2>/dev/null)"

# --- a scheduler dies: everything stops, exit 1 -----------------------------------------
tr_start_stack --workers 2 || tr_finish
check "restarts on the same run dir" tr_alive "$TR_LAUNCHER_PID"
mapfile -t stack_pids < <(tr_stack_pids)
kill -KILL "$(head -n1 "$TR_RUN/pids/scheduler.1.pid")"
tr_wait_for "the launcher exits when a scheduler dies" 20 gone "$TR_LAUNCHER_PID"
wait "$TR_LAUNCHER_PID"
check_eq "with status 1" 1 "$?"
TR_LAUNCHER_PID=""
check "and says which process died" grep -q "timerush-scheduler 1 (pid [0-9]*) exited unexpectedly" \
    "$TR_TMP/launcher.$TR_STACK_N.err"
left=()
for p in "${stack_pids[@]}"; do tr_alive "$p" && left+=("$p"); done
check_eq "every other process is stopped" "" "${left[*]}"

# --- -d and ./timerush stop -----------------------------------------------------------------
# Started with a descriptor of ours open (fd 7): no process of the stack may keep it.
exec 7>"$TR_TMP/inherited.marker"
# A token on the command line: the detached launcher gets it on a descriptor, not argv.
dtok=detached$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
run_launcher --run-dir "$TR_RUN" --listen-port "$TR_LISTEN_PORT" -d --appendfsync always --api-token "$dtok"
exec 7>&-
check_eq "-d returns 0 once ready" 0 "$RC"
check "-d prints the ready line" contains "$OUT" "TimeRush ready: $TR_URL/"
check "-d tells how to stop" contains "$OUT" "timerush stop --run-dir $TR_RUN"
TR_LAUNCHER_PID=$(cat "$TR_RUN/pids/launcher.pid" 2>/dev/null)
check "the detached launcher runs" tr_alive "$TR_LAUNCHER_PID"
check_eq "and serves" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$TR_URL/nonexistent")"
check "its command line holds no token" test -z "$(tr '\0' '\n' <"/proc/$TR_LAUNCHER_PID/cmdline" | grep -F -- "$dtok")"
check "no process's does" test -z "$(ps -eo args= | grep -F -- "$dtok" | grep -v grep)"
check_eq "the token reached timerush-fcgi" 200 \
    "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $dtok" "$TR_URL/v1/stats")"
check_eq "and is required" 401 "$(curl -s -o /dev/null -w '%{http_code}' "$TR_URL/v1/stats")"
check_eq "--appendfsync always reaches redis" "always" "$(tr_redis CONFIG GET appendfsync | tail -n1)"
mapfile -t stack_pids < <(tr_stack_pids)
holders=()
for p in "$TR_LAUNCHER_PID" "${stack_pids[@]}"; do
    ls -l "/proc/$p/fd" 2>/dev/null | grep -q inherited.marker && holders+=("$p")
done
check_eq "no process of the stack kept the caller's descriptor (${#stack_pids[@]} checked)" "" \
    "${holders[*]}"
OUT=$("$TR_SOURCE_DIR/timerush" stop --run-dir "$TR_RUN" 2>&1)
check_eq "./timerush stop exits 0" 0 "$?"
check "the launcher is gone" gone "$TR_LAUNCHER_PID"
left=()
for p in "${stack_pids[@]}"; do tr_alive "$p" && left+=("$p"); done
check_eq "and every process it started" "" "${left[*]}"
TR_LAUNCHER_PID=""
OUT=$("$TR_SOURCE_DIR/timerush" stop --run-dir "$TR_RUN" 2>&1)
check_eq "stop when nothing runs exits 0" 0 "$?"
check "and says so" contains "$OUT" "not running"

tr_finish
