#!/usr/bin/env bash
# Hostile requests (issue 12, strict input): every row of hostile.tsv is sent through
# nginx to the real stack and must get its documented answer (docs/SECURITY.md,
# "Strict input"). Afterwards the service still answers, a good timer still fires,
# and Redis holds exactly the keys and timers it held before the rows.
#
# hostile.tsv, one request a line, seven TAB-separated columns ('#' lines are notes):
#   METHOD  PATH  HEADERS  BODY  STATUS  ANSWER  REASON
# METHOD: an HTTP method, sent as curl would (the path as written), or RAW: PATH is
#   then the whole request, bytes as written (printf %b), sent on a TCP connection.
# HEADERS: "Name: value" lines separated by '|', or '-'. A body is sent as
#   application/json unless HEADERS give a Content-Type ("Content-Type:" sends none).
# BODY: printf %b text ('\xff', '\x00', '\\' for one backslash), or '-' for none.
# In PATH, HEADERS and BODY: @U@ is a callback URL, @KEEP@ the fixture timer's key,
#   {REP:N:TEXT} is TEXT N times, @MANY:N@ (HEADERS) N small headers.
# STATUS: the HTTP status. ANSWER: a number (the compat `ret`), a word (the /v1/
#   error code), jq:EXPR (a jq test on the body), or '-' (status only). Every
#   answer must be JSON, and an error's msg / error.message a non-empty string.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tr_setup
tr_start_sink A
MAX_BODY=4096
tr_start_stack --max-body "$MAX_BODY" || tr_finish
PORT=${TR_URL##*:}
TABLE=${HOSTILE_TABLE:-$(dirname "${BASH_SOURCE[0]}")/hostile.tsv}

# The fixture: one pending timer of each API, far in the future.
U="$SINK_A_URL/x"
KEEP=hostile-keep
tr_post /v1/timers "{\"key\":\"$KEEP\",\"url\":\"$U\",\"data\":\"d\",\"delay_ms\":600000}" >/dev/null
COMPAT_KEY=$(tr_register "$U" '"d"' 600)
check "fixture: a /v1/ timer exists" test "$(curl -s -o /dev/null -w '%{http_code}' "$TR_URL/v1/timers/$KEEP")" = 200
check "fixture: a compat timer exists" test -n "$COMPAT_KEY"
keep_view() { curl -sS "$TR_URL/v1/timers/$KEEP" | jq -c 'del(.timer.ttl_ms)'; }
KEEP0=$(keep_view)
KEYS0=$(tr_key_count)
REC0=$(tr_rec_count)
DUE0=$(tr_due_count)

# Every row, sent and judged by hostile_send.py (one process, not a curl and a jq a
# row); its lines become this test's ok / not ok lines.
rows=0
while IFS=$'\t' read -r verdict desc why; do
    case $verdict in
    ok) tr_pass "$desc" ;;
    fail) tr_fail "$desc" "$why" ;;
    rows) rows=$desc ;;
    esac
done < <(python3 "$(dirname "${BASH_SOURCE[0]}")/hostile_send.py" "$PORT" "$TABLE" "$U" "$KEEP")
check "the table has at least 60 rows ($rows)" test "$rows" -ge 60

# Nothing changed, everything still works.
check_eq "/healthz still answers" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$TR_URL/healthz")"
check_eq "Redis keys unchanged (DBSIZE on its own Redis)" "$KEYS0" "$(tr_key_count)"
check_eq "timer records unchanged" "$REC0" "$(tr_rec_count)"
check_eq "due timers unchanged" "$DUE0" "$(tr_due_count)"
check_eq "the /v1/ fixture timer unchanged" "$KEEP0" "$(keep_view)"
check "the compat fixture timer is still pending" test "$(tr_rec_exists "$COMPAT_KEY")" = 1
GOOD=$(tr_register "$SINK_A_URL/good" '{"after":"hostile"}' 1)
check "a good timer registers after the rows" test -n "$GOOD"
tr_wait_for "... and fires" 30 tr_sink_has A 1 "select(.path == \"/good\")"

# The per-address limits render into nginx's configuration; a burst over
# --max-rps-per-ip gets nginx's 429 as JSON (one curl, one kept-alive connection:
# 20 requests far inside the second a rate of 1/s allows 2 of).
tr_stop_stack
tr_start_stack --max-body "$MAX_BODY" --max-conns-per-ip 50 --max-rps-per-ip 1 || tr_finish
check "nginx.conf has limit_conn 50" grep -q 'limit_conn tr_conn 50;' "$TR_RUN/conf/nginx.conf"
check "nginx.conf has limit_req rate 1r/s, burst 1" \
    grep -q 'limit_req zone=tr_req burst=1 nodelay;' "$TR_RUN/conf/nginx.conf"
burst=(-s -X POST -H 'Content-Type: application/json' -d '{}' -w '%{http_code}\n')
for i in $(seq 1 20); do burst+=(-o "$TR_TMP/burst.$i" "$TR_URL/register/"); done
codes=$(curl "${burst[@]}")
check "a burst gets 429s" grep -q '^429$' <<<"$codes"
for i in $(seq 1 20); do
    if jq -e '.ret == 10' "$TR_TMP/burst.$i" >/dev/null 2>&1; then
        check "... answered as JSON with ret 10" true
        break
    fi
    ((i == 20)) && check "... answered as JSON with ret 10" false
done
tr_finish
