#include "tr_num.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tr_assert.h"

tr_num_result tr_num_parse(const char *s, size_t len, int64_t lo, int64_t hi, int64_t *out)
{
    assert(s != NULL && lo <= hi);
    int neg = len > 0 && s[0] == '-';
    if (neg && lo >= 0)
        return TR_NUM_SYNTAX;
    size_t i = (size_t)neg;
    if (i == len)
        return TR_NUM_SYNTAX;
    for (size_t k = i; k < len; k++)
        if (s[k] < '0' || s[k] > '9')
            return TR_NUM_SYNTAX;
    while (i + 1 < len && s[i] == '0')
        i++;
    if (neg && s[i] == '0')
        return TR_NUM_SYNTAX; /* "-0", "-00" */
    /* INT64_MAX has 19 digits: more is out of range whatever they are. */
    char buf[1 + 19 + 1];
    size_t n = len - i;
    if (n > 19)
        return TR_NUM_RANGE;
    size_t o = 0;
    if (neg)
        buf[o++] = '-';
    memcpy(buf + o, s + i, n);
    buf[o + n] = '\0';
    char *end = NULL;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (end != buf + o + n)
        return TR_NUM_SYNTAX; /* not reached: the bytes were checked above */
    if (errno == ERANGE || v < lo || v > hi)
        return TR_NUM_RANGE;
    *out = (int64_t)v;
    return TR_NUM_OK;
}
