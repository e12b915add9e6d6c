-- extend: a delivery still running keeps its lease: deadline moved to now + ms.
-- KEYS: 1 inflight, 2 due, 3 owner, 4 stats
-- ARGV: 1 id, 2 token, 3 ms
-- Answer: 1 when applied; 0 when stale (the claim under `token` no longer holds it).
-- A lease that ran out while nobody claimed the timer again is taken back (out of
-- due, into flight): the token proves no other delivery started.
local id = ARGV[1]
if not tr_fenced(KEYS[3], KEYS[4], id, ARGV[2]) then return 0 end
local now = tr_now_ms()
redis.call('ZREM', KEYS[2], id)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), id)
return 1
