/* tr_sched_stats.h - the scheduler's counters and lateness sample, for the status
 * line logged every --interval seconds. Everything counts "since the last line".
 *
 * Lateness (ms) = send time mapped to the Redis clock - the timer's due time. Up to
 * `sample_cap` values are kept per interval; past that, reservoir sampling keeps a
 * uniform sample, so memory stays fixed under any load while max stays exact.
 */
#ifndef TR_SCHED_STATS_H
#define TR_SCHED_STATS_H

#include <stddef.h>
#include <stdint.h>

typedef struct tr_sched_stats {
    uint64_t claimed;     /* timers claimed */
    uint64_t delivered;   /* ACKs (chained included) */
    uint64_t chained;     /* ACKs that created a chained timer */
    uint64_t retried;     /* RETRY outcomes */
    uint64_t dead;        /* DEAD outcomes */
    uint64_t released;    /* RELEASE outcomes (shutdown) */
    uint64_t held;        /* HOLD outcomes: given back, the destination could not take
                           * them (breaker open, or busy) */
    uint64_t stale;       /* outcomes Redis ignored (cancelled / taken over) */
    uint64_t refused;     /* outcomes the store refused (malformed, script error):
                           * not applied, the timer returns after its lease */
    uint64_t policy_refused; /* deliveries the destination policy refused (dead at once) */
    uint64_t chain_refused;  /* chain answers refused (policy, --no-chain, chain_limit) */
    int64_t *late_ms;     /* sample, late_n values, owned */
    size_t late_n, late_cap;
    uint64_t late_seen;   /* values offered this interval */
    int64_t late_max_ms;  /* exact maximum this interval; valid when late_seen > 0 */
} tr_sched_stats;

/* Zeroes *st and allocates the sample. 0 or -1 (out of memory). */
int tr_sched_stats_init(tr_sched_stats *st, size_t sample_cap);

/* Frees the sample. Safe on a zeroed struct. */
void tr_sched_stats_free(tr_sched_stats *st);

/* Records one lateness value; `rnd` picks the reservoir slot once the sample is full. */
void tr_sched_stats_late(tr_sched_stats *st, int64_t late_ms, uint64_t rnd);

/* Nearest-rank percentile p (0 < p <= 100) of n values; sorts `values` in place.
 * Returns 0 when n == 0. */
int64_t tr_sched_percentile(int64_t *values, size_t n, double p);

/* Writes the status line ("status inflight=.. pending=.. claimed=.. delivered=..
 * failed=.. retried=.. dead=.. chained=.. released=.. held=.. stale=.. refused=.. late_p50_ms=..
 * late_p99_ms=.. late_max_ms=.. policy_refused=.. chain_refused=..") into buf and starts a new interval. */
void tr_sched_stats_line(tr_sched_stats *st, int inflight, size_t pending, char *buf, size_t len);

#endif
