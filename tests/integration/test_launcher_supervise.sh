#!/usr/bin/env bash
# test_launcher_supervise.sh - the launcher keeps secrets off every command line and
# keeps the FastCGI workers running. One stack, started with every secret a user can
# give, on the launcher's command line (--api-token, --metrics-token, --redis-password)
# and in files (--api-token-file, --signing-secret-file): `ps -eo args` shows none of
# them for any process, and the tokens work. Then a worker killed with kill -9 is
# replaced while the service keeps answering and the launcher keeps running; a worker
# that cannot start (its password file made group-readable) is retried with growing
# delays, each logged, not in a tight loop; once the file is fixed it comes back.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
tr_setup

contains() { [[ $1 == *"$2"* ]]; }

# --- every secret set ------------------------------------------------------------------
# Random, so a hit in ps can only be a leak. A -c file holds one more token.
rnd() { od -An -N12 -tx1 /dev/urandom | tr -d ' \n'; }
tok_cli=cli$(rnd) tok_metrics=met$(rnd) redis_pw=pw$(rnd) tok_file=file$(rnd)
tok_conf=conf$(rnd) tok_mfile=mfile$(rnd) whsec=whsec_$(head -c 32 /dev/urandom | base64 | tr -d '\n')
# On a cluster (lib.sh's TR_TEST_CLUSTER) the Redis password is the cluster's.
if tr_on_cluster; then redis_pw=$TR_TEST_CLUSTER_PASSWORD; fi
secrets=("$tok_cli" "$tok_metrics" "$redis_pw" "$tok_file" "$tok_conf" "$tok_mfile" "${whsec#whsec_}")
(
    umask 077
    printf 'read,write:%s\nmetrics:%s\n' "$tok_file" "$tok_mfile" >"$TR_TMP/tokens"
    printf '%s\n' "$whsec" >"$TR_TMP/signing"
    printf 'api-token = %s\n' "$tok_conf" >"$TR_TMP/stack.conf"
)
tr_start_stack --workers 2 -c "$TR_TMP/stack.conf" --api-token "$tok_cli" \
    --metrics-token "$tok_metrics" --redis-password "$redis_pw" \
    --api-token-file "$TR_TMP/tokens" --signing-secret-file "$TR_TMP/signing" || tr_finish

args=$(ps -eo pid=,args=)
leaks=()
for s in "${secrets[@]}"; do
    [[ $args == *"$s"* ]] && leaks+=("$(grep -F -- "$s" <<<"$args" | cut -c1-120)")
done
check_eq "ps -eo args shows no secret of any process (${#secrets[@]} looked for)" "" "${leaks[*]}"
check "the launcher's own command line has none (it re-ran itself without them)" \
    test -z "$(tr '\0' '\n' <"/proc/$TR_LAUNCHER_PID/cmdline" | grep -e "$tok_cli" -e "$redis_pw")"
check "and is still the launcher the test started" grep -q timerush "/proc/$TR_LAUNCHER_PID/cmdline"
check_eq "the Redis password reached redis (via run/redis.password)" "$redis_pw" \
    "$(cat "$TR_RUN/run/redis.password")"
check_eq "which is 0600" 600 "$(stat -c %a "$TR_RUN/run/redis.password")"
check_eq "the tokens file the launcher wrote is 0600" 600 "$(stat -c %a "$TR_RUN/conf/api-tokens")"
status() { curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $1" "$TR_URL$2"; }
check_eq "--api-token works" 200 "$(status "$tok_cli" /v1/stats)"
check_eq "--api-token-file's token works" 200 "$(status "$tok_file" /v1/stats)"
check_eq "the -c file's token works" 200 "$(status "$tok_conf" /v1/stats)"
check_eq "--metrics-token works for /metrics" 200 "$(status "$tok_metrics" /metrics)"
check_eq "and only there" 403 "$(status "$tok_metrics" /v1/stats)"
check_eq "a metrics:TOKEN line of --api-token-file (its file form) works for /metrics" 200 \
    "$(status "$tok_mfile" /metrics)"
check_eq "no token: 401" 401 "$(status none /v1/stats)"

# --- a worker killed with kill -9 is respawned ------------------------------------------
fcgi_log=$TR_RUN/log/fcgi.log
mapfile -t before < <(grep -E '^[0-9]+$' "$TR_RUN/pids/fcgi.pid")
check_eq "two workers" 2 "${#before[@]}"
pool=$(cat "$TR_RUN/pids/fcgi-pool.pid")
kill -KILL "${before[0]}"
replaced() {
    local now
    mapfile -t now < <(grep -E '^[0-9]+$' "$TR_RUN/pids/fcgi.pid")
    ((${#now[@]} == 2)) && [[ " ${now[*]} " != *" ${before[0]} "* ]] &&
        tr_alive "${now[0]}" && tr_alive "${now[1]}"
}
tr_wait_for "the killed worker is replaced (pids/fcgi.pid)" 10 replaced
check "the launcher keeps running" tr_alive "$TR_LAUNCHER_PID"
check "the pool keeps running" tr_alive "$pool"
check "the death is logged" grep -q "worker [12] (pid ${before[0]}) was killed by signal 9" "$fcgi_log"
fails=0
for ((n = 0; n < 10; n++)); do
    [[ $(status "$tok_cli" /v1/stats) == 200 ]] || fails=$((fails + 1))
done
check_eq "the service answers 10 requests of 10" 0 "$fails"

# --- a crash loop backs off -------------------------------------------------------------
# The password file group-readable: a new worker refuses it and exits 2 at once.
chmod 0640 "$TR_RUN/run/redis.password"
mapfile -t now < <(grep -E '^[0-9]+$' "$TR_RUN/pids/fcgi.pid")
victim=${now[0]}
kill -KILL "$victim"
t0=$(tr_now_ms)
tr_wait_for "a worker that cannot start is retried after a growing delay (logged)" 10 \
    grep -q "respawning in 1000 ms" "$fcgi_log"
elapsed=$(($(tr_now_ms) - t0))
deaths=$(grep -c "exited with status 2 after" "$fcgi_log")
check "not in a tight loop: $deaths failed starts in $elapsed ms" test "$deaths" -le 4
check "the launcher keeps running through it" tr_alive "$TR_LAUNCHER_PID"
fails=0
for ((n = 0; n < 10; n++)); do
    [[ $(status "$tok_cli" /v1/stats) == 200 ]] || fails=$((fails + 1))
done
check_eq "the other worker serves meanwhile (10 of 10)" 0 "$fails"
chmod 0600 "$TR_RUN/run/redis.password"
stable() {
    local p
    mapfile -t now < <(grep -E '^[0-9]+$' "$TR_RUN/pids/fcgi.pid")
    ((${#now[@]} == 2)) || return 1
    for p in "${now[@]}"; do
        [[ $p != "$victim" ]] && tr_alive "$p" || return 1
        # alive a second after its start: it got past reading its options
        (($(ps -o etimes= -p "$p") >= 1)) || return 1
    done
}
tr_wait_for "once the file is fixed, the worker comes back" 12 stable
check "and says so" grep -q "worker [12] respawned" "$fcgi_log"

# --- stop ---------------------------------------------------------------------------------
mapfile -t stack_pids < <(tr_stack_pids)
tr_stop_stack
left=()
for p in "${stack_pids[@]}"; do tr_alive "$p" && left+=("$p"); done
check_eq "SIGTERM stops the pool and every worker (${#stack_pids[@]} processes)" "" "${left[*]}"

tr_finish
