/* tr_notifier.h - the notifier interface: how one claimed timer reaches its
 * receiver. The original TimeRush calls this piece the "Interface" and the store
 * (shared/tr_store*) the "Backend"; the loop (tr_sched_loop.c) talks to the store
 * for claims and outcomes and to notifiers for deliveries, never to a transport.
 *
 * A notifier is a table of functions over its own state. It is event-loop
 * friendly: nothing it does blocks, there is no thread per delivery; it names the
 * file descriptors it waits on and the time by which it must be called again, and
 * the loop polls them together with the store's and the wake line's.
 *
 * The life of a delivery (a tr_xfer, tr_deliver.h: timer key, attempt, due time,
 * data and target in x->id, x->attempt, x->fire_due_ms, x->spec):
 *   start(x)      begins it. 0: the notifier owns x until done() or abort_one()
 *                 hands it back; -1: x->errbuf says why, x is still the caller's
 *                 (the loop queues a retry).
 *   done()        the next finished delivery, its outcome reported in x (below),
 *                 or NULL.
 *   abort_one()   any unfinished delivery, taken back undecided (shutdown: the loop
 *                 releases it, due again at once), or NULL. Cancelling is this.
 * The outcome report, in the tr_xfer handed back by done() (tr_outcome.c turns it
 * into the finish written to the store, the same way for every notifier):
 *   result CURLE_OK, status 2xx, body       the receiver's answer (tr_answer.h):
 *                                           done, done + chain, or retry;
 *   result CURLE_OK, status 429/503, retry_after   retry, no sooner than asked;
 *   result != CURLE_OK, errbuf              retry with back-off (the transport
 *                                           failed; result also feeds the
 *                                           destination's breaker, tr_dest.h);
 *   result != CURLE_OK, refused set         permanent failure: dead at once (the
 *                                           destination policy refused the address).
 *   end_mono_ms is set; start_mono_ms was set by start().
 * A notifier whose delivery is a write that must be atomic with the ack (the Redis
 * stream notifier, tr_notify_stream.h) reports "done" at once (CURLE_OK, 200, no
 * body) and tr_outcome carries the write in the finish it queues, so the store
 * applies both in one script.
 *
 * The set (tr_notifiers) picks a delivery's notifier by its target's scheme:
 * http:// and https:// go to the HTTP notifier (tr_notify_http.c, libcurl multi);
 * the others (tcp, redis-stream), once registered, to theirs. The HTTP notifier's libcurl multi handle
 * is the poller of the whole set (curl_multi_poll() with every other fd as an extra
 * fd), so libcurl keeps its own socket handling.
 *
 * Ownership: the set owns its notifiers (freed by tr_notifiers_free()); the
 * tr_deliver it is made over stays the caller's and must outlive the set.
 */
#ifndef TR_NOTIFIER_H
#define TR_NOTIFIER_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "tr_deliver.h"

typedef struct tr_notifier_ops {
    const char *name; /* "http", "tcp": for the log */
    /* Begins delivering x; see above. */
    int (*start)(void *impl, tr_xfer *x);
    /* The next finished delivery, or NULL. */
    tr_xfer *(*done)(void *impl);
    /* Any unfinished delivery, or NULL. */
    tr_xfer *(*abort_one)(void *impl);
    /* Deliveries started and not handed back. */
    int (*running)(const void *impl);
    /* The fds it waits on: fills out[0..min(return, max)) with fd and events
     * (CURL_WAIT_POLLIN/POLLOUT) and returns how many it has (called again with
     * more room when that is over max). NULL: none (libcurl's own). */
    size_t (*waitfds)(void *impl, struct curl_waitfd *out, size_t max);
    /* Local monotonic ms by which perform() must run again (a timeout), or -1. */
    int64_t (*next_ms)(const void *impl);
    /* Does what can be done now without blocking; w[0..n) are the fds waitfds()
     * gave, with revents filled by the poll (n 0: a timer-only call). 0 or -1 (the
     * notifier cannot go on: the loop stops). */
    int (*perform)(void *impl, const struct curl_waitfd *w, size_t n);
    void (*free)(void *impl);
} tr_notifier_ops;

typedef struct tr_notifiers tr_notifiers;

/* The set over dl, with the HTTP notifier in it. NULL when out of memory. */
tr_notifiers *tr_notifiers_new(tr_deliver *dl);

/* Adds a notifier for targets that tr_notifiers_kind() calls `kind`; the set owns
 * impl from now on (ops->free frees it), also when this fails. 0 or -1. */
typedef enum tr_notify_kind {
    TR_NOTIFY_HTTP = 0, /* http://, https:// */
    TR_NOTIFY_TCP = 1,  /* tcp://HOST:PORT, bare HOST:PORT (tr_url.h) */
    TR_NOTIFY_STREAM = 2, /* redis-stream://NAME (tr_notify_stream.h) */
    TR_NOTIFY_KINDS = 3
} tr_notify_kind;
int tr_notifiers_add(tr_notifiers *ns, tr_notify_kind kind, const tr_notifier_ops *ops,
                     void *impl);

/* Which kind of notifier delivers to `url`. */
tr_notify_kind tr_notifiers_kind(const char *url);

/* Frees every notifier (deliveries they still hold go back to the tr_deliver's
 * pool) and the set. Takes NULL. */
void tr_notifiers_free(tr_notifiers *ns);

/* Starts x with the notifier of x->spec.url; 0, or -1 with x->errbuf (x stays the
 * caller's). */
int tr_notifiers_start(tr_notifiers *ns, tr_xfer *x);

/* The next finished delivery of any notifier, or NULL. */
tr_xfer *tr_notifiers_done(tr_notifiers *ns);

/* Any unfinished delivery of any notifier, or NULL. */
tr_xfer *tr_notifiers_abort_one(tr_notifiers *ns);

/* Deliveries in flight, all notifiers. */
int tr_notifiers_running(const tr_notifiers *ns);

/* Polls every notifier's fds and fds[0..n) (reading; -1 entries skipped; ready[i]
 * set nonzero when readable) for up to timeout_ms, shortened to the notifiers'
 * next_ms, then lets every notifier perform. 0, or -1 (a notifier failed).
 * n at most TR_NOTIFIERS_LOOP_FDS_MAX: the wake line's sockets (one per master on a
 * cluster, TR_WAKE_FDS_MAX at most) and the store's (TR_STORE_FDS_MAX at most: the
 * masters that owe answers). */
#define TR_NOTIFIERS_LOOP_FDS_MAX 64
int tr_notifiers_wait(tr_notifiers *ns, const int *fds, int *ready, unsigned n, int timeout_ms);

/* Lets every notifier perform without a poll (e.g. right after starting a batch).
 * 0 or -1. */
int tr_notifiers_perform(tr_notifiers *ns);

#endif
