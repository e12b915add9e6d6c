-- claim: the reaper, then up to `limit` due timers moved into flight under `token`.
-- KEYS: 1 due, 2 inflight, 3 timers (the records' base key: prelude.lua), 4 attempts,
--       5 meta, 6 stats, 7 paused, 8 owner, 9 revoked:<token>
-- ARGV: 1 limit, 2 lease_ms, 3 reap_limit, 4 wake channel, 5 token
-- Answer: {now, next, paused, id1, due1, attempt1, record1, meta1 or false, id2, ...}
-- next: the earliest due time or lease deadline left, -1 when there is none.
-- paused (1 while {P}:paused exists): nothing is claimed and next is -1; resuming
-- publishes on the wake channel, so a scheduler sleeps until then.
-- The fence: {P}:owner[id] = "<due>:<token>" while a claim holds the timer. Every
-- outcome script applies only under the token that claimed it. <due> is the time the
-- timer was first due for this delivery: a redelivery (after a lease ran out or a
-- release) answers that time again, not the time it was put back.
-- A token that recover.lua revoked (its claim's answer was lost) claims nothing: a
-- claim Redis runs after the scheduler gave it up must not hold timers nobody sends.
local now = tr_now_ms()
local token = ARGV[5]

-- Leases that ran out belong to a scheduler that died or stalled: due again now.
-- The attempt counter stays, so the next delivery carries a higher attempt; the
-- owner entry stays too, so a late outcome of that claim still applies as long as
-- nobody claimed the timer again.
local late = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, tonumber(ARGV[3]))
for i = 1, #late do
  redis.call('ZREM', KEYS[2], late[i])
  redis.call('ZADD', KEYS[1], now, late[i])
end
if #late > 0 then redis.call('HINCRBY', KEYS[6], 'reaped', #late) end

if redis.call('EXISTS', KEYS[7]) == 1 then return {now, -1, 1} end

local out = {now, -1, 0}
local limit = tonumber(ARGV[1])
if redis.call('EXISTS', KEYS[9]) == 1 then limit = 0 end
if limit > 0 then
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, limit, 'WITHSCORES')
  local deadline = now + tonumber(ARGV[2])
  local n = 3
  -- A few multi-key commands per chunk instead of five calls per timer (the claim
  -- runs once per loop round under a burst), but for the records, one bucket each;
  -- chunks keep unpack() within Lua's stack limit.
  local CHUNK = 1000
  for c = 1, #due, 2 * CHUNK do
    local ids, scores = {}, {}
    for i = c, math.min(c + 2 * CHUNK - 1, #due), 2 do
      ids[#ids + 1] = due[i]
      scores[#scores + 1] = due[i + 1]
    end
    redis.call('ZREM', KEYS[1], unpack(ids))
    -- One read per bucket (prelude.lua): timers created together share buckets.
    local recs = tr_rec_get_many(KEYS[3], ids)
    local atts = redis.call('HMGET', KEYS[4], unpack(ids))
    local metas = redis.call('HMGET', KEYS[5], unpack(ids))
    local owners = redis.call('HMGET', KEYS[8], unpack(ids))
    local zargs, hargs, oargs, orphans = {}, {}, {}, {}
    for j = 1, #ids do
      local id = ids[j]
      if recs[j] then
        local attempt = (tonumber(atts[j]) or 0) + 1
        local first_due = tonumber(scores[j])
        -- A redelivery (lease ran out, or released): the due time of its first try.
        local prev_due = tr_owner_split(owners[j])
        if prev_due then first_due = prev_due end
        zargs[#zargs + 1] = deadline
        zargs[#zargs + 1] = id
        hargs[#hargs + 1] = id
        hargs[#hargs + 1] = attempt
        oargs[#oargs + 1] = id
        oargs[#oargs + 1] = string.format('%d:%s', first_due, token)
        out[n + 1] = id
        out[n + 2] = first_due
        out[n + 3] = attempt
        out[n + 4] = recs[j]
        out[n + 5] = metas[j]
        n = n + 5
      else
        -- An orphan (no record): drop what is left of it instead of delivering nothing.
        orphans[#orphans + 1] = id
      end
    end
    if #zargs > 0 then
      redis.call('ZADD', KEYS[2], unpack(zargs))
      redis.call('HSET', KEYS[4], unpack(hargs))
      redis.call('HSET', KEYS[8], unpack(oargs))
    end
    if #orphans > 0 then
      redis.call('HDEL', KEYS[4], unpack(orphans))
      redis.call('HDEL', KEYS[5], unpack(orphans))
      redis.call('HDEL', KEYS[8], unpack(orphans))
    end
  end
end

local d = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
local f = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local nxt = -1
if d[2] then nxt = tonumber(d[2]) end
if f[2] and (nxt < 0 or tonumber(f[2]) < nxt) then nxt = tonumber(f[2]) end
out[2] = nxt
-- Reaped timers this claim could not take: tell the other schedulers.
if #late > 0 and d[2] and tonumber(d[2]) <= now then
  tr_wake(ARGV[4], now)
end
return out
