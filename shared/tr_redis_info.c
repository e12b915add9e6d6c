/* tr_redis_info.c - reading Redis's INFO answers (tr_redis_info.h). */
#include "tr_redis_info.h"

#include <string.h>

/* Whether line [p, end) is a replica's ("slave<digits>:...") whose comma-separated
 * fields hold "state=online". */
static int replica_online(const char *p, const char *end)
{
    if (end - p < 6 || memcmp(p, "slave", 5) != 0)
        return 0;
    const char *f = p + 5;
    while (f < end && *f >= '0' && *f <= '9')
        f++;
    if (f == p + 5 || f == end || *f != ':')
        return 0;
    f++;
    while (f < end) {
        const char *comma = memchr(f, ',', (size_t)(end - f));
        const char *fend = comma != NULL ? comma : end;
        size_t flen = (size_t)(fend - f);
        if (flen > 0 && f[flen - 1] == '\r')
            flen--;
        if (flen == 12 && memcmp(f, "state=online", 12) == 0)
            return 1;
        if (comma == NULL)
            break;
        f = comma + 1;
    }
    return 0;
}

long long tr_redis_info_online_replicas(const char *info, size_t len)
{
    long long n = 0;
    const char *p = info, *end = info + len;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *lend = eol != NULL ? eol : end;
        n += replica_online(p, lend);
        p = eol != NULL ? eol + 1 : end;
    }
    return n;
}
