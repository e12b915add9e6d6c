-- create: the REST API's idempotent create, for one timer or a batch of them.
-- KEYS: 1 timers (the records' base key: prelude.lua), 2 due, 3 stats
-- ARGV: 1 wake channel, then per timer 4 values: id, record, delay_ms,
--       at_ms (epoch ms; -1: use delay_ms)
-- Answer: {now, code1, due1, code2, due2, ...}: code 0 created; 1 the id exists
-- with the same record; 2 it exists with another record; due -1 when an existing
-- timer is in flight or dead. "Same" ignores the fired count ("fd", encoded last)
-- that a recurring timer gains. One TIME, one wake message for the whole batch.
-- The records: one HSETNX per new id (each in its own bucket: prelude.lua; a
-- batch's ids hardly ever share one), a read only for an id that exists; the due
-- times with one ZADD per CHUNK timers.
-- Items are still answered in order: an id given twice sees its first occurrence.
local CHUNK = 500 -- unpack() stays far below Lua's C stack limit
-- Rounded up: never due before the real instant + delay (claim rounds down).
local now = tr_now_ms_up()
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local earliest = nil
if first[2] then earliest = tonumber(first[2]) end
local made = {} -- id -> {record, due} of the timers this call creates
local zadd = {}
local wake = nil
local out = {now}
local created = 0
for i = 2, #ARGV, 4 do
  local id, rec = ARGV[i], ARGV[i + 1]
  local m = made[id]
  -- A new id's record is written by the same call that finds it new.
  if m or not tr_rec_add(KEYS[1], id, rec) then
    local old, s
    if m then
      old, s = m[1], m[2]
    else
      old, s = tr_rec_get(KEYS[1], id), redis.call('ZSCORE', KEYS[2], id)
    end
    local code = 2
    if string.gsub(old, ',"fd":%d+}$', '}') == rec then code = 1 end
    out[#out + 1] = code
    if s then out[#out + 1] = tonumber(s) else out[#out + 1] = -1 end
  else
    local due = now + tonumber(ARGV[i + 2])
    local at = tonumber(ARGV[i + 3])
    -- An absolute time in the past fires at once.
    if at >= 0 then due = math.max(at, now) end
    zadd[#zadd + 1] = due
    zadd[#zadd + 1] = id
    made[id] = {rec, due}
    created = created + 1
    if earliest == nil or due < earliest then
      earliest = due
      wake = due
    end
    out[#out + 1] = 0
    out[#out + 1] = due
  end
end
for s = 1, #zadd, 2 * CHUNK do
  redis.call('ZADD', KEYS[2], unpack(zadd, s, math.min(s + 2 * CHUNK - 1, #zadd)))
end
if created > 0 then redis.call('HINCRBY', KEYS[3], 'created', created) end
if wake then redis.call('PUBLISH', ARGV[1], wake) end
return out
