#include "tr_mem.h"

#include <stdlib.h>
#include <string.h>

char *tr_dup_bytes(const char *p, size_t len)
{
    char *out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    if (len > 0)
        memcpy(out, p, len);
    out[len] = '\0';
    return out;
}
