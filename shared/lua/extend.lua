-- extend: a delivery still running keeps its lease: deadline moved to now + ms.
-- KEYS: 1 inflight, 2 attempts
-- ARGV: 1 id, 2 attempt, 3 ms
-- Answer: 1 when applied; 0 when stale (not in flight, or another claim's attempt).
local id = ARGV[1]
if tonumber(redis.call('HGET', KEYS[2], id)) ~= tonumber(ARGV[2]) then return 0 end
if not redis.call('ZSCORE', KEYS[1], id) then return 0 end
local now = tr_now_ms()
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), id)
return 1
