#!/usr/bin/env bash
# test_tls_notifier.sh - tls://HOST:PORT targets of the TCP notifier
# (scheduler/tr_notify_tcp.h, docs/PROTOCOL.md "TLS targets"): the same JSON lines over
# TLS, verified as https callbacks are (--cacert, the host name or address checked
# against the certificate), --pem presented under the --pem-hosts rule.
# Receivers: socat OPENSSL-LISTEN (verify=1: a client certificate is required) in
# front of tests/sink/timerush-linesink; the certificates are made now
# (tls/make_certs.sh). One stack: --cacert ca.pem --pem client.pem --pem-hosts localhost.
#  (a) tls://localhost:P: delivered, the receiver saw our client certificate;
#  (b) tls://127.0.0.1:P (not in --pem-hosts: no certificate): the receiver refuses,
#      retried, the reason recorded, nothing received;
#  (c) a certificate for another name (127.0.0.2) and (d) a self-signed one: refused
#      by us before any line is written, retried, the reason recorded;
#  (e) 2,000 over one TLS connection: none lost, none doubled;
#  (f) creation: tls:// needs HOST:PORT as tcp:// does (ret 4, 400), and the
#      destination policy judges its literal address (ret 13).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tr_setup

LINESINK="$TR_BUILD_DIR/tests/sink/timerush-linesink"
certs="$TR_TMP/certs"
if ! bash "$TR_SOURCE_DIR/tests/integration/tls/make_certs.sh" "$certs" >"$TR_TMP/certs.log" 2>&1; then
    tr_fail "test certificates made" "$(tail -n 3 "$TR_TMP/certs.log")"
    tr_finish
fi
# (d)'s receiver: a self-signed certificate for 127.0.0.1, trusted by nobody.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$certs/self.key" -out "$certs/self.pem" 2>>"$TR_TMP/certs.log" ||
    tr_fail "self-signed certificate made"

# The TLS front: logs the client certificate's subject of each connection to $1,
# then relays the connection to the line receiver on port $2.
printf '%s\n' 'printf "%s\n" "${SOCAT_OPENSSL_X509_SUBJECT:-none}" >>"$1"' \
    'exec socat - "TCP:127.0.0.1:$2"' >"$TR_TMP/front.sh"
# tls_front NAME BIND CERT KEY LINESINK_PORT: sets TLS_<NAME>_PORT.
tls_front() {
    local port
    port=$(tr_free_port)
    socat "OPENSSL-LISTEN:$port,bind=$2,reuseaddr,fork,cert=$3,key=$4,cafile=$certs/ca.pem,verify=1" \
        EXEC:"sh $TR_TMP/front.sh $TR_TMP/subj.$1 $5" 2>>"$TR_TMP/socat.$1.err" &
    tr_track_pid $!
    tr_poll 5 bash -c "ss -ltn | grep -q '$2:$port '" || tr_fail "TLS front $1 listens"
    declare -g "TLS_${1}_PORT=$port"
}
lines() { # lines NAME [KEY]: lines NAME's receiver got (for KEY)
    local v="LS_$1_LOG"
    if [[ -z "${2:-}" ]]; then wc -l <"${!v}"; else grep -c "\"key\":\"$2\"" "${!v}"; fi
}
has_lines() { (($(lines "$1" "${3:-}") >= $2)); }
meta() { tr_redis HGET "$(tr_k_of "$1" meta)" "$1"; }
attempts() { local n; n=$(tr_redis HGET "$(tr_k_of "$1" attempts)" "$1"); echo "${n:-0}"; }
attempts_at_least() { (($(attempts "$1") >= $2)); }
timer_gone() { [[ $(curl -s -o /dev/null -w '%{http_code}' "$TR_URL/v1/timers/$1") == 404 ]]; }

tr_start_stack --timeout-ms 3000 --connect-timeout-ms 2000 --backoff-min-ms 100 \
    --backoff-max-ms 300 --cacert "$certs/ca.pem" --pem "$certs/client.pem" \
    --pem-hosts localhost || tr_finish

tr_start_receiver LS G "$LINESINK" --stamp || tr_finish
tls_front G 127.0.0.1 "$certs/server.pem" "$certs/server.key" "$LS_G_PORT"
tr_start_receiver LS X "$LINESINK" || tr_finish
tls_front W 127.0.0.2 "$certs/server.pem" "$certs/server.key" "$LS_X_PORT"
tls_front U 127.0.0.1 "$certs/self.pem" "$certs/self.key" "$LS_X_PORT"

# (f) creation
check_eq "(f) tls:// without a port is ret 4" 4 \
    "$(tr_post /register/ '{"callback_cmd":"tls://127.0.0.1","callback_data":"x","seconds":1}' | jq -r .ret)"
check_eq "(f) tls:// with a path is ret 4" 4 \
    "$(tr_post /register/ '{"callback_cmd":"tls://h:9/x","callback_data":"x","seconds":1}' | jq -r .ret)"
check_eq "(f) a refused literal address is ret 13 at creation, as for tcp://" 13 \
    "$(tr_post /register/ '{"callback_cmd":"tls://0.0.0.0:9100","callback_data":"x","seconds":1}' | jq -r .ret)"
check_eq "(f) /v1/timers: a bad tls url is 400" 400 \
    "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        --data-binary '{"url":"tls://h:0","data":"x","delay_ms":1}' "$TR_URL/v1/timers")"

KA=$(tr_register "tls://localhost:$TLS_G_PORT" '{"over":"tls"}' 1)
check "(a) a tls://localhost:PORT timer registers" test -n "$KA"
KB=$(tr_register "tls://127.0.0.1:$TLS_G_PORT" '"no-cert"' 1)
check "(b) a tls://127.0.0.1:PORT timer registers" test -n "$KB"
KC=$(tr_register "tls://127.0.0.2:$TLS_W_PORT" '"wrong-name"' 1)
check "(c) a tls://127.0.0.2:PORT timer registers" test -n "$KC"
KD=$(tr_register "tls://127.0.0.1:$TLS_U_PORT" '"self-signed"' 1)
check "(d) a timer to a self-signed receiver registers" test -n "$KD"

# (a)
tr_wait_for "(a) delivered over TLS" 10 has_lines G 1 "$KA"
check_eq "(a) data intact" '{"over":"tls"}' \
    "$(jq -c --arg k "$KA" 'select(.key == $k) | .data' "$LS_G_LOG" | head -n 1)"
check_eq "(a) attempt 1" 1 "$(jq -r --arg k "$KA" 'select(.key == $k) | .attempt' "$LS_G_LOG" | head -n 1)"
check "(a) the receiver saw our client certificate (--pem, localhost in --pem-hosts)" \
    grep -q 'CN = timerush-test-client' "$TR_TMP/subj.G"
tr_wait_for "(a) acked: the timer is done" 5 timer_gone "$KA"

# (b) (c) (d): retried, the reason recorded, nothing received.
reason_has() { meta "$1" | jq -e --arg re "$2" '.error | test($re; "i")' >/dev/null 2>&1; }
for k in KB KC KD; do
    l=${k:1:1}
    tr_wait_for "(${l,,}) retried: 2 attempts at least" 15 attempts_at_least "${!k}" 2
done
echo "# (b) meta: $(meta "$KB")"
echo "# (c) meta: $(meta "$KC")"
echo "# (d) meta: $(meta "$KD")"
# The receiver's refusal reaches us as its alert or as a reset, either one a TLS
# failure ("TLS write failed: Connection reset by peer" was once "write failed: ...").
check "(b) no certificate for 127.0.0.1 (not in --pem-hosts): refused by the receiver" \
    reason_has "$KB" "TLS|certificate|closed"
check "(b) the receiver refused a peer without a certificate" \
    grep -qi 'certificate' "$TR_TMP/socat.G.err"
check_eq "(b) nothing received for it" 0 "$(lines G "$KB")"
check "(c) a certificate for other names: not verified (address mismatch)" \
    reason_has "$KC" "not verified.*mismatch"
check "(d) a self-signed certificate: not verified" reason_has "$KD" "not verified.*self"
check_eq "(c)(d) no connection reached the line receiver" 0 "$(lines X)"
check_eq "(c)(d) we refused before the receiver's checks: it saw no session" "" \
    "$(cat "$TR_TMP/subj.W" "$TR_TMP/subj.U" 2>/dev/null)"
for k in KB KC KD; do
    l=${k:1:1}
    check "(${l,,}) not lost: still pending" test "$(tr_rec_exists "${!k}")" = 1
done

# (e) 2,000 over one TLS connection (a burst: partial TLS writes, pipelined answers).
batch() { # batch URL FROM TO
    jq -cn --arg u "$1" --argjson a "$2" --argjson b "$3" \
        '{timers: [range($a; $b) | {url: $u, data: {n: .}, at: 0}]}' |
        curl -sS --max-time 20 -X POST -H 'Content-Type: application/json' --data-binary @- \
            "$TR_URL/v1/timers/batch" | jq '[.results[] | select(.status == 201)] | length'
}
before=$(lines G)
conns_before=$(grep -c . "$TR_TMP/subj.G")
made=$(($(batch "tls://localhost:$TLS_G_PORT" 0 1000) + $(batch "tls://localhost:$TLS_G_PORT" 1000 2000)))
check_eq "(e) 2,000 timers made" 2000 "$made"
tr_wait_for "(e) 2,000 lines arrive" 30 has_lines G $((before + 2000))
burst_done() { (($(tr_due_count) <= 3)) && [[ $(tr_sum_shards ZCARD inflight) -le 3 ]]; }
tr_wait_for "(e) and are acked (only (b)-(d) left)" 10 burst_done
TOTAL=$(($(lines G) - before))
UNIQ=$(tail -n +"$((before + 1))" "$LS_G_LOG" | jq -r .key | sort -u | wc -l)
echo "# (e) 2,000 over TLS: received $TOTAL, distinct $UNIQ, lost $((2000 - UNIQ)), doubled $((TOTAL - UNIQ)), new connections $(($(grep -c . "$TR_TMP/subj.G") - conns_before))"
check_eq "(e) none lost" 2000 "$UNIQ"
check_eq "(e) none doubled" "$UNIQ" "$TOTAL"
check_eq "(e) over the connection already open: no new one" 0 \
    "$(($(grep -c . "$TR_TMP/subj.G") - conns_before))"

tr_stop_stack
tr_finish
