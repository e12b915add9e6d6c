#!/usr/bin/env bash
# test_signing.sh - signed callbacks (docs/SIGNING.md) on the real stack: every
# callback the sink receives is verified with the Standard Webhooks reference library
# (the standardwebhooks npm package, pinned in signing/package-lock.json, installed
# with npm ci under the build tree), and verification fails when the body, the
# timestamp or the secret is altered. Covered: a compat and a REST timer, one with
# its own headers, a retried one (ids differ by attempt), a recurring one (ids differ
# by firing), a failure notice, a delivery released at shutdown and sent again (same
# attempt, same id), two secrets (each alone verifies), SIGHUP to a new secret and to
# a bad file (the old secret stays), bad files at start (exit 2), and the shell
# recipe of docs/SIGNING.md (openssl) on a real callback.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/lib_api.sh"
tr_setup

# --- the reference library --------------------------------------------------------
npm_dir=$TR_BUILD_DIR/test-signing-npm
check "standardwebhooks (npm ci, pinned) is installed in the build tree" \
    tr_npm_install "$here/signing" "$npm_dir" || tr_finish

# verify LINE SECRET [none|body|timestamp]: the library's verdict on one sink log line.
verify() { (cd "$npm_dir" && node verify.js "$2" "${3:-none}" <<<"$1"); }

# --- secrets files -------------------------------------------------------------------
new_secret() { printf 'whsec_%s' "$(openssl rand -base64 32)"; }
A=$(new_secret) B=$(new_secret) C=$(new_secret)
# write_secrets FILE MODE LINES...: via a temp file and rename, as an operator should.
write_secrets() {
    local f=$1 mode=$2
    shift 2
    (umask 077 && printf '%s\n' "$@" >"$f.tmp") && chmod "$mode" "$f.tmp" && mv "$f.tmp" "$f"
}
secrets=$TR_TMP/secrets
write_secrets "$secrets" 600 "# the new secret first, then the old one until receivers moved" "$A" "" "$B"

# --- bad files at start: exit 2 with a clear message --------------------------------
sched=$TR_BUILD_DIR/scheduler/timerush-scheduler
# start_with FILE: runs the scheduler with FILE (no Redis needed: it stops first);
# prints "<exit status> <stderr>".
start_with() {
    local out rc
    out=$(timeout 20 "$sched" --redis-socket "$TR_TMP/none.sock" --logpath "$TR_TMP/bad.log" \
        --signing-secret-file "$1" 2>&1 >/dev/null)
    rc=$?
    printf '%s %s' "$rc" "$out"
}
write_secrets "$TR_TMP/open" 644 "$A"
write_secrets "$TR_TMP/junk" 600 "$A" "not-a-secret"
write_secrets "$TR_TMP/short" 600 "whsec_$(openssl rand -base64 16)"
write_secrets "$TR_TMP/empty" 600 "# nothing yet"
out=$(start_with "$TR_TMP/open")
check_eq "a file group or others may read: exit 2, says so" \
    "2 timerush-scheduler: --signing-secret-file $TR_TMP/open: mode 0644 gives group or others access: chmod 600 it" "$out"
out=$(start_with "$TR_TMP/junk")
check_eq "a line that is not a secret: exit 2, names the line" \
    "2 timerush-scheduler: --signing-secret-file $TR_TMP/junk: line 2: not a secret: want whsec_<base64>, or a # comment" "$out"
no_secret_in() { [[ $1 != *"${A#whsec_}"* ]]; }
check "... and never prints a secret" no_secret_in "$out"
out=$(start_with "$TR_TMP/short")
check "a secret of 16 bytes: exit 2 (at least 24)" grep -q '^2 .*line 1: secret of 16 bytes; at least 24' <<<"$out"
out=$(start_with "$TR_TMP/empty")
check "no secret: exit 2" grep -q '^2 .*: no secret' <<<"$out"
out=$(start_with "$TR_TMP/missing")
check "a missing file: exit 2" grep -q '^2 .*missing: No such file or directory' <<<"$out"
check_eq "--check with a good file: OK" OK \
    "$("$sched" --redis-socket "$TR_TMP/none.sock" --signing-secret-file "$secrets" --check 2>&1)"

# --- the stack, signing with A and B -------------------------------------------------
tr_start_sink S --answer ok --route /retry=status:500 --route /retry=ok \
    --route /dead=status:500 --route /hang=timeout --route /hang=ok || tr_finish
U=$SINK_S_URL
stack_opts=(--signing-secret-file "$secrets" --backoff-min-ms 100 --backoff-max-ms 200
    --drain-ms 300)
tr_start_stack "${stack_opts[@]}" || tr_finish

# line PATH [N]: the N-th (default first) request the sink logged for PATH.
line() { jq -c --arg p "$1" 'select(.path == $p)' "$SINK_S_LOG" | sed -n "${2:-1}p"; }
# seen PATH N: the sink has at least N requests for PATH.
seen() { (($(sink_count_path "$SINK_S_LOG" "$1") >= $2)); }
# want_id LINE [SUFFIX]: the webhook-id TimeRush gives that delivery (tr_sign_id):
# msg_<key, '.' as %2E>_<due_ms>_<attempt>[SUFFIX].
want_id() { jq -r --arg s "${2:-}" '"msg_\(.key | gsub("\\."; "%2E"))_\(.due_ms)_\(.attempt)\($s)"' <<<"$1"; }

# A REST timer, due at once, its body not ASCII.
api POST /v1/timers "{\"key\":\"sig.plain\",\"url\":\"$U/plain\",\"data\":{\"text\":\"h\u00e9llo\"},\"delay_ms\":0}"
check_api "REST timer created" 201
tr_wait_for "its callback arrives" 15 seen /plain 1
L=$(line /plain)
check_eq "webhook-id: msg_<key with . as %2E>_<due>_<attempt>" "$(want_id "$L")" "$(jq -r .webhook.id <<<"$L")"
check "... which holds no '.'" grep -vq '\.' <<<"$(jq -r .webhook.id <<<"$L")"
ts=$(jq -r .webhook.timestamp <<<"$L")
now_s=$(($(tr_now_ms) / 1000))
check "webhook-timestamp: seconds, now (${ts} vs ${now_s})" test "$ts" -ge $((now_s - 60)) -a "$ts" -le "$now_s"
check "webhook-signature: two v1 signatures, space-separated" \
    grep -Eq '^v1,[A-Za-z0-9+/]{43}= v1,[A-Za-z0-9+/]{43}=$' <<<"$(jq -r .webhook.signature <<<"$L")"
check_eq "the reference library verifies it with the first secret" ok "$(verify "$L" "$A")"
check_eq "... and with the second alone" ok "$(verify "$L" "$B")"
check_eq "... not with another secret" "fail: No matching signature found" "$(verify "$L" "$C")"
check_eq "... not with the body altered" "fail: No matching signature found" "$(verify "$L" "$A" body)"
check_eq "... not with the timestamp altered" "fail: No matching signature found" "$(verify "$L" "$A" timestamp)"

# docs/SIGNING.md's shell recipe on the same callback: openssl over id.timestamp.body.
key_hex=$(printf '%s' "${A#whsec_}" | base64 -d | od -An -tx1 | tr -d ' \n')
mac=$({ printf '%s.%s.' "$(jq -r .webhook.id <<<"$L")" "$ts"; jq -j .body <<<"$L"; } |
    openssl dgst -sha256 -mac HMAC -macopt "hexkey:$key_hex" -binary | base64)
check "openssl dgst -mac HMAC computes the first signature" \
    test "$(jq -r .webhook.signature <<<"$L" | cut -d' ' -f1)" == "v1,$mac"

# A compat timer (the original protocol): a plain-text body, a generated key.
key=$(tr_register "$U/compat" '"plain text, not JSON"' 1)
check "compat timer registered" test -n "$key"
tr_wait_for "its callback arrives" 15 seen /compat 1
L=$(line /compat)
check_eq "compat: verified" ok "$(verify "$L" "$A")"
check_eq "compat: webhook-id from the generated key" "$(want_id "$L")" "$(jq -r .webhook.id <<<"$L")"

# A timer with headers of its own (the list path), and the three names refused.
api POST /v1/timers "{\"key\":\"sig-hdr\",\"url\":\"$U/hdr\",\"data\":\"x\",\"headers\":{\"X-Trace\":\"t1\"},\"delay_ms\":0}"
check_api "timer with its own header created" 201
tr_wait_for "its callback arrives" 15 seen /hdr 1
check_eq "own headers: verified" ok "$(verify "$(line /hdr)" "$A")"
for h in webhook-id Webhook-Timestamp WEBHOOK-SIGNATURE; do
    api POST /v1/timers "{\"url\":\"$U/x\",\"data\":\"x\",\"headers\":{\"$h\":\"v1,forged\"},\"delay_ms\":0}"
    check_api "a timer may not set $h: 400" 400 invalid_field
done
check "... the answer names it" grep -q "headers: 'WEBHOOK-SIGNATURE' may not be set" <<<"$API_BODY"

# A retried delivery: 500, then 200. Same firing, next attempt: a new id; both signed.
api POST /v1/timers "{\"key\":\"sig-retry\",\"url\":\"$U/retry\",\"data\":\"r\",\"delay_ms\":0}"
check_api "retried timer created" 201
tr_wait_for "two deliveries (500, then ok)" 15 seen /retry 2
L1=$(line /retry 1) L2=$(line /retry 2)
check_eq "attempts 1 and 2 of one firing" "1 2 same due" \
    "$(jq -r .attempt <<<"$L1") $(jq -r .attempt <<<"$L2") $([[ $(jq .due_ms <<<"$L1") == $(jq .due_ms <<<"$L2") ]] && echo same due)"
check_eq "ids: msg_sig-retry_<due>_1 and _2" "$(want_id "$L1") $(want_id "$L2")" \
    "$(jq -r .webhook.id <<<"$L1") $(jq -r .webhook.id <<<"$L2")"
check_eq "both verified" "ok ok" "$(verify "$L1" "$B") $(verify "$L2" "$B")"

# A recurring timer: every firing starts at attempt 1; the due time keeps ids apart.
api POST /v1/timers "{\"key\":\"sig-every\",\"url\":\"$U/every\",\"data\":\"e\",\"every_ms\":300,\"count\":2,\"delay_ms\":0}"
check_api "recurring timer created" 201
tr_wait_for "two firings" 15 seen /every 2
L1=$(line /every 1) L2=$(line /every 2)
check "two firings, both attempt 1, two ids" test "$(jq -r .attempt <<<"$L1")$(jq -r .attempt <<<"$L2")" == 11 \
    -a "$(jq -r .webhook.id <<<"$L1")" != "$(jq -r .webhook.id <<<"$L2")"
check_eq "both verified" "ok ok" "$(verify "$L1" "$A") $(verify "$L2" "$A")"

# A failure notice is signed too, with the last attempt's id and "_failure".
api POST /v1/timers "{\"key\":\"sig-dead\",\"url\":\"$U/dead\",\"data\":\"d\",\"retry\":{\"max_attempts\":1},\"failure_url\":\"$U/fail\",\"delay_ms\":0}"
check_api "timer with a failure_url created" 201
tr_wait_for "its failure notice arrives" 15 seen /fail 1
L=$(line /fail)
check_eq "notice id: the failed delivery's id + _failure" "$(want_id "$(line /dead)" _failure)" \
    "$(jq -r .webhook.id <<<"$L")"
check_eq "notice verified" ok "$(verify "$L" "$A")"

# Released at shutdown: a delivery that hangs past --drain-ms is given back (attempt
# undone) and sent again by the next run: same attempt, same id, signed afresh.
api POST /v1/timers "{\"key\":\"sig-hang\",\"url\":\"$U/hang\",\"data\":\"h\",\"delay_ms\":0}"
check_api "hanging timer created" 201
tr_wait_for "its delivery reaches the sink (which never answers)" 15 seen /hang 1
tr_stop_stack
tr_start_stack "${stack_opts[@]}" || tr_finish
tr_wait_for "sent again after the restart" 20 seen /hang 2
L1=$(line /hang 1) L2=$(line /hang 2)
check_eq "the same attempt" "$(jq -r .attempt <<<"$L1")" "$(jq -r .attempt <<<"$L2")"
check_eq "the same webhook-id" "$(jq -r .webhook.id <<<"$L1")" "$(jq -r .webhook.id <<<"$L2")"
check_eq "both verified" "ok ok" "$(verify "$L1" "$A") $(verify "$L2" "$A")"

# --- SIGHUP: a new secrets file is used by the next callback -------------------------
sched_pid=$(head -n 1 "$TR_RUN/pids/scheduler.1.pid")
sched_log=$TR_RUN/log/scheduler.1.log
write_secrets "$secrets" 600 "$C"
kill -HUP "$sched_pid"
tr_wait_for "SIGHUP: the scheduler reloads the file" 10 \
    grep -q "INFO .*--signing-secret-file reloaded: signing with 1 secret(s)" "$sched_log"
api POST /v1/timers "{\"key\":\"sig-after\",\"url\":\"$U/after\",\"data\":\"a\",\"delay_ms\":0}"
tr_wait_for "a callback after the reload" 15 seen /after 1
L=$(line /after)
check_eq "signed with the new secret" ok "$(verify "$L" "$C")"
check_eq "... no longer with the old ones" "fail: No matching signature found fail: No matching signature found" \
    "$(verify "$L" "$A") $(verify "$L" "$B")"

# A bad file on reload keeps the secret in use, and says why.
write_secrets "$secrets" 644 "$A"
kill -HUP "$sched_pid"
tr_wait_for "a bad file on reload is logged as an error" 10 \
    grep -q "ERROR .*--signing-secret-file not reloaded, still signing with the 1 secret(s) loaded before: .*mode 0644" "$sched_log"
api POST /v1/timers "{\"key\":\"sig-kept\",\"url\":\"$U/kept\",\"data\":\"k\",\"delay_ms\":0}"
tr_wait_for "a callback after the bad reload" 15 seen /kept 1
check_eq "still signed with the secret loaded before" ok "$(verify "$(line /kept)" "$C")"
check "the scheduler never logged a secret" bash -c "! grep -qF -e '${A#whsec_}' -e '${B#whsec_}' -e '${C#whsec_}' '$TR_RUN'/log/*.log"
tr_stop_stack

tr_finish
