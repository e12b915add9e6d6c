/* fuzz_retry_after.c - a callback's Retry-After header value
 * (tr_backoff_parse_retry_after: delta-seconds or an HTTP-date via curl_getdate),
 * and the retry delay it leads to (tr_backoff_retry_delay_ms).
 *
 * Input: 8 bytes of "now" (epoch ms, 1970..9999), 8 bytes of jitter, 1 byte of
 * attempt number, then the value.
 * Checks: an accepted value gives 0 .. 30 years of ms; digits only give exactly
 * min(value, cap) seconds; the retry delay is never below min(Retry-After, backoff
 * max) and never above max(backoff max, that); refused values are neither digits
 * nor a date curl knows.
 */
#include <ctype.h>
#include <string.h>

#include "tr_backoff.h"
#include "tr_fuzz.h"

#define CAP_MS (INT64_C(946080000) * 1000) /* RETRY_AFTER_MAX_S in tr_backoff.c */
#define EPOCH_MS_MAX INT64_C(253402300799999)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tr_fuzz_in in = {data, size};
    int64_t now = (int64_t)(tr_fuzz_u64(&in) % (uint64_t)EPOCH_MS_MAX);
    uint64_t rnd = tr_fuzz_u64(&in);
    int64_t attempt = tr_fuzz_u8(&in);
    if (in.left > 256)
        return 0;
    char *v = tr_fuzz_str(in.p, in.left);
    int64_t ms = -7;
    if (tr_backoff_parse_retry_after(v, now, &ms) != 0) {
        TR_FUZZ_CHECK(ms == -7, "refused but wrote %lld", (long long)ms);
        free(v);
        return 0;
    }
    TR_FUZZ_CHECK(ms >= 0 && ms <= CAP_MS, "'%s': %lld ms", v, (long long)ms);
    /* Digits only (blanks around): the number itself, capped. */
    const char *p = v;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strspn(p, "0123456789");
    int only_digits = n > 0;
    for (const char *q = p + n; *q != '\0'; q++)
        only_digits = only_digits && isspace((unsigned char)*q);
    if (only_digits) {
        int64_t want = 0;
        for (size_t i = 0; i < n && want <= CAP_MS / 1000; i++)
            want = want * 10 + (p[i] - '0');
        want = want > CAP_MS / 1000 ? CAP_MS : want * 1000;
        TR_FUZZ_CHECK(ms == want, "'%s': %lld ms, want %lld", v, (long long)ms, (long long)want);
    }
    /* What the scheduler stores for the retry, with the defaults and an odd policy. */
    static const int64_t pol[][2] = {{1000, 3600000}, {1, 1}, {100, 86400000}};
    for (size_t i = 0; i < sizeof pol / sizeof pol[0]; i++) {
        int64_t lo = pol[i][0], hi = pol[i][1];
        int64_t d = tr_backoff_retry_delay_ms(lo, hi, attempt, rnd, ms);
        int64_t floor_ms = ms < hi ? ms : hi;
        TR_FUZZ_CHECK(d >= floor_ms && d <= (hi > floor_ms ? hi : floor_ms) && d >= lo / 2,
                      "delay %lld for Retry-After %lld, backoff %lld..%lld, attempt %lld",
                      (long long)d, (long long)ms, (long long)lo, (long long)hi, (long long)attempt);
    }
    free(v);
    return 0;
}
