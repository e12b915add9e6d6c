/* tr_hist.h - the scheduler's delivery histograms for /metrics, in memory until
 * written to Redis.
 *
 * Two histograms: lateness (send time on the Redis clock - due time) and delivery
 * duration (transfer added -> finished), ms, in the buckets of tr_hist_bounds_ms
 * (tr_store.h). Observations accumulate here and are written with
 * tr_store_observe() at most once a second (the loop decides when), so Redis sees
 * two small calls per second, not one per timer. A failed write keeps them: they
 * are added to the next one (lost only if the process exits while Redis is away).
 */
#ifndef TR_HIST_H
#define TR_HIST_H

#include <stdint.h>

#include "tr_store_sched.h"

typedef struct tr_hist {
    uint64_t counts[TR_HIST_BUCKETS + 1]; /* per bucket, not cumulative; last: > max bound */
    int64_t sum_ms;                       /* sum of the observations, ms */
    uint64_t count;                       /* observations */
} tr_hist;

/* The bucket of an observation of ms milliseconds: the first i with
 * ms <= tr_hist_bounds_ms[i], else TR_HIST_BUCKETS. Negative values count as 0. */
int tr_hist_bucket(int64_t ms);

/* Adds one observation (negative counts as 0). */
void tr_hist_add(tr_hist *h, int64_t ms);

/* Writes h as "<name>" with tr_store_observe() and zeroes it when that succeeded.
 * Nothing to write (count 0) is 0 without I/O. 0 or -1 (h kept). */
int tr_hist_write(tr_hist *h, tr_store *store, const char *name);

#endif
