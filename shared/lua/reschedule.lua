-- reschedule: a pending timer due at a new time.
-- KEYS: 1 timers (the records' base key: prelude.lua), 2 due, 3 inflight, 4 dead, 5 owner
-- ARGV: 1 id, 2 delay_ms, 3 at_ms (-1: use delay_ms), 4 wake channel
-- Answer: {0, due} done; {1, -1} unknown; {2, -1} in flight or dead (not changed).
local id = ARGV[1]
if not tr_rec_get(KEYS[1], id) then return {1, -1} end
if not redis.call('ZSCORE', KEYS[2], id) then return {2, -1} end
local now = tr_now_ms_up()
local due = now + tonumber(ARGV[2])
local at = tonumber(ARGV[3])
if at >= 0 then due = math.max(at, now) end
redis.call('ZADD', KEYS[2], due, id)
-- A pending timer can keep the owner entry of a lease that ran out: a new due time
-- is a new firing, so neither that claim's late outcome nor its due time applies.
redis.call('HDEL', KEYS[5], id)
local first = redis.call('ZRANGE', KEYS[2], 0, 0)
if first[1] == id then tr_wake(ARGV[4], due) end
return {0, due}
