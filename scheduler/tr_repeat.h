/* tr_repeat.h - the next firing of a recurring timer (REST "every_ms" / "cron").
 *
 * Pure: no I/O, no clock of its own; the caller passes the Redis clock's now.
 * The next firing is computed from the schedule, not from when the delivery ended:
 *   every_ms: fire_due + k * every_ms for the smallest k >= 1 with a time > now
 *             (firings already in the past are skipped, and counted);
 *   cron:     tr_cron_next(fire_due), or when that is past, tr_cron_next(now).
 * The series ends when count is reached (fired + 1 >= count), when the next time
 * is after until_ms, or when a cron expression has no next time.
 */
#ifndef TR_REPEAT_H
#define TR_REPEAT_H

#include <stdint.h>

#include "tr_timer.h"

#define TR_REPEAT_SKIP_COUNT_MAX 100000 /* cron: skipped firings are counted up to this */

/* Nonzero when the schedule makes the timer recurring. */
int tr_repeat_is_recurring(const tr_timer_schedule *sch);

typedef struct tr_repeat_next {
    int64_t at_ms;      /* next firing, epoch ms on the Redis clock; -1: the series ends */
    int64_t skipped;    /* firings between fire_due and at_ms already past (not fired);
                         * for cron at most TR_REPEAT_SKIP_COUNT_MAX */
    const char *why;    /* when at_ms == -1: static text, e.g. "count reached" */
} tr_repeat_next;

/* Computes the firing after the one due at fire_due_ms that has just finished
 * (delivered or given up), with the Redis clock at now_ms. 0, or -1 when the
 * schedule is not recurring or its cron expression does not parse (out->why says;
 * at_ms is -1 then too). */
int tr_repeat_compute(const tr_timer_schedule *sch, int64_t fire_due_ms, int64_t now_ms,
                      tr_repeat_next *out);

#endif
