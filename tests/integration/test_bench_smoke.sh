#!/usr/bin/env bash
# test_bench_smoke.sh - bench/run.sh --smoke through the whole stack: 200 timers
# over 1-2 s reach timerush-sink, none lost, none twice. Keeps the benchmark
# tooling (driver, analyzer, launcher wiring) from rotting between full runs.
set -u
: "${TR_SOURCE_DIR:?}" "${TR_BUILD_DIR:?}"
# shellcheck source=lib.sh
. "$TR_SOURCE_DIR/tests/integration/lib.sh"
tr_setup

rc=0
bash "$TR_SOURCE_DIR/bench/run.sh" --smoke --no-build --no-install \
    --build-dir "$TR_BUILD_DIR" --work "$TR_TMP/bench" \
    >"$TR_TMP/smoke.out" 2>"$TR_TMP/smoke.err" || rc=$?
cat "$TR_TMP/smoke.out"
[ "$rc" -eq 0 ] || tail -30 "$TR_TMP/smoke.err"

check_eq "bench/run.sh --smoke exits 0" 0 "$rc"
summary="$TR_TMP/bench/results/smoke.json"
check "the analyzer wrote its summary" test -s "$summary"
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$summary" "$1" 2>/dev/null; }
check_eq "every timer registered" 200 "$(field registered)"
check_eq "every timer arrived" 200 "$(field arrived)"
check_eq "none lost" 0 "$(field lost)"
check_eq "none delivered twice" 0 "$(field duplicates)"
check_eq "none early" 0 "$(field early)"
tr_finish
