-- ack_many: plain acks (no chain, no next firing) of a whole round in one call.
-- KEYS: 1 timers (the records' base key: prelude.lua), 2 due, 3 inflight, 4 dead,
--       5 attempts, 6 meta, 7 stats, 8 owner
-- ARGV: id1, token1, id2, token2, ...
-- Answer: a string of one character per id, in order: '1' applied, '0' stale (the
-- claim under that token no longer holds the timer; see ack.lua). Same effect per
-- id as ack.lua without a chain: the id leaves every structure, counts as delivered.
local res = {}
local done = {}
local stale = 0
local owners = {}
local ids = {}
for i = 1, #ARGV, 2 do ids[#ids + 1] = ARGV[i] end
-- Chunks keep unpack() within Lua's stack limit.
for c = 1, #ids, 1000 do
  local r = redis.call('HMGET', KEYS[8], unpack(ids, c, math.min(c + 999, #ids)))
  for k = 1, #r do owners[c + k - 1] = r[k] end
end
local seen = {} -- an id given twice is applied once
for n = 1, #ids do
  local id, own = ids[n], owners[n]
  local _, tok = tr_owner_split(own)
  if tok ~= nil and tok ~= '' and tok == ARGV[2 * n] and not seen[id] then
    res[n] = '1'
    seen[id] = true
    done[#done + 1] = id
  else
    res[n] = '0'
    stale = stale + 1
  end
end
for c = 1, #done, 1000 do
  local part = {unpack(done, c, math.min(c + 999, #done))}
  redis.call('HDEL', KEYS[8], unpack(part))
  -- One HDEL per bucket (prelude.lua): timers created together share buckets.
  tr_rec_del_many(KEYS[1], part)
  -- Normally in flight; one whose lease ran out sits in due (see ack.lua).
  if redis.call('ZREM', KEYS[3], unpack(part)) < #part then
    redis.call('ZREM', KEYS[2], unpack(part))
    redis.call('ZREM', KEYS[4], unpack(part))
  end
  redis.call('HDEL', KEYS[5], unpack(part))
  redis.call('HDEL', KEYS[6], unpack(part))
end
if #done > 0 then redis.call('HINCRBY', KEYS[7], 'delivered', #done) end
if stale > 0 then redis.call('HINCRBY', KEYS[7], 'stale', stale) end
return table.concat(res)
