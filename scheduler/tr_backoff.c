#include "tr_backoff.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* About 30 years: larger Retry-After values are capped by backoff_max anyway; this
 * only keeps the arithmetic far from overflow. */
#define RETRY_AFTER_MAX_S 946080000LL

void tr_rng_seed(tr_rng *rng, uint64_t seed)
{
    rng->state = seed != 0 ? seed : 0x9E3779B97F4A7C15ULL;
}

uint64_t tr_rng_next(tr_rng *rng)
{
    uint64_t x = rng->state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng->state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

int64_t tr_backoff_base_ms(int64_t min_ms, int64_t max_ms, int64_t attempt)
{
    if (min_ms < 1)
        min_ms = 1;
    if (max_ms < min_ms)
        max_ms = min_ms;
    if (attempt < 1)
        attempt = 1;
    int64_t base = min_ms;
    /* Double step by step and stop at the cap: no shift can overflow. */
    for (int64_t i = 1; i < attempt && base < max_ms; i++)
        base = base > max_ms / 2 ? max_ms : base * 2;
    return base < max_ms ? base : max_ms;
}

int64_t tr_backoff_delay_ms(int64_t min_ms, int64_t max_ms, int64_t attempt, uint64_t rnd)
{
    int64_t base = tr_backoff_base_ms(min_ms, max_ms, attempt);
    int64_t low = base / 2;
    uint64_t span = (uint64_t)(base - low) + 1; /* inclusive of both ends */
    return low + (int64_t)(rnd % span);
}

int tr_backoff_parse_retry_after(const char *value, int64_t now_wall_ms, int64_t *out_ms)
{
    if (value == NULL)
        return -1;
    while (*value == ' ' || *value == '\t')
        value++;
    size_t len = strlen(value);
    while (len > 0 && isspace((unsigned char)value[len - 1]))
        len--;
    if (len == 0 || len >= 128)
        return -1;
    char buf[128];
    memcpy(buf, value, len);
    buf[len] = '\0';

    if (isdigit((unsigned char)buf[0])) {
        for (size_t i = 0; i < len; i++)
            if (!isdigit((unsigned char)buf[i]))
                return -1;
        errno = 0;
        char *end = NULL;
        long long s = strtoll(buf, &end, 10);
        if (errno == ERANGE || s > RETRY_AFTER_MAX_S)
            s = RETRY_AFTER_MAX_S;
        *out_ms = (int64_t)s * 1000;
        return 0;
    }
    /* curl_getdate knows the three HTTP-date forms; it answers -1 for anything else. */
    time_t t = curl_getdate(buf, NULL);
    if (t == (time_t)-1)
        return -1;
    /* Compared in seconds first: curl reads years far beyond 9999 ("Oct 1 07:00
     * 845215531"), whose t * 1000 would overflow. */
    int64_t now_s = now_wall_ms / 1000, ms;
    if ((int64_t)t > now_s + RETRY_AFTER_MAX_S)
        ms = RETRY_AFTER_MAX_S * 1000;
    else if ((int64_t)t < now_s - 1)
        ms = 0;
    else
        ms = (int64_t)t * 1000 - now_wall_ms;
    if (ms < 0)
        ms = 0;
    if (ms > RETRY_AFTER_MAX_S * 1000)
        ms = RETRY_AFTER_MAX_S * 1000;
    *out_ms = ms;
    return 0;
}

int64_t tr_backoff_retry_delay_ms(int64_t min_ms, int64_t max_ms, int64_t attempt, uint64_t rnd,
                                  int64_t retry_after_ms)
{
    int64_t d = tr_backoff_delay_ms(min_ms, max_ms, attempt, rnd);
    if (retry_after_ms >= 0) {
        int64_t floor_ms = retry_after_ms < max_ms ? retry_after_ms : max_ms;
        if (d < floor_ms)
            d = floor_ms;
    }
    return d;
}
