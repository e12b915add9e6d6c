/* fuzz_num.c - decimal integers from outside input (tr_num_parse: the list's limit
 * and cursor, CONTENT_LENGTH, the compat `seconds` string).
 *
 * Input: 1 byte choosing the bounds (a fixed set: the callers' own and the int64
 * edges), then the text. Checked against an independent reading of the documented
 * rule: [-]DIGITS, '-' only when lo < 0, no "-0", leading zeros fine; OK exactly when
 * the value lies in [lo, hi], RANGE when it is outside (or beyond int64), SYNTAX else;
 * *out untouched unless OK.
 */
#include <string.h>

#include "tr_fuzz.h"
#include "tr_num.h"

static const struct {
    int64_t lo, hi;
} bounds[] = {
    {0, INT64_MAX}, {1, 1000}, {INT64_MIN, INT64_MAX}, {-5, 5}, {0, 0}, {-1, -1},
    {INT64_MIN, -1}, {INT64_MAX, INT64_MAX}, {INT64_MIN, INT64_MIN}, {1, 3153600000LL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tr_fuzz_in in = {data, size};
    uint8_t b = tr_fuzz_u8(&in);
    int64_t lo = bounds[b % (sizeof bounds / sizeof bounds[0])].lo;
    int64_t hi = bounds[b % (sizeof bounds / sizeof bounds[0])].hi;
    /* An exact-size copy: ASan sees any read past len. */
    char *s = tr_fuzz_str(in.p, in.left);
    size_t len = in.left;

    /* Oracle: syntax, then the value as a sign and a magnitude (unsigned, saturated). */
    tr_num_result want = TR_NUM_SYNTAX;
    int neg = len > 0 && s[0] == '-';
    size_t i = (size_t)neg;
    int digits = i < len;
    for (size_t k = i; k < len; k++)
        digits = digits && s[k] >= '0' && s[k] <= '9';
    uint64_t mag = 0;
    int big = 0;
    if (digits && (!neg || lo < 0)) {
        for (size_t k = i; k < len; k++) {
            if (mag > (UINT64_MAX - 9) / 10)
                big = 1;
            else
                mag = mag * 10 + (uint64_t)(s[k] - '0');
        }
        if (neg && mag == 0 && !big) {
            want = TR_NUM_SYNTAX; /* "-0" */
        } else if (big || (!neg && mag > (uint64_t)INT64_MAX) ||
                   (neg && mag > (uint64_t)INT64_MAX + 1)) {
            want = TR_NUM_RANGE;
        } else {
            int64_t v = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag)
                            : (int64_t)mag;
            want = v < lo || v > hi ? TR_NUM_RANGE : TR_NUM_OK;
        }
    }
    int64_t out = 12345;
    tr_num_result got = tr_num_parse(s, len, lo, hi, &out);
    TR_FUZZ_CHECK(got == want, "'%.*s' in [%lld, %lld]: %d, oracle %d", (int)len, s, (long long)lo,
                  (long long)hi, (int)got, (int)want);
    if (got == TR_NUM_OK) {
        TR_FUZZ_CHECK(out >= lo && out <= hi, "out of bounds: %lld", (long long)out);
        uint64_t m = out < 0 ? (uint64_t)0 - (uint64_t)out : (uint64_t)out;
        TR_FUZZ_CHECK(m == mag && (out < 0) == neg, "'%.*s' read as %lld", (int)len, s, (long long)out);
    } else {
        TR_FUZZ_CHECK(out == 12345, "*out changed on failure");
    }
    free(s);
    return 0;
}
