#include "tr_wake.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "tr_cluster.h"
#include "tr_log.h"
#include "tr_redis.h"

/* Reads per drain at most, so a flood of messages cannot starve the caller. */
#define TR_WAKE_READS_MAX 64

struct tr_wake {
    const tr_config *cfg;                  /* borrowed, outlives the wake */
    redisContext *ctx;                     /* NULL while disconnected; non-blocking once subscribed */
    int nchannels;                         /* one per shard (--shards) */
    char (*channel)[TR_CONFIG_STR_MAX + 32]; /* "{P}:wake", or "{P:i}:wake" for shard i */
    char err[256];
};

tr_wake *tr_wake_new(const tr_config *cfg)
{
    tr_wake *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->cfg = cfg;
    w->nchannels = cfg->shards > 1 ? cfg->shards : 1;
    w->channel = calloc((size_t)w->nchannels, sizeof *w->channel);
    if (w->channel == NULL) {
        free(w);
        return NULL;
    }
    for (int i = 0; i < w->nchannels; i++) {
        if (tr_config_shard_key(cfg, i, "wake", w->channel[i], sizeof w->channel[i]) != 0) {
            free(w->channel);
            free(w);
            return NULL;
        }
    }
    return w;
}

static void wake_close(tr_wake *w)
{
    if (w->ctx != NULL) {
        redisFree(w->ctx);
        w->ctx = NULL;
    }
}

void tr_wake_free(tr_wake *wake)
{
    if (wake == NULL)
        return;
    wake_close(wake);
    free(wake->channel);
    free(wake);
}

const char *tr_wake_error(const tr_wake *wake)
{
    return wake->err;
}

int tr_wake_fd(const tr_wake *wake)
{
    return wake->ctx != NULL ? wake->ctx->fd : -1;
}

/* The connection to subscribe on. On a cluster, the master of shard 0's channel
 * (from a fresh slot map): the scripts PUBLISH, and a cluster delivers a PUBLISH to
 * the subscribers of every node, so one node hears every shard (docs/CLUSTER.md:
 * SSUBSCRIBE per shard would keep that traffic off the cluster bus; not built). */
static redisContext *wake_open(tr_wake *w)
{
    tr_ret code;
    if (w->cfg->cluster[0] == '\0')
        return tr_redis_connect(w->cfg, &code, w->err, sizeof w->err);
    tr_cluster_opts o = {.seeds = w->cfg->cluster,
                         .user = w->cfg->redis_user,
                         .password = w->cfg->redis_password,
                         .timeout_ms = w->cfg->redis_timeout_ms,
                         .max_attempts = 1};
    char err[sizeof w->err];
    tr_cluster *c = tr_cluster_new(&o, &code, err, sizeof err);
    if (c == NULL) {
        snprintf(w->err, sizeof w->err, "redis cluster: %.200s", err);
        return NULL;
    }
    redisContext *ctx = tr_cluster_connect_for_key(c, w->channel[0], strlen(w->channel[0]));
    if (ctx == NULL)
        snprintf(w->err, sizeof w->err, "redis cluster: %s", tr_cluster_errstr(c));
    tr_cluster_free(c); /* the connection is ours */
    return ctx;
}

int tr_wake_connect(tr_wake *wake)
{
    if (wake->ctx != NULL)
        return 0;
    redisContext *ctx = wake_open(wake);
    if (ctx == NULL)
        return -1;
    /* Every shard's channel in one SUBSCRIBE; wait for each confirmation (still
     * blocking, bounded by the timeout): once this returns, every later publish
     * reaches us. */
    const char **argv = malloc(((size_t)wake->nchannels + 1) * sizeof *argv);
    if (argv == NULL) {
        snprintf(wake->err, sizeof wake->err, "wake: out of memory");
        goto fail;
    }
    argv[0] = "SUBSCRIBE";
    for (int i = 0; i < wake->nchannels; i++)
        argv[i + 1] = wake->channel[i];
    int sent = redisAppendCommandArgv(ctx, wake->nchannels + 1, argv, NULL) == REDIS_OK;
    free(argv);
    if (!sent) {
        snprintf(wake->err, sizeof wake->err, "redis SUBSCRIBE: %s", ctx->errstr);
        goto fail;
    }
    for (int i = 0; i < wake->nchannels; i++) {
        void *v = NULL;
        if (redisGetReply(ctx, &v) != REDIS_OK || v == NULL) {
            snprintf(wake->err, sizeof wake->err, "redis SUBSCRIBE: %s", ctx->errstr);
            goto fail;
        }
        redisReply *r = v;
        int ok = r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
                 r->element[0]->type == REDIS_REPLY_STRING &&
                 strcmp(r->element[0]->str, "subscribe") == 0;
        if (!ok)
            snprintf(wake->err, sizeof wake->err, "redis SUBSCRIBE: unexpected reply (type %d)",
                     r->type);
        freeReplyObject(r);
        if (!ok)
            goto fail;
    }
    int flags = fcntl(ctx->fd, F_GETFL);
    if (flags < 0 || fcntl(ctx->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        snprintf(wake->err, sizeof wake->err, "wake: fcntl: %s", strerror(errno));
        goto fail;
    }
    /* hiredis 0.14 treats EAGAIN as an error in blocking mode only: clear the flag
     * so redisBufferRead() reports "no data yet" as success. */
    ctx->flags &= ~REDIS_BLOCK;
    wake->ctx = ctx;
    tr_log_debug("wake: subscribed to %s (%d channels)", wake->channel[0], wake->nchannels);
    return 0;
fail:
    redisFree(ctx);
    return -1;
}

/* Takes one pub/sub reply: 1 for a "message" (and *earliest lowered to its due
 * time when it parses), 0 for anything else (subscribe confirmations). */
static int take_reply(const redisReply *r, int64_t *earliest)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING || strcmp(r->element[0]->str, "message") != 0 ||
        r->element[2]->type != REDIS_REPLY_STRING)
        return 0;
    const redisReply *p = r->element[2];
    char buf[32];
    if (p->len == 0 || p->len >= sizeof buf)
        return 1; /* a wake without a usable time still counts: claim again */
    memcpy(buf, p->str, p->len);
    buf[p->len] = '\0';
    char *end = NULL;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno == 0 && end != buf && *end == '\0' && v >= 0 && v < *earliest)
        *earliest = v;
    return 1;
}

int tr_wake_drain(tr_wake *wake, int64_t *earliest_due_ms)
{
    if (wake->ctx == NULL) {
        snprintf(wake->err, sizeof wake->err, "wake: not connected");
        return -1;
    }
    int64_t earliest = INT64_MAX;
    int count = 0;
    for (int reads = 0; reads < TR_WAKE_READS_MAX; reads++) {
        errno = 0;
        if (redisBufferRead(wake->ctx) != REDIS_OK) {
            snprintf(wake->err, sizeof wake->err, "wake: %s", wake->ctx->errstr);
            wake_close(wake);
            return -1;
        }
        int again = errno == EAGAIN || errno == EWOULDBLOCK; /* nothing more to read */
        void *v = NULL;
        for (;;) {
            if (redisGetReplyFromReader(wake->ctx, &v) != REDIS_OK) {
                snprintf(wake->err, sizeof wake->err, "wake: %s", wake->ctx->errstr);
                wake_close(wake);
                return -1;
            }
            if (v == NULL)
                break;
            count += take_reply(v, &earliest);
            freeReplyObject(v);
        }
        if (again)
            break;
    }
    if (earliest != INT64_MAX)
        *earliest_due_ms = earliest;
    return count;
}
