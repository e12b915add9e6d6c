#include "tr_hist.h"

#include <string.h>

int tr_hist_bucket(int64_t ms)
{
    if (ms < 0)
        ms = 0;
    for (int i = 0; i < TR_HIST_BUCKETS; i++)
        if (ms <= tr_hist_bounds_ms[i])
            return i;
    return TR_HIST_BUCKETS;
}

void tr_hist_add(tr_hist *h, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    h->counts[tr_hist_bucket(ms)]++;
    h->sum_ms += ms;
    h->count++;
}

int tr_hist_write(tr_hist *h, tr_store *store, const char *name)
{
    if (h->count == 0)
        return 0;
    if (tr_store_observe(store, name, h->counts, h->sum_ms, h->count) != 0)
        return -1;
    memset(h, 0, sizeof *h);
    return 0;
}
