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

/* Reads per connection and drain at most, so a flood of messages cannot starve
 * the caller. */
#define TR_WAKE_READS_MAX 64
/* Passes of tr_wake_connect on a cluster: the second one, with a new slot map,
 * for the channels answered -MOVED in the first. */
#define TR_WAKE_PASSES 2

#define NODE_MAX (TR_CLUSTER_HOST_MAX + 8) /* "host:port" */

/* One connection: every channel served by one master (one Redis: all of them). */
typedef struct wake_part {
    redisContext *ctx;      /* NULL: the slot is free; non-blocking once subscribed */
    char node[NODE_MAX];    /* "host:port" of its master on a cluster; "" on one Redis */
} wake_part;

struct tr_wake {
    const tr_config *cfg;                  /* borrowed, outlives the wake */
    int sharded;                           /* a cluster: SSUBSCRIBE per master */
    int nchannels;                         /* one per shard (--shards) */
    char (*channel)[TR_CONFIG_STR_MAX + 32]; /* "{P}:wake", or "{P:i}:wake" for shard i */
    int *part_of;                          /* channel i's part, -1 while not subscribed */
    wake_part part[TR_WAKE_FDS_MAX];
    int (*gone)(void *arg, const char *host, int port); /* masters to leave alone; NULL */
    void *gone_arg;                        /* borrowed */
    char err[256];
};

tr_wake *tr_wake_new(const tr_config *cfg)
{
    tr_wake *w = calloc(1, sizeof *w);
    if (w == NULL)
        return NULL;
    w->cfg = cfg;
    w->sharded = cfg->cluster[0] != '\0';
    w->nchannels = cfg->shards > 1 ? cfg->shards : 1;
    w->channel = calloc((size_t)w->nchannels, sizeof *w->channel);
    w->part_of = malloc((size_t)w->nchannels * sizeof *w->part_of);
    if (w->channel == NULL || w->part_of == NULL)
        goto fail;
    for (int i = 0; i < w->nchannels; i++) {
        w->part_of[i] = -1;
        if (tr_config_shard_key(cfg, i, "wake", w->channel[i], sizeof w->channel[i]) != 0)
            goto fail;
    }
    return w;
fail:
    free(w->part_of);
    free(w->channel);
    free(w);
    return NULL;
}

/* Closes part p; its channels are to be subscribed again. */
static void part_close(tr_wake *w, int p)
{
    if (w->part[p].ctx != NULL) {
        redisFree(w->part[p].ctx);
        w->part[p].ctx = NULL;
    }
    w->part[p].node[0] = '\0';
    for (int i = 0; i < w->nchannels; i++)
        if (w->part_of[i] == p)
            w->part_of[i] = -1;
}

void tr_wake_free(tr_wake *wake)
{
    if (wake == NULL)
        return;
    for (int p = 0; p < TR_WAKE_FDS_MAX; p++)
        part_close(wake, p);
    free(wake->part_of);
    free(wake->channel);
    free(wake);
}

void tr_wake_set_gone(tr_wake *wake, int (*gone)(void *arg, const char *host, int port),
                      void *arg)
{
    wake->gone = gone;
    wake->gone_arg = arg;
}

const char *tr_wake_error(const tr_wake *wake)
{
    return wake->err;
}

int tr_wake_up(const tr_wake *wake)
{
    for (int i = 0; i < wake->nchannels; i++)
        if (wake->part_of[i] < 0)
            return 0;
    return 1;
}

int tr_wake_fds(const tr_wake *wake, int *fds, int max)
{
    int n = 0;
    for (int p = 0; p < TR_WAKE_FDS_MAX && n < max; p++)
        if (wake->part[p].ctx != NULL)
            fds[n++] = wake->part[p].ctx->fd;
    return n;
}

/* A subscribed connection becomes non-blocking, for the poll. 0 or -1. */
static int make_nonblocking(tr_wake *w, redisContext *ctx)
{
    int flags = fcntl(ctx->fd, F_GETFL);
    if (flags < 0 || fcntl(ctx->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
        snprintf(w->err, sizeof w->err, "wake: fcntl: %s", strerror(errno));
        return -1;
    }
    /* hiredis 0.14 treats EAGAIN as an error in blocking mode only: clear the flag
     * so redisBufferRead() reports "no data yet" as success. */
    ctx->flags &= ~REDIS_BLOCK;
    return 0;
}

/* A pub/sub push of that kind: ["subscribe"/"ssubscribe", channel, count] (a
 * confirmation), ["smessage", channel, payload], ... */
static int is_push(const redisReply *r, const char *kind)
{
    return r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
           r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, kind) == 0;
}

/* One Redis: every shard's channel in one SUBSCRIBE on one connection (part 0),
 * each confirmation awaited: once this returns, every later publish reaches us. */
static int connect_one(tr_wake *w)
{
    tr_ret code;
    redisContext *ctx = tr_redis_connect(w->cfg, &code, w->err, sizeof w->err);
    if (ctx == NULL)
        return -1;
    const char **argv = malloc(((size_t)w->nchannels + 1) * sizeof *argv);
    if (argv == NULL) {
        snprintf(w->err, sizeof w->err, "wake: out of memory");
        goto fail;
    }
    argv[0] = "SUBSCRIBE";
    for (int i = 0; i < w->nchannels; i++)
        argv[i + 1] = w->channel[i];
    int sent = redisAppendCommandArgv(ctx, w->nchannels + 1, argv, NULL) == REDIS_OK;
    free(argv);
    if (!sent) {
        snprintf(w->err, sizeof w->err, "redis SUBSCRIBE: %s", ctx->errstr);
        goto fail;
    }
    for (int i = 0; i < w->nchannels; i++) {
        void *v = NULL;
        if (redisGetReply(ctx, &v) != REDIS_OK || v == NULL) {
            snprintf(w->err, sizeof w->err, "redis SUBSCRIBE: %s", ctx->errstr);
            goto fail;
        }
        redisReply *r = v;
        int ok = is_push(r, "subscribe");
        if (!ok)
            snprintf(w->err, sizeof w->err, "redis SUBSCRIBE: unexpected reply (type %d)",
                     r->type);
        freeReplyObject(r);
        if (!ok)
            goto fail;
    }
    if (make_nonblocking(w, ctx) != 0)
        goto fail;
    w->part[0].ctx = ctx;
    for (int i = 0; i < w->nchannels; i++)
        w->part_of[i] = 0;
    tr_log_debug("wake: subscribed to %s (%d channels)", w->channel[0], w->nchannels);
    return 0;
fail:
    redisFree(ctx);
    return -1;
}

/* The master serving channel i's slot per c's map, as "host:port" in node; *gone
 * when the caller's gone() names it. 0 or -1. */
static int channel_node(tr_cluster *c, const tr_wake *w, int i, char *node, size_t len,
                        int *gone)
{
    const char *host;
    int port;
    if (tr_cluster_slot_node(c, tr_cluster_keyslot(w->channel[i], strlen(w->channel[i])), &host,
                             &port) != 0)
        return -1;
    *gone = w->gone != NULL && w->gone(w->gone_arg, host, port);
    int n = snprintf(node, len, "%s:%d", host, port);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

/* seeds_gone_last's walk over the seeds: one pass appends those gone() names
 * (gone_pass 1) or the others (0). */
typedef struct seed_walk {
    const tr_wake *w;
    int gone_pass;
    char *out;
    size_t len, used;
} seed_walk;

static int seed_append(void *arg, const char *host, size_t hostlen, int port, char *err,
                       size_t errlen)
{
    (void)err;
    (void)errlen;
    seed_walk *sw = arg;
    char h[TR_CLUSTER_HOST_MAX];
    snprintf(h, sizeof h, "%.*s", (int)hostlen, host); /* the reader bounds hostlen */
    int gone = sw->w->gone != NULL && sw->w->gone(sw->w->gone_arg, h, port);
    if (gone != sw->gone_pass)
        return 0;
    int n = snprintf(sw->out + sw->used, sw->len - sw->used, "%s%s:%d", sw->used > 0 ? "," : "",
                     h, port);
    if (n > 0 && (size_t)n < sw->len - sw->used)
        sw->used += (size_t)n;
    else
        sw->out[sw->used] = '\0'; /* cannot happen: the list is as long as --cluster */
    return 0;
}

/* --cluster's seeds into out (len bytes), those gone() names last: the map is
 * loaded from the first seed that answers, and a stopped one would make it wait
 * --redis-timeout-ms. The seeds as given when they cannot be read (tr_cluster_new
 * then says why). */
static void seeds_gone_last(const tr_wake *w, char *out, size_t len)
{
    seed_walk sw = {.w = w, .out = out, .len = len, .used = 0};
    char err[256];
    out[0] = '\0';
    for (sw.gone_pass = 0; sw.gone_pass < 2; sw.gone_pass++)
        if (tr_cluster_seeds_each(w->cfg->cluster, seed_append, &sw, err, sizeof err) != 0) {
            snprintf(out, len, "%s", w->cfg->cluster);
            return;
        }
}

/* The part for master `node`: the one held (closed first: its channels join the
 * new connection, one connection per master), else a free one; -1 when all
 * TR_WAKE_FDS_MAX are taken by other masters. */
static int part_for(tr_wake *w, const char *node)
{
    int free_p = -1;
    for (int p = 0; p < TR_WAKE_FDS_MAX; p++) {
        if (w->part[p].ctx != NULL && strcmp(w->part[p].node, node) == 0) {
            part_close(w, p);
            return p;
        }
        if (w->part[p].ctx == NULL && free_p < 0)
            free_p = p;
    }
    return free_p;
}

/* Connects part p to master `node` and SSUBSCRIBEs there the channels marked in
 * want[] (one command each, pipelined, every confirmation awaited). The channels
 * confirmed join the part; one answered -MOVED (or any error) stays unsubscribed
 * and sets *moved. 0 when at least one joined, -1 when none did (the part is left
 * closed). */
static int subscribe_part(tr_wake *w, tr_cluster *c, int p, const char *node,
                          const unsigned char *want, int *moved)
{
    int first = -1;
    for (int i = 0; i < w->nchannels && first < 0; i++)
        if (want[i])
            first = i;
    redisContext *ctx = tr_cluster_connect_for_key(c, w->channel[first], strlen(w->channel[first]));
    if (ctx == NULL) {
        snprintf(w->err, sizeof w->err, "wake: master %s: %.200s", node, tr_cluster_errstr(c));
        return -1;
    }
    int asked = 0, joined = 0;
    for (int i = 0; i < w->nchannels; i++) {
        if (!want[i])
            continue;
        const char *argv[] = {"SSUBSCRIBE", w->channel[i]};
        if (redisAppendCommandArgv(ctx, 2, argv, NULL) != REDIS_OK) {
            snprintf(w->err, sizeof w->err, "wake: master %s: SSUBSCRIBE: %s", node, ctx->errstr);
            goto fail;
        }
        asked++;
    }
    /* The answers come in the order asked. A message on a channel confirmed already
     * may come between them (the commands may reach Redis in several reads): it is
     * dropped, the caller claims after connecting anyway. */
    for (int i = -1, got = 0; got < asked;) {
        void *v = NULL;
        if (redisGetReply(ctx, &v) != REDIS_OK || v == NULL) {
            snprintf(w->err, sizeof w->err, "wake: master %s: SSUBSCRIBE: %s", node, ctx->errstr);
            goto fail;
        }
        redisReply *r = v;
        if (is_push(r, "smessage")) {
            freeReplyObject(r);
            continue;
        }
        do
            i++;
        while (!want[i]);
        got++;
        if (is_push(r, "ssubscribe")) {
            w->part_of[i] = p;
            joined++;
        } else {
            if (r->type == REDIS_REPLY_ERROR && r->len >= 5 && memcmp(r->str, "MOVED", 5) == 0)
                *moved = 1; /* the map was stale: the next pass has a new one */
            if (r->type == REDIS_REPLY_ERROR)
                snprintf(w->err, sizeof w->err, "wake: master %s: SSUBSCRIBE %s: %.120s", node,
                         w->channel[i], r->str);
            else
                snprintf(w->err, sizeof w->err,
                         "wake: master %s: SSUBSCRIBE %s: unexpected reply (type %d)", node,
                         w->channel[i], r->type);
        }
        freeReplyObject(r);
    }
    if (joined == 0 || make_nonblocking(w, ctx) != 0)
        goto fail;
    w->part[p].ctx = ctx;
    snprintf(w->part[p].node, sizeof w->part[p].node, "%s", node);
    tr_log_debug("wake: %d of %d channels subscribed on master %s", joined, asked, node);
    return 0;
fail:
    for (int i = 0; i < w->nchannels; i++)
        if (w->part_of[i] == p)
            w->part_of[i] = -1;
    redisFree(ctx);
    return -1;
}

/* One pass on a cluster: a fresh map, then each master serving a channel not
 * subscribed gets its connection. 0 when every channel is subscribed after it, -1
 * otherwise; *moved when a master answered -MOVED. */
static int cluster_pass(tr_wake *w, int *moved)
{
    char seeds[sizeof w->cfg->cluster];
    seeds_gone_last(w, seeds, sizeof seeds);
    tr_cluster_opts o = {.seeds = seeds,
                         .user = w->cfg->redis_user,
                         .password = w->cfg->redis_password,
                         .timeout_ms = w->cfg->redis_timeout_ms,
                         .max_attempts = 1};
    tr_ret code;
    char err[sizeof w->err];
    tr_cluster *c = tr_cluster_new(&o, &code, err, sizeof err);
    if (c == NULL) {
        snprintf(w->err, sizeof w->err, "redis cluster: %.200s", err);
        return -1;
    }
    unsigned char *want = malloc((size_t)w->nchannels);
    int *gone = malloc((size_t)w->nchannels * sizeof *gone);
    char(*node)[NODE_MAX] = malloc((size_t)w->nchannels * sizeof *node);
    if (want == NULL || gone == NULL || node == NULL) {
        snprintf(w->err, sizeof w->err, "wake: out of memory");
        goto done;
    }
    for (int i = 0; i < w->nchannels; i++)
        if (channel_node(c, w, i, node[i], sizeof node[i], &gone[i]) != 0)
            node[i][0] = '\0'; /* no master known for its slot now */
    for (int i = 0; i < w->nchannels; i++) {
        if (w->part_of[i] >= 0)
            continue;
        if (node[i][0] == '\0') {
            snprintf(w->err, sizeof w->err, "wake: no master serves %s's slot", w->channel[i]);
            continue;
        }
        if (gone[i]) {
            /* Given up by the store: a connect there would wait for it. */
            snprintf(w->err, sizeof w->err,
                     "wake: master %s given up for now: its channels wait for it", node[i]);
            continue;
        }
        int p = part_for(w, node[i]); /* may release channels of that master: below */
        if (p < 0) {
            snprintf(w->err, sizeof w->err, "wake: more than %d masters: %s not subscribed",
                     TR_WAKE_FDS_MAX, w->channel[i]);
            continue;
        }
        for (int j = 0; j < w->nchannels; j++)
            want[j] = w->part_of[j] < 0 && strcmp(node[j], node[i]) == 0;
        /* A master that fails leaves only its own channels: the next goes on. */
        (void)subscribe_part(w, c, p, node[i], want, moved);
        for (int j = 0; j < w->nchannels; j++)
            if (want[j] && w->part_of[j] < 0)
                node[j][0] = '\0'; /* not again in this pass */
        /* Scan again from the start: a connection closed by part_for may have held
         * channels the new map gives another master, earlier in the list. Each
         * round settles a master for the pass, so this ends. */
        i = -1;
    }
done:
    free(node);
    free(gone);
    free(want);
    tr_cluster_free(c); /* the connections are ours */
    return tr_wake_up(w) ? 0 : -1;
}

int tr_wake_connect(tr_wake *wake)
{
    if (tr_wake_up(wake))
        return 0;
    if (!wake->sharded)
        return connect_one(wake);
    for (int pass = 0; pass < TR_WAKE_PASSES; pass++) {
        int moved = 0;
        if (cluster_pass(wake, &moved) == 0)
            return 0;
        if (!moved)
            break;
    }
    return -1;
}

/* Channel named by r's element 1: its index, or -1. */
static int channel_index(const tr_wake *w, const redisReply *name)
{
    if (name->type != REDIS_REPLY_STRING)
        return -1;
    for (int i = 0; i < w->nchannels; i++)
        if (strlen(w->channel[i]) == name->len && memcmp(w->channel[i], name->str, name->len) == 0)
            return i;
    return -1;
}

/* Takes one pub/sub reply of part p: 1 for a "message" or "smessage" (and
 * *earliest lowered to its due time when it parses), -1 for a "sunsubscribe" (Redis
 * dropped a channel: its slot left the master; the channel is marked to subscribe
 * again), 0 for anything else (confirmations). */
static int take_reply(tr_wake *w, int p, const redisReply *r, int64_t *earliest)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING)
        return 0;
    const char *kind = r->element[0]->str;
    if (strcmp(kind, "sunsubscribe") == 0) {
        int i = channel_index(w, r->element[1]);
        if (i >= 0 && w->part_of[i] == p) {
            w->part_of[i] = -1;
            snprintf(w->err, sizeof w->err, "wake: %s dropped by master %s (its slot moved)",
                     w->channel[i], w->part[p].node);
        }
        return -1;
    }
    if ((strcmp(kind, "message") != 0 && strcmp(kind, "smessage") != 0) ||
        r->element[2]->type != REDIS_REPLY_STRING)
        return 0;
    const redisReply *m = r->element[2];
    char buf[32];
    if (m->len == 0 || m->len >= sizeof buf)
        return 1; /* a wake without a usable time still counts: claim again */
    memcpy(buf, m->str, m->len);
    buf[m->len] = '\0';
    char *end = NULL;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno == 0 && end != buf && *end == '\0' && v >= 0 && v < *earliest)
        *earliest = v;
    return 1;
}

/* Reads what part p has. Messages counted into *count; -1 when a channel was lost
 * (the connection broke: the part is closed; or a sunsubscribe), else 0. */
static int drain_part(tr_wake *w, int p, int *count, int64_t *earliest)
{
    redisContext *ctx = w->part[p].ctx;
    int lost = 0;
    for (int reads = 0; reads < TR_WAKE_READS_MAX; reads++) {
        errno = 0;
        if (redisBufferRead(ctx) != REDIS_OK)
            goto broken;
        int again = errno == EAGAIN || errno == EWOULDBLOCK; /* nothing more to read */
        for (;;) {
            void *v = NULL;
            if (redisGetReplyFromReader(ctx, &v) != REDIS_OK)
                goto broken;
            if (v == NULL)
                break;
            int k = take_reply(w, p, v, earliest);
            freeReplyObject(v);
            if (k < 0)
                lost = 1;
            else
                *count += k;
        }
        if (again)
            break;
    }
    return lost ? -1 : 0;
broken:
    if (w->part[p].node[0] != '\0')
        snprintf(w->err, sizeof w->err, "wake: master %s: %s", w->part[p].node, ctx->errstr);
    else
        snprintf(w->err, sizeof w->err, "wake: %s", ctx->errstr);
    part_close(w, p);
    return -1;
}

int tr_wake_drain(tr_wake *wake, const int *fds, const int *ready, int n,
                  int64_t *earliest_due_ms)
{
    int64_t earliest = INT64_MAX;
    int count = 0, lost = 0;
    for (int p = 0; p < TR_WAKE_FDS_MAX; p++) {
        if (wake->part[p].ctx == NULL)
            continue;
        int is_ready = 0;
        for (int k = 0; k < n && !is_ready; k++)
            is_ready = ready[k] && fds[k] == wake->part[p].ctx->fd;
        if (is_ready && drain_part(wake, p, &count, &earliest) != 0)
            lost = 1; /* the other parts are still read */
    }
    if (earliest != INT64_MAX)
        *earliest_due_ms = earliest;
    return lost ? -1 : count;
}
