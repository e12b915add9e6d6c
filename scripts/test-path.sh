#!/usr/bin/env bash
# scripts/test-path.sh DIR - makes DIR the PATH a fresh Debian would give the tests:
# one symlink per command that either
#   - a package of scripts/debian-packages.txt ships, or
#   - a package of a minimal Debian ships (Essential: yes or Priority: required, what
#     debootstrap --variant=minbase installs: bash, coreutils, grep, sed, mawk, ...),
#   - or a package these depend on (what apt-get install brings along),
# found in the usual bin directories (/usr/local/sbin ... /bin), plus the names that
# dpkg's alternatives give those commands (awk -> mawk, cc -> gcc).
# Commands that are here only because this machine has more packages (git, strace,
# perf, ...) are left out, so ./run-tests, which runs ctest with PATH=DIR, fails on
# them exactly as a fresh Debian would.
#
#   scripts/test-path.sh DIR              fill DIR (made empty first)
#   scripts/test-path.sh --check-abs DIR  also: list /usr/bin/X-style paths in the test
#                                         sources whose X is not in DIR; exit 1 if any
set -euo pipefail

check_abs=0
if [[ ${1:-} == --check-abs ]]; then check_abs=1; shift; fi
(($# == 1)) || { echo "usage: $0 [--check-abs] DIR" >&2; exit 2; }
dir=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
src=$(cd "$here/.." && pwd)

command -v dpkg-query >/dev/null || { echo "test-path.sh: needs dpkg (Debian)" >&2; exit 1; }

bindirs=(/usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin)

# The packages: the list's, then the minimal system's (installed ones only).
mapfile -t listed < <("$here/install-deps.sh" --list)
mapfile -t base < <(dpkg-query -W -f='${binary:Package}\t${Essential}\t${Priority}\t${db:Status-Abbrev}\n' |
    awk -F'\t' '$4 ~ /^ii/ && ($2 == "yes" || $3 == "required") { print $1 }')
# With what they depend on (Depends, Pre-Depends; for "a | b" the first one installed,
# virtual names through Provides): what apt --no-install-recommends brings along, e.g.
# python3 -> python3-minimal, which ships /usr/bin/python3.
mapfile -t pkgs < <(dpkg-query -W -f='${db:Status-Abbrev}\t${Package}\t${Pre-Depends}, ${Depends}\t${Provides}\n' |
    awk -F'\t' -v roots="$(printf '%s ' "${listed[@]}" "${base[@]}")" '
    function name(s) { sub(/\(.*/, "", s); gsub(/[ \t]/, "", s); sub(/:.*/, "", s); return s }
    $1 ~ /^ii/ {
        inst[$2] = 1; deps[$2] = $3
        n = split($4, pv, ","); for (i = 1; i <= n; i++) if (name(pv[i]) != "") prov[name(pv[i])] = $2
    }
    END {
        n = split(roots, q, " "); head = 1
        for (i = 1; i <= n; i++) want[q[i]] = 1
        while (head <= n) {
            p = q[head++]; print p
            m = split(deps[p], d, ",")
            for (j = 1; j <= m; j++) {
                k = split(d[j], alt, "|"); pick = ""
                for (a = 1; a <= k && pick == ""; a++) {
                    c = name(alt[a])
                    if (c in inst) pick = c; else if (c in prov) pick = prov[c]
                }
                if (pick != "" && !(pick in want)) { want[pick] = 1; q[++n] = pick }
            }
        }
    }' | sort -u)
mapfile -t missing < <(comm -23 <(printf '%s\n' "${listed[@]}" | sort -u) \
    <(dpkg-query -W -f='${Package}\n' "${listed[@]}" 2>/dev/null | sort -u))
if ((${#missing[@]})); then
    echo "test-path.sh: not installed: ${missing[*]} (run scripts/install-deps.sh)" >&2
    exit 1
fi

# canon PATH...: the path with its directory resolved (/bin/ls -> /usr/bin/ls on a
# merged-/usr system), the file itself left as it is.
declare -A dircanon=()
for d in "${bindirs[@]}"; do
    [[ -d $d ]] && dircanon[$d]=$(realpath -e "$d")
done

# Every file these packages ship in a bin directory, keyed by its canonical path.
declare -A shipped=()
while IFS= read -r f; do
    d=${f%/*}
    [[ -n ${dircanon[$d]:-} ]] || continue
    shipped[${dircanon[$d]}/${f##*/}]=1
done < <(dpkg-query -L "${pkgs[@]}" 2>/dev/null | grep -E '^/([^/]+/)*s?bin/[^/]+$')

# Their real files, for the alternatives (/usr/bin/awk -> /etc/alternatives/awk ->
# /usr/bin/mawk): a name whose alternative ends at one of them is in too.
declare -A shipped_real=()
if ((${#shipped[@]})); then
    while IFS= read -r r; do shipped_real[$r]=1; done < <(realpath -e -- "${!shipped[@]}" 2>/dev/null || true)
fi

# Names that dpkg's alternatives lead to one of those files (one find, one realpath).
declare -A alt_ok=()
mapfile -t alts < <(for c in "${dircanon[@]}"; do echo "$c"; done | sort -u |
    xargs -I{} find {} -maxdepth 1 -lname '/etc/alternatives/*' 2>/dev/null)
if ((${#alts[@]})); then
    i=0
    while IFS= read -r r; do
        [[ -n ${shipped_real[$r]:-} ]] && alt_ok[${alts[i]}]=1
        i=$((i + 1))
    done < <(realpath -m -- "${alts[@]}")
fi

rm -rf "$dir"
mkdir -p "$dir"
declare -A seen_dir=() taken=()
links=()
for d in "${bindirs[@]}"; do
    c=${dircanon[$d]:-}
    [[ -n $c && -z ${seen_dir[$c]:-} ]] || continue
    seen_dir[$c]=1
    for e in "$c"/*; do
        name=${e##*/}
        [[ -n ${taken[$name]:-} || -d $e || ! -x $e ]] && continue
        if [[ -n ${shipped[$e]:-} || -n ${alt_ok[$e]:-} ]]; then
            links+=("$e")
            taken[$name]=1
        fi
    done
done
((${#links[@]})) && ln -s -t "$dir" -- "${links[@]}"
n=${#links[@]}
echo "test-path.sh: $dir holds $n commands from ${#listed[@]} listed and ${#base[@]} minimal-Debian packages, ${#pkgs[@]} with their dependencies" >&2

((check_abs)) || exit 0
# Absolute paths bypass PATH: every /usr/bin/X, /bin/X, /usr/local/bin/X, /sbin/X ...
# that the test and launcher scripts name must be a command DIR holds.
bad=0
while IFS=: read -r file line path; do
    path=/${path#*/}
    [[ -e $dir/${path##*/} ]] && continue
    echo "test-path.sh: $file:$line: runs $path, which no listed or minimal-Debian package ships" >&2
    bad=1
done < <(cd "$src" && grep -rnoE '(^|[^A-Za-z0-9_./~$-])/(usr/)?(local/)?s?bin/[A-Za-z0-9_.+-]+' \
    tests bench scripts timerush run-tests nginx \
    --include='*.sh' --include='*.py' --include='*.in' --include='*.conf' --include='*.cmake' \
    --include='CMakeLists.txt' --include=timerush --include=run-tests \
    --exclude=test-path.sh 2>/dev/null)
exit $bad
