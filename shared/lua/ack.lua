-- ack: the timer was delivered; optionally create the chained timer; a recurring
-- timer's firing instead keeps the id, due again at repeat_at with a new record.
-- KEYS: 1 timers (the records' base key: prelude.lua), 2 due, 3 inflight, 4 dead,
--       5 attempts, 6 meta, 7 stats, 8 owner
-- ARGV: 1 id, 2 token, 3 wake channel, 4 chain id ('' for none), 5 chain record,
--       6 chain delay_ms, 7 repeat record ('' for none), 8 repeat_at ms,
--       9 chain dead meta ('' or absent: the chain is scheduled; else the chained
--       timer the destination policy refused goes straight into the dead-letter set
--       with this meta, counted in chain_refused, never due)
-- A redis-stream:// delivery (the stream notifier) adds, with no chain:
-- KEYS: 9 the stream ({P}:stream:NAME, same hash slot)
-- ARGV: 10 MAXLEN ~ bound (0: none), 11 attempt, 12 due_ms of the firing, 13 data
-- and the entry (fields key, attempt, due_ms, data) is XADDed here, under the same
-- fence, before any other write: the timer is never both in the stream and
-- pending, and a stale ack adds no entry. A key that holds something other than a
-- stream would make XADD fail: checked first, the timer goes to the dead-letter
-- set instead (meta error "stream key holds a <type>", or its next firing when
-- recurring, as dead.lua), answer 2.
-- Answer: 1 when applied; 0 when stale: the claim under `token` no longer holds the
-- timer (cancelled, re-created under the same key, claimed again after its lease,
-- or this ack was applied already). A stale ack changes nothing but the "stale"
-- count: no chain is created, so applying an ack twice makes one chained timer.
local id = ARGV[1]
if not tr_fenced(KEYS[8], KEYS[7], id, ARGV[2]) then return 0 end
local skey = KEYS[9]
if skey then
  local t = redis.call('TYPE', skey)['ok']
  if t ~= 'none' and t ~= 'stream' then
    local now = tr_now_ms()
    redis.call('HDEL', KEYS[8], id)
    redis.call('ZREM', KEYS[3], id)
    redis.call('ZREM', KEYS[2], id)
    redis.call('HSET', KEYS[6], id, string.format(
      '{"due":%d,"attempts":%d,"status":0,"error":"stream key holds a %s","at":%d}',
      tonumber(ARGV[12]), tonumber(ARGV[11]), t, now))
    redis.call('HINCRBY', KEYS[7], 'dead', 1)
    redis.call('HINCRBY', KEYS[7], 'failed', 1)
    local rep = ARGV[7]
    if rep ~= nil and rep ~= '' then
      tr_rec_set(KEYS[1], id, rep)
      redis.call('HDEL', KEYS[5], id)
      tr_schedule(KEYS[2], ARGV[3], tonumber(ARGV[8]), id)
      redis.call('HINCRBY', KEYS[7], 'fired', 1)
    else
      redis.call('ZADD', KEYS[4], now, id)
    end
    return 2
  end
  local fields = {'key', id, 'attempt', ARGV[11], 'due_ms', ARGV[12], 'data', ARGV[13]}
  if tonumber(ARGV[10]) > 0 then
    redis.call('XADD', skey, 'MAXLEN', '~', ARGV[10], '*', unpack(fields))
  else
    redis.call('XADD', skey, '*', unpack(fields))
  end
end
redis.call('HDEL', KEYS[8], id)
redis.call('ZREM', KEYS[3], id)
-- Normally in flight; a timer whose lease ran out is back in due (nobody claimed it
-- again, or the token would differ): the delivery happened, so it is done there too.
redis.call('ZREM', KEYS[2], id)
redis.call('ZREM', KEYS[4], id)
redis.call('HDEL', KEYS[5], id)
redis.call('HDEL', KEYS[6], id)
local rep = ARGV[7]
if rep ~= nil and rep ~= '' then
  tr_rec_set(KEYS[1], id, rep)
  tr_schedule(KEYS[2], ARGV[3], tonumber(ARGV[8]), id)
  redis.call('HINCRBY', KEYS[7], 'fired', 1)
else
  tr_rec_del(KEYS[1], id)
end
redis.call('HINCRBY', KEYS[7], 'delivered', 1)
local cid = ARGV[4]
local cdead = ARGV[9]
if cid ~= '' and cdead ~= nil and cdead ~= '' then
  if tr_rec_add(KEYS[1], cid, ARGV[5]) then
    redis.call('HSET', KEYS[6], cid, cdead)
    redis.call('ZADD', KEYS[4], tr_now_ms(), cid)
    redis.call('HINCRBY', KEYS[7], 'chain_refused', 1)
  end
elseif cid ~= '' and tr_rec_add(KEYS[1], cid, ARGV[5]) then
  -- Rounded up: never due before the real instant + delay (claim rounds down).
  local due = tr_now_ms_up() + tonumber(ARGV[6])
  tr_schedule(KEYS[2], ARGV[3], due, cid)
  redis.call('HINCRBY', KEYS[7], 'chained', 1)
end
return 1
