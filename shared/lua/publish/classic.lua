-- The wake channel's publish command on one Redis: classic pub/sub (PUBLISH), as
-- the wake line SUBSCRIBEs. shared/embed_lua.cmake puts this line first in every
-- script's one-Redis variant (tr_lua_NAME); publish/sharded.lua is the cluster's.
local TR_PUBLISH = 'PUBLISH'
