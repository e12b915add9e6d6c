-- migrate: moves records written by an older version, which kept them all in the
-- one hash `timers`, into their buckets (prelude.lua), a chunk per call.
-- KEYS: 1 timers (the old hash, and the records' base key)
-- ARGV: 1 count (records moved per call at most)
-- Answer: {moved, left}: the records this call moved, and those left in the old
-- hash (0: it is gone, nothing more to do).
-- Needs no cursor: what a call moves leaves the old hash, so the next call takes
-- from what is left (HRANDFIELD: any `count` of them). Nothing else changes: the
-- ids stay where they are in due, inflight, dead, attempts, owner and meta, and
-- every script reads the old hash while it exists, so a timer is found the same
-- before, during and after the move.
local timers = KEYS[1]
if redis.call('EXISTS', timers) == 0 then return {0, 0} end
local kv = redis.call('HRANDFIELD', timers, tonumber(ARGV[1]), 'WITHVALUES')
local ids = {}
for i = 1, #kv, 2 do
  -- Writes since the upgrade go to the bucket and delete the old copy, so the
  -- bucket never holds the id already; HSETNX keeps a newer record should it do so.
  redis.call('HSETNX', tr_rec_key(timers, kv[i]), kv[i], kv[i + 1])
  ids[#ids + 1] = kv[i]
end
for c = 1, #ids, 1000 do
  redis.call('HDEL', timers, unpack(ids, c, math.min(c + 999, #ids)))
end
return {#ids, redis.call('HLEN', timers)}
