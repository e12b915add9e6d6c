-- release: the scheduler gives a claimed timer back undelivered (shutdown).
-- KEYS: 1 inflight, 2 attempts, 3 due, 4 stats, 5 owner
-- ARGV: 1 id, 2 token, 3 wake channel
-- Answer: 1 when applied; 0 when stale. Due again at once, the attempt undone; the
-- owner entry keeps the first due time under no token ("<due>:"), so the next
-- claim answers that time again and no outcome of the old claim applies any more.
local id = ARGV[1]
local first_due = tr_fenced(KEYS[5], KEYS[4], id, ARGV[2])
if not first_due then return 0 end
redis.call('HSET', KEYS[5], id, string.format('%d:', first_due))
redis.call('ZREM', KEYS[1], id)
local now = tr_now_ms()
redis.call('ZADD', KEYS[3], now, id)
-- The attempt never happened; drop the counter at zero to keep memory lean.
if redis.call('HINCRBY', KEYS[2], id, -1) <= 0 then redis.call('HDEL', KEYS[2], id) end
redis.call('HINCRBY', KEYS[4], 'released', 1)
redis.call('PUBLISH', ARGV[3], now)
return 1
