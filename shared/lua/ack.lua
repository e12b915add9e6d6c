-- ack: the timer was delivered; optionally create the chained timer; a recurring
-- timer's firing instead keeps the id, due again at repeat_at with a new record.
-- KEYS: 1 timers, 2 due, 3 inflight, 4 dead, 5 attempts, 6 meta, 7 stats
-- ARGV: 1 id, 2 wake channel, 3 chain id ('' for none), 4 chain record,
--       5 chain delay_ms, 6 repeat record ('' for none), 7 repeat_at ms
-- Answer: 1 when applied; 0 when the record is gone (cancelled or acked already),
-- and then no chain is created: applying an ack twice makes one chained timer.
-- No attempt fence: a delivery that succeeded is done, whoever holds the lease.
local id = ARGV[1]
local function publish_if_first(due, key)
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  if first[2] == nil or due < tonumber(first[2]) then
    redis.call('PUBLISH', ARGV[2], due)
  end
  redis.call('ZADD', KEYS[2], due, key)
end
local rep = ARGV[6]
if rep ~= nil and rep ~= '' then
  local old = redis.call('HGET', KEYS[1], id)
  -- Gone: cancelled (the series stops). Equal: this ack was applied already
  -- (the fired count in the record moved on).
  if not old or old == rep then return 0 end
  redis.call('HSET', KEYS[1], id, rep)
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[5], id)
  redis.call('HDEL', KEYS[6], id)
  publish_if_first(tonumber(ARGV[7]), id)
  redis.call('HINCRBY', KEYS[7], 'fired', 1)
else
  if redis.call('HDEL', KEYS[1], id) == 0 then return 0 end
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZREM', KEYS[2], id)
  redis.call('ZREM', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
  redis.call('HDEL', KEYS[6], id)
end
redis.call('HINCRBY', KEYS[7], 'delivered', 1)
local cid = ARGV[3]
if cid ~= '' and redis.call('HEXISTS', KEYS[1], cid) == 0 then
  -- Rounded up: never due before the real instant + delay (claim rounds down).
  local due = tr_now_ms_up() + tonumber(ARGV[5])
  redis.call('HSET', KEYS[1], cid, ARGV[4])
  publish_if_first(due, cid)
  redis.call('HINCRBY', KEYS[7], 'chained', 1)
end
return 1
