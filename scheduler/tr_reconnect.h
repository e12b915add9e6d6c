/* tr_reconnect.h - when to try a lost connection again: the first retry min_ms
 * after the failure, each further failure doubling the wait up to max_ms, back
 * to min_ms once it worked. The scheduler keeps one for the store's connection
 * and one for the wake line.
 *
 * Pure state (no clock of its own, no I/O): the caller passes its monotonic ms,
 * so the unit tests pin every step. The struct is the caller's; nothing to free.
 */
#ifndef TR_RECONNECT_H
#define TR_RECONNECT_H

#include <stdint.h>

typedef struct tr_reconnect {
    int64_t min_ms, max_ms;  /* the first wait, and the cap; 0 < min_ms <= max_ms */
    int down;                /* 1 from a failure until tr_reconnect_ok() */
    int64_t down_since_ms;   /* when it went down (caller's clock); valid while down */
    int64_t backoff_ms;      /* the last wait, min_ms..max_ms; 0 while up */
    int64_t retry_at_ms;     /* when to try again (caller's clock); 0 before any failure */
} tr_reconnect;

/* Up, nothing to wait for. */
void tr_reconnect_init(tr_reconnect *r, int64_t min_ms, int64_t max_ms);

/* An attempt failed (or the connection was lost) at now_ms: down, next try at
 * retry_at_ms. Returns 1 when it was up until now (the caller logs the outage
 * once), else 0. */
int tr_reconnect_failed(tr_reconnect *r, int64_t now_ms);

/* It worked at now_ms: up again. Returns how long it was down, ms, or -1 when it
 * was not down. */
int64_t tr_reconnect_ok(tr_reconnect *r, int64_t now_ms);

/* Up again without an attempt (the caller will find out by trying), no log. */
void tr_reconnect_reset(tr_reconnect *r);

/* Whether a try is due at now_ms (always while up). */
int tr_reconnect_due(const tr_reconnect *r, int64_t now_ms);

/* Makes the next try due at once, keeping the back-off for later failures. */
void tr_reconnect_retry_now(tr_reconnect *r, int64_t now_ms);

#endif
