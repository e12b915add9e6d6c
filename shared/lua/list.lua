-- list: one page of a sorted set (due or dead) in (score, id) order, read-only.
-- KEYS: 1 the set (due or dead), 2 timers (the records' base key: prelude.lua), 3 attempts, 4 meta
-- ARGV: 1 limit, 2 after_score (or '' for the first page), 3 after_id
-- Answer: {now, id1, score1, record1, attempts1, meta1, id2, ...}: up to limit
-- timers strictly after (after_score, after_id). Never scans: the start is found by
-- ZCOUNT and a binary search over ranks among equal scores, O(log^2 n).
local now = tr_now_ms()
local limit = tonumber(ARGV[1])
local start = 0
if ARGV[2] ~= '' then
  local s = ARGV[2]
  local lo = redis.call('ZCOUNT', KEYS[1], '-inf', '(' .. s)
  local hi = redis.call('ZCOUNT', KEYS[1], '-inf', s)
  -- Members with score s sit at ranks lo..hi-1 ordered by id: find the first > after_id.
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    local m = redis.call('ZRANGE', KEYS[1], mid, mid)
    if m[1] <= ARGV[3] then lo = mid + 1 else hi = mid end
  end
  start = lo
end
local out = {now}
local page = redis.call('ZRANGE', KEYS[1], start, start + limit - 1, 'WITHSCORES')
for i = 1, #page, 2 do
  local id = page[i]
  out[#out + 1] = id
  out[#out + 1] = tonumber(page[i + 1])
  out[#out + 1] = tr_rec_get(KEYS[2], id) or ''
  out[#out + 1] = tonumber(redis.call('HGET', KEYS[3], id) or '0')
  out[#out + 1] = redis.call('HGET', KEYS[4], id)
end
return out
