#!/usr/bin/env bash
# Issue 10's create path against its floors, in one run on a quiet machine:
#  1. /register/ beside the BullMQ peer and nginx `return 200` (bench/create_peer.sh,
#     wrk -t1 -c64, the launcher's keepalive), CPU per create by process;
#  2. the FastCGI hop alone: GET /register/ answered 405 by timerush-fcgi with no Redis
#     call ("refuse"), beside `return 200`, /register/ and the 1,000-timer batch
#     (bench/create_probe.sh, wrk -t2 -c64), CPU per request by process;
#  3. what one Redis needs at the least to store a timer: the bare ZADD + HSET of the
#     data model, no script (bench/redis_create_floor.sh).
# From the checkout, with build-p2 a Release build of this tree
# (scripts/build.sh build-p2 -DCMAKE_BUILD_TYPE=Release). Output: output.txt beside it.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
out=bench/results/2026-12-02-create-floor/output.txt
: >"$out"
stamp() { echo "== $1: $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"; }
stamp "create_peer"
bench/create_peer.sh --build-dir build-p2 --secs 8 --reps 3 --keepalive launcher 2>&1 | tee -a "$out"
stamp "create_probe"
bench/create_probe.sh --build-dir build-p2 --only static,refuse,register,batch --reps 3 --secs 5 2>&1 |
    grep -v ' rejected ret=6 ' | tee -a "$out"
stamp "redis_create_floor"
bench/redis_create_floor.sh --batches 300 --reps 3 2>&1 | tee -a "$out"
stamp "end"
