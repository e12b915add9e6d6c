-- recover: gives back what lost claims hold, without waiting for their leases.
-- KEYS: 1 inflight, 2 due, 3 attempts, 4 stats, 5 owner, 6.. revoked:<token> (mode
--       'tokens': one per token, in ARGV order)
-- ARGV: 1 mode, 2 wake channel, 3 lease_ms (how long a revocation is kept), then
--   mode 'tokens': the tokens of claims whose answers were lost; each is revoked
--     (a claim with it that Redis runs later claims nothing) and what it holds is
--     released;
--   mode 'prefix': 4 prefix, 5 keep: what tokens starting with prefix hold is
--     released, except tokens starting with keep (a restarted scheduler gives back
--     its previous incarnation's timers: prefix "<id>/", keep "<id>/<incarnation>/").
-- Answer: the number of timers released. Like release.lua: due again at once, the
-- attempt undone, the first due time kept. Reads all of {P}:inflight, which holds
-- at most the schedulers' in-flight limits.
local mode = ARGV[1]
local match
if mode == 'tokens' then
  local set = {}
  for i = 4, #ARGV do
    set[ARGV[i]] = true
    redis.call('SET', KEYS[6 + i - 4], '1', 'PX', tonumber(ARGV[3]))
  end
  match = function(tok) return set[tok] == true end
elseif mode == 'prefix' then
  local prefix, keep = ARGV[4], ARGV[5]
  match = function(tok)
    return string.sub(tok, 1, #prefix) == prefix and string.sub(tok, 1, #keep) ~= keep
  end
else
  return redis.error_reply('recover: unknown mode')
end
local now = tr_now_ms()
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
local released = 0
for c = 1, #ids, 1000 do
  local part = {unpack(ids, c, math.min(c + 999, #ids))}
  local owners = redis.call('HMGET', KEYS[5], unpack(part))
  for j = 1, #part do
    local first_due, tok = tr_owner_split(owners[j])
    if tok and tok ~= '' and match(tok) then
      tr_give_back(KEYS[1], KEYS[2], KEYS[3], KEYS[5], part[j], first_due, now)
      released = released + 1
    end
  end
end
if released > 0 then
  redis.call('HINCRBY', KEYS[4], 'recovered', released)
  tr_wake(ARGV[2], now)
end
return released
