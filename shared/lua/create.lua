-- create: the REST API's idempotent create (one call per timer; batches pipeline it).
-- KEYS: 1 timers, 2 due, 3 stats
-- ARGV: 1 id, 2 record, 3 delay_ms, 4 at_ms (epoch ms; -1: use delay_ms), 5 wake channel
-- Answer: {0, due} created; {1, due or -1} the id exists with the same record;
-- {2, due or -1} it exists with another record (-1: in flight or dead).
-- "Same" ignores the fired count ("fd", encoded last) a recurring timer gains.
local id = ARGV[1]
local old = redis.call('HGET', KEYS[1], id)
if old then
  local code = 2
  if string.gsub(old, ',"fd":%d+}$', '}') == ARGV[2] then code = 1 end
  local s = redis.call('ZSCORE', KEYS[2], id)
  if s then return {code, tonumber(s)} end
  return {code, -1}
end
local t = redis.call('TIME')
-- Rounded up: never due before the real instant + delay (claim rounds down).
local now = tonumber(t[1]) * 1000 + math.ceil(tonumber(t[2]) / 1000)
local due = now + tonumber(ARGV[3])
local at = tonumber(ARGV[4])
-- An absolute time in the past fires at once.
if at >= 0 then due = math.max(at, now) end
local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
redis.call('HSET', KEYS[1], id, ARGV[2])
redis.call('ZADD', KEYS[2], due, id)
redis.call('HINCRBY', KEYS[3], 'created', 1)
if first[2] == nil or due < tonumber(first[2]) then
  redis.call('PUBLISH', ARGV[5], due)
end
return {0, due}
