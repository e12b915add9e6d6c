/* tr_shard.c - see tr_shard.h. */
#include "tr_shard.h"

#include <string.h>

uint32_t tr_shard_hash(const char *key, size_t len)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 16777619u;
    }
    return h;
}

int tr_shard_of(const tr_config *cfg, const char *key)
{
    if (cfg->shards <= 1)
        return 0;
    return (int)(tr_shard_hash(key, strlen(key)) % (uint32_t)cfg->shards);
}

int tr_shard_new_key(const tr_config *cfg, int shard, char out[TR_KEY_LEN + 1])
{
    /* A hit has probability 1/S per draw: 64 S draws miss with about e^-64. */
    long tries = 64L * (cfg->shards > 1 ? cfg->shards : 1);
    for (long i = 0; i < tries; i++) {
        if (tr_timer_new_key(out) != 0)
            return -1;
        if (tr_shard_of(cfg, out) == shard)
            return 0;
    }
    return -1;
}
