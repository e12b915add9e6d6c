#include "tr_reconnect.h"

#include <assert.h>
#include <string.h>

void tr_reconnect_init(tr_reconnect *r, int64_t min_ms, int64_t max_ms)
{
    assert(min_ms > 0 && min_ms <= max_ms);
    memset(r, 0, sizeof *r);
    r->min_ms = min_ms;
    r->max_ms = max_ms;
}

int tr_reconnect_failed(tr_reconnect *r, int64_t now_ms)
{
    int first = !r->down;
    if (first) {
        r->down = 1;
        r->down_since_ms = now_ms;
        r->backoff_ms = r->min_ms;
    } else {
        r->backoff_ms = r->backoff_ms > r->max_ms / 2 ? r->max_ms : r->backoff_ms * 2;
    }
    r->retry_at_ms = now_ms + r->backoff_ms;
    return first;
}

int64_t tr_reconnect_ok(tr_reconnect *r, int64_t now_ms)
{
    if (!r->down)
        return -1;
    int64_t was = now_ms - r->down_since_ms;
    tr_reconnect_reset(r);
    return was;
}

void tr_reconnect_reset(tr_reconnect *r)
{
    r->down = 0;
    r->backoff_ms = 0;
}

int tr_reconnect_due(const tr_reconnect *r, int64_t now_ms)
{
    return !r->down || now_ms >= r->retry_at_ms;
}

void tr_reconnect_retry_now(tr_reconnect *r, int64_t now_ms)
{
    r->retry_at_ms = now_ms;
}
