#include "tr_repeat.h"

#include <stddef.h>

#include "tr_cron.h"


int tr_repeat_is_recurring(const tr_timer_schedule *sch)
{
    return sch->every_ms > 0 || (sch->cron != NULL && sch->cron[0] != '\0');
}

static int64_t next_every(int64_t every, int64_t fire_due, int64_t now, int64_t *skipped)
{
    int64_t k = 1;
    if (now >= fire_due) {
        int64_t behind = (now - fire_due) / every; /* whole periods already past */
        k = behind + 1;
    }
    /* fire_due and now are epoch ms (< 2^44), every >= 1: no overflow. */
    *skipped = k - 1;
    return fire_due + k * every;
}

static int64_t next_cron(const tr_cron *c, int64_t fire_due, int64_t now, int64_t *skipped)
{
    int64_t t = tr_cron_next(c, fire_due);
    *skipped = 0;
    if (t < 0 || t > now)
        return t;
    /* Past already: count what is skipped (bounded), then take the next after now. */
    for (int64_t u = t; u >= 0 && u <= now && *skipped < TR_REPEAT_SKIP_COUNT_MAX;
         u = tr_cron_next(c, u))
        (*skipped)++;
    return tr_cron_next(c, now);
}

int tr_repeat_compute(const tr_timer_schedule *sch, int64_t fire_due_ms, int64_t now_ms,
                      tr_repeat_next *out)
{
    out->at_ms = -1;
    out->skipped = 0;
    out->why = NULL;
    if (!tr_repeat_is_recurring(sch)) {
        out->why = "not recurring";
        return -1;
    }
    if (sch->count > 0 && sch->fired + 1 >= sch->count) {
        out->why = "count reached";
        return 0;
    }
    int64_t at;
    if (sch->every_ms > 0) {
        at = next_every(sch->every_ms, fire_due_ms, now_ms, &out->skipped);
    } else {
        tr_cron c;
        if (tr_cron_parse(sch->cron, &c, NULL, 0) != 0) {
            out->why = "cron expression does not parse";
            return -1;
        }
        at = next_cron(&c, fire_due_ms, now_ms, &out->skipped);
        if (at < 0) {
            out->why = "no next cron time";
            return 0;
        }
    }
    if (sch->until_ms > 0 && at > sch->until_ms) {
        out->why = "until passed";
        return 0;
    }
    out->at_ms = at;
    return 0;
}
