-- get: everything known about one timer, read-only.
-- KEYS: 1 timers (the records' base key: prelude.lua), 2 due, 3 inflight, 4 dead,
--       5 attempts, 6 meta
-- ARGV: 1 id
-- Answer: {now, record, due, lease, dead_at, attempts, meta}; false for what is
-- absent; record false: unknown.
local id = ARGV[1]
local now = tr_now_ms()
local rec = tr_rec_get(KEYS[1], id)
if not rec then return {now, false, false, false, false, false, false} end
local function num(v) if v then return tonumber(v) end return false end
return {now, rec, num(redis.call('ZSCORE', KEYS[2], id)), num(redis.call('ZSCORE', KEYS[3], id)),
  num(redis.call('ZSCORE', KEYS[4], id)), num(redis.call('HGET', KEYS[5], id)),
  redis.call('HGET', KEYS[6], id)}
