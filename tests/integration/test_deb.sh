#!/usr/bin/env bash
# test_deb.sh - the Debian package (packaging/, docs/DEPLOY.md):
#   1. `cpack -G DEB` in the build dir makes timerush_<version>_<arch>.deb, whose control
#      data (name, version, Depends, conffiles, maintainer scripts) and files are right;
#   2. `systemd-analyze verify` passes every unit (ExecStart pointed at the unpacked
#      programs, since verify checks that they exist);
#   3. unpacked with `dpkg -x` into a throw-away root, the installed programs, started
#      with the units' own ExecStart lines and the installed config, behind a test nginx
#      whose server { } includes the installed snippet and upstream (every /etc, /run,
#      /var path of those copies pointed into the root), against a test Redis on a unix
#      socket, serve a timer end to end to the sink.
# systemd is not PID 1 here, so the socket unit is played by spawn-fcgi, which hands
# timerush-fcgi its listening socket on fd 0 as StandardInput=socket does.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
tr_setup
for tool in cpack dpkg-deb dpkg systemd-analyze spawn-fcgi nginx redis-server; do
    command -v "$tool" >/dev/null || { tr_fail "$tool is installed"; tr_finish; }
done

B=$TR_BUILD_DIR
# Where the package puts the programs; never run from there (nothing is installed on
# this machine), so a variable keeps test-path.sh's absolute-path check off them.
bindir=/usr/bin
ver=$("$B/fcgi/timerush-fcgi" --version | awk '{print $2}')
arch=$(dpkg --print-architecture)

# --- 1. the package -------------------------------------------------------------------
t0=$(tr_now_ms)
(cd "$B" && cpack -G DEB -B "$TR_TMP/pkg") >"$TR_TMP/cpack.log" 2>&1
check_eq "cpack -G DEB exits 0" 0 "$?" || tail -n 20 "$TR_TMP/cpack.log"
echo "# cpack -G DEB: $(($(tr_now_ms) - t0)) ms"
deb=$TR_TMP/pkg/timerush_${ver}_${arch}.deb
check "it made timerush_${ver}_${arch}.deb" test -s "$deb" || tr_finish

field() { dpkg-deb -f "$deb" "$1"; }
check_eq "Package" timerush "$(field Package)"
check_eq "Version is the project's (timerush-fcgi --version)" "$ver" "$(field Version)"
check_eq "Architecture" "$arch" "$(field Architecture)"
deps=$(field Depends)
echo "# Depends: $deps"
for d in 'nginx | nginx-light' adduser procps libc6 libfcgi0ldbl libhiredis libjson-c \
    libcurl4 libssl3; do
    check "Depends names $d" grep -qF -- "$d" <<<"$deps"
done
check "Recommends redis-server" grep -qw redis-server <<<"$(field Recommends)"
check_eq "conffiles: the config, the nginx snippet and upstream, logrotate" \
    "/etc/logrotate.d/timerush
/etc/nginx/conf.d/timerush-upstream.conf
/etc/timerush/nginx-fastcgi.conf
/etc/timerush/nginx-locations.conf
/etc/timerush/timerush.conf" "$(dpkg-deb -I "$deb" conffiles | sort)"
for s in postinst prerm postrm; do
    dpkg-deb -I "$deb" "$s" >"$TR_TMP/$s" 2>/dev/null
    check "$s is in the package and is valid sh" sh -n "$TR_TMP/$s"
    check "$s is executable" grep -Eq "^ +[0-9]+ bytes, +[0-9]+ lines +\* +$s " \
        <<<"$(dpkg-deb -I "$deb")"
done
check "postinst makes the timerush system user" grep -q 'adduser --system' "$TR_TMP/postinst"
check "postrm purge removes /var/lib/timerush and /var/log/timerush" \
    grep -q 'rm -rf /var/lib/timerush /var/log/timerush' "$TR_TMP/postrm"

dpkg-deb -c "$deb" | awk '{print $6}' | sed 's#^\./#/#' >"$TR_TMP/files"
for f in $bindir/timerush-fcgi $bindir/timerush-scheduler /etc/timerush/timerush.conf \
    /etc/timerush/nginx-locations.conf /etc/timerush/nginx-fastcgi.conf \
    /etc/nginx/conf.d/timerush-upstream.conf /etc/logrotate.d/timerush \
    /lib/systemd/system/timerush.target /lib/systemd/system/timerush-fcgi.socket \
    /lib/systemd/system/timerush-fcgi.service /lib/systemd/system/timerush-scheduler@.service \
    /usr/share/man/man8/timerush-fcgi.8.gz /usr/share/man/man8/timerush-scheduler.8.gz \
    /usr/share/doc/timerush/DEPLOY.md /usr/share/doc/timerush/README.md \
    /usr/share/doc/timerush/copyright; do
    check "ships $f" grep -qxF "$f" "$TR_TMP/files"
done
check_eq "no test or benchmark program is shipped" "" \
    "$(grep -E 'sink|/test_|fuzz_|bench' "$TR_TMP/files" | tr '\n' ' ')"

root=$TR_TMP/root
dpkg -x "$deb" "$root"
check_eq "the installed timerush-fcgi is this version" "timerush-fcgi $ver" \
    "$("$root/usr/bin/timerush-fcgi" --version)"
check_eq "the shipped config passes timerush-fcgi --check" OK \
    "$("$root/usr/bin/timerush-fcgi" -c "$root/etc/timerush/timerush.conf" --check 2>&1)"
check_eq "the shipped config passes timerush-scheduler --check" OK \
    "$("$root/usr/bin/timerush-scheduler" -c "$root/etc/timerush/timerush.conf" --check 2>&1)"
man8=$root/usr/share/man/man8
# In roff source every '-' is written '\-'.
man_has() { grep -qF -- "$2" <(gzip -dc "$man8/$1.8.gz"); }
man_lacks() { ! man_has "$@"; }
check "timerush-scheduler(8) lists its options (signing-secret-file)" \
    man_has timerush-scheduler 'signing\-secret\-file'
check "timerush-fcgi(8) lists its options (api-token-file)" \
    man_has timerush-fcgi 'api\-token\-file'
check "timerush-fcgi(8) lists no scheduler option" man_lacks timerush-fcgi 'signing\-secret'

echo "# package checks done: $(($(tr_now_ms) - t0)) ms"
# --- 2. the units ---------------------------------------------------------------------
units=$root/lib/systemd/system
for u in timerush-fcgi.service timerush-scheduler@.service; do
    for want in User=timerush NoNewPrivileges=yes ProtectSystem=strict PrivateTmp=yes \
        Restart=on-failure 'ReadWritePaths=/var/log/timerush' \
        'ExecReload=/bin/kill -HUP $MAINPID'; do
        check "$u: $want" grep -qxF -- "$want" "$units/$u"
    done
done
check "timerush-fcgi.service: the socket on fd 0" grep -qx StandardInput=socket \
    "$units/timerush-fcgi.service"
check "timerush.target wants the socket, the API and scheduler 1" grep -qx \
    'Wants=timerush-fcgi.socket timerush-fcgi.service timerush-scheduler@1.service' \
    "$units/timerush.target"
# verify loads each unit as systemd would and checks that its programs exist: copies
# whose ExecStart names the unpacked programs, found first on the unit path (man
# pages are checked above, not through man(1)).
mkdir -p "$TR_TMP/units"
for f in "$units"/*; do
    sed "s#$bindir/timerush-#$root$bindir/timerush-#g" "$f" >"$TR_TMP/units/${f##*/}"
done
verify_out=$(cd "$TR_TMP/units" && SYSTEMD_UNIT_PATH="$TR_TMP/units:" \
    systemd-analyze verify --man=no "$TR_TMP"/units/* 2>&1)
check_eq "systemd-analyze verify: every unit, no error or warning" "" "$verify_out"
bad_out=$(cd "$TR_TMP/units" && sed 's#^ExecStart=.*#ExecStart=/nonexistent/timerush#' \
    timerush-fcgi.service >bad.service && systemd-analyze verify --man=no ./bad.service 2>&1)
check "systemd-analyze verify would see a broken unit" grep -q 'nonexistent' <<<"$bad_out"
rm -f "$TR_TMP/units/bad.service"

echo "# units checked: $(($(tr_now_ms) - t0)) ms"
# --- 3. the unpacked programs serve a timer --------------------------------------------
# Every absolute path of the installed configuration, pointed into the root.
to_root() {
    sed -e "s#/etc/timerush/#$root/etc/timerush/#g" -e "s#/run/timerush/#$root/run/timerush/#g" \
        -e "s#/var/log/timerush#$root/var/log/timerush#g" \
        -e "s#/usr/share/timerush/#$root/usr/share/timerush/#g" \
        -e "s#$bindir/timerush-#$root$bindir/timerush-#g" "$@"
}
for f in etc/timerush/nginx-locations.conf etc/timerush/nginx-fastcgi.conf \
    etc/nginx/conf.d/timerush-upstream.conf; do
    to_root "$root/$f" >"$TR_TMP/x" && cat "$TR_TMP/x" >"$root/$f"
done
mkdir -p "$root/run/timerush" "$root/var/log/timerush" "$TR_TMP/nginx"
port=$(tr_free_port)
sock=$TR_TMP/redis.sock
# The installed config, with the test Redis (a unix socket) for Debian's 127.0.0.1:6379
# and the test nginx's port as TimeRush's own address.
to_root "$root/etc/timerush/timerush.conf" |
    sed -e "s#^host = .*#redis-socket = $sock#" -e '/^port = /d' \
        -e "s#^listen-port = .*#listen-port = $port#" >"$TR_TMP/x"
cat "$TR_TMP/x" >"$root/etc/timerush/timerush.conf"
check "the config logs into the root" grep -qx "logpath = $root/var/log/timerush/timerush.log" \
    "$root/etc/timerush/timerush.conf"

redis-server --port 0 --unixsocket "$sock" --unixsocketperm 700 --dir "$TR_TMP" \
    --save '' --appendonly no --daemonize no >"$TR_TMP/redis.log" 2>&1 &
tr_track_pid $!
tr_poll 10 redis-cli -s "$sock" PING || { tr_fail "test redis starts"; tr_finish; }

# A unit's ExecStart, pointed into the root; %l %i as systemd would fill them.
exec_start() { sed -n 's/^ExecStart=//p' "$units/$1" | to_root | sed -e 's/%l/debtest/g' -e 's/%i/1/g'; }
read -r -a fcgi_cmd <<<"$(exec_start timerush-fcgi.service)"
read -r -a sched_cmd <<<"$(exec_start timerush-scheduler@.service)"
check_eq "timerush-fcgi's ExecStart reads the installed config" \
    "$root/usr/bin/timerush-fcgi -c $root/etc/timerush/timerush.conf" "${fcgi_cmd[*]}"
check_eq "the scheduler's ExecStart: the config and host.instance as its id" \
    "$root/usr/bin/timerush-scheduler -c $root/etc/timerush/timerush.conf --scheduler-id debtest.1" \
    "${sched_cmd[*]}"
# The socket unit's ListenStream and SocketMode, played by spawn-fcgi (-n: it execs
# timerush-fcgi, so $! is timerush-fcgi).
fcgi_sock=$(sed -n 's/^ListenStream=//p' "$units/timerush-fcgi.socket" | to_root)
check_eq "the socket unit listens where the nginx upstream connects" \
    "server unix:$fcgi_sock;" "$(grep -o 'server unix:[^ ]*;' "$root/etc/nginx/conf.d/timerush-upstream.conf")"
spawn-fcgi -n -s "$fcgi_sock" -M 0660 -- "${fcgi_cmd[@]}" >"$TR_TMP/fcgi.out" 2>&1 &
fcgi_pid=$!
tr_track_pid "$fcgi_pid"
"${sched_cmd[@]}" >"$TR_TMP/sched.out" 2>&1 &
sched_pid=$!
tr_track_pid "$sched_pid"

# nginx with the operator's own server { }: its listen, its logs, one location of its
# own, and the include the package documents. Started as root, its workers stay root:
# the FastCGI socket is inside this test's 0700 temp dir.
user_line=""
(($(id -u) == 0)) && user_line="user root;"
cat >"$TR_TMP/nginx/nginx.conf" <<EOF
$user_line
worker_processes 1;
pid $TR_TMP/nginx/nginx.pid;
error_log $TR_TMP/nginx/error.log warn;
events { worker_connections 256; }
http {
    access_log $TR_TMP/nginx/access.log;
    client_body_temp_path $TR_TMP/nginx/body;
    fastcgi_temp_path $TR_TMP/nginx/fastcgi;
    proxy_temp_path $TR_TMP/nginx/proxy;
    scgi_temp_path $TR_TMP/nginx/scgi;
    uwsgi_temp_path $TR_TMP/nginx/uwsgi;
    include $root/etc/nginx/conf.d/timerush-upstream.conf;
    server {
        listen 127.0.0.1:$port;
        server_name _;
        location / { return 404 "the operator's own\n"; }
        include $root/etc/timerush/nginx-locations.conf;
    }
}
EOF
check "nginx -t accepts the snippet in a server block" \
    nginx -p "$TR_TMP/nginx/" -c "$TR_TMP/nginx/nginx.conf" -e "$TR_TMP/nginx/error.log" -t
nginx -p "$TR_TMP/nginx/" -c "$TR_TMP/nginx/nginx.conf" -e "$TR_TMP/nginx/error.log" \
    -g 'daemon off;' >"$TR_TMP/nginx/out" 2>&1 &
nginx_pid=$!
tr_track_pid "$nginx_pid"
url=http://127.0.0.1:$port
healthy() { [[ $(curl -s -o /dev/null -w '%{http_code}' "$url/healthz") == 200 ]]; }
tr_wait_for "GET /healthz through nginx and the snippet: 200" 15 healthy || {
    tail -n 5 "$TR_TMP"/*.out "$TR_TMP/nginx/error.log" "$root/var/log/timerush/timerush.log"
    tr_finish
}
check_eq "/healthz: status ok" ok "$(curl -s "$url/healthz" | jq -r .status)"

tr_start_sink A --answer ok || tr_finish
code=$(curl -s -o "$TR_TMP/create.json" -w '%{http_code}' -H 'Content-Type: application/json' \
    -d "{\"key\":\"deb-1\",\"url\":\"$SINK_A_URL/deb\",\"data\":{\"n\":1},\"delay_ms\":200}" \
    "$url/v1/timers")
check_eq "POST /v1/timers through the snippet: 201" 201 "$code"
tr_wait_for "the scheduler delivers it to the receiver" 10 tr_sink_has A 1 'select(.path == "/deb")'
check_eq "the receiver got the data" '{"n":1}' \
    "$(jq -r 'select(.path == "/deb") | .body' "$SINK_A_LOG" | head -n 1)"
k=$(curl -s "$url/register/" -d "{\"callback_cmd\":\"$SINK_A_URL/compat\",\"callback_data\":\"x\",\"seconds\":1}" |
    jq -r '.data.key // empty')
check "POST /register/ (the compatible API) answers a key" test -n "$k"
# The packaged CLI (ctl/, docs/CLI.md) against the packaged service.
ctl=("$root/usr/bin/timerushctl" --url "$url")
"${ctl[@]}" create "$SINK_A_URL/ctl" --data x --seconds 600 --key deb-ctl >/dev/null 2>&1
check_eq "the unpacked timerushctl creates a timer and reads it back" pending \
    "$("${ctl[@]}" get deb-ctl --json 2>/dev/null | jq -r '.timer.state // empty')"
check "... and its bash completion is installed" test -s "$root/usr/share/bash-completion/completions/timerushctl"
tr_wait_for "the compatible timer is delivered too" 10 tr_sink_has A 1 'select(.path == "/compat")'
check_eq "the operator's own locations still answer" "the operator's own" "$(curl -s "$url/elsewhere")"
head -c 70000 /dev/zero | tr '\0' a >"$TR_TMP/big"
check_eq "a body over the limit: the snippet's JSON 413 under /v1/" "413 too_large" \
    "$(curl -s -o "$TR_TMP/413.json" -w '%{http_code}' --data-binary @"$TR_TMP/big" "$url/v1/timers") $(jq -r .error.code "$TR_TMP/413.json")"
check_eq "the snippet's error pages are not reachable from outside" 404 \
    "$(curl -s -o /dev/null -w '%{http_code}' "$url/.tr-error/413")"
log=$root/var/log/timerush/timerush.log
check "both programs log to the configured logpath, a line per timer event" \
    grep -q 'key=deb-1' "$log"
# logrotate's postrotate: ExecReload's SIGHUP makes both programs reopen the log.
mv "$log" "$log.1"
kill -HUP "$fcgi_pid" "$sched_pid"
reopened() { (($(grep -c 'log reopened' "$log" 2>/dev/null) >= 2)); }
tr_wait_for "SIGHUP (ExecReload): both programs reopen the rotated log" 5 reopened
# The dashboard's location: the package's ui/ files when the build had them, else a
# stand-in page, so the snippet's location is tested either way.
ui=$root/usr/share/timerush/ui
if [[ ! -d $ui ]]; then
    mkdir -p "$ui" && echo '<!doctype html><title>stand-in</title>' >"$ui/index.html"
fi
check_eq "/ui redirects to /ui/" 301 "$(curl -s -o /dev/null -w '%{http_code}' "$url/ui")"
curl -s -D "$TR_TMP/ui.headers" -o /dev/null "$url/ui/"
check "/ui/ serves the dashboard's index.html" grep -q '^HTTP/1.1 200' "$TR_TMP/ui.headers"
check "/ui/ as text/html" grep -qi '^Content-Type: text/html' "$TR_TMP/ui.headers"
check "/ui/ with the dashboard's CSP" grep -qi "^Content-Security-Policy: default-src 'none'" \
    "$TR_TMP/ui.headers"

echo "# timers served: $(($(tr_now_ms) - t0)) ms"
# systemd's stop: SIGTERM, and both exit 0.
for p in "$fcgi_pid" "$sched_pid"; do
    kill -TERM "$p"
    wait "$p"
    check_eq "pid $p exits 0 on SIGTERM" 0 "$?"
done
tr_finish
