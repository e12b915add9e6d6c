-- release: the scheduler gives a claimed timer back undelivered (shutdown).
-- KEYS: 1 inflight, 2 attempts, 3 due, 4 stats
-- ARGV: 1 id, 2 attempt, 3 wake channel
-- Answer: 1 when applied; 0 when stale. Due again at once, the attempt undone.
local id = ARGV[1]
if tonumber(redis.call('HGET', KEYS[2], id)) ~= tonumber(ARGV[2]) then return 0 end
if redis.call('ZREM', KEYS[1], id) == 0 then return 0 end
local now = tr_now_ms()
redis.call('ZADD', KEYS[3], now, id)
-- The attempt never happened; drop the counter at zero to keep memory lean.
if redis.call('HINCRBY', KEYS[2], id, -1) <= 0 then redis.call('HDEL', KEYS[2], id) end
redis.call('HINCRBY', KEYS[4], 'released', 1)
redis.call('PUBLISH', ARGV[3], now)
return 1
