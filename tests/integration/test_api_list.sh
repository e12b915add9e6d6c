#!/usr/bin/env bash
# test_api_list.sh - GET /v1/timers pages through 2,500 pending timers (many with
# the same due time) with limit 1000: 3 pages, none missing, none twice, in
# (due, key) order; bad state/limit/cursor answer 400.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/lib_api.sh"
tr_setup
tr_start_stack --max-body 1000000 || tr_finish

mk_batch() { # mk_batch FROM COUNT
    python3 -c "
import json, sys, time
f, n = int(sys.argv[1]), int(sys.argv[2])
base = (int(time.time()) // 86400 + 2) * 86400000
print(json.dumps({'timers': [{'key': 'k%05d' % i, 'url': 'http://127.0.0.1:9/', 'data': '',
  'at': base + (i % 7)} for i in range(f, f + n)]}))" "$1" "$2"
}
for from in 0 1000 2000; do
    n=1000
    ((from == 2000)) && n=500
    api POST /v1/timers/batch "$(mk_batch $from $n)"
    check_eq "batch of $n created" "$n" "$(jqb '[.results[] | select(.status == 201)] | length')"
done

: >"$TR_TMP/keys"
api_list_pending 1000 5 "$TR_TMP/keys"
check_eq "3 pages" 3 "$LIST_PAGES"
check_eq "2500 timers listed" 2500 "$(wc -l <"$TR_TMP/keys")"
check_eq "no duplicates" 2500 "$(cut -d' ' -f2 "$TR_TMP/keys" | sort -u | wc -l)"
check "in (due, key) order" bash -c "sort -k1,1n -k2,2 -c '$TR_TMP/keys'"
api GET "/v1/timers?limit=5"
check_eq "default state pending, limit 5" 5 "$(jqb '.timers | length')"
api GET "/v1/timers?state=dead"
check_eq "no dead timers: empty page" "0 null" "$(jqb '"\(.timers | length) \(.next_cursor)"')"
api GET "/v1/timers?state=bogus"
check_api "bad state: 400" 400 bad_request
api GET "/v1/timers?limit=0"
check_api "limit 0: 400" 400 bad_request
api GET "/v1/timers?limit=1001"
check_api "limit 1001: 400" 400 bad_request
api GET "/v1/timers?cursor=zzz"
check_api "bad cursor: 400" 400 bad_request
api GET "/v1/timers?cursor=9999999999999999999:abc"
check_api "cursor beyond int64: 400" 400 bad_request
check "... the message names the cursor" grep -q cursor <<<"$(jqb .error.message)"
api GET "/v1/timers?limit=1"
check_api "... and the workers still answer" 200
api GET "/v1/timers?limit=%2B5"
check_api "limit with a sign: 400" 400 bad_request
tr_stop_stack
tr_finish
