#!/usr/bin/env bash
# scripts/install-deps.sh - installs the Debian packages of scripts/debian-packages.txt
# that are missing.
#
#   scripts/install-deps.sh [--for build,run,test]     install (apt-get) what is missing
#   scripts/install-deps.sh --check [--for ...]         install nothing; list what is
#                                                        missing, exit 1 if anything is
#   scripts/install-deps.sh --list [--for ...]          print the package names
#
# --for picks the packages by what needs them (the list's second column); the default
# is build,run,test. ./timerush asks for build,run; ./run-tests for the default;
# bench/ for bench.
# Fast when everything is present (one dpkg-query over the list), so the launcher and
# ./run-tests call it every time. Debian 12 package names.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
list=$here/debian-packages.txt

mode=install
want_for=build,run,test
while (($#)); do
    case "$1" in
    --check) mode=check ;;
    --list) mode=list ;;
    --for) (($# >= 2)) || { echo "install-deps.sh: --for needs build,run,test" >&2; exit 2; }
        want_for=$2; shift ;;
    --for=*) want_for=${1#--for=} ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install-deps.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
    shift
done

# The list: "PACKAGE FOR # comment"; blank and comment lines skipped.
pkgs=()
while read -r pkg for _; do
    [[ -z $pkg || $pkg == \#* ]] && continue
    case "$for" in build|run|test|bench) ;; *)
        echo "install-deps.sh: $list: '$pkg' has FOR '$for' (want build, run, test or bench)" >&2
        exit 2 ;;
    esac
    [[ ,$want_for, == *,"$for",* ]] && pkgs+=("$pkg")
done <"$list"

if [[ $mode == list ]]; then
    printf '%s\n' "${pkgs[@]}"
    exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "install-deps.sh: no dpkg here (not Debian?); make sure these Debian packages," \
         "or their equivalents, are installed: ${pkgs[*]}" >&2
    exit 0
fi

# One dpkg-query for the whole list: "name status" for the installed ones; a package
# never seen by dpkg is only named on stderr.
declare -A ok=()
while read -r name status; do
    [[ $status == ii ]] && ok[$name]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${pkgs[@]}" 2>/dev/null || true)
missing=()
for p in "${pkgs[@]}"; do
    [[ -n ${ok[$p]:-} ]] || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

# A listed name that an installed package Provides counts as installed, as it does for
# apt (NodeSource's nodejs provides npm; Debian's own nodejs needs the npm package).
# Asked only when a name is missing: it reads every installed package's entry.
while read -r status provides; do
    [[ $status == ii ]] || continue
    IFS=',' read -ra names <<<"$provides"
    for n in "${names[@]}"; do
        n=${n%%(*}; n=${n//[[:space:]]/}
        [[ -n $n ]] && ok[$n]=1
    done
done < <(dpkg-query -W -f='${db:Status-Abbrev} ${Provides}\n' 2>/dev/null || true)
missing=()
for p in "${pkgs[@]}"; do
    [[ -n ${ok[$p]:-} ]] || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

if [[ $mode == check ]]; then
    echo "install-deps.sh: missing Debian packages: ${missing[*]}" >&2
    echo "install them with: apt-get install --no-install-recommends ${missing[*]}  (or run scripts/install-deps.sh)" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps.sh: missing ${missing[*]}, and there is no apt-get here" >&2
    exit 1
fi
sudo=()
if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 || {
        echo "install-deps.sh: need root (or sudo) to install: ${missing[*]}" >&2
        exit 1
    }
    sudo=(sudo)
fi
echo "install-deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q >&2
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >&2

# Installing nginx or redis-server may start system services on :80 / :6379;
# TimeRush never uses them (it runs its own on other ports), so they are left alone.
if ! bash "$0" --check --for "$want_for"; then
    echo "install-deps.sh: still missing something after apt-get install" >&2
    exit 1
fi
