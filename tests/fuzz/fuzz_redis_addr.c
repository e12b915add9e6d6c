/* fuzz_redis_addr.c - a Redis address as --stream-redis gives it (tr_redis_addr_parse).
 *
 * Checks: an accepted address is a unix path (it began with '/', fits sun_path, kept
 * as given) or a host of 1..255 bytes with no space, control byte, bracket or slash
 * and a port 1..65535; formatting it and parsing that again gives the same address.
 * A refused one has a message that quotes no more than 200 bytes of the input.
 */
#include <string.h>

#include "tr_fuzz.h"
#include "tr_redis_addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1024)
        return 0;
    char *s = tr_fuzz_str(data, size);
    tr_redis_addr a;
    char err[512];
    if (tr_redis_addr_parse(s, &a, err, sizeof err) == 0) {
        if (a.is_unix) {
            TR_FUZZ_CHECK(s[0] == '/' && strcmp(a.path, s) == 0, "path '%s'", s);
        } else {
            size_t h = strlen(a.host);
            TR_FUZZ_CHECK(h >= 1 && h < TR_REDIS_ADDR_HOST_MAX, "host of '%s'", s);
            TR_FUZZ_CHECK(strpbrk(a.host, " []/\x7f") == NULL, "host '%s'", a.host);
            for (size_t i = 0; i < h; i++)
                TR_FUZZ_CHECK((unsigned char)a.host[i] > ' ', "host byte in '%s'", s);
            TR_FUZZ_CHECK(a.port >= 1 && a.port <= 65535, "port of '%s'", s);
        }
        char again[TR_REDIS_ADDR_HOST_MAX + 16];
        tr_redis_addr_format(&a, again, sizeof again);
        tr_redis_addr b;
        TR_FUZZ_CHECK(tr_redis_addr_parse(again, &b, err, sizeof err) == 0, "'%s' -> '%s'", s,
                      again);
        TR_FUZZ_CHECK(b.is_unix == a.is_unix && b.port == a.port &&
                          strcmp(b.host, a.host) == 0 && strcmp(b.path, a.path) == 0,
                      "'%s' -> '%s' differs", s, again);
    } else {
        TR_FUZZ_CHECK(strstr(err, "is not a Redis address") != NULL, "message '%s'", err);
        TR_FUZZ_CHECK(strlen(err) < 200 + 160, "message too long for '%.40s'", s);
    }
    free(s);
    return 0;
}
