# bench/lib.sh - helpers the benchmark scripts share (sourced; each script defines
# say() for its own message prefix before calling these).

# free_port: prints a free TCP port on 127.0.0.1.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_for DESC TIMEOUT_S CMD...: polls CMD every 20 ms until it succeeds; says what
# timed out and returns 1 after TIMEOUT_S seconds (under set -e a bare call exits).
wait_for() {
    local desc=$1 timeout=$2; shift 2
    local deadline=$(( $(date +%s) + timeout ))
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || { say "timed out after ${timeout}s: $desc"; return 1; }
        sleep 0.02
    done
}
