#include "tr_notify_cstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_clock.h"
#include "tr_cluster.h"
#include "tr_log.h"
#include "tr_stream_entry.h"
#include "tr_url.h"
#include "tr_xfer_fifo.h"

#define BATCH 64 /* entries per pipeline: one round trip, a bounded write */
#define KEY_MAX (TR_CONFIG_STR_MAX + TR_URL_STREAM_MAX + 16)

typedef struct cs_item {
    tr_xfer *x;
    char key[KEY_MAX];      /* {P}:stream:NAME */
    tr_stream_entry e;
} cs_item;

struct tr_notify_cstream {
    const tr_config *cfg;   /* borrowed */
    tr_deliver *dl;         /* the pool (borrowed) */
    tr_store *store;        /* borrowed: its cluster client sends the writes */
    tr_xfer_fifo queued;    /* started, not written yet */
    tr_xfer_fifo done;      /* finished, not handed back yet */
    cs_item batch[BATCH];   /* one pipeline's entries, while it is written */
};

tr_notify_cstream *tr_notify_cstream_new(const tr_config *cfg, tr_deliver *dl, tr_store *store)
{
    tr_notify_cstream *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->cfg = cfg;
    t->dl = dl;
    t->store = store;
    return t;
}

static int cs_start(void *impl, tr_xfer *x)
{
    tr_notify_cstream *t = impl;
    char msg[160];
    /* tr_dests checked the name already; the write needs it anyway. */
    if (tr_url_stream_name(x->spec.url, "callback", msg, sizeof msg) == NULL) {
        snprintf(x->errbuf, sizeof x->errbuf, "%s", msg);
        return -1;
    }
    x->start_mono_ms = tr_clock_mono_ms();
    x->errbuf[0] = '\0';
    tr_xfer_fifo_push(&t->queued, x);
    return 0;
}

/* Fails every queued delivery with why (the cluster could not be reached: the
 * ones behind would wait for the same retries). */
static void fail_queued(tr_notify_cstream *t, const char *why)
{
    tr_xfer *x;
    if (t->queued.count > 0)
        tr_log_debug("stream on the redis cluster: %s (%d deliveries failed)", why,
                     t->queued.count);
    while ((x = tr_xfer_fifo_pop(&t->queued)) != NULL)
        tr_xfer_fifo_finish(&t->done, x, CURLE_SEND_ERROR, why);
}

/* Takes up to BATCH queued deliveries into t->batch, their writes made; a delivery
 * whose write cannot be made fails alone. Returns how many. */
static size_t take_batch(tr_notify_cstream *t)
{
    size_t n = 0;
    tr_xfer *x;
    while (n < BATCH && (x = tr_xfer_fifo_pop(&t->queued)) != NULL) {
        cs_item *it = &t->batch[n];
        char suffix[TR_URL_STREAM_MAX + 16];
        snprintf(suffix, sizeof suffix, "stream:%s",
                 tr_url_stream_name(x->spec.url, "callback", NULL, 0));
        if (tr_config_redis_key(t->cfg, suffix, it->key, sizeof it->key) != 0 ||
            tr_stream_entry_make(&it->e, t->cfg, it->key, x) != 0) {
            tr_xfer_fifo_finish(&t->done, x, CURLE_OUT_OF_MEMORY,
                                "stream on the redis cluster: key too long or out of memory");
            continue;
        }
        it->x = x;
        n++;
    }
    return n;
}

/* Writes one batch as one pipeline on the {P} slot. 0, or -1 when the cluster gave
 * no answer (every delivery of the batch failed with why). */
static int write_batch(tr_notify_cstream *t, tr_cluster *cl, size_t n, char *why, size_t len)
{
    tr_cluster_cmd cmds[BATCH];
    redisReply *replies[BATCH];
    unsigned flags = 0;
    for (size_t i = 0; i < n; i++) {
        cs_item *it = &t->batch[i];
        cmds[i] = (tr_cluster_cmd){.argc = it->e.argc, .argv = it->e.argv,
                                   .argvlen = it->e.argvlen};
        /* Every entry is made with the same --stream-dedupe-ms. */
        flags = it->e.idempotent ? TR_CLUSTER_IDEMPOTENT : 0;
    }
    int rc = tr_cluster_pipeline(cl, t->batch[0].key, strlen(t->batch[0].key), n, cmds,
                                 replies, flags);
    if (rc != 0)
        snprintf(why, len, "stream on the redis cluster: %s%s", tr_cluster_errstr(cl),
                 tr_cluster_err(cl) == TR_RET_OUTCOME_UNKNOWN ? " (may be written)" : "");
    for (size_t i = 0; i < n; i++) {
        cs_item *it = &t->batch[i];
        char err[CURL_ERROR_SIZE];
        if (rc != 0)
            tr_xfer_fifo_finish(&t->done, it->x, CURLE_SEND_ERROR, why);
        else if (tr_stream_entry_written(replies[i], "stream on the redis cluster", err,
                                         sizeof err) == 0)
            tr_xfer_fifo_finish(&t->done, it->x, CURLE_OK, "");
        else
            tr_xfer_fifo_finish(&t->done, it->x, CURLE_WEIRD_SERVER_REPLY, err);
        if (rc == 0)
            freeReplyObject(replies[i]);
        tr_stream_entry_clear(&it->e);
        it->x = NULL;
    }
    return rc;
}

static int cs_perform(void *impl, const struct curl_waitfd *w, size_t nw)
{
    tr_notify_cstream *t = impl;
    (void)w;
    (void)nw;
    char why[CURL_ERROR_SIZE];
    if (t->queued.head == NULL)
        return 0;
    tr_cluster *cl = tr_store_cluster(t->store);
    if (cl == NULL) {
        snprintf(why, sizeof why, "stream on the redis cluster: %.200s", tr_store_error(t->store));
        fail_queued(t, why);
        return 0;
    }
    size_t n;
    while ((n = take_batch(t)) > 0) {
        if (write_batch(t, cl, n, why, sizeof why) != 0) {
            fail_queued(t, why);
            break;
        }
    }
    return 0;
}

static tr_xfer *cs_done(void *impl)
{
    tr_notify_cstream *t = impl;
    return tr_xfer_fifo_pop(&t->done);
}

/* Finished ones first; then a queued one, undecided (shutdown: released, nothing
 * was written for it). */
static tr_xfer *cs_abort_one(void *impl)
{
    tr_notify_cstream *t = impl;
    tr_xfer *x = tr_xfer_fifo_pop(&t->done);
    return x != NULL ? x : tr_xfer_fifo_pop(&t->queued);
}

static int cs_running(const void *impl)
{
    const tr_notify_cstream *t = impl;
    return t->queued.count + t->done.count;
}

/* Queued or finished deliveries: the loop must call perform() or collect now. */
static int64_t cs_next_ms(const void *impl)
{
    const tr_notify_cstream *t = impl;
    return t->queued.head != NULL || t->done.head != NULL ? 0 : -1;
}

static void cs_free(void *impl)
{
    tr_notify_cstream *t = impl;
    if (t == NULL)
        return;
    tr_xfer *x;
    while ((x = cs_abort_one(t)) != NULL)
        tr_deliver_xfer_put(t->dl, x);
    free(t);
}

const tr_notifier_ops tr_notify_cstream_ops = {
    .name = "stream (redis cluster)",
    .start = cs_start,
    .done = cs_done,
    .abort_one = cs_abort_one,
    .running = cs_running,
    .waitfds = NULL,
    .next_ms = cs_next_ms,
    .perform = cs_perform,
    .free = cs_free,
};
