-- replay: a dead timer back to due now, attempts reset (the last failure is kept).
-- KEYS: 1 dead, 2 due, 3 attempts, 4 stats
-- ARGV: 1 id, 2 wake channel
-- Answer: due ms when replayed; -1 when the id is not dead.
local id = ARGV[1]
if redis.call('ZREM', KEYS[1], id) == 0 then return -1 end
local now = tr_now_ms()
redis.call('ZADD', KEYS[2], now, id)
redis.call('HDEL', KEYS[3], id)
redis.call('HINCRBY', KEYS[4], 'replayed', 1)
tr_wake(ARGV[2], now)
return now
