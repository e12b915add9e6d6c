/* tr_fuzz.c - input helpers for the fuzz targets (tr_fuzz.h). */
#include "tr_fuzz.h"

#include <string.h>

uint8_t tr_fuzz_u8(tr_fuzz_in *in)
{
    if (in->left == 0)
        return 0;
    in->left--;
    return *in->p++;
}

uint64_t tr_fuzz_u64(tr_fuzz_in *in)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)tr_fuzz_u8(in) << (8 * i);
    return v;
}

const uint8_t *tr_fuzz_field(tr_fuzz_in *in, uint8_t sep, size_t *len)
{
    const uint8_t *start = in->p;
    const uint8_t *end = in->left > 0 ? memchr(in->p, sep, in->left) : NULL;
    size_t n = end != NULL ? (size_t)(end - start) : in->left;
    *len = n;
    in->p += n;
    in->left -= n;
    if (end != NULL) { /* skip the separator */
        in->p++;
        in->left--;
    }
    return start;
}

char *tr_fuzz_str(const void *p, size_t len)
{
    char *s = malloc(len + 1);
    if (s == NULL)
        abort();
    if (len > 0)
        memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

char *tr_fuzz_field_str(tr_fuzz_in *in, uint8_t sep)
{
    size_t n = 0;
    const uint8_t *p = tr_fuzz_field(in, sep, &n);
    return tr_fuzz_str(p, n);
}
