#!/usr/bin/env bash
# The original's retry rule: anything but 2xx with ret 0 is retried; the same key is
# delivered again (attempt 1, 2, 3) until {"ret":0}, then never again.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tr_setup
tr_start_sink A \
    --route /r=status:500 --route /r=ret:1 --route /r=ok \
    --route /c=close --route /c=ok \
    --route /s=retry-after:503:0 --route /s=status:404 --route /s=ok
tr_start_stack --backoff-min-ms 100 --backoff-max-ms 400 || tr_finish

KR=$(tr_register "$SINK_A_URL/r" '{"n":1}' 1)
KC=$(tr_register "$SINK_A_URL/c" '"c"' 1)
KS=$(tr_register "$SINK_A_URL/s" '"s"' 1)
check "three timers register" test -n "$KR" -a -n "$KC" -a -n "$KS"

tr_wait_for "500, then ret:1, then ok: delivered 3 times" 8 tr_sink_has A 3 "select(.key == \"$KR\")"
tr_wait_for "close without answer, then ok: delivered 2 times" 8 tr_sink_has A 2 "select(.key == \"$KC\")"
tr_wait_for "503, then 404, then ok: delivered 3 times" 8 tr_sink_has A 3 "select(.key == \"$KS\")"

attempts() { jq -r --arg k "$1" 'select(.key == $k) | .attempt' "$SINK_A_LOG" | tr '\n' ' '; }
bodies() { jq -r --arg k "$1" 'select(.key == $k) | .body' "$SINK_A_LOG" | sort -u | tr '\n' ' '; }
check_eq "attempts are 1, 2, 3" "1 2 3 " "$(attempts "$KR")"
check_eq "the body is the same each time" '{"n":1} ' "$(bodies "$KR")"
# A close on a kept-alive connection makes libcurl itself re-send the request once on
# a fresh connection (same attempt number, invisible to the scheduler): both are fine.
AC=$(attempts "$KC")
check "attempts after a closed connection are 1, 2 or libcurl's resend 1, 1 (got $AC)" \
    test "$AC" = "1 2 " -o "$AC" = "1 1 "
check_eq "attempts after 503 and 404 are 1, 2, 3" "1 2 3 " "$(attempts "$KS")"

tr_wait_for "the records are gone once acknowledged" 3 tr_no_timers_left
check_eq "nothing is in flight" 0 "$(tr_sum_shards ZCARD inflight)"
check_eq "nothing is dead" 0 "$(tr_sum_shards ZCARD dead)"
sleep 1.5 # bounded: proves no further delivery after the ok
check_eq "never delivered again after ok" "3 2 3" \
    "$(tr_sink_count A "select(.key == \"$KR\")") $(tr_sink_count A "select(.key == \"$KC\")") $(tr_sink_count A "select(.key == \"$KS\")")"

tr_stop_stack
tr_finish
