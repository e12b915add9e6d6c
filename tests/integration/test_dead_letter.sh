#!/usr/bin/env bash
# test_dead_letter.sh - a timer whose receiver always fails is given up after
# --max-attempts deliveries: it lands in {P}:dead with its last failure in {P}:meta,
# its record stays in its bucket {P}:timers:<b> (so it can be inspected and replayed), and no
# further attempt is ever made.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/lib_sched.sh"
ts_setup

tr_start_sink A --answer status:500 || tr_finish
tr_start_stack --max-attempts 3 --backoff-min-ms 100 --backoff-max-ms 400 || tr_finish

key=$(ts_register "$SINK_A_URL/dead" "dead-letter-payload" 1)
check "timer registered" test -n "$key"

is_dead() { [[ -n $(tr_redis ZSCORE "$(tr_k_of "$key" dead)" "$key") ]]; }
tr_wait_for "timer is in the dead-letter set" 20 is_dead

check_eq "3 attempts reached the receiver" 3 "$(ts_sink_count_key "$SINK_A_LOG" "$key")"
check_eq "their attempt numbers are 1,2,3" "1,2,3" \
    "$(jq -r --arg k "$key" 'select(.key == $k) | .attempt' "$SINK_A_LOG" | paste -sd,)"
check_eq "the body was delivered as registered" "dead-letter-payload" \
    "$(jq -r --arg k "$key" 'select(.key == $k) | .body' "$SINK_A_LOG" | sort -u)"

meta=$(ts_meta "$key")
echo "# meta: $meta"
check "meta is JSON" jq -e . <<<"$meta"
check_eq "meta holds the last status" 500 "$(jq -r '.status' <<<"$meta" 2>/dev/null)"
check "meta holds an error" jq -e '(.error | type) == "string" and (.error | length) > 0' <<<"$meta"
check_eq "meta counts 3 attempts" 3 "$(jq -r '.attempts' <<<"$meta" 2>/dev/null)"
check_eq "record still in its bucket" 1 "$(tr_rec_exists "$key")"
check_eq "not due any more" "" "$(tr_redis ZSCORE "$(tr_k_of "$key" due)" "$key")"
check_eq "not in flight" "" "$(tr_redis ZSCORE "$(tr_k_of "$key" inflight)" "$key")"
check_eq "stats count one dead timer" 1 "$(ts_stat dead)"

# Nothing can deliver it now; watch for longer than three largest back-offs anyway.
three_only() { (($(ts_sink_count_key "$SINK_A_LOG" "$key") == 3)); }
ts_true_for "no 4th attempt arrives" 1500 three_only

ts_no_sanitizer_reports

tr_finish
