#!/usr/bin/env bash
# test_stream_notifier.sh - the Redis stream notifier (scheduler/tr_notify_stream.h,
# docs/PROTOCOL.md "Redis stream targets"): a timer whose target is
# redis-stream://NAME is XADDed to {P}:stream:NAME (fields key, attempt, due_ms, data)
# by the ack script itself, so it is never both in the stream and pending (on one
# Redis; on a cluster it is written, then acked: that check is not run there).
# Covers: creation on /register/, /v1/timers and the batch (bad names: ret 4 / 400),
# delivery read with a real consumer group (XGROUP CREATE, XREADGROUP, XACK) and on
# time, "never both" checked atomically while 500 timers drain, a recurring timer
# (an entry per firing), MAXLEN ~ (--stream-maxlen), and a key holding a string
# (dead-lettered with the reason, the string untouched). The fence (a stale ack adds
# nothing) is tests/unit/test_stream_redis.c; a scheduler killed between claim and
# ack is tests/faults/test_fault_stream_kill9.sh.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
tr_setup

T_START=$(tr_now_ms)
section() { echo "# +$(($(tr_now_ms) - T_START)) ms: $1"; }
v1() { tr_post /v1/timers "$(jq -cn --arg u "$1" --argjson d "$2" --argjson ms "$3" \
    '{url: $u, data: $d, delay_ms: $ms}')"; }
timer_gone() { [[ $(curl -s -o /dev/null -w '%{http_code}' "$TR_URL/v1/timers/$1") == 404 ]]; }
sk() { printf '{%s}:stream:%s' "$TR_KEY" "$1"; }
xlen() { tr_redis XLEN "$(sk "$1")"; }
has_entries() { (($(xlen "$1") >= $2)); }
rjson() { tr_redis --json "$@"; }

MAXLEN=200
tr_start_stack --stream-maxlen "$MAXLEN" --max-body 262144 || tr_finish

# --- creation ------------------------------------------------------------------
section "creation"
check "the consumer group is made before any entry (MKSTREAM)" \
    test "$(tr_redis XGROUP CREATE "$(sk orders)" g '$' MKSTREAM)" = OK
T0=$(tr_now_ms)
K1=$(tr_register "redis-stream://orders" '{"order":42}' 1)
check "a redis-stream:// callback_cmd registers" test -n "$K1"
K2=$(v1 "redis-stream://orders" '"plain text"' 300 | jq -r '.timer.key // empty')
check "/v1/timers takes a redis-stream:// url" test -n "$K2"
B=$(tr_post /v1/timers/batch "$(jq -cn --argjson at "$((T0 + 500))" \
    '{timers: [{key: "b-1", url: "redis-stream://orders", data: "b", at: $at},
               {key: "b-2", url: "redis-stream://a b", data: "b", at: $at}]}')")
check_eq "the batch takes a redis-stream:// url" 201 "$(jq -r '.results[0].status' <<<"$B")"
check_eq "the batch refuses a bad stream name (400)" 400 "$(jq -r '.results[1].status' <<<"$B")"
for bad in "redis-stream://" "redis-stream://{x}" "redis-stream://a/b" \
    "redis-stream://$(printf 'n%.0s' {1..129})"; do
    check_eq "'${bad:0:30}' is ret 4" 4 "$(tr_post /register/ "$(jq -cn --arg u "$bad" \
        '{callback_cmd: $u, callback_data: "x", seconds: 1}')" | jq -r .ret)"
done
check_eq "/v1/timers: a bad stream name is 400" 400 \
    "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
        --data-binary '{"url":"redis-stream://a b","data":"x","delay_ms":1}' "$TR_URL/v1/timers")"
check "the refusal names the rule" grep -q 'stream name' <<<"$(tr_post /register/ \
    '{"callback_cmd":"redis-stream://a b","callback_data":"x","seconds":1}')"

# --- delivery, read with a consumer group ---------------------------------------
section "delivery"
tr_wait_for "three entries arrive" 6 has_entries orders 3
rjson XREADGROUP GROUP g c1 COUNT 10 STREAMS "$(sk orders)" '>' >"$TR_TMP/read.json"
# RESP3: {"<stream>": [[id, [field, value, ...]], ...]}; RESP2: [[stream, [...]]].
jq -c '(if type == "object" then to_entries[0].value else .[0][1] end)[] |
    {id: .[0]} + (.[1] | [recurse(.[2:]; length > 0) | {(.[0]): .[1]}] | add)' \
    "$TR_TMP/read.json" >"$TR_TMP/entries"
check_eq "XREADGROUP hands the consumer three entries" 3 "$(wc -l <"$TR_TMP/entries")"
E1=$(jq -c --arg k "$K1" 'select(.key == $k)' "$TR_TMP/entries")
check_eq "the entry's fields, in order" "id key attempt due_ms data" \
    "$(jq -r 'keys_unsorted | join(" ")' <<<"$E1")"
check_eq "data is the callback body" '{"order":42}' "$(jq -r .data <<<"$E1")"
check_eq "attempt 1" 1 "$(jq -r .attempt <<<"$E1")"
check_eq "a text body as sent" 'plain text' \
    "$(jq -r --arg k "$K2" 'select(.key == $k) | .data' "$TR_TMP/entries")"
DUE=$(jq -r .due_ms <<<"$E1")
ID_MS=$(jq -r '.id | split("-")[0]' <<<"$E1")
if ((DUE >= T0 + 900 && DUE <= T0 + 2500)); then
    tr_pass "due_ms is the due time (${DUE} - start ${T0})"
else
    tr_fail "due_ms is the due time" "due $DUE start $T0"
fi
# The entry id's ms is Redis's clock when the ack ran: never before the due time.
check "written no sooner than due (id ms $ID_MS >= due $DUE)" test "$ID_MS" -ge "$DUE"
echo "# entry written $((ID_MS - DUE)) ms after its due time"
ids=$(jq -r .id "$TR_TMP/entries" | paste -sd' ')
# shellcheck disable=SC2086
check_eq "XACK acknowledges the three" 3 "$(tr_redis XACK "$(sk orders)" g $ids)"
check_eq "nothing pending in the group" 0 "$(rjson XPENDING "$(sk orders)" g | jq -r '.[0]')"
for k in "$K1" "$K2" b-1; do
    check "$k: gone once its entry exists" timer_gone "$k"
done

# --- never both in the stream and pending ---------------------------------------
section "never both"
# One script reads the stream and the due and inflight sets at one instant: an entry
# whose key is still due or in flight would be both.
BOTH='local n = 0 for _, e in ipairs(redis.call("XRANGE", KEYS[1], "-", "+")) do
  local k = e[2][2]
  if redis.call("ZSCORE", KEYS[2], k) or redis.call("ZSCORE", KEYS[3], k) then n = n + 1 end
end return n'
# Due from +3 s over 1.5 s, so the looks start before the first entry.
N=500
AT=$(($(tr_now_ms) + 3000))
jq -cn --argjson n "$N" --argjson at "$AT" \
    '{timers: [range(1; $n + 1) | {key: "d-\(.)", url: "redis-stream://drain", data: "d\(.)",
      at: ($at + 3 * .)}]}' >"$TR_TMP/drain.json"
check_eq "500 timers to redis-stream://drain created" "$N" \
    "$(curl -sS -X POST -H 'Content-Type: application/json' --data-binary "@$TR_TMP/drain.json" \
        "$TR_URL/v1/timers/batch" | jq '[.results[] | select(.status == 201)] | length')"
# entries-added: XLEN stops at about --stream-maxlen.
added() {
    local v
    v=$(rjson XINFO STREAM "$(sk "$1")" 2>/dev/null |
        jq -r '."entries-added" // (.[index("entries-added") + 1])' 2>/dev/null)
    [[ $v =~ ^[0-9]+$ ]] && echo "$v" || echo 0 # no stream yet: none
}
both_max=0 looks=0
deadline=$(($(tr_now_ms) + 30000))
# The looks begin just before the first due time: each is two redis-cli and a jq, and
# looking at an empty stream from the create on burned a core for ~3 s.
tr_sleep_until_ms $((AT - 300))
# On a cluster the entry is written, then acked on the timer's shard (docs/CLUSTER.md,
# "Redis streams on a cluster"): an entry's timer is still in flight between the two,
# and the stream and the shards are on different masters (no one script sees both).
# There the drain is waited for and the entries checked, not this instant.
drained() { (($(added drain) >= N)); }
tr_on_cluster && tr_poll 30 drained
while (($(added drain) < N)) && tr_before_ms "$deadline"; do
    b=$(tr_redis EVAL "$BOTH" 3 "$(sk drain)" "{$TR_KEY}:due" "{$TR_KEY}:inflight")
    ((b > both_max)) && both_max=$b
    looks=$((looks + 1))
done
check_eq "all $N entries were added" "$N" "$(added drain)"
if ! tr_on_cluster; then
    echo "# looked $looks times while $N entries arrived; most in the stream and pending at once: $both_max"
    check "looked more than once (the looks overlapped the drain)" test "$looks" -gt 1
    check_eq "no entry's timer was ever still pending" 0 "$both_max"
fi
check_eq "one entry per timer (among those MAXLEN kept)" "$(xlen drain)" \
    "$(rjson XRANGE "$(sk drain)" - + | jq '[.[][1][1]] | unique | length')"

# --- a recurring timer: an entry per firing --------------------------------------
section "recurring"
tr_post /v1/timers '{"key":"rep","url":"redis-stream://rep","data":"r","every_ms":300,"count":3}' \
    >/dev/null
tr_wait_for "three firings, three entries" 8 has_entries rep 3
check_eq "the same key, three due times" "rep rep rep 3" \
    "$(rjson XRANGE "$(sk rep)" - + | jq -r '[.[][1][1]] + [([.[][1][5]] | unique | length)] |
        map(tostring) | join(" ")')"
tr_wait_for "then the series is over" 5 timer_gone rep

# --- MAXLEN ~ ---------------------------------------------------------------------
section "maxlen"
N2=1500
AT=$(($(tr_now_ms) + 800))
jq -cn --argjson n "$N2" --argjson at "$AT" \
    '{timers: [range(1; $n + 1) | {key: "m-\(.)", url: "redis-stream://bounded", data: "m",
      at: $at}]}' >"$TR_TMP/bounded.json"
for part in 0 1; do
    jq -c --argjson p "$part" '{timers: .timers[($p * 750):(($p + 1) * 750)]}' \
        "$TR_TMP/bounded.json" >"$TR_TMP/bounded.$part.json"
    curl -sS -o /dev/null -X POST -H 'Content-Type: application/json' \
        --data-binary "@$TR_TMP/bounded.$part.json" "$TR_URL/v1/timers/batch"
done
all_added() { [[ $(added bounded) == "$N2" ]]; }
tr_wait_for "$N2 entries added to redis-stream://bounded" 20 all_added
L=$(xlen bounded)
echo "# --stream-maxlen $MAXLEN: XLEN $L after $N2 entries"
check "XLEN stays near the bound ($MAXLEN <= $L < $((MAXLEN + 200)))" \
    test "$L" -ge "$MAXLEN" -a "$L" -lt $((MAXLEN + 200))

# --- a key that holds no stream ---------------------------------------------------
section "wrong type"
tr_redis SET "$(sk notastream)" keep >/dev/null
KW=$(tr_register "redis-stream://notastream" '"w"' 1)
dead_has() { tr_redis ZSCORE "$(tr_k_of "$KW" dead)" "$KW" | grep -q .; }
meta_kw() { tr_redis HGET "$(tr_k_of "$KW" meta)" "$KW"; }
if tr_on_cluster; then
    # There the write is no part of the ack: a failed delivery, retried with back-off
    # (docs/PROTOCOL.md, "A stream on a Redis Cluster").
    wrongtype() { grep -q 'WRONGTYPE the stream key holds a string' <<<"$(meta_kw)"; }
    tr_wait_for "its delivery fails with WRONGTYPE as the last error" 6 wrongtype
    check_eq "and is retried, not dead-lettered" "" "$(tr_redis ZSCORE "$(tr_k_of "$KW" dead)" "$KW")"
else
    tr_wait_for "its timer goes to the dead-letter set" 6 dead_has
    check "with the reason" grep -q 'stream key holds a string' <<<"$(meta_kw)"
    check "the scheduler says so" grep -rq "key=$KW stream notastream: the key holds no stream" "$TR_RUN/log"
fi
check_eq "the string is untouched" keep "$(tr_redis GET "$(sk notastream)")"

tr_stop_stack
tr_finish
