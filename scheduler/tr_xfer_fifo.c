#include "tr_xfer_fifo.h"

#include <stdio.h>

#include "tr_clock.h"

void tr_xfer_fifo_push(tr_xfer_fifo *q, tr_xfer *x)
{
    x->lnext = NULL;
    if (q->tail != NULL)
        q->tail->lnext = x;
    else
        q->head = x;
    q->tail = x;
    q->count++;
}

tr_xfer *tr_xfer_fifo_pop(tr_xfer_fifo *q)
{
    tr_xfer *x = q->head;
    if (x == NULL)
        return NULL;
    q->head = x->lnext;
    if (q->head == NULL)
        q->tail = NULL;
    x->lnext = NULL;
    q->count--;
    return x;
}

void tr_xfer_fifo_finish(tr_xfer_fifo *q, tr_xfer *x, CURLcode result, const char *why)
{
    x->end_mono_ms = tr_clock_mono_ms();
    x->result = result;
    x->status = result == CURLE_OK ? 200 : 0;
    x->body_len = x->body_dropped = 0;
    x->retry_after[0] = '\0';
    x->refused = NULL;
    snprintf(x->errbuf, sizeof x->errbuf, "%s", why);
    tr_xfer_fifo_push(q, x);
}
