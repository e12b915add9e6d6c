#include "tr_notify_http.h"

/* A side transfer goes back to the notifier that started it. */
static int side_handled(tr_xfer *x)
{
    if (x->side == NULL)
        return 0;
    x->side(x->side_ctx, x);
    return 1;
}

static int http_start(void *impl, tr_xfer *x)
{
    return tr_deliver_start(impl, x);
}

static tr_xfer *http_done(void *impl)
{
    tr_xfer *x;
    while ((x = tr_deliver_done(impl)) != NULL && side_handled(x))
        ;
    return x;
}

static tr_xfer *http_abort_one(void *impl)
{
    tr_xfer *x;
    while ((x = tr_deliver_abort_one(impl)) != NULL) {
        if (x->side == NULL)
            return x;
        x->result = CURLE_ABORTED_BY_CALLBACK;
        (void)side_handled(x);
    }
    return NULL;
}

static int http_running(const void *impl)
{
    return tr_deliver_running(impl) - tr_deliver_side_running(impl);
}

static int http_perform(void *impl, const struct curl_waitfd *w, size_t n)
{
    (void)w;
    (void)n;
    return tr_deliver_perform(impl);
}

static void http_free(void *impl)
{
    (void)impl; /* the tr_deliver is the loop's */
}

const tr_notifier_ops tr_notify_http_ops = {
    .name = "http",
    .start = http_start,
    .done = http_done,
    .abort_one = http_abort_one,
    .running = http_running,
    .waitfds = NULL,
    .next_ms = NULL,
    .perform = http_perform,
    .free = http_free,
};
