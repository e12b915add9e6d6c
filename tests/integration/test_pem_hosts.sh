#!/usr/bin/env bash
# test_pem_hosts.sh - --pem goes only to the hosts --pem-hosts lists (docs/SECURITY.md,
# "Destination policy"), through a real nginx that demands a client certificate
# (tests/integration/tls, as test_tls.sh):
#  (a) --pem-hosts names another host: no certificate is presented, nginx answers 400
#      "no required SSL certificate", nothing reaches the receiver;
#  (b) --pem-hosts names the callback's host: delivered with the certificate.
#  (c) without --pem-hosts the scheduler logs once that --pem goes to every host.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/lib_sched.sh"
ts_setup

ts_start_tls_front

tr_start_stack || tr_finish
check "the stack's own scheduler is paused" ts_pause_stack_schedulers
fast=(--backoff-min-ms 100 --backoff-max-ms 300 --timeout-ms 3000 --connect-timeout-ms 1000
    --lease-margin-ms 1000)
arrived() { (($(ts_sink_count_key "$SINK_A_LOG" "$1") >= 1)); }
attempts_at_least() { (($(ts_attempts "$1") >= $2)); }

# (a) the certificate is kept from a host not listed.
ts_start_scheduler a --cacert "$certs/ca.pem" --pem "$certs/client.pem" \
    --pem-hosts "hooks.example,other.test" "${fast[@]}"
key=$(ts_register "$url/pem-a" "no-cert-here" 1)
check "(a) timer registered" test -n "$key"
tr_wait_for "(a) tried twice" 20 attempts_at_least "$key" 2
check "(a) nginx saw no client certificate" \
    grep -q 'client sent no required SSL certificate' "$TR_TMP/nginx-tls-error.log"
check_eq "(a) nothing reached the receiver" 0 "$(ts_sink_count_key "$SINK_A_LOG" "$key")"
check "(a) no warning that --pem goes everywhere" \
    bash -c "! grep -q 'presented to every host' '$TR_TMP/sched.a.log'"
ts_stop_scheduler a 10

# (b) listed (any case): presented, delivered.
ts_start_scheduler b --cacert "$certs/ca.pem" --pem "$certs/client.pem" \
    --pem-hosts "other.test, 127.0.0.1" "${fast[@]}"
tr_wait_for "(b) delivered with the certificate" 15 arrived "$key"
check_eq "(b) body intact" "no-cert-here" \
    "$(jq -r --arg k "$key" 'select(.key == $k) | .body' "$SINK_A_LOG")"
ts_stop_scheduler b 10

# (c) no --pem-hosts: every host gets it, and the start says so once.
ts_start_scheduler c --cacert "$certs/ca.pem" --pem "$certs/client.pem" "${fast[@]}"
tr_wait_for "(c) the start warns that --pem goes to every host" 10 \
    grep -q 'pem is presented to every host' "$TR_TMP/sched.c.log"
key_c=$(ts_register "$url/pem-c" "cert-everywhere" 1)
tr_wait_for "(c) delivered" 15 arrived "$key_c"
ts_stop_scheduler c 10
check_eq "(c) the warning is logged once" 1 "$(grep -c 'presented to every host' "$TR_TMP/sched.c.log")"

ts_no_sanitizer_reports
tr_finish
