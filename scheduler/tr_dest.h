/* tr_dest.h - destinations: where deliveries go, how many may be in flight to
 * each, and which must wait. One bad receiver must stay its own problem.
 *
 * A destination is a callback origin, "scheme://host:port" (libcurl's URL parser,
 * host lowercased, default port filled in). For each the table keeps:
 *  - the transfers in flight to it, at most --host-limit;
 *  - the address:port its connections last went to (learned when curl opens a
 *    socket, tr_dests_connected()): every name of one receiver shares that
 *    address's count, also capped at the limit, so aliases cannot multiply it.
 *    Until the address is known a destination has one transfer in flight;
 *  - a FIFO of claimed transfers waiting for a slot of their own. They start only
 *    when one is free, so waiting is never part of a delivery's timeout. A queue
 *    holds what the destination's slots can start within the wait bound (half the
 *    lease margin) at its recent pace: a fast receiver takes a whole burst, a
 *    dripping one a few, one that never answers almost none (--host-limit while
 *    nothing is known); all queues together hold at most --max-inflight. Queued
 *    transfers hold no in-flight slot (the loop claims less while they wait);
 *  - a circuit breaker: after --breaker-failures consecutive connect failures or
 *    timeouts it opens, and the destination's timers are held (given back to
 *    Redis, due at the next probe) instead of each costing a timeout; one probe
 *    goes after BREAKER_MIN_MS, the wait doubling to BREAKER_MAX_MS while probes
 *    fail; any answer closes it.
 * What cannot start or wait here is held: the caller gives it back to Redis with
 * the delay tr_dests_hold() gives (a release with a delay: no attempt spent,
 * the first due time kept).
 *
 * Ownership: the table owns its destinations and addresses; tr_xfer.dest and
 * tr_xfer.addr point into it while a transfer is counted or queued. A queued
 * transfer belongs to the table until a pop hands it back. tr_dests_free() frees
 * the table and every transfer still queued (with tr_deliver_xfer_put()).
 */
#ifndef TR_DEST_H
#define TR_DEST_H

#include <stddef.h>
#include <stdint.h>

#include "tr_backoff.h"
#include "tr_deliver.h"

#define TR_BREAKER_MIN_MS 1000   /* first wait before a probe */
#define TR_BREAKER_MAX_MS 30000  /* longest wait between probes */
#define TR_DEST_KEY_MAX 300      /* "scheme://host:port" */

typedef struct tr_dests tr_dests;
typedef struct tr_dest tr_dest;

/* What to do with a claimed transfer. */
typedef enum tr_dest_verdict {
    TR_DEST_START = 0, /* start it now (tr_dests_started() once started) */
    TR_DEST_QUEUE = 1, /* tr_dests_enqueue() it: a slot frees soon */
    TR_DEST_HOLD = 2   /* give it back to Redis for tr_dests_hold_ms() */
} tr_dest_verdict;

/* How a finished transfer counts for its destination's breaker. */
typedef enum tr_dest_result {
    TR_DEST_ANSWERED = 0,    /* an HTTP answer (any status): the receiver is there */
    TR_DEST_UNREACHABLE = 1, /* connect failed, name unresolved, or timed out */
    TR_DEST_OTHER = 2        /* anything else (closed, garbage): no verdict */
} tr_dest_result;

/* limit: --host-limit; breaker_failures: 0 turns the breaker off; max_wait_ms:
 * longest wait in a queue; queue_total: all queues together (--max-inflight);
 * timeout_ms: --timeout-ms (how long a probe may run). NULL when out of memory. */
tr_dests *tr_dests_new(int limit, int breaker_failures, int64_t max_wait_ms, int queue_total,
                       int64_t timeout_ms, tr_deliver *dl);

/* Frees the table; every transfer still queued goes back with tr_deliver_xfer_put().
 * Takes NULL. */
void tr_dests_free(tr_dests *t);

/* The destination of `url` (made on first use). NULL when the URL has no
 * scheme/host (reason in err) or out of memory. */
tr_dest *tr_dests_find(tr_dests *t, const char *url, char *err, size_t errlen);

/* The destination's key, "scheme://host:port". */
const char *tr_dest_key(const tr_dest *d);

/* 1 while d's breaker is open (its timers held, probes only), else 0. */
int tr_dest_is_open(const tr_dest *d);

/* What to do with a new transfer to d now (mono: local monotonic ms). */
tr_dest_verdict tr_dests_admit(tr_dests *t, tr_dest *d, int64_t mono);

/* Counts x (started with tr_deliver_start()) as in flight to d. A transfer to an
 * open destination whose probe time came is its probe. */
void tr_dests_started(tr_dests *t, tr_dest *d, tr_xfer *x, int64_t mono);

/* Queues x for d; tr_dests_admit() said QUEUE. */
void tr_dests_enqueue(tr_dests *t, tr_dest *d, tr_xfer *x, int64_t mono);

/* Moves x's count to the address:port its new connection goes to ("ip port");
 * d learns it. Called by tr_deliver when curl opens a socket. */
void tr_dests_connected(tr_dests *t, tr_xfer *x, const char *peer);

/* Uncounts a finished (or aborted) transfer; its result feeds the breaker (a
 * connection refused by the destination policy, x->refused, counts as OTHER, not
 * UNREACHABLE). Logs the breaker opening and closing. */
void tr_dests_finished(tr_dests *t, tr_xfer *x, tr_dest_result r, int64_t mono);

/* The next queued transfer that can start now (*verdict START; only when
 * may_start: a global slot is free) or must be given back (*verdict HOLD: waited
 * too long, or its breaker opened), or NULL. x->dest still names its destination,
 * uncounted: a START is followed by tr_deliver_start() and tr_dests_started(). */
tr_xfer *tr_dests_pop(tr_dests *t, int64_t mono, int may_start, tr_dest_verdict *verdict);

/* Any queued transfer (shutdown), or NULL; x->dest as above. */
tr_xfer *tr_dests_pop_any(tr_dests *t);

/* When the oldest queued transfer must leave its queue (local monotonic ms), or
 * -1 when none waits. */
int64_t tr_dests_next_expiry(const tr_dests *t);

/* How long a transfer to d that cannot go now should stay in Redis, ms: an open
 * destination's time to its next probe (while a probe runs: to its timeout) plus a
 * random share of its back-off (held timers come back spread out, and a dead
 * receiver's timers cost about one hold per probe, not one per loop); a busy one's recent delivery time, or the time
 * since anything of it last finished when longer, from 100 ms to 5 s, with jitter. */
int64_t tr_dests_hold_ms(const tr_dests *t, const tr_dest *d, int64_t mono, uint64_t rnd);

/* The delay for one more held transfer to d: tr_dests_hold_ms(), pushed back so
 * that d's held timers come back spaced by what d can take: its pace over its
 * slots, at most --host-limit per millisecond and at least one (thousands held for
 * a dead or slow receiver return as a steady trickle, never as one burst that would
 * delay every other receiver's claims; a fast receiver's come back as fast as it
 * takes them). */
int64_t tr_dests_hold(tr_dests *t, tr_dest *d, int64_t mono, uint64_t rnd);

/* Transfers queued, and destinations whose breaker is open. */
size_t tr_dests_queued(const tr_dests *t);
size_t tr_dests_open(const tr_dests *t);

/* The verdict of a curl result for the breaker. */
tr_dest_result tr_dest_result_of(int curl_code);

#endif
