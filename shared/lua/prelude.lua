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
