-- ack: the timer was delivered; optionally create the chained timer.
-- KEYS: 1 timers, 2 due, 3 inflight, 4 dead, 5 attempts, 6 meta, 7 stats
-- ARGV: 1 id, 2 wake channel, [3 chain id, 4 chain record, 5 chain delay_ms]
-- Answer: 1 when applied; 0 when the record is gone (cancelled or acked already),
-- and then no chain is created: applying an ack twice makes one chained timer.
-- No attempt fence: a delivery that succeeded is done, whoever holds the lease.
local id = ARGV[1]
if redis.call('HDEL', KEYS[1], id) == 0 then return 0 end
redis.call('ZREM', KEYS[3], id)
redis.call('ZREM', KEYS[2], id)
redis.call('ZREM', KEYS[4], id)
redis.call('HDEL', KEYS[5], id)
redis.call('HDEL', KEYS[6], id)
redis.call('HINCRBY', KEYS[7], 'delivered', 1)
local cid = ARGV[3]
if cid and redis.call('HEXISTS', KEYS[1], cid) == 0 then
  local t = redis.call('TIME')
  -- Rounded up: never due before the real instant + delay (claim rounds down).
  local due = tonumber(t[1]) * 1000 + math.ceil(tonumber(t[2]) / 1000) + tonumber(ARGV[5])
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  redis.call('HSET', KEYS[1], cid, ARGV[4])
  redis.call('ZADD', KEYS[2], due, cid)
  redis.call('HINCRBY', KEYS[7], 'chained', 1)
  if first[2] == nil or due < tonumber(first[2]) then
    redis.call('PUBLISH', ARGV[2], due)
  end
end
return 1
