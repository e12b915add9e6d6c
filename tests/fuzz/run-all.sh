#!/usr/bin/env bash
# tests/fuzz/run-all.sh [-j P] [-o REPORT] SECONDS [TARGET...] - every fuzz target (or
# the ones named) for SECONDS each, P at a time (default 2: the machine is shared),
# under nice -n 10, each from a fresh copy of its committed seeds (and its dictionary),
# so two runs of the same commit compare. Prints, and writes to REPORT (default
# BUILD/fuzz-all/report.md), a table: executions, exec/s, libFuzzer's final cov: and
# ft:, corpus entries at the end, findings (crash, leak, timeout, oom files), peak RSS;
# with the commit, the build and the machine's load (uptime) before and after.
#
# Builds the sanitizer build first (scripts/build.sh build-asan --asan, as ./run-tests
# does; TR_FUZZ_BUILD_DIR picks another directory, TR_FUZZ_NO_BUILD=1 skips the build)
# and runs copies of its fuzz programs, so rebuilding meanwhile changes nothing.
# Work and findings: BUILD/fuzz-all/TARGET/ (log, corpus/, artifacts/), replaced by the
# next run. Exit 1 when any target found something.
#   tests/fuzz/run-all.sh 600                       # the 10-minute figures (docs/TESTING.md)
#   tests/fuzz/run-all.sh -j 1 60 fuzz_cron fuzz_url
set -uo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
jobs=2 report=""
while (($#)); do
    case "$1" in
    -j) jobs=${2:-}; shift 2 ;;
    -o) report=${2:-}; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) break ;;
    esac
done
if (($# < 1)) || ! [[ $1 =~ ^[0-9]+$ ]] || ! [[ $jobs =~ ^[1-9][0-9]*$ ]]; then
    echo "usage: tests/fuzz/run-all.sh [-j P] [-o REPORT] SECONDS [TARGET...] (see --help)" >&2
    exit 2
fi
secs=$1
shift
build=${TR_FUZZ_BUILD_DIR:-$src/build-asan}
if [[ -z ${TR_FUZZ_NO_BUILD:-} ]]; then
    "$src/scripts/install-deps.sh" || exit 1
    "$src/scripts/build.sh" "$build" --asan >"$build.fuzz-build.log" 2>&1 ||
        { tail -n 40 "$build.fuzz-build.log"; echo "run-all.sh: build failed (log: $build.fuzz-build.log)" >&2; exit 1; }
    rm -f "$build.fuzz-build.log"
fi
targets=("$@")
if ((${#targets[@]} == 0)); then
    for f in "$src"/tests/fuzz/fuzz_*.c; do t=${f##*/}; targets+=("${t%.c}"); done
fi
out=$build/fuzz-all
mkdir -p "$out/bin"
report=${report:-$out/report.md}
for t in "${targets[@]}"; do
    [[ -x $build/tests/fuzz/$t ]] || { echo "run-all.sh: $build/tests/fuzz/$t was not built (is the compiler clang?)" >&2; exit 1; }
    cp "$build/tests/fuzz/$t" "$out/bin/$t" || exit 1
done
commit=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)
git -C "$src" diff --quiet HEAD -- shared fcgi scheduler tests/fuzz 2>/dev/null || commit="$commit+uncommitted"
load_before=$(uptime)
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# one TARGET: fuzzes in $out/TARGET, leaves log and corpus there.
one() {
    local t=$1 w=$out/$1 dict=()
    rm -rf "$w"
    mkdir -p "$w/corpus" "$w/artifacts"
    cp "$src/tests/fuzz/corpus/$t"/* "$w/corpus/" 2>/dev/null
    [[ -f $src/tests/fuzz/corpus/$t.dict ]] && dict=(-dict="$src/tests/fuzz/corpus/$t.dict")
    nice -n 10 "$out/bin/$t" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$w/artifacts/" "${dict[@]}" "$w/corpus" \
        >"$w/log" 2>&1
    echo $? >"$w/rc"
}

echo "run-all.sh: ${#targets[@]} targets, $secs s each, $jobs at a time, commit $commit; $load_before"
# The machine's 1-minute load every 30 s while the targets run (shared machines vary).
: >"$out/load.log"
( while sleep 30; do cut -d' ' -f1 /proc/loadavg >>"$out/load.log"; done ) &
sampler=$!
running() { jobs -rp | grep -vx "$sampler" | wc -l; }
for t in "${targets[@]}"; do
    while (($(running) >= jobs)); do wait -n; done
    echo "  $(date -u +%H:%M:%S) start $t"
    one "$t" &
done
while (($(running) > 0)); do wait -n; done
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
load_after=$(uptime)
load_run=$(awk '{s += $1; if (NR == 1 || $1 < lo) lo = $1; if ($1 > hi) hi = $1} END {if (NR) printf "%.1f mean, %.1f..%.1f over %d samples", s / NR, lo, hi, NR; else print "no samples"}' "$out/load.log")

# The figures of one target's log: executions exec/s cov ft corpus findings rss rc.
row() {
    local t=$1 w=$out/$1 last execs eps cov ft corp found rss rc
    last=$(grep -aE '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$w/log" | tail -n1)
    execs=$(grep -a 'stat::number_of_executed_units' "$w/log" | awk '{print $2}')
    [[ -n $execs ]] || execs=$(sed -nE 's/^#([0-9]+).*/\1/p' <<<"$last")
    eps=$(grep -a 'stat::average_exec_per_sec' "$w/log" | awk '{print $2}')
    rss=$(grep -a 'stat::peak_rss_mb' "$w/log" | awk '{print $2}')
    cov=$(sed -nE 's/.* cov: ([0-9]+).*/\1/p' <<<"$last")
    ft=$(sed -nE 's/.* ft: ([0-9]+).*/\1/p' <<<"$last")
    corp=$(find "$w/corpus" -type f | wc -l)
    found=$(find "$w/artifacts" -type f | wc -l)
    rc=$(cat "$w/rc" 2>/dev/null || echo "?")
    echo "| $t | ${execs:-?} | ${eps:-?} | ${cov:-?} | ${ft:-?} | $corp | $found | ${rss:-?} | $rc |"
}
{
    echo "Fuzzing run: ${#targets[@]} targets, $secs s each, $jobs at a time, nice -n 10"
    echo "commit $commit, build $build (clang, -fsanitize=fuzzer,address,undefined, RelWithDebInfo)"
    echo "started $started, ended $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "load before: $load_before"
    echo "load after:  $load_after"
    echo "1-minute load during the run: $load_run ($(nproc) CPUs)"
    echo
    echo "| target | executions | exec/s | cov | ft | corpus | findings | peak RSS MB | exit |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for t in "${targets[@]}"; do row "$t"; done
} >"$report"
cat "$report"
bad=0
for t in "${targets[@]}"; do
    for f in "$out/$t"/artifacts/*; do
        [[ -e $f ]] || continue
        echo "run-all.sh: $t found $(basename "$f"); replay: $build/tests/fuzz/$t $f"
        bad=1
    done
done
echo "run-all.sh: report in $report"
exit $bad
