-- prelude: not a script. shared/embed_lua.cmake puts these lines in front of
-- every shared/lua/NAME.lua when it embeds them (after publish/classic.lua or
-- publish/sharded.lua), so the Redis clock is read one way everywhere. TIME
-- answers {seconds, microseconds}.

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

-- Announces `msg` (a due time, ms) on the wake channel: PUBLISH on one Redis,
-- SPUBLISH on a cluster (TR_PUBLISH, set by the variant's first line:
-- shared/lua/publish/).
local function tr_wake(channel, msg)
  redis.call(TR_PUBLISH, channel, msg)
end

-- Puts `id` in the due set `due_key` at `due`, announcing `due` on the wake channel
-- when it is now the earliest due time there (a sleeping scheduler wakes for it).
local function tr_schedule(due_key, wake, due, id)
  local first = redis.call('ZRANGE', due_key, 0, 0, 'WITHSCORES')
  if first[2] == nil or due < tonumber(first[2]) then
    tr_wake(wake, due)
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

-- The records. A timer's record lives in one of 65,536 small hashes, the bucket
-- `<timers>:<b>` (b: 4 hex digits): `timers` is the base key name the script gets in
-- KEYS ({P}:timers), and the buckets hold the same hash tag, so they sit in its
-- cluster slot. Small hashes stay listpack-encoded (with Redis's
-- hash-max-listpack-value above the record size), about 40 bytes a timer less than
-- one big hashtable (docs/DATA_MODEL.md). Every script reaches records through these
-- helpers only, so the bucket is computed one way everywhere:
-- - a key of 16 characters whose first 3 are of the generated keys' alphabet
--   (shared/tr_timer.c: A-Z a-z 0-9 _ .) names its bucket in those 3 (18 bits, mod
--   65,536). A thread that makes keys keeps one random prefix for a run of keys,
--   so the timers of one batch (or of one busy thread) share a few buckets: a
--   batch writes and a claim reads a bucket with one call for many records, in a
--   bucket that is in the CPU's cache, instead of one call per record into a
--   random bucket (which cost about twice Redis's time per created timer);
-- - any other key: the first 4 hex digits of SHA-1(key) (redis.sha1hex is C).
-- An older version kept every record in the one hash `timers` itself. While that
-- hash exists (migrate.lua empties it), a record missing from its bucket is looked
-- up there, a write moves the record to its bucket and a delete removes it from
-- both: data written before the upgrade keeps working.
local tr_rec_prefix = {}
local tr_rec_by_prefix = {} -- timers -> {a generated key's first 3 characters -> bucket key}
local tr_rec_legacy = {}

-- The value (0..63) of a generated key's symbol, by byte; nil for any other byte.
local function tr_key_sym(c)
  if c >= 97 then
    if c <= 122 then return c - 71 end -- a-z: 26..51
  elseif c >= 65 then
    if c <= 90 then return c - 65 end -- A-Z: 0..25
    if c == 95 then return 62 end     -- _
  elseif c >= 48 then
    if c <= 57 then return c + 4 end  -- 0-9: 52..61
  elseif c == 46 then
    return 63                         -- .
  end
  return nil
end

-- The bucket key of `id`'s record.
local function tr_rec_key(timers, id)
  local p = tr_rec_prefix[timers]
  if not p then
    p = timers .. ':'
    tr_rec_prefix[timers] = p
  end
  if #id == 16 then
    -- A run of keys shares the prefix: its bucket key is made once per call.
    local cache = tr_rec_by_prefix[timers]
    if not cache then
      cache = {}
      tr_rec_by_prefix[timers] = cache
    end
    local pre = string.sub(id, 1, 3)
    local k = cache[pre]
    if k then return k end
    local a, b, c = string.byte(pre, 1, 3)
    local x, y, z = tr_key_sym(a), tr_key_sym(b), tr_key_sym(c)
    if x and y and z then
      k = p .. string.format('%04x', (x * 4096 + y * 64 + z) % 65536)
      cache[pre] = k
      return k
    end
  end
  return p .. string.sub(redis.sha1hex(id), 1, 4)
end

-- ids[1..n] grouped by bucket: {bucket key -> list of indexes into ids}, and the
-- bucket keys in first-seen order (so calls go in a stable order).
local function tr_rec_group(timers, ids)
  local groups, order = {}, {}
  for i = 1, #ids do
    local k = tr_rec_key(timers, ids[i])
    local g = groups[k]
    if not g then
      g = {}
      groups[k] = g
      order[#order + 1] = k
    end
    g[#g + 1] = i
  end
  return groups, order
end

-- Whether the old single hash still exists (asked once per script call).
local function tr_rec_has_legacy(timers)
  local v = tr_rec_legacy[timers]
  if v == nil then
    v = redis.call('EXISTS', timers) == 1
    tr_rec_legacy[timers] = v
  end
  return v
end

-- The record of `id`, or false.
local function tr_rec_get(timers, id)
  local v = redis.call('HGET', tr_rec_key(timers, id), id)
  if not v and tr_rec_has_legacy(timers) then v = redis.call('HGET', timers, id) end
  return v
end

-- Writes the record of `id` (new or replaced) to its bucket; an old copy goes.
local function tr_rec_set(timers, id, rec)
  redis.call('HSET', tr_rec_key(timers, id), id, rec)
  if tr_rec_has_legacy(timers) then redis.call('HDEL', timers, id) end
end

-- Stores `rec` as the record of a new `id`: true; false (nothing written) when
-- `id` has a record already. One HSETNX where a read and a write took two calls.
local function tr_rec_add(timers, id, rec)
  if tr_rec_has_legacy(timers) and redis.call('HEXISTS', timers, id) == 1 then return false end
  return redis.call('HSETNX', tr_rec_key(timers, id), id, rec) == 1
end

-- Deletes the record of `id`; answers how many copies there were (0: none).
local function tr_rec_del(timers, id)
  local n = redis.call('HDEL', tr_rec_key(timers, id), id)
  if tr_rec_has_legacy(timers) then n = n + redis.call('HDEL', timers, id) end
  return n
end

-- The records of ids[1..n] (false where there is none): one HMGET per bucket.
local function tr_rec_get_many(timers, ids)
  local recs = {}
  local groups, order = tr_rec_group(timers, ids)
  for _, k in ipairs(order) do
    local g = groups[k]
    local names = {}
    for j = 1, #g do names[j] = ids[g[j]] end
    local r = redis.call('HMGET', k, unpack(names))
    for j = 1, #g do recs[g[j]] = r[j] end
  end
  if tr_rec_has_legacy(timers) then
    for i = 1, #ids do
      if not recs[i] then recs[i] = redis.call('HGET', timers, ids[i]) end
    end
  end
  return recs
end

-- Stores recs[i] as the record of the new ids[i] (the caller checked that none
-- has a record, tr_rec_get_many): one HSET per bucket.
local function tr_rec_put_new(timers, ids, recs)
  local groups, order = tr_rec_group(timers, ids)
  for _, k in ipairs(order) do
    local g = groups[k]
    local args = {}
    for j = 1, #g do
      args[#args + 1] = ids[g[j]]
      args[#args + 1] = recs[g[j]]
    end
    redis.call('HSET', k, unpack(args))
  end
end

-- Deletes the records of ids[1..n]: one HDEL per bucket.
local function tr_rec_del_many(timers, ids)
  local groups, order = tr_rec_group(timers, ids)
  for _, k in ipairs(order) do
    local g = groups[k]
    local names = {}
    for j = 1, #g do names[j] = ids[g[j]] end
    redis.call('HDEL', k, unpack(names))
  end
  if tr_rec_has_legacy(timers) then redis.call('HDEL', timers, unpack(ids)) end
end
