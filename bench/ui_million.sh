#!/usr/bin/env bash
# bench/ui_million.sh - the /ui/ dashboard against a million pending timers.
#
#   bench/ui_million.sh [-n N] [--build-dir DIR] [--parallel P] [--loads L] [--nexts K]
#
# Starts the stack (a fresh run dir, a free port, one API token, --max-body 1 MiB),
# creates N pending timers (default 1,000,000) with POST /v1/timers/batch, 1,000 a
# request, P requests at a time (default 2), due 30 to 31 days ahead (nothing fires),
# checks /v1/stats counts them all, times /v1/stats and the first list page with curl,
# then loads /ui/ in Debian's chromium L times (default 3; tests/integration/ui/
# bench.js, puppeteer-core as test_ui.sh installs it) and clicks Next K times
# (default 5). Prints the creation rate, the curl times, and bench.js's lines: per load
# the time until the counts and the first page are shown and every request the page
# made. docs/DASHBOARD.md and docs/BENCHMARKS.md have the figures.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$SRC/build
N=1000000
PAR=2
LOADS=3
NEXTS=5

die() { echo "ui_million: $*" >&2; exit 1; }
say() { echo "ui_million: $*" >&2; }

while [ $# -gt 0 ]; do
    case "$1" in
    -n) N=$2; shift 2 ;;
    --build-dir) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --parallel) PAR=$2; shift 2 ;;
    --loads) LOADS=$2; shift 2 ;;
    --nexts) NEXTS=$2; shift 2 ;;
    *) die "unknown option '$1' (see the head of $0)" ;;
    esac
done
for v in N PAR LOADS NEXTS; do
    [[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || die "$v takes a whole number > 0"
done
((N % 1000 == 0)) || die "-n takes a multiple of 1000 (whole batches)"
command -v chromium >/dev/null || die "chromium is not installed (scripts/install-deps.sh --for test)"
source "$SRC/bench/lib.sh"
close_inherited_fds

WORK=$(mktemp -d /tmp/tr-ui-million.XXXXXX)
cleanup() {
    stop_tr_stack
    rm -rf "$WORK"
}
trap cleanup EXIT

# puppeteer-core, pinned, installed as test_ui.sh does (shared with it).
npm_dir=$BUILD/test-ui-npm
mkdir -p "$npm_dir"
cp "$SRC/tests/integration/ui/package.json" "$SRC/tests/integration/ui/package-lock.json" \
    "$SRC/tests/integration/ui/check.js" "$SRC/tests/integration/ui/bench.js" "$npm_dir/"
if ! cmp -s "$SRC/tests/integration/ui/package-lock.json" "$npm_dir/installed.lock"; then
    (cd "$npm_dir" && npm_config_cache=$npm_dir/.npm-cache npm ci --no-audit --no-fund \
        --loglevel=error) || die "npm ci failed"
    cp "$SRC/tests/integration/ui/package-lock.json" "$npm_dir/installed.lock"
fi

TOKEN=bench-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
start_tr_stack "$WORK/run" "$WORK/launcher.log" 1048576 --api-token "$TOKEN" ||
    die "the stack did not start"
say "stack at $URL"

# One body for every request: no keys (the server makes them), 1,000 due times one
# second apart starting 30 days ahead, so the pending list has 1,000 timers per due
# time once all batches are in (ties ordered by key).
python3 -c '
import json
print(json.dumps({"timers": [{"url": "http://127.0.0.1:9/cb", "data": {"id": i},
    "delay_ms": 30 * 86400000 + i * 1000} for i in range(1000)]}, separators=(",", ":")))
' >"$WORK/batch.json"
# batches K: K batch requests, PAR at a time; their HTTP codes appended to codes.
batches() {
    local i
    for ((i = 0; i < $1; i++)); do
        printf 'url = "%s/v1/timers/batch"\noutput = "/dev/null"\n' "$URL"
    done >"$WORK/curl.cfg"
    curl -sS --no-progress-meter -Z --parallel-max "$PAR" -X POST -H "Authorization: Bearer $TOKEN" \
        -H 'Content-Type: application/json' --data-binary "@$WORK/batch.json" \
        -w '%{http_code}\n' -K "$WORK/curl.cfg" >>"$WORK/codes"
}
pending() { curl -sS -H "Authorization: Bearer $TOKEN" "$URL/v1/stats" | jq .pending; }
say "creating $N timers: $((N / 1000)) batch requests, $PAR at a time"
: >"$WORK/codes"
t0=$(date +%s%N)
# A loaded machine may answer a few 503s (Redis busy: store_unavailable or
# outcome_unknown); the missing batches are sent again until /v1/stats counts N.
for _ in 1 2 3 4 5; do
    pending=$(pending)
    ((pending < N)) || break
    batches $(((N - pending + 999) / 1000))
done
t1=$(date +%s%N)
pending=$(pending)
[ "$pending" -ge "$N" ] || die "/v1/stats counts $pending pending, want $N"
codes=$(sort "$WORK/codes" | uniq -c | awk '{ printf "%s%s x %s", (NR > 1 ? ", " : ""), $1, $2 }')
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e9 }')
echo "created: $pending timers in $secs s ($(awk -v n="$pending" -v s="$secs" 'BEGIN { printf "%d", n / s }')/s; answers: $codes); /v1/stats pending: $pending"

# The API calls the page makes, by curl (median of 5 each).
ctime() {
    local i
    for i in 1 2 3 4 5; do
        curl -sS -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $TOKEN" "$URL$1"
    done | median | awk '{ printf "%.1f", $1 * 1000 }'
}
for p in /v1/stats /metrics '/v1/timers?state=pending&limit=50' '/v1/timers?state=dead&limit=50'; do
    echo "curl $p: $(ctime "$p") ms (median of 5)"
done
cursor=$(curl -sS -H "Authorization: Bearer $TOKEN" "$URL/v1/timers?state=pending&limit=1000" | jq -r .next_cursor)
echo "curl /v1/timers?state=pending&limit=50&cursor=<after 1,000>: $(ctime "/v1/timers?state=pending&limit=50&cursor=$cursor") ms (median of 5)"

say "loading /ui/ $LOADS times in chromium"
(cd "$npm_dir" && TR_URL=$URL TR_ADMIN_TOKEN=$TOKEN TR_LOADS=$LOADS TR_NEXTS=$NEXTS node bench.js) ||
    die "bench.js failed"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)"
