#!/usr/bin/env bash
# tests/fuzz/run.sh FUZZER CORPUS_DIR SECONDS [libFuzzer flags...] - one bounded
# libFuzzer run, as a ctest entry: fuzzes for SECONDS on a copy of CORPUS_DIR in a temp
# dir (the committed corpus is never written), each input at most 5 s, with the
# dictionary CORPUS_DIR.dict (libFuzzer -dict) when there is one.
# Exit 0 when nothing was found. On a crash, leak, timeout or failed check it exits
# non-zero and keeps the input in fuzz-artifacts/ under the current directory (ctest:
# BUILD/tests/fuzz/fuzz-artifacts/), with the command that replays it.
set -u
if (($# < 3)); then
    echo "usage: $0 FUZZER CORPUS_DIR SECONDS [libFuzzer flags...]" >&2
    exit 2
fi
bin=$1 corpus=$2 secs=$3
shift 3
name=$(basename "$bin")
if ! compgen -G "$corpus/*" >/dev/null; then
    echo "$name: no seed corpus: commit a few real inputs in $corpus/" >&2
    exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/tr-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus" && cp -R "$corpus/." "$work/corpus/" || exit 1
mkdir "$work/artifacts"

dict=()
[[ -f ${corpus%/}.dict ]] && dict=(-dict="${corpus%/}.dict")

echo "$name: fuzzing for $secs s on a copy of $corpus ($(find "$work/corpus" -type f | wc -l) inputs)"
"$bin" -max_total_time="$secs" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/artifacts/" "${dict[@]}" "$@" "$work/corpus" 2>"$work/log"
rc=$?
# The last status lines and the final stats; everything on failure.
if ((rc == 0)); then
    grep -E '^(#[0-9]+.*(DONE|pulse)|Done |stat::(number_of_executed_units|new_units_added|peak_rss_mb))' "$work/log" | tail -n 5
    echo "$name: ok"
    exit 0
fi
cat "$work/log"
keep=$PWD/fuzz-artifacts/$name
mkdir -p "$keep"
for f in "$work"/artifacts/*; do
    [[ -e $f ]] || continue
    cp "$f" "$keep/"
    echo "$name: FOUND $(basename "$f"); replay with: $bin $keep/$(basename "$f")"
done
echo "$name: FAILED (libFuzzer exit $rc)"
exit 1
