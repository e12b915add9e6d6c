#!/usr/bin/env bash
# test_ui.sh - the /ui/ dashboard (docs/DASHBOARD.md) in headless Chromium (Debian's
# chromium driven by puppeteer-core, pinned in ui/package-lock.json, installed with
# npm ci under the build tree as test_signing.sh installs its library), on one real
# stack with two API tokens. nginx's side first (the files, their types, the
# Content-Security-Policy, no-cache); then ui/check.js: without a token the page says
# 401; with a read-only token the counts, totals and histogram it shows equal the
# API's, the pending list pages through the API's cursor, and pause says 403; with the
# operator's token a timer's details, reschedule, cancel, replay of a dead timer (it
# leaves the dead list, checked through the API), pause and resume (checked in
# /v1/stats); no page error and no CSP violation. Screenshots go to the temp dir, or
# to TR_UI_SCREENSHOTS=DIR (docs/img/ takes them from there).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/lib_api.sh"
tr_setup

# --- puppeteer-core --------------------------------------------------------------------
npm_dir=$TR_BUILD_DIR/test-ui-npm
check "puppeteer-core (npm ci, pinned) is installed in the build tree" \
    tr_npm_install "$here/ui" "$npm_dir" || tr_finish
check "chromium is installed (scripts/debian-packages.txt)" command -v chromium || tr_finish

# The browser starts now, beside the stack (each takes seconds on a loaded machine);
# ui/check.js waits for $go, written once the stack and its timers are ready.
go=$TR_TMP/go.json
# Its pid is node's (exec): the cleanup's SIGTERM makes it kill its browser and exit;
# a watchdog in it ends a stuck session after 150 s.
(cd "$npm_dir" && exec node check.js "$go" "$TR_TMP/chromium-profile") >"$TR_TMP/check.out" 2>"$TR_TMP/check.err" &
check_pid=$!
tr_track_pid "$check_pid"

# --- the stack: an operator's token and a read-only one -------------------------------
ADMIN=ui-admin-$RANDOM$RANDOM READER=ui-read-$RANDOM$RANDOM
# The dead timer's receiver fails once (dead: max_attempts 1), then answers ok, so a
# replay is delivered and leaves the dead set for good.
tr_start_sink S --answer ok --route /dead=status:500 --route /dead=ok || tr_finish
tr_start_stack --api-token "$ADMIN" --api-token "read:$READER" --max-body 262144 || tr_finish
TR_API_TOKEN=$ADMIN

# 60 pending timers, due 10 minutes ahead and later (two pages of 50), in one batch.
batch=$(jq -cn --arg u "$SINK_S_URL/p" \
    '{timers: [range(60) | {key: "ui-p-\(. + 100)", url: $u, data: {n: .}, delay_ms: (600000 + . * 1000)}]}')
api POST /v1/timers/batch "$batch"
check_api "60 pending timers created (batch)" 200
# Two delivered ones, so the histograms have something to draw.
for k in ui-ok-1 ui-ok-2; do
    api POST /v1/timers "{\"key\":\"$k\",\"url\":\"$SINK_S_URL/ok\",\"data\":\"x\",\"delay_ms\":0}"
done
api POST /v1/timers "{\"key\":\"ui-dead\",\"url\":\"$SINK_S_URL/dead\",\"data\":\"x\",\"delay_ms\":0,\"retry\":{\"max_attempts\":1}}"
check_api "a timer bound to fail once created" 201
is_dead() { api GET /v1/timers/ui-dead; [[ $(jqb .timer.state) == dead ]]; }
tr_wait_for "it is dead-lettered" 10 is_dead
delivered2() { api GET /v1/stats; (($(jqb .totals.delivered) >= 2)); }
tr_wait_for "the two others are delivered" 10 delivered2

# --- nginx serves the files ------------------------------------------------------------
# get PATH: HTTP status, then the headers (lower-cased names), into $TR_TMP/h.
get() { curl -sS --max-time 5 -o "$TR_TMP/body" -D - -w '%{http_code}\n' "$TR_URL$1" |
    tr -d '\r' | sed 's/^\([A-Za-z-]*\):/\L\1:/' >"$TR_TMP/h"; }
has() { grep -qiF -- "$1" "$TR_TMP/h"; }
get /ui/
check_eq "/ui/: 200 without a token (the files hold no secret)" 200 "$(tail -n1 "$TR_TMP/h")"
check "/ui/: text/html" has 'content-type: text/html'
check "/ui/: a CSP without inline script, connect-src 'self'" \
    has "content-security-policy: default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self';"
check "/ui/: frame-ancestors 'none'" has "frame-ancestors 'none'"
check "/ui/: Cache-Control no-cache (revalidated, never stale)" has 'cache-control: no-cache'
check "/ui/: nosniff" has 'x-content-type-options: nosniff'
# Every <script> element names its file (src=): none holds code.
inline_scripts() { grep -o '<script[^>]*>' "$TR_TMP/body" | grep -vc 'src='; }
check_eq "index.html has no inline script" 0 "$(inline_scripts)"
check "... and loads app.js as a module" grep -q '<script type="module" src="app.js">' "$TR_TMP/body"
get /ui/app.js
check "app.js: text/javascript (a module needs a JavaScript type)" has 'content-type: text/javascript'
check "app.js: the CSP too" has "content-security-policy:"
get /ui/style.css
check "style.css: text/css" has 'content-type: text/css'
get /ui/nope.js
check_eq "an unknown file: 404" 404 "$(tail -n1 "$TR_TMP/h")"
get /ui
check_eq "/ui redirects to /ui/" 301 "$(tail -n1 "$TR_TMP/h")"
post_status() { curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -X POST -d x "$TR_URL$1"; }
check_eq "POST to a file: 405" 405 "$(post_status /ui/app.js)"

# --- the browser ---------------------------------------------------------------------------
shots=${TR_UI_SCREENSHOTS:-$TR_TMP/shots}
mkdir -p "$shots"
t0=$(tr_now_ms)
jq -n --arg url "$TR_URL" --arg admin "$ADMIN" --arg reader "$READER" --arg shots "$shots" \
    '{url: $url, admin: $admin, reader: $reader, dead: "ui-dead", shots: $shots}' >"$go.tmp" &&
    mv "$go.tmp" "$go"
wait "$check_pid"
rc=$?
echo "# browser session after the stack was ready: $(($(tr_now_ms) - t0)) ms, exit $rc"
while IFS= read -r line; do
    case $line in
    "ok - "*) tr_pass "ui: ${line#ok - }" ;;
    "not ok - "*) desc=${line#not ok - }; tr_fail "ui: $desc" ;;
    esac
done <"$TR_TMP/check.out"
check_eq "the browser session exits 0" 0 "$rc" || sed 's/^/# /' "$TR_TMP/check.err" | tail -n 20
for f in dashboard details dead paused; do
    check "screenshot $f.png written" test -s "$shots/$f.png"
done

tr_stop_stack
tr_finish
