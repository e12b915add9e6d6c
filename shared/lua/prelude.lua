-- prelude: not a script. shared/embed_lua.cmake puts these lines in front of
-- every shared/lua/NAME.lua when it embeds them, so the Redis clock is read one
-- way everywhere. TIME answers {seconds, microseconds}.

-- Now in ms, rounded down: an instant counts as reached only once it has passed
-- (claim's "due <= now", lease deadlines, dead-at and replay stamps).
local function tr_now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Now in ms, rounded up: a due time now_up + delay is never before the real
-- instant + delay (claim rounds down), and a ttl never exceeds the delay asked for.
local function tr_now_ms_up()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.ceil(tonumber(t[2]) / 1000)
end

-- The fence. While a claim holds a timer, {P}:owner[id] is "<first due ms>:<token>"
-- (claim.lua); every outcome applies only under the token that claimed it. A
-- released timer keeps "<first due ms>:" (no token): its next claim answers that
-- due time again. tr_owner_split: due (a number) and token of such a value, or nil.
local function tr_owner_split(v)
  if not v then return nil, nil end
  local due, tok = string.match(v, '^(%-?%d+):(.*)$')
  return tonumber(due), tok
end

-- The first due time when the claim under `token` holds `id`; nil when it does not
-- (cancelled, re-created, claimed again, or the outcome was applied already).
local function tr_owned(owner_key, id, token)
  local due, tok = tr_owner_split(redis.call('HGET', owner_key, id))
  if tok ~= nil and tok ~= '' and tok == token then return due end
  return nil
end

-- The fence of an outcome script: the first due time when the claim under `token`
-- holds `id`; otherwise nil, and the outcome is stale: counted in stats "stale", and
-- the script must change nothing else.
local function tr_fenced(owner_key, stats_key, id, token)
  local due = tr_owned(owner_key, id, token)
  if not due then redis.call('HINCRBY', stats_key, 'stale', 1) end
  return due
end

-- Puts `id` in the due set `due_key` at `due`, announcing `due` on the wake channel
-- when it is now the earliest due time there (a sleeping scheduler wakes for it).
local function tr_schedule(due_key, wake, due, id)
  local first = redis.call('ZRANGE', due_key, 0, 0, 'WITHSCORES')
  if first[2] == nil or due < tonumber(first[2]) then
    redis.call('PUBLISH', wake, due)
  end
  redis.call('ZADD', due_key, due, id)
end

-- Gives a held timer back undelivered (release, recover): due again at `now`, the
-- attempt undone (the counter dropped at zero to keep memory lean), the owner entry
-- keeping the first due time under no token.
local function tr_give_back(inflight, due, attempts, owner, id, first_due, now)
  redis.call('HSET', owner, id, string.format('%d:', first_due))
  redis.call('ZREM', inflight, id)
  redis.call('ZADD', due, now, id)
  if redis.call('HINCRBY', attempts, id, -1) <= 0 then redis.call('HDEL', attempts, id) end
end
