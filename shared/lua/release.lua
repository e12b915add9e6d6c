-- release: the scheduler gives a claimed timer back undelivered: at shutdown (due
-- again at once), or held because its destination cannot take it now (a breaker
-- open, every slot busy: due again delay_ms from now).
-- KEYS: 1 inflight, 2 attempts, 3 due, 4 stats, 5 owner
-- ARGV: 1 id, 2 token, 3 wake channel, 4 delay_ms (absent: 0), 5 stats field
--       (absent: "released"; a hold counts "held")
-- Answer: 1 when applied; 0 when stale. The attempt is undone; the owner entry
-- keeps the first due time under no token ("<due>:"), so the next claim answers
-- that time again (X-TimeRush-Due-Ms stays the same) and no outcome of the old
-- claim applies any more.
local id = ARGV[1]
local first_due = tr_fenced(KEYS[5], KEYS[4], id, ARGV[2])
if not first_due then return 0 end
local delay = tonumber(ARGV[4]) or 0
local at, announce = tr_now_ms(), true
if delay > 0 then
  -- Held: announced only when it becomes the earliest due timer.
  at = tr_now_ms_up() + delay
  local first = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  announce = first[2] == nil or at < tonumber(first[2])
end
-- (Not tr_schedule: a release due now is always announced, and tr_give_back writes
-- the due set along with the rest of the hand-back.)
tr_give_back(KEYS[1], KEYS[3], KEYS[2], KEYS[5], id, first_due, at)
redis.call('HINCRBY', KEYS[4], ARGV[5] or 'released', 1)
if announce then tr_wake(ARGV[3], at) end
return 1
