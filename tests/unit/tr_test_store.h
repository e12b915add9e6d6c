/* tr_test_store.h - the store's own calls in the shape the Redis unit tests use
 * them: one finish whose result is returned, claims repeated until enough timers
 * came, the poll interval of such a loop.
 *
 * Header-only (static inline): each unit test is one .c file and one executable.
 * Every failure is a cmocka assertion. Include after <cmocka.h>.
 */
#ifndef TR_TEST_STORE_H
#define TR_TEST_STORE_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tr_clock.h"
#include "tr_store.h"
#include "tr_store_sched.h"

/* The poll interval of a deadline loop, not a wait for an event. */
static inline void tr_test_poll_pause(void)
{
    struct timespec ts = {0, 5 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

/* One finish item through tr_store_finish (which must succeed): its result. */
static inline int tr_test_finish1(tr_store *s, tr_finish f)
{
    tr_finish_result res = -1;
    assert_int_equal(tr_store_finish(s, &f, 1, &res), 0);
    return res;
}

/* Claims (up to `per_call` a call, under token) until `want` timers came in all or
 * deadline_ms passed; *b (zeroed first) holds every timer claimed, with now_ms and
 * next_ms from the last claim. The caller clears *b (tr_claim_batch_clear). */
static inline void tr_test_claim_wait(tr_store *s, const char *token, size_t per_call,
                                      size_t want, int64_t lease_ms, int deadline_ms,
                                      tr_claim_batch *b)
{
    int64_t end = tr_clock_mono_ms() + deadline_ms;
    memset(b, 0, sizeof *b);
    for (;;) {
        tr_claim_batch more = {0};
        assert_int_equal(tr_store_claim(s, per_call, lease_ms, token, &more), 0);
        b->now_ms = more.now_ms;
        b->next_ms = more.next_ms;
        if (more.count > 0) {
            tr_claimed *items = realloc(b->items, (b->count + more.count) * sizeof *items);
            assert_non_null(items);
            memcpy(items + b->count, more.items, more.count * sizeof *items);
            b->items = items;
            b->count += more.count;
            free(more.items); /* the strings moved to *b */
        }
        if (b->count >= want || tr_clock_mono_ms() > end)
            return;
        tr_test_poll_pause();
    }
}

#endif
