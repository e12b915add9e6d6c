-- stats: gauges, counters and histograms; no scan (ZCARD, EXISTS, HGETALL only).
-- KEYS: 1 due, 2 inflight, 3 dead, 4 paused, 5 stats, 6 hist:lateness, 7 hist:duration
-- ARGV: 1 '1' to include the histograms
-- Answer: {pending, in_flight, dead, paused, {stats field, value, ...},
--          {lateness field, value, ...}, {duration field, value, ...}}
local out = {redis.call('ZCARD', KEYS[1]), redis.call('ZCARD', KEYS[2]),
  redis.call('ZCARD', KEYS[3]), redis.call('EXISTS', KEYS[4]), redis.call('HGETALL', KEYS[5])}
if ARGV[1] == '1' then
  out[6] = redis.call('HGETALL', KEYS[6])
  out[7] = redis.call('HGETALL', KEYS[7])
else
  out[6] = {}
  out[7] = {}
end
return out
