#!/usr/bin/env bash
# render_nginx.sh DIR CERTS PORT UPSTREAM - writes DIR/nginx-tls.conf from nginx-tls.conf.in
# and makes its temp dirs. Checks the result with nginx -t. Paths must be absolute.
set -euo pipefail
dir=${1:?DIR} certs=${2:?CERTS} port=${3:?PORT} upstream=${4:?UPSTREAM}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mkdir -p "$dir/nginx-tls-tmp"
sed -e "s|@DIR@|$dir|g" -e "s|@CERTS@|$certs|g" -e "s|@PORT@|$port|g" \
    -e "s|@UPSTREAM@|$upstream|g" "$here/nginx-tls.conf.in" >"$dir/nginx-tls.conf"
nginx -q -t -p "$dir" -c "$dir/nginx-tls.conf" 2>"$dir/nginx-tls-check.log" || {
    cat "$dir/nginx-tls-check.log" >&2
    exit 1
}
