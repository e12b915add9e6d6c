-- add: stores a new timer, due delay_ms after Redis TIME.
-- KEYS: 1 timers (the records' base key: prelude.lua), 2 due, 3 stats
-- ARGV: 1 id, 2 record, 3 delay_ms, 4 wake channel
-- Answer: {0, due_ms} when created; {1, due_ms or -1} when the id already exists
-- (-1: it is in flight or dead). Publishes "<due_ms>" on the wake channel when the
-- new timer is the earliest one, so a sleeping scheduler wakes up for it.
local id = ARGV[1]
if not tr_rec_add(KEYS[1], id, ARGV[2]) then
  local s = redis.call('ZSCORE', KEYS[2], id)
  if s then return {1, tonumber(s)} end
  return {1, -1}
end
-- Rounded up: never due before the real instant + delay (claim rounds down).
local due = tr_now_ms_up() + tonumber(ARGV[3])
tr_schedule(KEYS[2], ARGV[4], due, id)
redis.call('HINCRBY', KEYS[3], 'created', 1)
return {0, due}
