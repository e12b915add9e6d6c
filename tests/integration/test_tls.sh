#!/usr/bin/env bash
# test_tls.sh - https callbacks with a client certificate (mTLS), through a real nginx
# that demands one (ssl_verify_client on) and proxies to the sink:
#  (a) --cacert ca.pem --pem client.pem: delivered;
#  (b) --cacert ca.pem, no --pem: nginx answers 400 "No required SSL certificate was
#      sent", the timer is retried (attempt grows) and not lost;
#  (c) --cacert of an unrelated CA (with --pem): the server is not trusted, no request
#      is made, the timer is retried; then with --insecure (and --pem) it is delivered.
# The certificates are made now, in the test's temp dir (tls/make_certs.sh).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/lib_sched.sh"
ts_setup

ts_start_tls_front

# Our own check of the front: without a client certificate it refuses.
check "the front refuses a peer without a certificate (400)" \
    test "$(curl -s -o /dev/null -w '%{http_code}' --cacert "$certs/ca.pem" "$url/x")" = 400

tr_start_stack || tr_finish
# Only the schedulers this test starts may claim: the stack's is paused (SIGSTOP).
check "the stack's own scheduler is paused" ts_pause_stack_schedulers
fast=(--max-attempts 1000 --backoff-min-ms 100 --backoff-max-ms 300 --timeout-ms 3000 --connect-timeout-ms 1000
    --lease-margin-ms 1000)
arrived() { (($(ts_sink_count_key "$SINK_A_LOG" "$1") >= 1)); }
attempts_at_least() { (($(ts_attempts "$1") >= $2)); }
pending() { # the timer is still alive and will be tried again
    [[ $(tr_rec_exists "$1") == 1 &&
        -z $(tr_redis ZSCORE "$(tr_k_of "$1" dead)" "$1") ]]
}

# (a) the right CA and a client certificate.
ts_start_scheduler a --cacert "$certs/ca.pem" --pem "$certs/client.pem" "${fast[@]}"
key_a=$(ts_register "$url/tls-a" "over-mtls" 1)
check "(a) timer registered" test -n "$key_a"
tr_wait_for "(a) delivered over https with a client certificate" 15 arrived "$key_a"
check_eq "(a) body intact" "over-mtls" \
    "$(jq -r --arg k "$key_a" 'select(.key == $k) | .body' "$SINK_A_LOG")"
check_eq "(a) on the first attempt" 1 \
    "$(jq -r --arg k "$key_a" 'select(.key == $k) | .attempt' "$SINK_A_LOG")"
check "(a) nginx saw a 200 for it" grep -q '"POST /tls-a HTTP/1.1" 200' "$TR_TMP/nginx-tls-access.log"
ts_stop_scheduler a 10
check_eq "(a) scheduler exited 0" 0 "$TS_RC"

# (b) no client certificate.
ts_start_scheduler b --cacert "$certs/ca.pem" "${fast[@]}"
key_b=$(ts_register "$url/tls-b" "needs-a-cert" 1)
check "(b) timer registered" test -n "$key_b"
tr_wait_for "(b) retried: 3 attempts" 20 attempts_at_least "$key_b" 3
meta_b=$(ts_meta "$key_b")
echo "# (b) meta: $meta_b"
check_eq "(b) the last failure is HTTP 400" 400 "$(jq -r '.status' <<<"$meta_b" 2>/dev/null)"
check "(b) nginx refused for want of a certificate" \
    grep -q 'client sent no required SSL certificate' "$TR_TMP/nginx-tls-error.log"
check "(b) nginx answered 400 to the scheduler" \
    grep -q '"POST /tls-b HTTP/1.1" 400' "$TR_TMP/nginx-tls-access.log"
check_eq "(b) nothing reached the receiver" 0 "$(ts_sink_count_key "$SINK_A_LOG" "$key_b")"
check "(b) not lost: still pending" pending "$key_b"
ts_stop_scheduler b 10
check_eq "(b) scheduler exited 0" 0 "$TS_RC"

# (c) a CA that did not sign the server: verification fails before any request.
n_b=$(ts_attempts "$key_b")
ts_start_scheduler c --cacert "$certs/other-ca.pem" --pem "$certs/client.pem" "${fast[@]}"
tr_wait_for "(c) retried: 2 more attempts" 20 attempts_at_least "$key_b" $((n_b + 2))
meta_c=$(ts_meta "$key_b")
echo "# (c) meta: $meta_c"
check "(c) the failure is a TLS verification error" \
    jq -e '(.status // 0) == 0 and (.error | test("certificate|SSL|verify|issuer"; "i"))' \
    <<<"$meta_c"
check_eq "(c) nothing reached the receiver" 0 "$(ts_sink_count_key "$SINK_A_LOG" "$key_b")"
check "(c) not lost: still pending" pending "$key_b"
ts_stop_scheduler c 10
check_eq "(c) scheduler exited 0" 0 "$TS_RC"

n_c=$(ts_attempts "$key_b")
ts_start_scheduler d --cacert "$certs/other-ca.pem" --insecure --pem "$certs/client.pem" \
    "${fast[@]}"
tr_wait_for "(c) with --insecure: delivered" 15 arrived "$key_b"
check_eq "(c) body intact" "needs-a-cert" \
    "$(jq -r --arg k "$key_b" 'select(.key == $k) | .body' "$SINK_A_LOG")"
check_eq "(c) its attempt number counts every try" "$((n_c + 1))" \
    "$(jq -r --arg k "$key_b" 'select(.key == $k) | .attempt' "$SINK_A_LOG")"
gone() { [[ $(tr_rec_exists "$key_b") == 0 ]]; }
tr_wait_for "(c) the timer is done" 5 gone
ts_stop_scheduler d 10
check_eq "(c) scheduler exited 0" 0 "$TS_RC"
check_eq "each timer reached the receiver once" "" "$(ts_duplicates "$SINK_A_LOG")"

ts_no_sanitizer_reports

tr_finish
