# lib_api.sh - helpers for the REST API tests (sourced after lib.sh).
#
# api METHOD PATH [JSON [curl args...]]: sets API_STATUS and API_BODY (and
# API_HEADERS, the response header lines). JSON "-" sends no body. TR_API_TOKEN,
# when set, is sent as the bearer token.
api() {
    local method=$1 path=$2 body=${3:--}
    shift $(($# < 3 ? $# : 3))
    local args=(-sS --max-time 20 -X "$method" -D "$TR_TMP/api.headers" -o "$TR_TMP/api.body"
        -w '%{http_code}')
    [[ -n ${TR_API_TOKEN:-} ]] && args+=(-H "Authorization: Bearer $TR_API_TOKEN")
    if [[ $body != - ]]; then
        # A Content-Type among the extra args replaces ours (curl would send both).
        [[ " ${*,,} " == *" content-type:"* ]] || args+=(-H 'Content-Type: application/json')
        args+=(--data-binary "$body")
    fi
    API_STATUS=$(curl "${args[@]}" "$@" "$TR_URL$path" 2>"$TR_TMP/api.err")
    # Builtins, not cat and tr: a fork and exec costs ~20 ms of CPU here, and the
    # suite is CPU-bound (docs/TESTING.md).
    { API_BODY=$(<"$TR_TMP/api.body"); } 2>/dev/null
    { API_HEADERS=$(<"$TR_TMP/api.headers"); } 2>/dev/null
    API_HEADERS=${API_HEADERS//$'\r'/}
}

# jqb FILTER: jq -r on the last answer's body.
jqb() { jq -r "$1" <<<"$API_BODY" 2>/dev/null; }

# check_api DESC STATUS [CODE]: the last answer had STATUS (and error code CODE).
check_api() {
    local desc=$1 status=$2 code=${3:-}
    if [[ $API_STATUS != "$status" ]]; then
        tr_fail "$desc" "HTTP $API_STATUS, want $status: $API_BODY"
        return 1
    fi
    if [[ -n $code && $(jqb .error.code) != "$code" ]]; then
        tr_fail "$desc" "error code $(jqb .error.code), want $code: $API_BODY"
        return 1
    fi
    tr_pass "$desc"
}

# api_list_pending LIMIT MAX_PAGES FILE: pages through GET /v1/timers?state=pending
# &limit=LIMIT with its cursor, appending "DUE_MS KEY" a timer to FILE, up to the last
# page or MAX_PAGES + 1 pages; a page not answered 200 is a failed check (and ends it).
# Sets LIST_PAGES.
api_list_pending() {
    local limit=$1 max=$2 out=$3 cursor="" q
    LIST_PAGES=0
    while :; do
        q="?state=pending&limit=$limit"
        [[ -n $cursor ]] && q+="&cursor=$(jq -rn --arg c "$cursor" '$c|@uri')"
        api GET "/v1/timers$q"
        [[ $API_STATUS == 200 ]] || { check_api "list page" 200; break; }
        LIST_PAGES=$((LIST_PAGES + 1))
        jqb '.timers[] | "\(.due_ms) \(.key)"' >>"$out"
        cursor=$(jqb '.next_cursor // empty')
        [[ -z $cursor || $LIST_PAGES -gt $max ]] && break
    done
}

# sink_count_path LOG PATH: requests the sink logged for PATH.
sink_count_path() { jq -r --arg p "$2" 'select(.path == $p) | .n' "$1" 2>/dev/null | wc -l; }

# start_header_receiver: a receiver on 127.0.0.1:$hport (hport is set here) that
# answers {"ret":0} and appends each request's headers to $TR_TMP/headers.log
# ("Name: value" lines, then "--"); the log starts empty once it listens.
start_header_receiver() {
    hport=$(tr_free_port)
    python3 - "$hport" "$TR_TMP/headers.log" <<'PY' &
import http.server, sys
port, log = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(log, "a") as f:
            f.write("".join("%s: %s\n" % kv for kv in self.headers.items()) + "--\n")
        self.send_response(200); self.send_header("Content-Length", "8"); self.end_headers()
        self.wfile.write(b'{"ret":0}'[:8])
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
    tr_track_pid $!
    up() { curl -s -o /dev/null "http://127.0.0.1:$hport/" -X POST -d ''; }
    tr_wait_for "header receiver listens" 5 up
    : >"$TR_TMP/headers.log"
}
