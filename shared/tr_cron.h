/* tr_cron.h - five-field cron expressions (UTC) and their next firing time.
 *
 * Syntax (docs/CRON.md): "minute hour day-of-month month day-of-week", fields
 * separated by spaces or tabs. Each field is a comma list of items; an item is
 * `*`, a number `a`, a range `a-b`, each optionally followed by a step `/n`
 * (`*` /n, `a-b/n`; `a/n` means a to the field's maximum, step n). Months accept
 * JAN-DEC, weekdays SUN-SAT (any case, also inside ranges); weekday 0 and 7 are
 * Sunday. Bounds: minute 0-59, hour 0-23, day 1-31, month 1-12, weekday 0-7.
 * Day rule (classic Vixie cron): when both day-of-month and day-of-week are
 * restricted (neither field starts with `*`), a day matches if EITHER matches;
 * otherwise both must match (a `*` field matches every day).
 *
 * Pure arithmetic on UTC: no locale, no TZ, no allocation, no library time calls.
 */
#ifndef TR_CRON_H
#define TR_CRON_H

#include <stddef.h>
#include <stdint.h>

#define TR_CRON_MAX_LEN 256 /* longest expression accepted, bytes */

/* A parsed expression: one bit per allowed value. Plain data: copy freely. */
typedef struct tr_cron {
    uint64_t minutes;  /* bit m: minute m, 0..59 */
    uint32_t hours;    /* bit h: hour h, 0..23 */
    uint32_t mdays;    /* bit d: day of month d, 1..31 */
    uint16_t months;   /* bit m: month m, 1..12 */
    uint8_t wdays;     /* bit w: weekday w, 0 = Sunday .. 6 = Saturday (7 folded to 0) */
    uint8_t mday_star; /* 1 when the day-of-month field starts with '*' */
    uint8_t wday_star; /* 1 when the day-of-week field starts with '*' */
} tr_cron;

/* Parses `expr` (NUL-terminated) into *out. Returns 0; or -1, *out zeroed, and a
 * short reason naming the field in err (when err is not NULL and errlen > 0),
 * e.g. "minute: 60 is out of range 0-59". An expression that parses may still
 * never fire (e.g. "0 0 30 2 *"): tr_cron_next() then answers -1. */
int tr_cron_parse(const char *expr, tr_cron *out, char *err, size_t errlen);

/* Returns the first matching minute strictly after `after_ms` (epoch ms, UTC), in
 * epoch ms (a whole minute); or -1 when there is none within 8 years (long enough
 * that "0 0 29 2 *" always finds its next leap day, also across 2100), or when
 * after_ms lies outside years 1..9999. */
int64_t tr_cron_next(const tr_cron *c, int64_t after_ms);

/* Nonzero when the epoch ms `t_ms` lies in a minute the expression matches. */
int tr_cron_matches(const tr_cron *c, int64_t t_ms);

#endif
