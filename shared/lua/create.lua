-- create: the REST API's idempotent create, for one timer or a batch of them.
-- KEYS: 1 timers (the records' base key: prelude.lua), 2 due, 3 stats
-- ARGV: 1 wake channel, then per timer 4 values: id, record, delay_ms,
--       at_ms (epoch ms; -1: use delay_ms)
-- Answer: {now, code1, due1, code2, due2, ...}: code 0 created; 1 the id exists
-- with the same record; 2 it exists with another record; due -1 when an existing
-- timer is in flight or dead. "Same" ignores the fired count ("fd", encoded last)
-- that a recurring timer gains. One TIME, one wake message for the whole batch.
-- The records: the existing ones read, and the new ones written, with one call
-- per bucket (prelude.lua: generated keys of one batch share a few buckets); the
-- due times with one ZADD per CHUNK timers.
-- Items are still answered in order: an id given twice sees its first occurrence.
local CHUNK = 500 -- unpack() stays far below Lua's C stack limit
-- Rounded up: never due before the real instant + delay (claim rounds down).
local now = tr_now_ms_up()
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local earliest = nil
if first[2] then earliest = tonumber(first[2]) end
local ids = {}
for i = 2, #ARGV, 4 do ids[#ids + 1] = ARGV[i] end
local olds = tr_rec_get_many(KEYS[1], ids)
local made = {} -- id -> its item number, for the timers this call creates
local new_ids, new_recs, zadd = {}, {}, {}
local wake = nil
local out = {now}
for n = 1, #ids do
  local i = 2 + (n - 1) * 4
  local id, rec = ids[n], ARGV[i + 1]
  local m, old = made[id], olds[n]
  if m or old then
    local s
    -- A repeat of an id this call creates: its record and due time as made.
    if m then old, s = ARGV[2 + (m - 1) * 4 + 1], out[2 * m + 1] else s = redis.call('ZSCORE', KEYS[2], id) end
    local code = 2
    if string.gsub(old, ',"fd":%d+}$', '}') == rec then code = 1 end
    out[#out + 1] = code
    if s then out[#out + 1] = tonumber(s) else out[#out + 1] = -1 end
  else
    local due = now + tonumber(ARGV[i + 2])
    local at = tonumber(ARGV[i + 3])
    -- An absolute time in the past fires at once.
    if at >= 0 then due = math.max(at, now) end
    new_ids[#new_ids + 1] = id
    new_recs[#new_recs + 1] = rec
    zadd[#zadd + 1] = due
    zadd[#zadd + 1] = id
    made[id] = n
    if earliest == nil or due < earliest then
      earliest = due
      wake = due
    end
    out[#out + 1] = 0
    out[#out + 1] = due
  end
end
tr_rec_put_new(KEYS[1], new_ids, new_recs)
for s = 1, #zadd, 2 * CHUNK do
  redis.call('ZADD', KEYS[2], unpack(zadd, s, math.min(s + 2 * CHUNK - 1, #zadd)))
end
if #new_ids > 0 then redis.call('HINCRBY', KEYS[3], 'created', #new_ids) end
if wake then tr_wake(ARGV[1], wake) end
return out
