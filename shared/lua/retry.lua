-- retry: the delivery failed; due again delay_ms from now, with meta kept.
-- KEYS: 1 inflight, 2 attempts, 3 due, 4 meta, 5 stats, 6 owner
-- ARGV: 1 id, 2 token, 3 delay_ms, 4 meta, 5 wake channel
-- Answer: 1 when applied; 0 when stale (the claim under `token` no longer holds it).
local id = ARGV[1]
if not tr_fenced(KEYS[6], KEYS[5], id, ARGV[2]) then return 0 end
redis.call('HDEL', KEYS[6], id)
redis.call('ZREM', KEYS[1], id)
-- Rounded up: never due before the real instant + delay (claim rounds down).
local due = tr_now_ms_up() + tonumber(ARGV[3])
-- ZADD also moves one whose lease ran out (back in due, unclaimed) to the retry time.
tr_schedule(KEYS[3], ARGV[5], due, id)
redis.call('HSET', KEYS[4], id, ARGV[4])
redis.call('HINCRBY', KEYS[5], 'retried', 1)
redis.call('HINCRBY', KEYS[5], 'failed', 1)
return 1
