/* tr_cron.c - cron parsing and next-time search (see tr_cron.h). */
#include "tr_cron.h"

#include <stdio.h>
#include <string.h>

#define MS_PER_MIN INT64_C(60000)
#define MIN_PER_DAY INT64_C(1440)
#define SEARCH_DAYS (8 * 366) /* 2096-02-29 to 2104-02-29 is 8 years */
/* Years 1..9999: keeps every computation far from int64 limits. */
#define EPOCH_MS_MIN INT64_C(-62135596800000)
#define EPOCH_MS_MAX INT64_C(253402300799999)

typedef struct field_def {
    const char *name;
    int lo, hi;
    const char *const *names; /* 3-letter names for lo.., or NULL */
    int names_first;          /* value of names[0] */
    int names_count;
} field_def;

static const char *const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const wday_names[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

static const field_def fields[5] = {
    {"minute", 0, 59, NULL, 0, 0},
    {"hour", 0, 23, NULL, 0, 0},
    {"day-of-month", 1, 31, NULL, 0, 0},
    {"month", 1, 12, month_names, 1, 12},
    {"day-of-week", 0, 7, wday_names, 0, 7},
};

static void set_err(char *err, size_t errlen, const char *field, const char *what,
                    const char *tok, size_t toklen)
{
    if (err == NULL || errlen == 0)
        return;
    if (toklen > 32)
        toklen = 32; /* enough to recognise it; never echo a huge input */
    if (field != NULL)
        snprintf(err, errlen, "%s: %s '%.*s'", field, what, (int)toklen, tok);
    else
        snprintf(err, errlen, "%s", what);
}

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t';
}

static char upper(char ch)
{
    return (ch >= 'a' && ch <= 'z') ? (char)(ch - 'a' + 'A') : ch;
}

/* Reads a value (digits or a name) at s[*pos..end). 0 and *val, or -1. */
static int read_value(const field_def *f, const char *s, size_t end, size_t *pos, int *val)
{
    size_t p = *pos;
    if (p < end && s[p] >= '0' && s[p] <= '9') {
        int v = 0;
        size_t digits = 0;
        while (p < end && s[p] >= '0' && s[p] <= '9') {
            if (++digits > 4)
                return -1; /* bounded: no overflow, and 5+ digits is never valid */
            v = v * 10 + (s[p] - '0');
            p++;
        }
        *pos = p;
        *val = v;
        return 0;
    }
    if (f->names != NULL && end - p >= 3) {
        for (int i = 0; i < f->names_count; i++) {
            const char *n = f->names[i];
            if (upper(s[p]) == n[0] && upper(s[p + 1]) == n[1] && upper(s[p + 2]) == n[2]) {
                *pos = p + 3;
                *val = f->names_first + i;
                return 0;
            }
        }
    }
    return -1;
}

/* Parses one comma item s[0..len) of field f into *mask. */
static int parse_item(const field_def *f, const char *s, size_t len, uint64_t *mask,
                      char *err, size_t errlen)
{
    size_t p = 0;
    int lo, hi, step = 1;
    if (len == 0) {
        set_err(err, errlen, f->name, "empty list item in", s, len);
        return -1;
    }
    if (s[0] == '*') {
        lo = f->lo;
        hi = f->hi == 7 ? 6 : f->hi; /* '*' weekdays: 0-6, 7 would only repeat Sunday */
        p = 1;
    } else {
        if (read_value(f, s, len, &p, &lo) != 0) {
            set_err(err, errlen, f->name, "not a number or name:", s, len);
            return -1;
        }
        hi = lo;
        if (p < len && s[p] == '-') {
            p++;
            if (read_value(f, s, len, &p, &hi) != 0) {
                set_err(err, errlen, f->name, "bad range end in", s, len);
                return -1;
            }
        } else if (p < len && s[p] == '/') {
            hi = f->hi == 7 ? 6 : f->hi; /* "a/n": from a to the maximum */
        }
    }
    if (p < len && s[p] == '/') {
        p++;
        if (read_value(&fields[0], s, len, &p, &step) != 0 || step < 1) {
            set_err(err, errlen, f->name, "bad step in", s, len);
            return -1;
        }
    }
    if (p != len) {
        set_err(err, errlen, f->name, "unexpected characters in", s, len);
        return -1;
    }
    if (lo < f->lo || lo > f->hi || hi < f->lo || hi > f->hi) {
        char what[64];
        snprintf(what, sizeof what, "out of range %d-%d:", f->lo, f->hi);
        set_err(err, errlen, f->name, what, s, len);
        return -1;
    }
    if (lo > hi) {
        set_err(err, errlen, f->name, "range start after its end in", s, len);
        return -1;
    }
    if (step > f->hi - f->lo + 1) {
        set_err(err, errlen, f->name, "step larger than the field in", s, len);
        return -1;
    }
    for (int v = lo; v <= hi; v += step)
        *mask |= UINT64_C(1) << (f->hi == 7 && v == 7 ? 0 : v);
    return 0;
}

/* Parses field number `fi`, the text s[0..len). */
static int parse_field(int fi, const char *s, size_t len, uint64_t *mask, char *err,
                       size_t errlen)
{
    size_t start = 0;
    *mask = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || s[i] == ',') {
            if (parse_item(&fields[fi], s + start, i - start, mask, err, errlen) != 0)
                return -1;
            start = i + 1;
        }
    }
    return 0;
}

int tr_cron_parse(const char *expr, tr_cron *out, char *err, size_t errlen)
{
    const char *tok[5];
    size_t toklen[5];
    uint64_t masks[5];
    int n = 0;
    size_t len;

    memset(out, 0, sizeof *out);
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (expr == NULL) {
        set_err(err, errlen, NULL, "cron: missing expression", NULL, 0);
        return -1;
    }
    len = strnlen(expr, TR_CRON_MAX_LEN + 1);
    if (len > TR_CRON_MAX_LEN) {
        set_err(err, errlen, NULL, "cron: expression too long", NULL, 0);
        return -1;
    }
    for (size_t i = 0; i < len;) {
        size_t j;
        if (is_space(expr[i])) {
            i++;
            continue;
        }
        for (j = i; j < len && !is_space(expr[j]); j++)
            ;
        if (n < 5) {
            tok[n] = expr + i;
            toklen[n] = j - i;
        }
        n++;
        i = j;
    }
    if (n != 5) {
        char what[96];
        snprintf(what, sizeof what,
                 "cron: expected 5 fields (minute hour day-of-month month day-of-week), got %d",
                 n);
        set_err(err, errlen, NULL, what, NULL, 0);
        return -1;
    }
    for (int fi = 0; fi < 5; fi++)
        if (parse_field(fi, tok[fi], toklen[fi], &masks[fi], err, errlen) != 0)
            return -1;
    out->minutes = masks[0];
    out->hours = (uint32_t)masks[1];
    out->mdays = (uint32_t)masks[2];
    out->months = (uint16_t)masks[3];
    out->wdays = (uint8_t)masks[4];
    out->mday_star = tok[2][0] == '*';
    out->wday_star = tok[4][0] == '*';
    return 0;
}

/* Floor division for possibly negative numerators. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01 -> civil date (H. Hinnant's algorithm, proleptic Gregorian). */
static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int day_matches(const tr_cron *c, int64_t days)
{
    int y, m, d;
    int64_t r = (days + 4) % 7; /* 1970-01-01 was a Thursday */
    int wd = (int)(r < 0 ? r + 7 : r);
    civil_from_days(days, &y, &m, &d);
    (void)y;
    if (!(c->months & (1u << m)))
        return 0;
    int dom = (c->mdays >> d) & 1u;
    int dow = (c->wdays >> wd) & 1u;
    if (!c->mday_star && !c->wday_star)
        return dom || dow;
    return dom && dow;
}

int tr_cron_matches(const tr_cron *c, int64_t t_ms)
{
    if (t_ms < EPOCH_MS_MIN || t_ms > EPOCH_MS_MAX)
        return 0;
    int64_t minute = floor_div(t_ms, MS_PER_MIN);
    int64_t days = floor_div(minute, MIN_PER_DAY);
    int64_t mod = minute - days * MIN_PER_DAY;
    return day_matches(c, days) && ((c->hours >> (mod / 60)) & 1u) &&
           ((c->minutes >> (mod % 60)) & 1u);
}

int64_t tr_cron_next(const tr_cron *c, int64_t after_ms)
{
    if (after_ms < EPOCH_MS_MIN || after_ms > EPOCH_MS_MAX)
        return -1;
    int64_t start = floor_div(after_ms, MS_PER_MIN) + 1; /* strictly after */
    int64_t day0 = floor_div(start, MIN_PER_DAY);
    int64_t mod0 = start - day0 * MIN_PER_DAY;

    for (int64_t day = day0; day <= day0 + SEARCH_DAYS; day++) {
        if (!day_matches(c, day))
            continue;
        int h0 = day == day0 ? (int)(mod0 / 60) : 0;
        for (int h = h0; h < 24; h++) {
            if (!((c->hours >> h) & 1u))
                continue;
            int m0 = (day == day0 && h == h0) ? (int)(mod0 % 60) : 0;
            for (int m = m0; m < 60; m++)
                if ((c->minutes >> m) & 1u) {
                    int64_t t = ((day * MIN_PER_DAY) + h * 60 + m) * MS_PER_MIN;
                    return t > EPOCH_MS_MAX ? -1 : t;
                }
        }
    }
    return -1;
}
