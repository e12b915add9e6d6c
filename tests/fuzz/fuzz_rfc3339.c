/* fuzz_rfc3339.c - RFC 3339 date-times (tr_rfc3339_parse: "at", "until").
 *
 * Checks against an independent reading: an accepted text has the shape
 * YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm), a real calendar date, and its epoch ms
 * equal glibc's timegm() of the same fields minus the offset (a leap second :60 is
 * :59.999... truncated to :59); printing the result back as UTC and parsing that
 * gives the same ms. Anything else is refused.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tr_fuzz.h"
#include "tr_rest_parse.h"
#include "tr_rfc3339.h"

static int num(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* The oracle: 0 and *ms when s is one, else -1. Written apart from the parser. */
static int oracle(const char *s, int64_t *ms)
{
    size_t len = strlen(s);
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':')
        return -1;
    int y = num(s, 4), mo = num(s + 5, 2), d = num(s + 8, 2), h = num(s + 11, 2),
        mi = num(s + 14, 2), sec = num(s + 17, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
        sec < 0 || sec > 60)
        return -1;
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > dim[mo - 1] + (mo == 2 && leap))
        return -1;
    size_t i = 19;
    int frac = 0;
    if (s[i] == '.') {
        size_t start = ++i;
        while (s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return -1;
        for (size_t k = start; k < start + 3; k++)
            frac = frac * 10 + (k < i ? s[k] - '0' : 0);
    }
    int off = 0;
    if ((s[i] == 'Z' || s[i] == 'z') && s[i + 1] == '\0') {
        off = 0;
    } else if ((s[i] == '+' || s[i] == '-') && len == i + 6 && s[i + 3] == ':') {
        int oh = num(s + i + 1, 2), om = num(s + i + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59)
            return -1;
        off = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
    } else {
        return -1;
    }
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec == 60 ? 59 : sec;
    time_t t = timegm(&tm);
    *ms = ((int64_t)t - (int64_t)off * 60) * 1000 + frac;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 64)
        return 0;
    char *s = tr_fuzz_str(data, size);
    int64_t got = 0, want = 0;
    int rc = tr_rfc3339_parse(s, &got);
    int orc = oracle(s, &want);
    TR_FUZZ_CHECK(rc == orc, "'%s': parser %d, oracle %d", s, rc, orc);
    if (rc == 0) {
        TR_FUZZ_CHECK(got == want, "'%s': %lld, oracle %lld", s, (long long)got, (long long)want);
        /* Printed back in UTC (years 0..9999 only: four digits), read again. */
        int64_t secs = got >= 0 ? got / 1000 : -((-got + 999) / 1000);
        int ms = (int)(got - secs * 1000);
        time_t t = (time_t)secs;
        struct tm tm;
        if (gmtime_r(&t, &tm) != NULL && tm.tm_year + 1900 >= 0 && tm.tm_year + 1900 <= 9999) {
            char back[64];
            snprintf(back, sizeof back, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
            int64_t again = 0;
            TR_FUZZ_CHECK(tr_rfc3339_parse(back, &again) == 0 && again == got,
                          "'%s' -> %lld -> '%s' -> %lld", s, (long long)got, back, (long long)again);
        }
    }
    free(s);
    return 0;
}
