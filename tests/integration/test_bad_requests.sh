#!/usr/bin/env bash
# Every bad request answers its documented `ret` (shared/tr_error.h, docs/PROTOCOL.md)
# with a msg naming the field, and stores nothing.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tr_setup
tr_start_sink A
MAX_BODY=4096
tr_start_stack --max-body "$MAX_BODY" || tr_finish

# One valid timer far in the future: the baseline that must not change.
KEEP=$(tr_register "$SINK_A_URL/keep" '"d"' 600)
check "a valid timer registers" test -n "$KEEP"
DUE0=$(tr_due_count)
HLEN0=$(tr_rec_count)

# req METHOD PATH BODY -> sets STATUS and BODY
req() {
    local out
    out=$(curl -sS --max-time 5 -X "$1" -H 'Content-Type: application/json' \
        --data-binary "$3" -w '\n%{http_code}' "$TR_URL$2")
    STATUS=${out##*$'\n'}
    BODY=${out%$'\n'*}
}

# expect DESC HTTP_STATUS RET FIELD: FIELD ("" for none) must appear in msg.
expect() {
    local why=""
    [[ "$STATUS" == "$2" ]] || why+="HTTP $STATUS, want $2; "
    jq -e --argjson r "$3" '.ret == $r' <<<"$BODY" >/dev/null 2>&1 || why+="body '$BODY', want ret $3; "
    jq -e --arg f "$4" '(.msg | type == "string" and length > 0 and contains($f))' \
        <<<"$BODY" >/dev/null 2>&1 || why+="msg does not name '$4'; "
    if [[ -z "$why" ]]; then tr_pass "$1 -> ret $3"; else tr_fail "$1" "$why"; fi
}

U='"http://127.0.0.1:9/x"'
reg() { req POST /register/ "$1"; expect "$2" 200 "$3" "$4"; }

reg '{"callback_cmd":'                                 "truncated JSON"        1 ""
reg 'hello'                                            "not JSON"              1 ""
reg ''                                                 "empty body"            1 ""
reg '[1,2,3]'                                          "a JSON array"          1 ""
reg '"a string"'                                       "a JSON string"         1 ""
reg "{\"callback_cmd\":$U,\"callback_data\":\"d\",\"seconds\":5} x" "trailing bytes" 1 ""
reg '{"callback_data":"d","seconds":5}'                "missing callback_cmd"  2 callback_cmd
reg "{\"callback_cmd\":$U,\"seconds\":5}"              "missing callback_data" 2 callback_data
reg "{\"callback_cmd\":$U,\"callback_data\":\"d\"}"    "missing seconds"       2 seconds
for s in 0 -1 1.5 '"abc"' 315360001; do
    reg "{\"callback_cmd\":$U,\"callback_data\":\"d\",\"seconds\":$s}" "seconds $s" 3 seconds
done
# Beyond 64 bits json-c would read another number: no JSON TimeRush reads (strict input).
reg "{\"callback_cmd\":$U,\"callback_data\":\"d\",\"seconds\":99999999999999999999}" "seconds beyond 64 bits" 1 "64-bit"
for s in true null '[5]'; do
    reg "{\"callback_cmd\":$U,\"callback_data\":\"d\",\"seconds\":$s}" "seconds $s" 2 seconds
done
for d in 5 null true; do
    reg "{\"callback_cmd\":$U,\"callback_data\":$d,\"seconds\":5}" "callback_data $d" 2 callback_data
done
for u in '"ftp://127.0.0.1/x"' '"/relative/path"' '""' '"http://"' '"127.0.0.1:80/x"'; do
    reg "{\"callback_cmd\":$u,\"callback_data\":\"d\",\"seconds\":5}" "callback_cmd $u" 4 callback_cmd
done
for u in 5 null '{}'; do
    reg "{\"callback_cmd\":$u,\"callback_data\":\"d\",\"seconds\":5}" "callback_cmd $u" 2 callback_cmd
done
LONG_URL="\"http://127.0.0.1:9/$(head -c 2100 /dev/zero | tr '\0' a)\""
reg "{\"callback_cmd\":$LONG_URL,\"callback_data\":\"d\",\"seconds\":5}" "callback_cmd over 2048 bytes" 5 callback_cmd

unreg() { req POST /unregister/ "$1"; expect "$2" 200 "$3" "$4"; }
unreg 'nope'            "unregister: not JSON"       1 ""
unreg '[]'              "unregister: a JSON array"   1 ""
unreg '{}'              "unregister: missing key"    2 key
unreg '{"key":5}'       "unregister: key not a string" 2 key

# Transport-level errors.
BIG="{\"callback_cmd\":$U,\"callback_data\":\"$(head -c $((MAX_BODY + 100)) /dev/zero | tr '\0' b)\",\"seconds\":5}"
req POST /register/ "$BIG"
expect "body over --max-body (nginx)" 413 5 ""
req GET /register/ ""
expect "GET /register/" 405 6 ""
req POST /no/such/path/ '{}'
expect "unknown path" 404 7 ""

# Over the handler's own limit, bypassing nginx: straight to the FastCGI socket.
FCGI_SOCK="$TR_RUN/run/fcgi.sock"
if command -v cgi-fcgi >/dev/null && [[ -S "$FCGI_SOCK" ]]; then
    printf '%s' "$BIG" >"$TR_TMP/big.json"
    OUT=$(env -i REQUEST_METHOD=POST REQUEST_URI=/register/ DOCUMENT_URI=/register/ \
        SCRIPT_NAME=/register/ PATH_INFO= CONTENT_TYPE=application/json \
        CONTENT_LENGTH=${#BIG} SERVER_PROTOCOL=HTTP/1.1 GATEWAY_INTERFACE=CGI/1.1 \
        cgi-fcgi -bind -connect "$FCGI_SOCK" <"$TR_TMP/big.json" 2>&1 | tr -d '\r')
    BODY=$(sed '1,/^$/d' <<<"$OUT")
    STATUS=200
    grep -qi '^Status: 413' <<<"$OUT" && STATUS=413
    expect "body over the handler's limit (FastCGI direct)" "$STATUS" 5 ""
else
    tr_fail "body over the handler's limit" "no cgi-fcgi or no socket $FCGI_SOCK"
fi

check_eq "nothing was stored (ZCARD due unchanged)" "$DUE0" "$(tr_due_count)"
check_eq "nothing was stored (record count unchanged)" "$HLEN0" "$(tr_rec_count)"
check_eq "no callback was made" 0 "$(tr_sink_count A)"

tr_stop_stack
tr_finish
