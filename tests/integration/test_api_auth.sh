#!/usr/bin/env bash
# test_api_auth.sh - --api-token (given twice, through the launcher): /v1/ and the
# compat endpoints need a bearer token (401 otherwise; compat ret 8), /healthz never
# does, /metrics only with --metrics-auth. Scopes, token files and the refused
# tokens: test_api_scopes.sh.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
source "$here/lib_api.sh"
tr_setup
tr_start_stack --api-token s3cret-one --api-token s3cret-two || tr_finish

api GET /v1/stats
check_api "no token: 401" 401 unauthorized
api GET /v1/stats - -H 'Authorization: Bearer wrong'
check_api "wrong token: 401" 401 unauthorized
api GET /v1/stats - -H 'Authorization: Bearer s3cret-on'
check_api "a prefix of a token: 401" 401 unauthorized
api GET /v1/stats - -H 'Authorization: Basic czNjcmV0LW9uZQ=='
check_api "not Bearer: 401" 401 unauthorized
TR_API_TOKEN=s3cret-one api GET /v1/stats
check_api "first token: 200" 200
TR_API_TOKEN=s3cret-two api GET /v1/stats
check_api "second token: 200" 200
api GET /v1/nope
check_api "unknown /v1/ path without token: 401 (nothing is revealed)" 401 unauthorized
api GET /healthz
check_api "/healthz needs no token" 200
api GET /metrics
check_api "/metrics needs no token by default" 200

ans=$(curl -sS -w ' %{http_code}' -X POST --data-binary '{"callback_cmd":"http://127.0.0.1:9/","callback_data":"x","seconds":5}' "$TR_URL/register/")
check_eq "compat /register/ without token: 401 ret 8" '{"ret":8,"msg":"unauthorized"} 401' "$ans"
ans=$(curl -sS -H 'Authorization: Bearer s3cret-two' -X POST --data-binary '{"callback_cmd":"http://127.0.0.1:9/","callback_data":"x","seconds":5}' "$TR_URL/register/")
check_eq "compat /register/ with token: ret 0" 0 "$(jq -r .ret <<<"$ans")"
ans=$(curl -sS -w ' %{http_code}' -X POST --data-binary '{"key":"x"}' "$TR_URL/unregister/")
check_eq "compat /unregister/ without token: 401 ret 8" '{"ret":8,"msg":"unauthorized"} 401' "$ans"
check "tokens never reach the logs" bash -c "! grep -rq s3cret '$TR_RUN/log'"
check "the comparison is constant-time (SHA-256 digests, CRYPTO_memcmp)" \
    grep -q CRYPTO_memcmp "$TR_SOURCE_DIR/fcgi/tr_auth.c"
tr_stop_stack

TR_RUN=$TR_TMP/stack2
tr_start_stack --api-token tok --metrics-auth || tr_finish
api GET /metrics
check_api "--metrics-auth: /metrics without token 401" 401 unauthorized
TR_API_TOKEN=tok api GET /metrics
check_api "--metrics-auth: /metrics with token 200" 200
tr_stop_stack
tr_finish
