/* tr_xfer_fifo.h - a FIFO of transfers linked by tr_xfer.lnext, for the notifiers
 * that hold deliveries in order (the stream notifiers). The FIFO owns nothing: the
 * transfers stay the notifier's, which pushes and pops them.
 */
#ifndef TR_XFER_FIFO_H
#define TR_XFER_FIFO_H

#include <stddef.h>

#include "tr_deliver.h"

typedef struct tr_xfer_fifo {
    tr_xfer *head, *tail; /* NULL, NULL when empty */
    int count;            /* transfers in it */
} tr_xfer_fifo;

/* Appends x (its lnext is overwritten). */
static inline void tr_xfer_fifo_push(tr_xfer_fifo *q, tr_xfer *x)
{
    x->lnext = NULL;
    if (q->tail != NULL)
        q->tail->lnext = x;
    else
        q->head = x;
    q->tail = x;
    q->count++;
}

/* Takes the oldest transfer out, or NULL when empty. */
static inline tr_xfer *tr_xfer_fifo_pop(tr_xfer_fifo *q)
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

#endif
