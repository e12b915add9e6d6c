#!/usr/bin/env bash
# Issue 12, Redis and files (docs/SECURITY.md "Redis and files"):
# - the embedded Redis has no TCP listener (unless --redis-port asks for one) and
#   refuses clients without the password (NOAUTH) or with a wrong one (WRONGPASS);
#   the programs AUTH from a 0600 file and a timer fires; no process has the
#   password on its command line; the password survives a restart;
# - under umask 022 the run dir, the Redis dir, the AOF, the password file,
#   redis.conf and every log are 0700/0600, an older 0755/0644 run dir included;
# - --user nobody (as root): the FastCGI worker, the scheduler and Redis run as nobody;
# - a password file readable by others, empty or missing: exit 2 with a reason;
# - an external Redis with an ACL user (--redis-user + --redis-password-file) works;
#   a wrong password is a clear error from the launcher and in the programs' log.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tr_setup
umask 022
FCGI=$TR_BUILD_DIR/fcgi/timerush-fcgi
SCHED=$TR_BUILD_DIR/scheduler/timerush-scheduler

# tcp_listeners PID: the TCP sockets PID listens on, one "inode" a line (none: empty).
tcp_listeners() {
    local inodes
    inodes=" $(find "/proc/$1/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null |
        sed 's/^socket:\[\([0-9]*\)\]$/\1/' | tr '\n' ' ') "
    awk -v want="$inodes" 'FNR > 1 && $4 == "0A" && index(want, " " $10 " ") { print $10 }' \
        "/proc/$1/net/tcp" "/proc/$1/net/tcp6"
}
no_tcp_listener() { [[ -z $(tcp_listeners "$1") ]]; }
has_tcp_listener() { [[ -n $(tcp_listeners "$1") ]]; }
mode_of() { stat -c %a "$1" 2>&1; }
uid_of() { awk '/^Uid:/ {print $2 "," $3 "," $4 "," $5}' "/proc/$1/status"; }
gid_of() { awk '/^Gid:/ {print $2}' "/proc/$1/status"; }
# delivered PATH: the sink got a callback on PATH.
delivered() { tr_sink_has A 1 "select(.path == \"$1\")"; }
# fires LABEL: a 1 s timer registered through the stack reaches the sink.
fires() {
    local key
    key=$(tr_register "$SINK_A_URL/$1" '"x"' 1)
    check "[$1] a timer registers" test -n "$key"
    tr_wait_for "[$1] ... and fires" 15 delivered "/$1"
}

tr_start_sink A

# An older run dir: made under umask 022, a log file 0644 from a previous run.
TR_RUN=$TR_TMP/stack
mkdir -p "$TR_RUN/log"
: >"$TR_RUN/log/fcgi.log"
chmod 0755 "$TR_RUN" "$TR_RUN/log"
chmod 0644 "$TR_RUN/log/fcgi.log"

tr_start_stack || tr_finish
RPID=$(head -n 1 "$TR_RUN/pids/redis.pid")
PW=$(cat "$TR_RUN/run/redis.password")

# --- Redis: unix socket only, password required
check_eq "the embedded Redis has port 0 (CONFIG GET port)" 0 "$(tr_redis CONFIG GET port | tail -n 1)"
check "... and listens on no TCP port (/proc/PID/net/tcp{,6})" no_tcp_listener "$RPID"
check_eq "the socket is in redis/, mode 700" 700 "$(mode_of "$TR_RUN/redis/redis.sock")"
check "the generated password is 64 hex digits" grep -Eqx '[0-9a-f]{64}' "$TR_RUN/run/redis.password"
out=$(env -u REDISCLI_AUTH redis-cli -s "$TR_REDIS_SOCK" PING 2>&1)
check "redis-cli without a password gets NOAUTH" grep -q NOAUTH <<<"$out"
out=$(REDISCLI_AUTH=wrong-password redis-cli -s "$TR_REDIS_SOCK" SET intruder 1 2>&1)
check "redis-cli with a wrong password gets WRONGPASS" grep -q WRONGPASS <<<"$out"
check_eq "... and writes nothing" 0 "$(tr_redis EXISTS intruder)"
check_eq "redis-cli with the password (REDISCLI_AUTH) gets PONG" PONG "$(tr_redis PING)"
check "requirepass is in redis.conf" grep -q "^requirepass \"$PW\"$" "$TR_RUN/conf/redis.conf"
on_argv=""
for p in $RPID $(tr_stack_pids) "$TR_LAUNCHER_PID"; do
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF "$PW" && on_argv+=" $p"
done
check_eq "no process has the password on its command line" "" "$on_argv"
sched_argv=$(tr '\0' ' ' <"/proc/$(head -n 1 "$TR_RUN/pids/scheduler.1.pid")/cmdline")
check "the programs get it as --redis-password-file" \
    grep -qF -- "--redis-password-file=$TR_RUN/run/redis.password" <<<"$sched_argv"
fires first

# --- file modes, made under umask 022
check_eq "the test runs under umask 022" 0022 "$(umask)"
for d in "" /run /redis /log /conf /pids /redis/appendonlydir; do
    check_eq "dir RUN$d is 700" 700 "$(mode_of "$TR_RUN$d")"
done
for f in run/redis.password conf/redis.conf conf/nginx.conf log/fcgi.log log/scheduler.1.log \
    log/redis.log log/nginx-error.log log/nginx-access.log run/fcgi.sock; do
    check_eq "file RUN/$f is 600" 600 "$(mode_of "$TR_RUN/$f")"
done
aofs=$(find "$TR_RUN/redis/appendonlydir" -type f | wc -l)
check "the AOF has files" test "$aofs" -ge 2
check_eq "every AOF file is 600" "" "$(find "$TR_RUN/redis" -type f ! -perm 600)"
if ((EUID == 0)); then
    check "root without --user: the programs warn that they run as root" \
        grep -q 'running as root' "$TR_RUN/log/fcgi.log"
fi

# --- the password is kept across a restart (the AOF's Redis and the programs agree)
KEY_KEPT=$(tr_register "$SINK_A_URL/kept" '"x"' 3600)
tr_stop_stack
tr_start_stack || tr_finish
check_eq "after a restart the password is the same" "$PW" "$(cat "$TR_RUN/run/redis.password")"
check "... the timer made before is still there" tr_rec_exists "$KEY_KEPT"
fires after-restart
tr_stop_stack

# --- the password file: refused when others may read it, empty or missing (exit 2)
pwf=$TR_TMP/pw
printf 'secret-one\n' >"$pwf"
chmod 0644 "$pwf"
out=$("$FCGI" --redis-socket "$TR_TMP/none.sock" --port 0 --redis-password-file "$pwf" --check 2>&1)
check_eq "a 0644 password file: exit 2" 2 "$?"
check "... saying why" grep -q "lets group or others read" <<<"$out"
check "... without the secret" bash -c '! grep -q secret-one <<<"$1"' _ "$out"
: >"$pwf"
chmod 0600 "$pwf"
"$SCHED" --redis-password-file "$pwf" --check >/dev/null 2>&1
check_eq "an empty password file: exit 2" 2 "$?"
"$SCHED" --redis-password-file "$TR_TMP/missing" --check >/dev/null 2>&1
check_eq "a missing password file: exit 2" 2 "$?"
printf 'secret-one\n' >"$pwf"
check_eq "a 0600 one-line file passes --check" OK "$("$SCHED" --redis-password-file "$pwf" --check 2>&1)"

# --- --redis-port N: a TCP listener, and it wants the password too
TR_RUN=$TR_TMP/stack-port
RPORT=$(tr_free_port)
tr_start_stack --redis-port "$RPORT" || tr_finish
check "--redis-port $RPORT: the embedded Redis listens on TCP (the check above can fail)" \
    has_tcp_listener "$(head -n 1 "$TR_RUN/pids/redis.pid")"
out=$(env -u REDISCLI_AUTH redis-cli -h 127.0.0.1 -p "$RPORT" PING 2>&1)
check "... where a client without the password gets NOAUTH" grep -q NOAUTH <<<"$out"
tr_stop_stack

# --- --user nobody (root only)
if ((EUID == 0)) && getent passwd nobody >/dev/null; then
    NOBODY_UID=$(id -u nobody)
    NOBODY_GID=$(id -g nobody)
    chmod 0711 "$TR_TMP" # nobody must pass through to its run dir
    TR_RUN=$TR_TMP/stack-user
    tr_start_stack --user nobody || tr_finish
    FPID=$(head -n 1 "$TR_RUN/pids/fcgi.pid")
    SPID=$(head -n 1 "$TR_RUN/pids/scheduler.1.pid")
    RPID=$(head -n 1 "$TR_RUN/pids/redis.pid")
    all=$NOBODY_UID,$NOBODY_UID,$NOBODY_UID,$NOBODY_UID
    check_eq "--user nobody: the FastCGI worker's uids (real, effective, saved, fs)" "$all" "$(uid_of "$FPID")"
    check_eq "... its gid" "$NOBODY_GID" "$(gid_of "$FPID")"
    check_eq "... the scheduler's uids" "$all" "$(uid_of "$SPID")"
    check_eq "... its gid" "$NOBODY_GID" "$(gid_of "$SPID")"
    check_eq "... the embedded Redis's uids" "$all" "$(uid_of "$RPID")"
    check "... the worker logs the switch" grep -q 'running as user nobody' "$TR_RUN/log/fcgi.log"
    check_eq "... redis/ belongs to nobody, 700" "nobody 700" "$(stat -c '%U %a' "$TR_RUN/redis")"
    check_eq "... the password file stays root's, 600" "root 600" "$(stat -c '%U %a' "$TR_RUN/run/redis.password")"
    fires as-nobody
    tr_stop_stack
    chmod 0700 "$TR_TMP"
    # Not root: --user naming another user is refused (exit 2); naming oneself is not.
    out=$(setpriv --reuid=nobody --regid="$NOBODY_GID" --clear-groups "$FCGI" --user root --check 2>&1)
    check_eq "not root, --user root: exit 2" 2 "$?"
    check "... saying only root can switch" grep -q "only root can switch users" <<<"$out"
    check_eq "not root, --user naming oneself: OK" OK \
        "$(setpriv --reuid=nobody --regid="$NOBODY_GID" --clear-groups "$SCHED" --user nobody --check 2>&1)"
else
    echo "# skipped --user nobody: needs root (running as uid $EUID)"
fi

# --- an external Redis with an ACL user
EXT=$TR_TMP/ext
mkdir -p "$EXT"
ADMIN_PW=admin-$RANDOM$RANDOM
printf '%s\n' "$ADMIN_PW" >"$EXT/admin.pw"
chmod 0600 "$EXT/admin.pw"
cat >"$EXT/redis.conf" <<CONF
daemonize no
port 0
unixsocket $EXT/redis.sock
unixsocketperm 700
dir $EXT
logfile $EXT/redis.log
save ""
requirepass "$ADMIN_PW"
CONF
redis-server "$EXT/redis.conf" </dev/null >/dev/null 2>&1 &
tr_track_pid $!
TR_REDIS_SOCK=$EXT/redis.sock TR_REDIS_PASSWORD_FILE=$EXT/admin.pw
ext_up() { [[ $(TR_REDIS_PASSWORD_FILE=$EXT/admin.pw tr_redis PING) == PONG ]]; }
tr_wait_for "the external Redis starts" 10 ext_up
# As docs/OPERATIONS.md suggests: only the keys under --key's hash tag, no
# dangerous commands (so CONFIG GET is refused: the scheduler only skips a warning).
check_eq "ACL SETUSER timerush (its keys only, no @dangerous)" OK \
    "$(tr_redis ACL SETUSER timerush on '>user-pw-1' "~{$TR_KEY}*" '&*' '+@all' '-@dangerous')"
printf 'user-pw-1\n' >"$EXT/user.pw"
printf 'wrong-pw-9\n' >"$EXT/wrong.pw"
chmod 0600 "$EXT/user.pw" "$EXT/wrong.pw"

TR_RUN=$TR_TMP/stack-ext
tr_start_stack --redis-socket "$EXT/redis.sock" --redis-user timerush \
    --redis-password-file "$EXT/user.pw" || tr_finish
TR_REDIS_SOCK=$EXT/redis.sock TR_REDIS_PASSWORD_FILE=$EXT/admin.pw
check "no run/redis.password for an external Redis given a file" test ! -e "$TR_RUN/run/redis.password"
conns=$(tr_redis CLIENT LIST | grep -c ' user=timerush ')
check "the programs are connected as the ACL user timerush ($conns connections)" test "$conns" -ge 2
fires external-acl
check_eq "... and the ACL user touched no key outside its prefix" "" \
    "$(tr_redis --scan | grep -vF "{$TR_KEY}")"
tr_stop_stack

# A wrong password: the launcher says so at once; a program logs why it cannot connect.
out=$("$TR_SOURCE_DIR/timerush" --no-build --no-install --build-dir "$TR_BUILD_DIR" \
    --run-dir "$TR_TMP/stack-bad" --listen-port "$(tr_free_port)" --workers 1 \
    --redis-socket "$EXT/redis.sock" --redis-user timerush --redis-password-file "$EXT/wrong.pw" \
    2>&1 </dev/null)
check_eq "a wrong password: the launcher exits 1" 1 "$?"
check "... saying Redis refuses the credentials" grep -q "refuses our credentials" <<<"$out"
check "... without the password" bash -c '! grep -q wrong-pw-9 <<<"$1"' _ "$out"
"$SCHED" --redis-socket "$EXT/redis.sock" --port 0 --redis-user timerush \
    --redis-password-file "$EXT/wrong.pw" --logpath "$TR_TMP/bad-sched.log" </dev/null >/dev/null 2>&1 &
BAD=$!
tr_track_pid "$BAD"
tr_wait_for "a scheduler with a wrong password logs the refused AUTH" 10 \
    grep -q 'AUTH (check --redis-user and the password) refused: WRONGPASS' "$TR_TMP/bad-sched.log"
check "... and never the password" bash -c '! grep -q wrong-pw-9 "$1"' _ "$TR_TMP/bad-sched.log"
tr_kill_wait TERM 10 "$BAD" || tr_kill_wait KILL 5 "$BAD"

tr_finish
