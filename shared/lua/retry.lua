-- retry: the delivery failed; due again delay_ms from now, with meta kept.
-- KEYS: 1 inflight, 2 attempts, 3 due, 4 meta, 5 stats
-- ARGV: 1 id, 2 attempt, 3 delay_ms, 4 meta, 5 wake channel
-- Answer: 1 when applied; 0 when stale (not in flight, or another claim's attempt).
local id = ARGV[1]
if tonumber(redis.call('HGET', KEYS[2], id)) ~= tonumber(ARGV[2]) then return 0 end
if redis.call('ZREM', KEYS[1], id) == 0 then return 0 end
-- Rounded up: never due before the real instant + delay (claim rounds down).
local due = tr_now_ms_up() + tonumber(ARGV[3])
local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
redis.call('ZADD', KEYS[3], due, id)
redis.call('HSET', KEYS[4], id, ARGV[4])
redis.call('HINCRBY', KEYS[5], 'retried', 1)
redis.call('HINCRBY', KEYS[5], 'failed', 1)
if first[2] == nil or due < tonumber(first[2]) then
  redis.call('PUBLISH', ARGV[5], due)
end
return 1
