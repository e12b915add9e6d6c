#include "tr_sched_stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int tr_sched_stats_init(tr_sched_stats *st, size_t sample_cap)
{
    memset(st, 0, sizeof *st);
    if (sample_cap == 0)
        sample_cap = 1;
    st->late_ms = calloc(sample_cap, sizeof *st->late_ms);
    if (st->late_ms == NULL)
        return -1;
    st->late_cap = sample_cap;
    return 0;
}

void tr_sched_stats_free(tr_sched_stats *st)
{
    free(st->late_ms);
    memset(st, 0, sizeof *st);
}

void tr_sched_stats_late(tr_sched_stats *st, int64_t late_ms, uint64_t rnd)
{
    if (st->late_seen == 0 || late_ms > st->late_max_ms)
        st->late_max_ms = late_ms;
    st->late_seen++;
    if (st->late_n < st->late_cap) {
        st->late_ms[st->late_n++] = late_ms;
        return;
    }
    /* Algorithm R: the i-th value replaces a random slot with probability cap/i. */
    uint64_t slot = rnd % st->late_seen;
    if (slot < st->late_cap)
        st->late_ms[slot] = late_ms;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

int64_t tr_sched_percentile(int64_t *values, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(values, n, sizeof *values, cmp_i64);
    if (p <= 0)
        return values[0];
    double rank = ceil(p / 100.0 * (double)n);
    size_t idx = rank < 1 ? 0 : (size_t)rank - 1;
    if (idx >= n)
        idx = n - 1;
    return values[idx];
}

void tr_sched_stats_line(tr_sched_stats *st, int inflight, size_t pending, char *buf, size_t len)
{
    int64_t p50 = tr_sched_percentile(st->late_ms, st->late_n, 50);
    int64_t p99 = tr_sched_percentile(st->late_ms, st->late_n, 99);
    int64_t max = st->late_seen > 0 ? st->late_max_ms : 0;
    snprintf(buf, len,
             "status inflight=%d pending=%zu claimed=%llu delivered=%llu failed=%llu "
             "retried=%llu dead=%llu chained=%llu released=%llu held=%llu stale=%llu refused=%llu "
             "late_p50_ms=%lld late_p99_ms=%lld late_max_ms=%lld policy_refused=%llu "
             "chain_refused=%llu",
             inflight, pending, (unsigned long long)st->claimed,
             (unsigned long long)st->delivered,
             (unsigned long long)(st->retried + st->dead), (unsigned long long)st->retried,
             (unsigned long long)st->dead, (unsigned long long)st->chained,
             (unsigned long long)st->released, (unsigned long long)st->held,
             (unsigned long long)st->stale,
             (unsigned long long)st->refused, (long long)p50,
             (long long)p99, (long long)max, (unsigned long long)st->policy_refused,
             (unsigned long long)st->chain_refused);
    int64_t *keep = st->late_ms;
    size_t cap = st->late_cap;
    memset(st, 0, sizeof *st);
    st->late_ms = keep;
    st->late_cap = cap;
}
