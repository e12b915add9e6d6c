# shellcheck shell=bash
# lib_faults.sh - what the fault scenarios share; sourcing it sources lib.sh and
# lib_sched.sh too (a scenario then calls ts_setup).
#
#   tf_create_batch   timers created through the product's own batch endpoint
#   tf_deliveries     one line per successful delivery out of a sink's log
#   tf_check_outcome  the checker every scenario ends with
#
# Sizes: a scenario reads its size from TR_FAULT_* variables with a CI default that
# keeps it short in both builds; bench/faults_long.sh runs the same scripts with
# the full sizes of issue 9 (TR_FAULT_LONG=1, which also turns on the timing targets
# that are too noisy to assert on a shared CI box).

_tf_integration=$(cd "$(dirname "${BASH_SOURCE[0]}")/../integration" && pwd)
source "$_tf_integration/lib.sh"
source "$_tf_integration/lib_sched.sh"
here=$_tf_integration # lib_sched.sh finds its TLS helpers there

TF_LONG=${TR_FAULT_LONG:-0}

# tf_create_batch KEYS_FILE PREFIX N URL AT_MS [SPREAD_MS]: creates N one-shot timers
# PREFIX-1 .. PREFIX-N through POST /v1/timers/batch, 1000 a request (two requests at a
# time), timer i due at the epoch ms AT_MS + (i - 1) * SPREAD_MS / N (`at`: one instant
# for all when SPREAD_MS is 0). Writes the keys answered 201 (acknowledged) to
# KEYS_FILE; fails, saying why on stderr, unless all N were. PREFIX and URL hold no
# quote or backslash. A 1000-item body is ~90 kB: start the stack with --max-body 262144.
tf_create_batch() {
    local keys=$1 prefix=$2 n=$3 url=$4 at=$5 spread=${6:-0} dir got
    dir=$(mktemp -d "$TR_TMP/batch.XXXXXX")
    # mawk: %.0f, not %d, for epoch ms (%d stops at 2^31).
    awk -v n="$n" -v p="$prefix" -v u="$url" -v at="$at" -v s="$spread" -v dir="$dir" \
        -v api="$TR_URL/v1/timers/batch" 'BEGIN {
        for (i = 1; i <= n; i++) {
            b = int((i - 1) / 1000)
            f = dir "/b." b
            if ((i - 1) % 1000 == 0) {
                if (i > 1) { printf "]}" > prev; close(prev) }
                printf "{\"timers\":[" > f
                sep = ""
                prev = f
                nb = b + 1
            }
            printf "%s{\"key\":\"%s-%d\",\"url\":\"%s\",\"data\":\"x\",\"at\":%.0f}", sep, p, i, u,
                at + int((i - 1) * s / n) > f
            sep = ","
        }
        if (n > 0) { printf "]}" > prev; close(prev) }
        for (b = 0; b < nb; b++) {
            if (b > 0) print "next" > (dir "/curl.cfg")
            print "url = \"" api "\"" > (dir "/curl.cfg")
            print "header = \"Content-Type: application/json\"" > (dir "/curl.cfg")
            print "data-binary = \"@" dir "/b." b "\"" > (dir "/curl.cfg")
            print "output = \"" dir "/r." b "\"" > (dir "/curl.cfg")
        }
    }'
    curl -sS --max-time 120 --parallel --parallel-max 2 -K "$dir/curl.cfg" \
        2>"$dir/curl.err" || true
    cat "$dir"/r.* 2>/dev/null |
        jq -r '.results[]? | select(.status == 201) | .timer.key' >"$keys" 2>"$dir/jq.err"
    got=$(sort -u "$keys" | wc -l)
    if ((got != n)); then
        echo "batch create: $got of $n answered 201; curl: $(head -c 300 "$dir/curl.err");" \
            "an answer: $(head -c 300 "$dir/r.0" 2>/dev/null)" >&2
        return 1
    fi
    rm -rf "$dir"
}

# tf_deliveries [JQ_SELECT] LOG...: "KEY<TAB>DUE_MS" for every request in the sink
# logs that matches (all by default): pass the requests that were answered 2xx, e.g.
# 'select(.n > 40)' when the first 40 answers were failures.
tf_deliveries() {
    local sel=.
    [[ ${1:-} != /* ]] && { sel=$1; shift; }
    jq -r "$sel | [.key, (.due_ms | tostring)] | @tsv" "$@"
}

# tf_check_outcome KEYS DELIVERED [BOUND]: the checker every fault scenario ends with.
#   KEYS       the acknowledged timers (create answered 201), one key a line
#   DELIVERED  one line "KEY<TAB>DUE_MS" per successful delivery (tf_deliveries)
#   BOUND      the keys that may arrive twice: those in flight at a fault (none when
#              absent); a duplicate outside it is a failure
# Waits (bounded) until the store holds nothing but dead letters, then checks: every
# acknowledged timer delivered or dead-lettered with its reason (lost = 0), every
# duplicate among BOUND, and every duplicate with the key + X-TimeRush-Due-Ms of its
# first delivery (the de-duplication key). Prints the figures as "# checker: ..."
# and sets TF_LOST, TF_DUPS (keys delivered more than once), TF_EXTRA (deliveries
# beyond one per key), TF_DEAD, TF_BOUND.
tf_check_outcome() {
    local keys=$1 delivered=$2 bound=${3:-/dev/null} d=$TR_TMP/checker
    mkdir -p "$d"
    store_settled() {
        (($(ts_zcard due) == 0 && $(ts_zcard inflight) == 0)) &&
            (($(tr_rec_count) == $(ts_zcard dead)))
    }
    tr_wait_for "the store holds nothing but dead letters" 30 store_settled
    sort -u "$keys" >"$d/keys"
    check "the scenario acknowledged timers to check" test -s "$d/keys"
    sort -u "$bound" >"$d/bound"
    cut -f1 "$delivered" | sort >"$d/all"
    sort -u "$d/all" >"$d/delivered"
    tr_redis ZRANGE "$(ts_k dead)" 0 -1 | sort -u | comm -12 - "$d/keys" >"$d/dead"
    comm -23 "$d/keys" "$d/delivered" | comm -23 - "$d/dead" >"$d/lost"
    uniq -d "$d/all" >"$d/dups"
    TF_LOST=$(wc -l <"$d/lost")
    TF_DEAD=$(wc -l <"$d/dead")
    TF_DUPS=$(wc -l <"$d/dups")
    TF_EXTRA=$(($(wc -l <"$d/all") - $(wc -l <"$d/delivered")))
    TF_BOUND=$(wc -l <"$d/bound")
    echo "# checker: $(wc -l <"$d/keys") acknowledged, $(wc -l <"$d/delivered") delivered," \
        "$TF_DEAD dead-lettered, lost $TF_LOST, duplicates $TF_DUPS keys ($TF_EXTRA extra" \
        "deliveries; bound: $TF_BOUND in flight at the faults)"
    local k
    while read -r k; do
        echo "# dead-lettered $k: $(ts_meta "$k")"
    done < <(head -n 5 "$d/dead")
    check_eq "lost = 0 (every acknowledged timer delivered or dead-lettered)" 0 "$TF_LOST"
    check_eq "duplicates only among the timers in flight at a fault" "" \
        "$(comm -23 "$d/dups" "$d/bound" | head -3 | paste -sd' ')"
    check_eq "a duplicate keeps key + X-TimeRush-Due-Ms" "" \
        "$(sort -u "$delivered" | cut -f1 | uniq -d | head -3 | paste -sd' ')"
}
