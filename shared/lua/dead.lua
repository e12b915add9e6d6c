-- dead: the last attempt failed; the timer moves to the dead-letter set. A
-- recurring timer's firing instead stays, due again at repeat_at.
-- KEYS: 1 inflight, 2 attempts, 3 dead, 4 meta, 5 stats, 6 timers (the records' base key:
--       prelude.lua), 7 due, 8 owner
-- ARGV: 1 id, 2 token, 3 meta, 4 repeat record ('' for none), 5 repeat_at ms,
--       6 wake channel
-- Answer: 1 when applied; 0 when stale (the claim under `token` no longer holds it).
-- The record, attempts and meta stay, so an operator can inspect and replay it.
local id = ARGV[1]
if not tr_fenced(KEYS[8], KEYS[5], id, ARGV[2]) then return 0 end
redis.call('HDEL', KEYS[8], id)
redis.call('ZREM', KEYS[1], id)
-- One whose lease ran out sits in due, unclaimed: it is dead now.
redis.call('ZREM', KEYS[7], id)
redis.call('HSET', KEYS[4], id, ARGV[3])
redis.call('HINCRBY', KEYS[5], 'dead', 1)
redis.call('HINCRBY', KEYS[5], 'failed', 1)
local rep = ARGV[4]
if rep ~= nil and rep ~= '' then
  local due = tonumber(ARGV[5])
  tr_rec_set(KEYS[6], id, rep)
  redis.call('HDEL', KEYS[2], id)
  tr_schedule(KEYS[7], ARGV[6], due, id)
  redis.call('HINCRBY', KEYS[5], 'fired', 1)
  return 1
end
local now = tr_now_ms()
redis.call('ZADD', KEYS[3], now, id)
return 1
