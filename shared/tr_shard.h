/* tr_shard.h - which logical shard a timer's key belongs to (issue 11).
 *
 * The keyspace is split into S = --shards logical shards, each its own hash tag
 * ({P:0} .. {P:S-1}; with S = 1 today's {P}), each a whole copy of the layout
 * (tr_store.h). A key's shard is FNV-1a (32 bits) of the key's bytes, mod S: a pure
 * function of the key, so every per-timer call goes straight to its shard, for
 * generated keys, client keys and the original's keys alike (docs/DATA_MODEL.md,
 * "Shards"). Stateless and thread-safe.
 */
#ifndef TR_SHARD_H
#define TR_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "tr_config.h"
#include "tr_timer.h"

/* FNV-1a, 32 bits, of len bytes. */
uint32_t tr_shard_hash(const char *key, size_t len);

/* The shard of `key` (NUL-terminated) under cfg->shards: 0..shards-1 (0 when 1). */
int tr_shard_of(const tr_config *cfg, const char *key);

/* A new generated key (tr_timer_new_key) whose shard is `shard`: drawn until one
 * lands there (S draws on average), so a chained timer can be made in its parent's
 * shard by the parent's ack script. 0, or -1 when the random source fails. */
int tr_shard_new_key(const tr_config *cfg, int shard, char out[TR_KEY_LEN + 1]);

#endif
