#!/usr/bin/env bash
# test_api_scopes.sh - token scopes on every endpoint (a table: each endpoint x no
# token, a wrong one, read, write, admin, a --metrics-token), tokens of the -c file
# and the command line adding up (--api-token-reset drops the file's), tokens kept
# off the programs' command lines, secret headers redacted in GET, the list, the
# dead-letter list and the answers of reschedule and replay while the receiver gets
# them whole, deleting a dead timer needing admin, and bad tokens refused at start
# (exit 2 with a message). docs/SECURITY.md, "API tokens and scopes".
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/lib_api.sh"
tr_setup

# --- bad tokens: refused before anything starts ----------------------------------

fcgi=$TR_BUILD_DIR/fcgi/timerush-fcgi
# refused DESC MESSAGE CMD...: CMD exits 2 and says MESSAGE on stderr.
refused() {
    local desc=$1 want=$2 out rc
    shift 2
    out=$("$@" 2>&1 >/dev/null)
    rc=$?
    check_eq "$desc: exit 2" 2 "$rc"
    check "$desc: says '$want'" grep -qF -- "$want" <<<"$out"
}
refused "timerush-fcgi --api-token=" "empty or whitespace-only token" "$fcgi" --check --api-token=
refused "timerush-fcgi --api-token of blanks" "empty or whitespace-only token" \
    "$fcgi" --check --api-token '   '
refused "timerush-fcgi --api-token read: (no token after the scopes)" "empty or whitespace-only" \
    "$fcgi" --check --api-token read:
refused "timerush-fcgi unknown scope" "unknown scope 'owner'" "$fcgi" --check --api-token owner:abc
refused "timerush-fcgi a token with a space" "RFC 6750" "$fcgi" --check --api-token 'ab cd'
refused "timerush-fcgi --metrics-auth without a token that may read /metrics" \
    "no token has the read or metrics scope" "$fcgi" --check --metrics-auth --api-token write:w1
printf 'api-token =\n' >"$TR_TMP/empty.conf"
refused "timerush-fcgi: an empty api-token line in -c" "empty or whitespace-only token" \
    "$fcgi" --check -c "$TR_TMP/empty.conf"
printf 'read:abc\n' >"$TR_TMP/open.tokens"
chmod 0640 "$TR_TMP/open.tokens"
refused "timerush-fcgi --api-token-file readable by the group" "chmod 600" \
    "$fcgi" --check --api-token-file "$TR_TMP/open.tokens"
la=("$TR_SOURCE_DIR/timerush" --no-build --no-install --build-dir "$TR_BUILD_DIR"
    --run-dir "$TR_TMP/refused" -n)
refused "./timerush --api-token=" "empty or whitespace-only token" "${la[@]}" --api-token=
refused "./timerush --api-token ' '" "empty or whitespace-only token" "${la[@]}" --api-token ' '
refused "./timerush --metrics-token=" "empty or whitespace-only token" "${la[@]}" --metrics-token=
refused "./timerush unknown scope" "unknown scope 'bogus'" "${la[@]}" --api-token bogus:abc
refused "./timerush --api-token-file of mode 0640" "chmod 600" \
    "${la[@]}" --api-token-file "$TR_TMP/open.tokens"
out=$("${la[@]}" --api-token read,write:abc --metrics-token m1 2>/dev/null)
check_eq "./timerush -n with good tokens: OK" OK "$out"

# --- the stack: tokens from the -c file and the command line ----------------------

printf 'api-token = tok-file\n' >"$TR_TMP/stack.conf"
chmod 0600 "$TR_TMP/stack.conf"
tr_start_stack -c "$TR_TMP/stack.conf" --api-token tok-all --api-token read:tok-read \
    --api-token write:tok-write --api-token admin:tok-admin --metrics-token tok-metrics \
    --backoff-min-ms 50 --backoff-max-ms 100 || tr_finish

tokfile=$TR_RUN/conf/api-tokens
check_eq "the launcher's token file is mode 600" 600 "$(stat -c %a "$tokfile" 2>/dev/null)"
check "... and holds the command line's tokens" grep -qx 'admin:tok-admin' "$tokfile"
check "... and the metrics token with its scope" grep -qx 'metrics:tok-metrics' "$tokfile"
leaked=0
for pid in $(cat "$TR_RUN/pids/fcgi.pid"); do
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'tok-' && leaked=1
done
check_eq "no token on a timerush-fcgi command line (ps)" 0 "$leaked"
check "timerush-fcgi reads them from the file" grep -qa -- "--api-token-file=$tokfile" \
    "/proc/$(head -n1 "$TR_RUN/pids/fcgi.pid")/cmdline"

TR_API_TOKEN=tok-file api GET /v1/stats
check_api "the -c file's token is accepted beside the command line's" 200
TR_API_TOKEN=tok-all api GET /v1/stats
check_api "a command-line token without scopes has them all (read)" 200

# --- the table ---------------------------------------------------------------------

url="http://127.0.0.1:$(tr_free_port)/never" # nothing listens: these never fire anyway
for k in k-get k-del k-resched; do
    TR_API_TOKEN=tok-all api POST /v1/timers "{\"key\":\"$k\",\"url\":\"$url\",\"data\":\"x\",\"delay_ms\":600000}"
    check_api "setup: timer $k" 201
done
create="{\"url\":\"$url\",\"data\":\"x\",\"delay_ms\":600000}"
classes=(none wrong read write admin metrics)
declare -A tok=([none]="" [wrong]=tok-wrong [read]=tok-read [write]=tok-write
    [admin]=tok-admin [metrics]=tok-metrics)
# METHOD PATH BODY | the status for: none wrong read write admin metrics. DELETE
# takes write or admin (the timer's state decides; below), so admin passes the
# check and finds k-del gone.
table=(
    "GET /v1/timers - | 401 401 200 403 403 403"
    "GET /v1/timers?state=dead - | 401 401 200 403 403 403"
    "POST /v1/timers $create | 401 401 403 201 403 403"
    "POST /v1/timers/batch {\"timers\":[$create]} | 401 401 403 200 403 403"
    "GET /v1/timers/k-get - | 401 401 200 403 403 403"
    "POST /v1/timers/k-resched/reschedule {\"delay_ms\":500000} | 401 401 403 200 403 403"
    "DELETE /v1/timers/k-del - | 401 401 403 200 404 403"
    "POST /v1/timers/k-get/replay - | 401 401 403 403 404 403"
    "POST /v1/pause - | 401 401 403 403 200 403"
    "POST /v1/resume - | 401 401 403 403 200 403"
    "GET /v1/stats - | 401 401 200 403 403 403"
    "GET /metrics - | 401 401 200 403 403 200"
    "GET /healthz - | 200 200 200 200 200 200"
    "POST /register/ {\"callback_cmd\":\"$url\",\"callback_data\":\"x\",\"seconds\":600} | 401 401 403 200 403 403"
    "POST /unregister {\"key\":\"k-none\"} | 401 401 403 200 403 403"
    "GET /register/ - | 401 401 405 405 405 405"
    "GET /unregister/ - | 401 401 405 405 405 405"
    "GET /v1/nope - | 401 401 404 404 404 404"
    "PUT /v1/stats - | 401 401 405 405 405 405"
)
# One curl a row: its six requests, one per token class, in order (--next).
for row in "${table[@]}"; do
    read -r method path body <<<"${row%%|*}"
    read -ra want <<<"${row#*| }"
    args=()
    for i in "${!classes[@]}"; do
        ((i > 0)) && args+=(--next)
        args+=(-sS --max-time 20 -X "$method" -o "$TR_TMP/scope.$i" -w '%{http_code}\n')
        c=${classes[i]}
        [[ -n ${tok[$c]} ]] && args+=(-H "Authorization: Bearer ${tok[$c]}")
        [[ $body != - ]] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
        args+=("$TR_URL$path")
    done
    mapfile -t got < <(curl "${args[@]}" 2>"$TR_TMP/scope.err")
    for i in "${!classes[@]}"; do
        c=${classes[i]}
        if [[ ${got[i]:-} == "${want[i]}" ]]; then
            tr_pass "$method $path, $c token: ${want[i]}"
        else
            tr_fail "$method $path, $c token" \
                "HTTP ${got[i]:-none}, want ${want[i]}: $(cat "$TR_TMP/scope.$i" 2>/dev/null) $(cat "$TR_TMP/scope.err")"
        fi
    done
done
api GET /v1/stats
check "401 carries WWW-Authenticate: Bearer" grep -qix 'WWW-Authenticate: Bearer' <<<"$API_HEADERS"
TR_API_TOKEN=tok-read api POST /v1/pause
check_api "403 is JSON with code forbidden" 403 forbidden
ans=$(curl -sS -w ' %{http_code}' "$TR_URL/register/")
check_eq "compat: the token before the method (GET without a token: 401 ret 8)" \
    '{"ret":8,"msg":"unauthorized"} 401' "$ans"
ans=$(curl -sS -w ' %{http_code}' -H 'Authorization: Bearer tok-read' -X POST \
    --data-binary '{"key":"k-none"}' "$TR_URL/unregister/")
check_eq "compat: a token without write: 403 ret 9" \
    '{"ret":9,"msg":"forbidden: the token lacks the write scope"} 403' "$ans"
TR_API_TOKEN=tok-read api GET /v1/timers/k-del
check_api "only the write token deleted k-del" 404
TR_API_TOKEN=tok-read api GET /v1/stats
check_eq "the admin token resumed after pausing" false "$(jqb .paused)"

# --- redaction ------------------------------------------------------------------------

# A receiver that records request headers (the sink logs only its own fields).
start_header_receiver

secret='{"Authorization":"Bearer down-secret","cookie":"sid=cookie-secret","X-Trace":"t-1"}'
redacted='{"Authorization":"[redacted]","cookie":"[redacted]","X-Trace":"t-1"}'
TR_API_TOKEN=tok-write api POST /v1/timers "{\"key\":\"s1\",\"url\":\"http://127.0.0.1:$hport/s1\",\"data\":\"x\",\"delay_ms\":600000,\"headers\":$secret}"
check_api "timer with credential headers: 201" 201
check_eq "the create answer redacts them" "$redacted" "$(jqb '.timer.headers | tojson')"
TR_API_TOKEN=tok-read api GET /v1/timers/s1
check_eq "GET redacts Authorization and Cookie (any case), keeps the rest" "$redacted" \
    "$(jqb '.timer.headers | tojson')"
no_secret() { ! grep -q secret <<<"$API_BODY"; }
check "no secret anywhere in the GET answer" no_secret
TR_API_TOKEN=tok-read api GET '/v1/timers?limit=1000'
check_eq "the list redacts them" "$redacted" \
    "$(jqb '.timers[] | select(.key == "s1") | .headers | tojson')"
TR_API_TOKEN=tok-write api POST /v1/timers/s1/reschedule '{"delay_ms":0}'
check_eq "the reschedule answer redacts them" "$redacted" "$(jqb '.timer.headers | tojson')"
got_h() { grep -q '^Authorization: Bearer down-secret$' "$TR_TMP/headers.log"; }
tr_wait_for "the receiver gets the real Authorization" 10 got_h
check "... and the real Cookie" grep -qi '^cookie: sid=cookie-secret$' "$TR_TMP/headers.log"

# --- the dead-letter set: redacted list, replay and delete need admin --------------

for k in d1 d2; do
    TR_API_TOKEN=tok-write api POST /v1/timers "{\"key\":\"$k\",\"url\":\"$url\",\"data\":\"x\",\"delay_ms\":0,\"retry\":{\"max_attempts\":1},\"headers\":$secret}"
    check_api "setup: timer $k to a closed port, one attempt" 201
done
both_dead() {
    TR_API_TOKEN=tok-read api GET '/v1/timers?state=dead'
    [[ $(jqb '[.timers[] | select(.key == "d1" or .key == "d2")] | length') == 2 ]]
}
tr_wait_for "d1 and d2 are dead" 15 both_dead
check_eq "the dead-letter list redacts them" "$redacted" \
    "$(jqb '.timers[] | select(.key == "d1") | .headers | tojson')"
TR_API_TOKEN=tok-write api DELETE /v1/timers/d2
check_api "DELETE of a dead timer with write only: 403" 403 forbidden
ans=$(curl -sS -w ' %{http_code}' -H 'Authorization: Bearer tok-write' -X POST \
    --data-binary '{"key":"d2"}' "$TR_URL/unregister/")
check_eq "compat /unregister/ of a dead timer with write only: 403 ret 9" 403 "${ans##* }"
check_eq "... ret 9" 9 "$(jq -r .ret <<<"${ans% *}")"
TR_API_TOKEN=tok-read api GET /v1/timers/d2
check_eq "... and the dead timer is still there" dead "$(jqb .timer.state)"
TR_API_TOKEN=tok-admin api DELETE /v1/timers/d2
check_api "DELETE of a dead timer with admin: 200" 200
check_eq "... it was dead" dead "$(jqb .state)"
TR_API_TOKEN=tok-admin api POST /v1/timers/d1/replay
check_api "replay with admin: 200" 200
check_eq "the replay answer redacts them" "$redacted" "$(jqb '.timer.headers | tojson')"
TR_API_TOKEN=tok-admin api DELETE /v1/timers/k-resched
check_api "DELETE of a pending timer with admin only: 403" 403 forbidden
TR_API_TOKEN=tok-write api DELETE /v1/timers/k-resched
check_api "DELETE of a pending timer with write: 200" 200

check "no token reaches the logs" bash -c "! grep -rq 'tok-' '$TR_RUN/log'"
tr_stop_stack

# --- --api-token-reset: the -c file's tokens are dropped -------------------------------

TR_RUN=$TR_TMP/stack2
tr_start_stack -c "$TR_TMP/stack.conf" --api-token-reset --api-token read:tok-cli || tr_finish
TR_API_TOKEN=tok-file api GET /v1/stats
check_api "--api-token-reset: the file's token is refused" 401 unauthorized
TR_API_TOKEN=tok-cli api GET /v1/stats
check_api "--api-token-reset: the command line's token works" 200
tr_stop_stack
tr_finish
