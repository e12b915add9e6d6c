/* tr_xfer_fifo.h - a FIFO of transfers linked by tr_xfer.lnext, for the notifiers
 * that hold deliveries in order (the stream notifiers), and the outcome those
 * notifiers report (tr_notifier.h). The FIFO owns nothing: the transfers stay the
 * notifier's, which pushes and pops them.
 */
#ifndef TR_XFER_FIFO_H
#define TR_XFER_FIFO_H

#include <curl/curl.h>

#include "tr_deliver.h"

typedef struct tr_xfer_fifo {
    tr_xfer *head, *tail; /* NULL, NULL when empty */
    int count;            /* transfers in it */
} tr_xfer_fifo;

/* Appends x (its lnext is overwritten). */
void tr_xfer_fifo_push(tr_xfer_fifo *q, tr_xfer *x);

/* Takes the oldest transfer out, or NULL when empty. */
tr_xfer *tr_xfer_fifo_pop(tr_xfer_fifo *q);

/* Sets x's outcome, ended now, and appends it to q (the finished ones): result
 * CURLE_OK is a 2xx with no body (plain done, never a chain: tr_answer.h); any other
 * result a failed delivery, retried, with why (copied) as its error. */
void tr_xfer_fifo_finish(tr_xfer_fifo *q, tr_xfer *x, CURLcode result, const char *why);

#endif
