/* fuzz_cron.c - cron expressions (tr_cron_parse) and their next firing time
 * (tr_cron_next) from a fuzzed start time.
 *
 * Input: 8 bytes of start time (mapped onto years 1..9999 and a little beyond, to
 * reach the bounds), then the expression.
 * Checks, beyond "no crash": a parsed expression's masks stay inside their fields
 * and print back to an expression that parses to the same masks; the next time is
 * a whole minute strictly after the start that matches, by tr_cron_matches() and
 * by an independent oracle (glibc's gmtime_r and the day rule of tr_cron.h), with
 * no matching day in between (checked up to 400 days; a time before 1970 is
 * negative, so only -1 itself, never a whole minute, says "none"); "never" means no
 * matching day in the 400 days after the start either.
 */
#include <string.h>
#include <time.h>

#include "tr_cron.h"
#include "tr_fuzz.h"

#define MS_MIN INT64_C(60000)
#define MS_DAY INT64_C(86400000)
#define EPOCH_MS_MIN INT64_C(-62135596800000) /* 0001-01-01 */
#define EPOCH_MS_MAX INT64_C(253402300799999) /* 9999-12-31T23:59:59.999 */
#define CHECK_DAYS 400

/* t rounded down to a multiple of unit (also for t < 0). */
static int64_t floor_to(int64_t t, int64_t unit)
{
    int64_t r = t % unit;
    return r < 0 ? t - r - unit : t - r;
}

/* UTC calendar fields of epoch ms t, by glibc (not tr_cron's own arithmetic). */
static void fields_of(int64_t t, struct tm *tm)
{
    int64_t s = floor_to(t, 1000) / 1000;
    time_t tt = (time_t)s;
    TR_FUZZ_CHECK(gmtime_r(&tt, tm) != NULL, "gmtime_r(%lld)", (long long)s);
}

static int oracle_day(const tr_cron *c, const struct tm *tm)
{
    if (!((c->months >> (tm->tm_mon + 1)) & 1u))
        return 0;
    int dm = (c->mdays >> tm->tm_mday) & 1u, wm = (c->wdays >> tm->tm_wday) & 1u;
    return c->mday_star || c->wday_star ? dm && wm : dm || wm;
}

static int oracle_minute(const tr_cron *c, int64_t t)
{
    struct tm tm;
    fields_of(t, &tm);
    return oracle_day(c, &tm) && ((c->hours >> tm.tm_hour) & 1u) &&
           ((c->minutes >> tm.tm_min) & 1u);
}

/* Appends field text for mask bits lo..hi and a space: "*" (all), or a comma list of
 * runs ("1-5,7"), which a star field (one whose text starts with '*') begins with
 * "*" "/" (hi - lo + 1): a star item that adds lo alone (every star item holds lo).
 * Returns the new end, or NULL when it does not fit. */
static char *print_field(char *o, char *end, uint64_t mask, int lo, int hi, int star)
{
    uint64_t full = 0;
    for (int v = lo; v <= hi; v++)
        full |= UINT64_C(1) << v;
    int n = 0;
    if (star) {
        TR_FUZZ_CHECK((mask >> lo) & 1u, "star field mask %llx lacks %d", (unsigned long long)mask, lo);
        if (mask == full) {
            n = snprintf(o, (size_t)(end - o), "* ");
            return n > 0 && n < end - o ? o + n : NULL;
        }
        n = snprintf(o, (size_t)(end - o), "*/%d", hi - lo + 1);
        if (n < 0 || n >= end - o)
            return NULL;
        mask &= ~(UINT64_C(1) << lo);
    }
    /* Runs as ranges: the longest expression stays under TR_CRON_MAX_LEN. */
    for (int v = lo; v <= hi; v++) {
        if (!((mask >> v) & 1u))
            continue;
        int w = v;
        while (w + 1 <= hi && ((mask >> (w + 1)) & 1u))
            w++;
        int k = w > v ? snprintf(o + n, (size_t)(end - o - n), "%s%d-%d", n > 0 ? "," : "", v, w)
                      : snprintf(o + n, (size_t)(end - o - n), "%s%d", n > 0 ? "," : "", v);
        if (k < 0 || k >= end - o - n)
            return NULL;
        n += k;
        v = w;
    }
    if (n + 1 >= end - o)
        return NULL;
    o[n++] = ' ';
    o[n] = '\0';
    return o + n;
}

static void check_masks(const tr_cron *c, const char *expr)
{
    TR_FUZZ_CHECK(c->minutes != 0 && c->minutes >> 60 == 0, "minutes %llx", (unsigned long long)c->minutes);
    TR_FUZZ_CHECK(c->hours != 0 && c->hours >> 24 == 0, "hours %x", c->hours);
    TR_FUZZ_CHECK(c->mdays != 0 && (c->mdays & 1u) == 0, "mdays %x", c->mdays);
    TR_FUZZ_CHECK(c->months != 0 && (c->months & 1u) == 0 && c->months >> 13 == 0, "months %x", c->months);
    TR_FUZZ_CHECK(c->wdays != 0 && c->wdays >> 7 == 0, "wdays %x", c->wdays);
    /* Print back and parse again: the same expression. */
    char text[4096], *o = text, *end = text + sizeof text;
    text[0] = '\0';
    o = print_field(o, end, c->minutes, 0, 59, 0);
    if (o != NULL)
        o = print_field(o, end, c->hours, 0, 23, 0);
    if (o != NULL)
        o = print_field(o, end, c->mdays, 1, 31, c->mday_star);
    if (o != NULL)
        o = print_field(o, end, c->months, 1, 12, 0);
    if (o != NULL)
        o = print_field(o, end, c->wdays, 0, 6, c->wday_star);
    TR_FUZZ_CHECK(o != NULL, "cannot print '%s'", expr);
    tr_cron back;
    char err[128];
    TR_FUZZ_CHECK(tr_cron_parse(text, &back, err, sizeof err) == 0, "'%s' printed as '%s': %s",
                  expr, text, err);
    TR_FUZZ_CHECK(memcmp(&back, c, sizeof back) == 0, "'%s' printed as '%s' parses differently",
                  expr, text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tr_fuzz_in in = {data, size};
    /* Years 1..9999 and about a day on either side. */
    uint64_t span = (uint64_t)(EPOCH_MS_MAX - EPOCH_MS_MIN) + 2 * (uint64_t)MS_DAY;
    int64_t after = (int64_t)(tr_fuzz_u64(&in) % span) + EPOCH_MS_MIN - MS_DAY;
    if (in.left > 2 * TR_CRON_MAX_LEN)
        return 0;
    char *expr = tr_fuzz_str(in.p, in.left);
    tr_cron c;
    char err[160];
    if (tr_cron_parse(expr, &c, err, sizeof err) != 0) {
        tr_cron zero;
        memset(&zero, 0, sizeof zero);
        TR_FUZZ_CHECK(memcmp(&c, &zero, sizeof c) == 0, "refused '%s' but *out not zeroed", expr);
        TR_FUZZ_CHECK(err[0] != '\0', "refused '%s' without a reason", expr);
        free(expr);
        return 0;
    }
    check_masks(&c, expr);

    int64_t next = tr_cron_next(&c, after);
    int in_range = after >= EPOCH_MS_MIN && after <= EPOCH_MS_MAX;
    if (!in_range) {
        TR_FUZZ_CHECK(next == -1, "'%s' after %lld (out of range): %lld", expr, (long long)after,
                      (long long)next);
        free(expr);
        return 0;
    }
    /* The first whole minute strictly after `after`, and its day. */
    int64_t first = floor_to(after, MS_MIN) + MS_MIN;
    int64_t first_day_end = floor_to(first, MS_DAY) + MS_DAY;
    if (next != -1) {
        TR_FUZZ_CHECK(next > after && next % MS_MIN == 0 && next <= EPOCH_MS_MAX,
                      "'%s' after %lld: %lld", expr, (long long)after, (long long)next);
        TR_FUZZ_CHECK(tr_cron_matches(&c, next), "'%s': next %lld does not match", expr, (long long)next);
        TR_FUZZ_CHECK(oracle_minute(&c, next), "'%s': next %lld is no match by gmtime", expr, (long long)next);
    }
    /* Nothing matches between: the minutes left on the first day, then whole days. */
    int64_t stop = next != -1 ? next : first + CHECK_DAYS * MS_DAY;
    if (stop > EPOCH_MS_MAX)
        stop = EPOCH_MS_MAX - EPOCH_MS_MAX % MS_MIN;
    for (int64_t t = first; t < stop && t < first_day_end; t += MS_MIN)
        TR_FUZZ_CHECK(!oracle_minute(&c, t), "'%s' after %lld: %lld matches before %lld", expr,
                      (long long)after, (long long)t, (long long)next);
    for (int64_t d = first_day_end; d + MS_DAY <= stop && d < first + CHECK_DAYS * MS_DAY; d += MS_DAY) {
        struct tm tm;
        fields_of(d, &tm);
        TR_FUZZ_CHECK(!oracle_day(&c, &tm), "'%s' after %lld: day %lld matches before %lld", expr,
                      (long long)after, (long long)d, (long long)next);
    }
    /* ... and the minutes of the last day before next. */
    if (next != -1 && next - first <= CHECK_DAYS * MS_DAY) {
        int64_t day = floor_to(next, MS_DAY);
        for (int64_t t = day > first ? day : first; t < next; t += MS_MIN)
            TR_FUZZ_CHECK(!oracle_minute(&c, t), "'%s' after %lld: %lld matches before %lld",
                          expr, (long long)after, (long long)t, (long long)next);
    }
    /* tr_cron_next's "strictly after" is consistent with itself. */
    if (next != -1 && next < EPOCH_MS_MAX - MS_MIN) {
        TR_FUZZ_CHECK(tr_cron_next(&c, next - 1) == next, "'%s': next(next-1) != next", expr);
    }
    free(expr);
    return 0;
}
