-- ack_many: plain acks (no chain, no next firing) of a whole round in one call.
-- KEYS: 1 timers, 2 due, 3 inflight, 4 dead, 5 attempts, 6 meta, 7 stats
-- ARGV: id1, id2, ...
-- Answer: a string of one character per id, in order: '1' applied, '0' when the
-- record is gone (cancelled or acked already). Same effect per id as ack.lua
-- without a chain: the id leaves every structure and counts as delivered.
-- No attempt fence: a delivery that succeeded is done, whoever holds the lease.
local res = {}
local done = {}
for i = 1, #ARGV do
  local id = ARGV[i]
  if redis.call('HDEL', KEYS[1], id) == 1 then
    res[i] = '1'
    done[#done + 1] = id
    -- Normally in flight; only a timer re-added meanwhile (a replay, a takeover
    -- then a cancel race) can sit in due or dead: look there only then.
    if redis.call('ZREM', KEYS[3], id) == 0 then
      redis.call('ZREM', KEYS[2], id)
      redis.call('ZREM', KEYS[4], id)
    end
  else
    res[i] = '0'
  end
end
-- Chunks keep unpack() within Lua's stack limit.
for c = 1, #done, 1000 do
  local part = {unpack(done, c, math.min(c + 999, #done))}
  redis.call('HDEL', KEYS[5], unpack(part))
  redis.call('HDEL', KEYS[6], unpack(part))
end
if #done > 0 then redis.call('HINCRBY', KEYS[7], 'delivered', #done) end
return table.concat(res)
