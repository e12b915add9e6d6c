-- dead: the last attempt failed; the timer moves to the dead-letter set.
-- KEYS: 1 inflight, 2 attempts, 3 dead, 4 meta, 5 stats
-- ARGV: 1 id, 2 attempt, 3 meta
-- Answer: 1 when applied; 0 when stale. The record, attempts and meta stay, so an
-- operator can inspect and replay the timer.
local id = ARGV[1]
if tonumber(redis.call('HGET', KEYS[2], id)) ~= tonumber(ARGV[2]) then return 0 end
if redis.call('ZREM', KEYS[1], id) == 0 then return 0 end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[3], now, id)
redis.call('HSET', KEYS[4], id, ARGV[3])
redis.call('HINCRBY', KEYS[5], 'dead', 1)
return 1
