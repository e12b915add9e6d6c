#!/usr/bin/env bash
# tests/fuzz/run-long.sh TARGET [SECONDS] [libFuzzer flags...] - a long fuzzing run of
# tests/fuzz/TARGET.c (default 600 s), e.g. tests/fuzz/run-long.sh fuzz_register 3600
#
# Builds the sanitizer build (scripts/build.sh build-asan --asan, as ./run-tests does;
# TR_FUZZ_BUILD_DIR picks another directory), then fuzzes with a working corpus kept
# in BUILD/fuzz-work/TARGET/corpus (seeded from tests/fuzz/corpus/TARGET/, growing
# from run to run), with the dictionary tests/fuzz/corpus/TARGET.dict when there is
# one. TR_FUZZ_JOBS=N runs N fuzzing processes (default 1: the machine is
# shared). Crashes, leaks and timeouts land in BUILD/fuzz-work/TARGET/ with the
# command that replays them. Adding what a run found to the committed seeds:
#   BUILD/tests/fuzz/TARGET -merge=1 tests/fuzz/corpus/TARGET BUILD/fuzz-work/TARGET/corpus
# (keeps only inputs that add coverage; look at what it added before committing).
set -uo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
if (($# < 1)) || [[ $1 == -h || $1 == --help ]]; then
    sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi
target=${1%.c}
target=${target##*/}
secs=${2:-600}
shift $(($# >= 2 ? 2 : 1))
[[ -f $src/tests/fuzz/$target.c ]] || { echo "run-long.sh: no tests/fuzz/$target.c" >&2; exit 2; }
[[ $secs =~ ^[0-9]+$ ]] || { echo "run-long.sh: SECONDS must be a whole number, not '$secs'" >&2; exit 2; }

build=${TR_FUZZ_BUILD_DIR:-$src/build-asan}
"$src/scripts/install-deps.sh" || exit 1
"$src/scripts/build.sh" "$build" --asan >"$build.fuzz-build.log" 2>&1 ||
    { tail -n 40 "$build.fuzz-build.log"; echo "run-long.sh: build failed (log: $build.fuzz-build.log)" >&2; exit 1; }
rm -f "$build.fuzz-build.log"
bin=$build/tests/fuzz/$target
[[ -x $bin ]] || { echo "run-long.sh: $bin was not built (is the compiler clang?)" >&2; exit 1; }

work=$build/fuzz-work/$target
mkdir -p "$work/corpus"
seeds=$src/tests/fuzz/corpus/$target
[[ -d $seeds ]] && cp -n "$seeds"/* "$work/corpus/" 2>/dev/null
dict=()
[[ -f $seeds.dict ]] && dict=(-dict="$seeds.dict")
jobs=${TR_FUZZ_JOBS:-1}
echo "run-long.sh: $target for $secs s, $jobs process(es), corpus $work/corpus ($(find "$work/corpus" -type f | wc -l) inputs)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
cd "$work" || exit 1
jobargs=()
((jobs > 1)) && jobargs=(-jobs="$jobs" -workers="$jobs")
"$bin" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/" "${dict[@]}" "${jobargs[@]}" "$@" "$work/corpus"
rc=$?
found=$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
if [[ -n $found ]]; then
    echo "run-long.sh: found (replay with $bin FILE):"
    printf '  %s\n' $found
fi
exit $rc
