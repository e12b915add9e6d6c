/* tr_pending.h - delivery outcomes decided but not yet written to Redis.
 *
 * The loop adds every outcome of a round here, then writes them all with one
 * pipelined tr_store_finish(). When that fails (Redis away) they stay, and are
 * written again after the reconnect, before anything new is claimed: an outcome is
 * never dropped while the process lives (each is safe to apply twice).
 * The list owns copies of every string it is given.
 *
 * An outcome may carry a failure notice (a DEAD timer with a failure_url): it is
 * handed to the applied callback only once Redis applied the outcome (not when it
 * was stale: another scheduler owns the timer, or it was cancelled), so a notice
 * is sent at most once per outcome this process wrote.
 */
#ifndef TR_PENDING_H
#define TR_PENDING_H

#include <stddef.h>

#include "tr_sched_stats.h"
#include "tr_store_sched.h"

typedef struct tr_pending tr_pending;

/* NULL when out of memory. */
tr_pending *tr_pending_new(void);

/* Frees everything still held. Takes NULL. */
void tr_pending_free(tr_pending *p);

/* Copies `f` and its strings (f->meta, chain and repeat fields may be NULL). 0 or
 * -1 (out of memory: nothing added). */
int tr_pending_add(tr_pending *p, const tr_finish *f);

/* Like tr_pending_add(), with a failure notice: POST `body` (body_len bytes) to
 * `url` once the outcome is applied (both copied). 0 or -1 (nothing added). */
int tr_pending_add_notice(tr_pending *p, const tr_finish *f, const char *url, const char *body,
                          size_t body_len);

/* Called by tr_pending_flush() for each applied outcome f that carries a notice
 * (f->id, f->attempt, f->meta name the failed delivery); f and the strings are
 * borrowed for the call. */
typedef void (*tr_pending_notice_fn)(void *ctx, const tr_finish *f, const char *url,
                                     const char *body, size_t body_len);

/* Sets the notice callback (NULL: notices are dropped). */
void tr_pending_on_notice(tr_pending *p, tr_pending_notice_fn fn, void *ctx);

size_t tr_pending_count(const tr_pending *p);

/* The i-th outcome held (i < count); borrowed until the next add or flush. */
const tr_finish *tr_pending_item(const tr_pending *p, size_t i);

/* Writes every held outcome with one tr_store_finish() call (first waiting for
 * the answers of a send, if one is outstanding). On success counts stale ones
 * into st->stale (logged at DEBUG) and refused ones (malformed, or a script
 * error; tr_store logged them) into st->refused, empties the list and returns 0; on failure
 * keeps them all and returns -1 (tr_store_error() says why). 0 when empty.
 * 1: written, except those the store answered TR_FINISH_UNWRITTEN (the cut-off
 * on a cluster: their master is away), which stay, first, for a later flush. */
int tr_pending_flush(tr_pending *p, tr_store *store, tr_sched_stats *st);

/* The same in two steps, for a loop that does not block on Redis. Outcomes added
 * meanwhile wait for the next send; at most one send is outstanding.
 * tr_pending_send(): every held outcome goes out with tr_store_finish_send();
 * 0 (also when empty), -1 when one is outstanding already or the send failed
 * (all kept). tr_pending_recv(): reads the answers as `mode` allows
 * (tr_store_sched.h); DONE (as tr_pending_flush(): the sent ones are handled and
 * leave the list, except those answered TR_FINISH_UNWRITTEN, which stay first
 * (tr_pending_kept); also when nothing was outstanding), OWED (not all in yet),
 * or FAILED (they stay, to be sent again). */
int tr_pending_send(tr_pending *p, tr_store *store);
tr_store_recv_result tr_pending_recv(tr_pending *p, tr_store *store, tr_sched_stats *st,
                                     tr_store_recv_mode mode);

/* How many outcomes the last tr_pending_flush() or tr_pending_recv() that answered
 * kept because the store answered them TR_FINISH_UNWRITTEN (a cluster's cut-off):
 * they are the first of the list. */
size_t tr_pending_kept(const tr_pending *p);

/* Outcomes sent and not answered yet (0: none outstanding). */
size_t tr_pending_sent(const tr_pending *p);

#endif
