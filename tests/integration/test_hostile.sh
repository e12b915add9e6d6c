#!/usr/bin/env bash
# Hostile requests (issue 12, strict input): every row of hostile.tsv is sent through
# nginx to the real stack and must get its documented answer (docs/SECURITY.md,
# "Strict input"). Afterwards the service still answers, a good timer still fires,
# and Redis holds exactly the keys and timers it held before the rows.
#
# hostile.tsv, one request a line, seven TAB-separated columns ('#' lines are notes):
#   METHOD  PATH  HEADERS  BODY  STATUS  ANSWER  REASON
# METHOD: an HTTP method sent with curl (--path-as-is), or RAW: PATH is then the
#   whole request, bytes as written (printf %b), sent on a plain TCP connection.
# HEADERS: "Name: value" lines separated by '|', or '-'. A body is sent as
#   application/json unless HEADERS give a Content-Type ("Content-Type:" sends none).
# BODY: printf %b text ('\xff', '\x00', '\\' for one backslash), or '-' for none.
# In PATH, HEADERS and BODY: @U@ is a callback URL, @KEEP@ the fixture timer's key,
#   {REP:N:TEXT} is TEXT N times, @MANY:N@ (HEADERS) N small headers.
# STATUS: the HTTP status. ANSWER: a number (the compat `ret`), a word (the /v1/
#   error code), jq:EXPR (a jq test on the body), or '-' (status only). Every
#   answer must be JSON, and an error's msg / error.message a non-empty string.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
shopt -u patsub_replacement 2>/dev/null # '&' in a replacement is just '&'
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
DBSIZE0=$(tr_redis DBSIZE)
REC0=$(tr_rec_count)
DUE0=$(tr_due_count)

# expand TEXT: the table's placeholders filled in.
expand() {
    local s=$1 re='\{REP:([0-9]+):([^}]*)\}' rep
    while [[ $s =~ $re ]]; do
        printf -v rep '%*s' "${BASH_REMATCH[1]}" ''
        rep=${rep// /${BASH_REMATCH[2]}}
        s=${s/"${BASH_REMATCH[0]}"/$rep}
    done
    s=${s//@U@/$U}
    s=${s//@KEEP@/$KEEP}
    printf '%s' "$s"
}

# send_curl METHOD PATH HEADERS BODY: the answer's status in STATUS, body in $TR_TMP/answer.
send_curl() {
    local args=(-sS --path-as-is --max-time 10 -X "$1" -o "$TR_TMP/answer" -w '%{http_code}')
    local h ct=0 hs
    if [[ $3 != - ]]; then
        hs=$(expand "$3")
        local re='@MANY:([0-9]+)@' i
        if [[ $hs =~ $re ]]; then
            for ((i = 0; i < BASH_REMATCH[1]; i++)); do args+=(-H "X-Many-$i: $i"); done
            hs=${hs/"${BASH_REMATCH[0]}"/}
        fi
        IFS='|' read -r -a hl <<<"$hs"
        for h in "${hl[@]}"; do
            [[ -n $h ]] || continue
            args+=(-H "$h")
            [[ ${h,,} == content-type:* ]] && ct=1
        done
    fi
    if [[ $4 != - ]]; then
        ((ct)) || args+=(-H 'Content-Type: application/json')
        printf '%b' "$(expand "$4")" >"$TR_TMP/body"
        args+=(--data-binary "@$TR_TMP/body")
    fi
    STATUS=$(curl "${args[@]}" "$TR_URL$(expand "$2")" 2>"$TR_TMP/curl.err") || STATUS="curl failed: $(head -c 200 "$TR_TMP/curl.err")"
}

# send_raw REQUEST: the bytes on a fresh TCP connection; status and body as above.
send_raw() {
    printf '%b' "$(expand "$1")" >"$TR_TMP/request"
    : >"$TR_TMP/response"
    if exec 3<>"/dev/tcp/127.0.0.1/$PORT"; then
        cat "$TR_TMP/request" >&3
        timeout 10 cat <&3 >"$TR_TMP/response"
        exec 3<&-
    fi
    local first
    first=$(head -n 1 "$TR_TMP/response" | tr -d '\r')
    STATUS=$(awk '{print $2}' <<<"$first")
    [[ $first == HTTP/1.?\ * ]] || STATUS="no status line: '${first:0:60}'"
    # The body: everything after the first empty line.
    awk 'body { print } /^\r?$/ && !body { body = 1 }' "$TR_TMP/response" >"$TR_TMP/answer"
}

# judge N WANT_STATUS WANT_ANSWER REASON: one ok / not ok line for the row (one jq:
# it exits 1 when the test is false, another code when the answer is not JSON).
judge() {
    local n=$1 want_status=$2 want=$3 reason=$4 why="" filter rc
    case $want in
    jq:*) filter=${want#jq:} ;;
    -) filter=true ;;
    *[!0-9]*) filter='.error.code == $w and (.error.message | type == "string" and length > 0)' ;;
    *) filter='.ret == ($w | tonumber) and (.msg | type == "string" and length > 0)' ;;
    esac
    [[ $STATUS == "$want_status" ]] || why+="HTTP $STATUS, want $want_status; "
    jq -e --arg w "$want" "$filter" "$TR_TMP/answer" >/dev/null 2>&1
    rc=$?
    ((rc == 0)) || why+="$( ((rc == 1)) && echo "answer is not $want" || echo "answer is not JSON"): '$(head -c 300 "$TR_TMP/answer" | tr -d '\000')'; "
    if [[ -z $why ]]; then
        tr_pass "row $n: $reason -> $want_status $want"
    else
        tr_fail "row $n: $reason" "$why"
    fi
}

rows=0
while IFS=$'\t' read -r method path headers body status answer reason; do
    [[ -z $method || $method == \#* ]] && continue
    rows=$((rows + 1))
    if [[ -z $reason ]]; then
        tr_fail "row $rows: seven columns" "got: $method $path ..."
        continue
    fi
    if [[ $method == RAW ]]; then
        send_raw "$path"
    else
        send_curl "$method" "$path" "$headers" "$body"
    fi
    judge "$rows" "$status" "$answer" "$reason"
done <"$TABLE"
check "the table has at least 60 rows ($rows)" test "$rows" -ge 60

# Nothing changed, everything still works.
check_eq "/healthz still answers" 200 "$(curl -s -o /dev/null -w '%{http_code}' "$TR_URL/healthz")"
check_eq "Redis DBSIZE unchanged" "$DBSIZE0" "$(tr_redis DBSIZE)"
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
