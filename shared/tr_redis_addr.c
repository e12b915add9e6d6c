#include "tr_redis_addr.h"

#include <stdio.h>
#include <string.h>

static int bad(const char *s, const char *why, char *err, size_t errlen)
{
    snprintf(err, errlen, "'%.200s' is not a Redis address: %s", s, why);
    return -1;
}

int tr_redis_addr_parse(const char *s, tr_redis_addr *a, char *err, size_t errlen)
{
    memset(a, 0, sizeof *a);
    size_t n = strlen(s);
    if (n == 0)
        return bad(s, "empty (give HOST:PORT or /path/to/redis.sock)", err, errlen);
    if (s[0] == '/') {
        if (n >= sizeof a->path)
            return bad(s, "a unix socket path is at most 107 bytes", err, errlen);
        a->is_unix = 1;
        memcpy(a->path, s, n + 1);
        return 0;
    }
    const char *colon = strrchr(s, ':');
    if (colon == NULL)
        return bad(s, "give HOST:PORT or /path/to/redis.sock", err, errlen);
    const char *h = s;
    size_t hlen = (size_t)(colon - s);
    if (hlen >= 2 && h[0] == '[' && h[hlen - 1] == ']') {
        h++;
        hlen -= 2;
    } else if (memchr(h, ':', hlen) != NULL) {
        return bad(s, "an IPv6 address goes in brackets: [::1]:6379", err, errlen);
    }
    if (hlen == 0 || hlen >= sizeof a->host)
        return bad(s, "the host is empty or longer than 255 bytes", err, errlen);
    for (size_t i = 0; i < hlen; i++) {
        unsigned char ch = (unsigned char)h[i];
        if (ch <= ' ' || ch >= 0x7f || ch == '[' || ch == ']' || ch == '/')
            return bad(s, "the host holds a space, a control or non-ASCII byte, a bracket or a "
                          "slash", err, errlen);
    }
    const char *p = colon + 1;
    int port = 0;
    size_t digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
        port = port * 10 + (*p - '0');
    if (digits == 0 || *p != '\0' || port < 1 || port > 65535)
        return bad(s, "the port must be 1..65535", err, errlen);
    memcpy(a->host, h, hlen);
    a->host[hlen] = '\0';
    a->port = port;
    return 0;
}

void tr_redis_addr_format(const tr_redis_addr *a, char *buf, size_t len)
{
    if (a->is_unix)
        snprintf(buf, len, "%s", a->path);
    else if (strchr(a->host, ':') != NULL)
        snprintf(buf, len, "[%s]:%d", a->host, a->port);
    else
        snprintf(buf, len, "%s:%d", a->host, a->port);
}
