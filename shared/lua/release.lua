-- release: the scheduler gives a claimed timer back undelivered (shutdown).
-- KEYS: 1 inflight, 2 attempts, 3 due, 4 stats, 5 owner
-- ARGV: 1 id, 2 token, 3 wake channel
-- Answer: 1 when applied; 0 when stale. Due again at once, the attempt undone; the
-- owner entry keeps the first due time under no token ("<due>:"), so the next
-- claim answers that time again and no outcome of the old claim applies any more.
local id = ARGV[1]
local first_due = tr_fenced(KEYS[5], KEYS[4], id, ARGV[2])
if not first_due then return 0 end
local now = tr_now_ms()
tr_give_back(KEYS[1], KEYS[3], KEYS[2], KEYS[5], id, first_due, now)
redis.call('HINCRBY', KEYS[4], 'released', 1)
redis.call('PUBLISH', ARGV[3], now)
return 1
