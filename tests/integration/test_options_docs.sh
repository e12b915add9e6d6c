#!/usr/bin/env bash
# test_options_docs.sh - the docs agree with the option table (shared/tr_config.c, as
# `timerush-fcgi --print-options` dumps it): every option README.md and
# docs/OPERATIONS.md name exists, and each default README's Options table gives is the
# table's, and the options both say a -c file cannot set are the table's cli-only
# ones (plus the launcher's bootstrap -c, --no-build, --no-install, -h). Starts nothing.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$here/lib.sh"
tr_setup

declare -A def=() type=() short=()
cli_only=()
while IFS= read -r line; do
    [[ $line == '#'* ]] && continue
    IFS=$'\x1f' read -r name s t d _ _ _ flags _ <<<"${line//$'\t'/$'\x1f'}"
    def[$name]=$d type[$name]=$t
    [[ $s != - ]] && short[$s]=$name
    [[ ,$flags, == *,cli-only,* ]] && cli_only+=("$name")
done < <("$TR_BUILD_DIR/fcgi/timerush-fcgi" --print-options)
check "the table has options" test "${#def[@]}" -gt 20

# Words that are not table options: the launcher's bootstrap and meta options, and
# the options of run-tests, ctest, scripts/build.sh, install-deps.sh, apt-get and the
# test sink (README's --cluster-local example) the docs mention.
not_options=" config help no-build no-install print-options launcher-settings version
  fast asan-only full output-on-failure asan for no-install-recommends listen log "
# README shows timerushctl too: its options are its own table's, as its --help prints
# them (docs/CLI.md is their reference).
ctl_help=$("$TR_BUILD_DIR/ctl/timerushctl" --help 2>/dev/null)
check "timerushctl --help lists its options" grep -q -- '--token-file' <<<"$ctl_help"
for o in $(grep -oE -- '--[a-z][a-z-]*[a-z]' <<<"$ctl_help" | sort -u); do
    not_options+="${o#--} "
done
for f in README.md docs/OPERATIONS.md; do
    unknown=()
    for o in $(grep -oE -- '--[a-z][a-z-]*[a-z]' "$TR_SOURCE_DIR/$f" | sort -u); do
        o=${o#--}
        [[ -n ${def[$o]+x} || $not_options == *" $o "* ]] || unknown+=("--$o")
    done
    check_eq "$f names only options the table has" "" "${unknown[*]}"
done

# README's Options table: "| `--a`, `--b` | A, B | what |". A default is compared when
# it is one word and the table has a non-empty default for a non-flag option.
compared=0 wrong=()
while IFS='|' read -r _ names defaults _; do
    mapfile -t opts < <(grep -oE -- '--[a-z][a-z-]*[a-z]' <<<"$names")
    IFS=',' read -ra vals <<<"${defaults//\`/}"
    ((${#opts[@]} == ${#vals[@]})) || continue
    for k in "${!opts[@]}"; do
        o=${opts[k]#--} v=${vals[k]}
        v=${v#"${v%%[! ]*}"} v=${v%"${v##*[! ]}"}
        [[ -n ${def[$o]:-} && ${type[$o]} != flag && $v =~ ^[A-Za-z0-9._]+$ ]] || continue
        compared=$((compared + 1))
        [[ $v == "${def[$o]}" ]] || wrong+=("--$o: README $v, table ${def[$o]}")
    done
done < <(sed -n '/^## Options/,/^## /p' "$TR_SOURCE_DIR/README.md" | grep '^| `-')
check "README's Options table gives defaults to compare" test "$compared" -ge 10
check "the table marks command-line-only options" test "${#cli_only[@]}" -ge 2

# The sentence of each doc that says which options a -c file cannot set: from "option(s)
# but" to the end of that sentence, joined into one line.
expected=$(printf '%s\n' "${cli_only[@]}" | sort | tr '\n' ' ')
for f in README.md docs/OPERATIONS.md; do
    sentence=$(tr '\n' ' ' <"$TR_SOURCE_DIR/$f" | grep -oE 'Every option but [^.]*(-c` file|-c FILE`)' | head -n1)
    check "$f says which options a -c file cannot set" test -n "$sentence"
    named=()
    for o in $(grep -oE -- '`--?[a-z][a-z-]*`' <<<"$sentence" | tr -d '`'); do
        case $o in -c|-h|--no-build|--no-install) continue ;; esac
        if [[ $o == --* ]]; then named+=("${o#--}"); else named+=("${short[${o#-}]:-$o}"); fi
    done
    check_eq "$f: those are the table's cli-only options" "$expected" \
        "$(printf '%s\n' "${named[@]}" | sort -u | tr '\n' ' ')"
done
check_eq "README's defaults are the table's ($compared compared)" "" "${wrong[*]}"

tr_finish
