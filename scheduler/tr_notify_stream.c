#include "tr_notify_stream.h"

#include <stdio.h>
#include <stdlib.h>

#include "tr_clock.h"
#include "tr_url.h"
#include "tr_xfer_fifo.h"

struct tr_notify_stream {
    tr_deliver *dl;          /* the pool (borrowed) */
    tr_xfer_fifo done;       /* finished, not handed back yet */
};

tr_notify_stream *tr_notify_stream_new(tr_deliver *dl)
{
    tr_notify_stream *t = calloc(1, sizeof *t);
    if (t != NULL)
        t->dl = dl;
    return t;
}

int tr_notify_stream_in_ack(const tr_config *cfg)
{
    return cfg->stream_redis[0] == '\0' && cfg->cluster[0] == '\0';
}

static int stream_start(void *impl, tr_xfer *x)
{
    tr_notify_stream *t = impl;
    char msg[160];
    /* tr_dests checked the name already; a second look costs little. */
    if (tr_url_stream_name(x->spec.url, "callback", msg, sizeof msg) == NULL) {
        snprintf(x->errbuf, sizeof x->errbuf, "%s", msg);
        return -1;
    }
    x->start_mono_ms = tr_clock_mono_ms();
    /* Done now, as a 2xx with no body: the entry is written with the ack. */
    tr_xfer_fifo_finish(&t->done, x, CURLE_OK, "");
    return 0;
}

static tr_xfer *stream_done(void *impl)
{
    tr_notify_stream *t = impl;
    return tr_xfer_fifo_pop(&t->done);
}

/* Nothing is ever unfinished: what is held is done, and going back undecided
 * (released, due again at once) is as safe for it as for any other. */
static tr_xfer *stream_abort_one(void *impl)
{
    return stream_done(impl);
}

static int stream_running(const void *impl)
{
    const tr_notify_stream *t = impl;
    return t->done.count;
}

/* Finished deliveries waiting: the loop must not sleep before collecting them. */
static int64_t stream_next_ms(const void *impl)
{
    const tr_notify_stream *t = impl;
    return t->done.head != NULL ? 0 : -1;
}

static int stream_perform(void *impl, const struct curl_waitfd *w, size_t n)
{
    (void)impl;
    (void)w;
    (void)n;
    return 0;
}

static void stream_free(void *impl)
{
    tr_notify_stream *t = impl;
    if (t == NULL)
        return;
    tr_xfer *x;
    while ((x = stream_done(t)) != NULL)
        tr_deliver_xfer_put(t->dl, x);
    free(t);
}

const tr_notifier_ops tr_notify_stream_ops = {
    .name = "stream",
    .start = stream_start,
    .done = stream_done,
    .abort_one = stream_abort_one,
    .running = stream_running,
    .waitfds = NULL,
    .next_ms = stream_next_ms,
    .perform = stream_perform,
    .free = stream_free,
};
