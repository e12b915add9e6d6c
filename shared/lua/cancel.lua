-- cancel: removes a timer in any state (pending, in flight, dead).
-- KEYS: 1 timers (the records' base key: prelude.lua), 2 due, 3 inflight, 4 dead,
--       5 attempts, 6 meta, 7 stats, 8 owner
-- ARGV: 1 id, 2 (optional) "keep-dead": leave a dead timer as it is, or
--       "only-dead": leave any other as it is (what the caller's token may delete:
--       dead timers need the admin scope, others write; docs/SECURITY.md)
-- Answer: {ttl, state}: ttl the ms that were left (pending), 0 (in flight or dead),
-- -1 (unknown), -2 (kept: dead and "keep-dead", or alive and "only-dead"; nothing
-- changed); state 1 pending, 2 in flight, 3 dead, 0 unknown.
local id = ARGV[1]
local ttl = -1
local state = 0
local is_dead = redis.call('ZSCORE', KEYS[4], id)
if ARGV[2] == 'keep-dead' and is_dead then
  return {-2, 3}
end
if ARGV[2] == 'only-dead' and not is_dead then
  if redis.call('ZSCORE', KEYS[2], id) then return {-2, 1} end
  if redis.call('ZSCORE', KEYS[3], id) then return {-2, 2} end
  if tr_rec_get(KEYS[1], id) then return {-2, 1} end
  return {-1, 0}
end
local s = redis.call('ZSCORE', KEYS[2], id)
if s then
  -- Rounded up like add's due time, so the ttl never exceeds the delay asked for.
  local now = tr_now_ms_up()
  ttl = math.max(0, tonumber(s) - now)
  state = 1
  redis.call('ZREM', KEYS[2], id)
end
-- Every structure is cleaned even when an earlier one matched: a half-removed
-- timer must never survive a cancel.
local inf = redis.call('ZREM', KEYS[3], id)
local dead = redis.call('ZREM', KEYS[4], id)
local rec = tr_rec_del(KEYS[1], id)
if state == 0 then
  if inf > 0 then state = 2 elseif dead > 0 then state = 3 end
end
if ttl < 0 and inf + dead + rec > 0 then
  ttl = 0
  if state == 0 then state = 1 end
end
redis.call('HDEL', KEYS[5], id)
redis.call('HDEL', KEYS[6], id)
-- A delivery in flight still completes; without its owner entry its outcome is
-- stale, so it can touch no timer created later under the same key.
redis.call('HDEL', KEYS[8], id)
if ttl >= 0 then redis.call('HINCRBY', KEYS[7], 'cancelled', 1) end
return {ttl, state}
