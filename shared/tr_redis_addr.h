/* tr_redis_addr.h - one Redis address as an option names it: "/path/to/socket" (a
 * unix socket: it starts with a slash) or "HOST:PORT" ("[v6 literal]:PORT" for an
 * IPv6 literal; port 1..65535). Used by --stream-redis (docs/PROTOCOL.md).
 *
 * Plain data, no allocation: a parsed address is a value the caller keeps.
 */
#ifndef TR_REDIS_ADDR_H
#define TR_REDIS_ADDR_H

#include <stddef.h>

#define TR_REDIS_ADDR_HOST_MAX 256
#define TR_REDIS_ADDR_PATH_MAX 108 /* sun_path */

typedef struct tr_redis_addr {
    int is_unix;                          /* 1: path; 0: host and port */
    char host[TR_REDIS_ADDR_HOST_MAX];    /* without brackets */
    int port;
    char path[TR_REDIS_ADDR_PATH_MAX];
} tr_redis_addr;

/* Parses s into *a: 0, or -1 with err saying what is wrong (s quoted, cut at 200
 * bytes). */
int tr_redis_addr_parse(const char *s, tr_redis_addr *a, char *err, size_t errlen);

/* "host:port", "[v6]:port" or the path, into buf (cut to len). */
void tr_redis_addr_format(const tr_redis_addr *a, char *buf, size_t len);

#endif
