-- create: the REST API's idempotent create, for one timer or a batch of them.
-- KEYS: 1 timers, 2 due, 3 stats
-- ARGV: 1 wake channel, then per timer 4 values: id, record, delay_ms,
--       at_ms (epoch ms; -1: use delay_ms)
-- Answer: {now, code1, due1, code2, due2, ...}: code 0 created; 1 the id exists
-- with the same record; 2 it exists with another record; due -1 when an existing
-- timer is in flight or dead. "Same" ignores the fired count ("fd", encoded last)
-- that a recurring timer gains. One TIME, one wake message for the whole batch.
local t = redis.call('TIME')
-- Rounded up: never due before the real instant + delay (claim rounds down).
local now = tonumber(t[1]) * 1000 + math.ceil(tonumber(t[2]) / 1000)
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
local earliest = nil
if first[2] then earliest = tonumber(first[2]) end
local wake = nil
local out = {now}
local created = 0
for i = 2, #ARGV, 4 do
  local id, rec = ARGV[i], ARGV[i + 1]
  local old = redis.call('HGET', KEYS[1], id)
  if old then
    local code = 2
    if string.gsub(old, ',"fd":%d+}$', '}') == rec then code = 1 end
    local s = redis.call('ZSCORE', KEYS[2], id)
    out[#out + 1] = code
    if s then out[#out + 1] = tonumber(s) else out[#out + 1] = -1 end
  else
    local due = now + tonumber(ARGV[i + 2])
    local at = tonumber(ARGV[i + 3])
    -- An absolute time in the past fires at once.
    if at >= 0 then due = math.max(at, now) end
    redis.call('HSET', KEYS[1], id, rec)
    redis.call('ZADD', KEYS[2], due, id)
    created = created + 1
    if earliest == nil or due < earliest then
      earliest = due
      wake = due
    end
    out[#out + 1] = 0
    out[#out + 1] = due
  end
end
if created > 0 then redis.call('HINCRBY', KEYS[3], 'created', created) end
if wake then redis.call('PUBLISH', ARGV[1], wake) end
return out
