-- cancel: removes a timer in any state (pending, in flight, dead).
-- KEYS: 1 timers, 2 due, 3 inflight, 4 dead, 5 attempts, 6 meta, 7 stats
-- ARGV: 1 id
-- Answer: ms that were left (pending), 0 (in flight or dead), -1 (unknown).
local id = ARGV[1]
local ttl = -1
local s = redis.call('ZSCORE', KEYS[2], id)
if s then
  local t = redis.call('TIME')
  -- Rounded up like add's due time, so the ttl never exceeds the delay asked for.
  local now = tonumber(t[1]) * 1000 + math.ceil(tonumber(t[2]) / 1000)
  ttl = math.max(0, tonumber(s) - now)
  redis.call('ZREM', KEYS[2], id)
end
-- Every structure is cleaned even when an earlier one matched: a half-removed
-- timer must never survive a cancel.
local other = redis.call('ZREM', KEYS[3], id) + redis.call('ZREM', KEYS[4], id)
    + redis.call('HDEL', KEYS[1], id)
if ttl < 0 and other > 0 then ttl = 0 end
redis.call('HDEL', KEYS[5], id)
redis.call('HDEL', KEYS[6], id)
if ttl >= 0 then redis.call('HINCRBY', KEYS[7], 'cancelled', 1) end
return ttl
