#!/usr/bin/env bash
# scripts/install-deps.sh - makes sure every tool and library TimeRush needs is here.
#
#   scripts/install-deps.sh           install (apt-get) only what is missing
#   scripts/install-deps.sh --check   install nothing; list what is missing, exit 1 if any
#
# Fast when everything is present (file tests only, no dpkg or apt calls), so the
# launcher and ./run-tests call it every time. Debian 12 package names.
set -euo pipefail

check_only=0
case "${1:-}" in
    --check) check_only=1 ;;
    "") ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "install-deps.sh: unknown option '$1'" >&2; exit 2 ;;
esac

missing_pkgs=()
missing_what=()

need_cmd() { # need_cmd COMMAND PACKAGE
    if ! command -v "$1" >/dev/null 2>&1; then
        missing_pkgs+=("$2")
        missing_what+=("command $1")
    fi
}

need_file() { # need_file PACKAGE WHAT PATH... (any one of the paths will do)
    local pkg=$1 what=$2 p
    shift 2
    for p in "$@"; do
        [[ -e $p ]] && return 0
    done
    missing_pkgs+=("$pkg")
    missing_what+=("$what")
}

# Build tools.
need_cmd cmake cmake
need_cmd make make
need_cmd gcc gcc
need_cmd pkg-config pkg-config
# What the launcher runs. nginx-light has the fastcgi and ssl modules TimeRush uses.
need_cmd nginx nginx-light
need_cmd redis-server redis-server
need_cmd redis-cli redis-tools
need_cmd spawn-fcgi spawn-fcgi
need_cmd curl curl
# The integration tests parse JSON with jq.
need_cmd jq jq
need_cmd setsid util-linux
need_cmd flock util-linux
# Libraries (headers of the -dev packages).
multiarch=$(gcc -print-multiarch 2>/dev/null || true)
need_file libfcgi-dev "header fcgiapp.h" /usr/include/fcgiapp.h
need_file libhiredis-dev "header hiredis/hiredis.h" /usr/include/hiredis/hiredis.h
need_file libjson-c-dev "header json-c/json.h" /usr/include/json-c/json.h
need_file libcurl4-openssl-dev "header curl/curl.h" /usr/include/curl/curl.h \
    "/usr/include/${multiarch:-x86_64-linux-gnu}/curl/curl.h"
need_file libssl-dev "header openssl/ssl.h" /usr/include/openssl/ssl.h
need_file libcmocka-dev "header cmocka.h" /usr/include/cmocka.h

if ((${#missing_pkgs[@]} == 0)); then
    exit 0
fi

# One package may cover several missing things; install each once.
mapfile -t pkgs < <(printf '%s\n' "${missing_pkgs[@]}" | sort -u)
if ((check_only)); then
    echo "missing: ${missing_what[*]}" >&2
    echo "install them with: apt-get install ${pkgs[*]}  (or run scripts/install-deps.sh)" >&2
    exit 1
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps.sh: missing ${missing_what[*]}, and there is no apt-get here;" \
         "install these Debian packages or their equivalent: ${pkgs[*]}" >&2
    exit 1
fi
sudo=()
if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 || {
        echo "install-deps.sh: need root (or sudo) to install: ${pkgs[*]}" >&2
        exit 1
    }
    sudo=(sudo)
fi
echo "install-deps.sh: installing ${pkgs[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q >&2
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${pkgs[@]}" >&2

# Installing nginx or redis-server may start system services on :80 / :6379;
# TimeRush never uses them (it runs its own on other ports), so they are left alone.
if ! bash "$0" --check; then
    echo "install-deps.sh: still missing something after apt-get install" >&2
    exit 1
fi
