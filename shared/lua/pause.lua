-- pause: sets or clears the pause flag; resuming wakes the schedulers at once.
-- KEYS: 1 paused, 2 due
-- ARGV: 1 '1' pause / '0' resume, 2 wake channel
-- Answer: 1 paused, 0 running.
if ARGV[1] == '1' then
  redis.call('SET', KEYS[1], '1')
  return 1
end
if redis.call('DEL', KEYS[1]) == 1 then
  local now = tr_now_ms()
  local first = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
  -- The earliest due time (or now): a scheduler sleeping on "paused" claims again.
  local at = now
  if first[2] and tonumber(first[2]) > now then at = tonumber(first[2]) end
  tr_wake(ARGV[2], at)
end
return 0
