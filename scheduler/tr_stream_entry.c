#include "tr_stream_entry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The write with de-duplication: KEYS[1] the stream, KEYS[2] the firing's marker;
 * ARGV ttl ms, MAXLEN (0: none), then key, attempt, due_ms, data. A key of another
 * type is refused before the marker is set (so a retry after the fix writes); a
 * marker already there means an earlier attempt wrote the entry: 0, written. */
static const char XADD_ONCE[] =
    "local t = redis.call('TYPE', KEYS[1]).ok\n"
    "if t ~= 'stream' and t ~= 'none' then\n"
    "  return redis.error_reply('WRONGTYPE the stream key holds a ' .. t)\n"
    "end\n"
    "if not redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then return 0 end\n"
    "if ARGV[2] ~= '0' then\n"
    "  return redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[2], '*', 'key', ARGV[3],\n"
    "                    'attempt', ARGV[4], 'due_ms', ARGV[5], 'data', ARGV[6])\n"
    "end\n"
    "return redis.call('XADD', KEYS[1], '*', 'key', ARGV[3], 'attempt', ARGV[4],\n"
    "                  'due_ms', ARGV[5], 'data', ARGV[6])\n";

int tr_stream_entry_make(tr_stream_entry *e, const tr_config *cfg, const char *stream,
                         const tr_xfer *x)
{
    memset(e, 0, sizeof *e);
    snprintf(e->attempt, sizeof e->attempt, "%lld", (long long)x->attempt);
    snprintf(e->due, sizeof e->due, "%lld", (long long)x->fire_due_ms);
    snprintf(e->maxlen, sizeof e->maxlen, "%d", cfg->stream_maxlen);
    snprintf(e->ttl, sizeof e->ttl, "%d", cfg->stream_dedupe_ms);
    const char *data = x->spec.data != NULL ? x->spec.data : "";
    size_t data_len = x->spec.data != NULL ? x->spec.data_len : 0;
    int n = 0;
#define ARG(s, l) (e->argv[n] = (s), e->argvlen[n] = (l), n++)
#define STR(s) ARG((s), strlen(s))
    if (cfg->stream_dedupe_ms > 0) {
        size_t klen = strlen(stream) + strlen(x->id) + sizeof ":timerush-sent::" + sizeof e->due;
        if ((e->marker = malloc(klen)) == NULL)
            return -1;
        snprintf(e->marker, klen, "%s:timerush-sent:%s:%s", stream, e->due, x->id);
        e->idempotent = 1;
        STR("EVAL");
        ARG(XADD_ONCE, sizeof XADD_ONCE - 1);
        STR("2");
        STR(stream);
        STR(e->marker);
        STR(e->ttl);
        STR(e->maxlen);
        STR(x->id);
        STR(e->attempt);
        STR(e->due);
        ARG(data, data_len);
    } else {
        STR("XADD");
        STR(stream);
        if (cfg->stream_maxlen > 0) {
            STR("MAXLEN");
            STR("~");
            STR(e->maxlen);
        }
        STR("*");
        STR("key");
        STR(x->id);
        STR("attempt");
        STR(e->attempt);
        STR("due_ms");
        STR(e->due);
        STR("data");
        ARG(data, data_len);
    }
#undef STR
#undef ARG
    e->argc = n;
    return 0;
}

void tr_stream_entry_clear(tr_stream_entry *e)
{
    free(e->marker);
    e->marker = NULL;
}

int tr_stream_entry_written(const redisReply *r, const char *where, char *why, size_t len)
{
    /* The entry id: written; 0: an earlier attempt of this firing wrote it. */
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_INTEGER)
        return 0;
    if (r->type == REDIS_REPLY_ERROR)
        snprintf(why, len, "%s: %.*s", where, (int)r->len, r->str);
    else
        snprintf(why, len, "%s: an unexpected reply", where);
    return -1;
}
