-- The wake channel's publish command on a Redis Cluster: sharded pub/sub (Redis 7
-- SPUBLISH). The channel {P:i}:wake hashes to shard i's slot, so the message stays
-- on that shard's master (and its replicas) instead of crossing the cluster bus to
-- every node, and the script's slot check passes. shared/embed_lua.cmake puts this
-- line first in every script's cluster variant (tr_lua_NAME_cluster).
local TR_PUBLISH = 'SPUBLISH'
