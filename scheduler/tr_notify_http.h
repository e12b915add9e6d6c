/* tr_notify_http.h - the HTTP(S) notifier: tr_deliver (libcurl multi, one easy
 * handle per delivery) behind the tr_notifier interface (tr_notifier.h). It adds
 * nothing to a delivery: every option, header, signature and callback is
 * tr_deliver's, as before the interface existed.
 *
 * It also carries other notifiers' side transfers (tr_deliver_connect(): a
 * connect-only transfer that resolves and connects with libcurl, the destination
 * policy checked on the address): those are handed to their x->side callback when
 * they finish or are aborted, never returned by done() or abort_one(), and not
 * counted as running.
 */
#ifndef TR_NOTIFY_HTTP_H
#define TR_NOTIFY_HTTP_H

#include "tr_notifier.h"

/* The operations; impl is the tr_deliver (borrowed: ops->free does not free it). */
extern const tr_notifier_ops tr_notify_http_ops;

#endif
