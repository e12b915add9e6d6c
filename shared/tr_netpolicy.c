/* tr_netpolicy.c - the destination policy (rules and order in tr_netpolicy.h).
 *
 * Every address is handled in one 16-byte form (IPv4 as ::ffff:a.b.c.d), so one
 * prefix match serves both families and the wrapped forms cannot slip past a range
 * written for the other family.
 */
#include "tr_netpolicy.h"
#include "tr_url.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A range of the named policies, in the 16-byte form. */
typedef struct range {
    uint8_t net[16];
    int bits;
    const char *why;
} range;

#define V4(a, b, c, d, n) {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d}, (n) + 96
#define V6(...) __VA_ARGS__

/* Refused by private and public. */
static const range always_refused[] = {
    {V4(0, 0, 0, 0, 8), "unspecified (0.0.0.0/8)"},
    {V4(169, 254, 0, 0, 16), "link-local or metadata (169.254.0.0/16)"},
    {V4(224, 0, 0, 0, 4), "multicast"},
    {V4(255, 255, 255, 255, 32), "broadcast"},
    {V6({0}), 128, "unspecified (::)"},
    {V6({0xfe, 0x80}), 10, "link-local (fe80::/10)"},
    {V6({0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54}), 128,
     "metadata (fd00:ec2::254)"},
    {V6({0xff}), 8, "multicast"},
};

/* Refused by public only: not globally routable. */
static const range public_refused[] = {
    {V4(10, 0, 0, 0, 8), "private range (10/8)"},
    {V4(100, 64, 0, 0, 10), "CGNAT (100.64/10)"},
    {V4(127, 0, 0, 0, 8), "loopback"},
    {V4(172, 16, 0, 0, 12), "private range (172.16/12)"},
    {V4(192, 0, 0, 0, 24), "reserved (192.0.0/24)"},
    {V4(192, 168, 0, 0, 16), "private range (192.168/16)"},
    {V4(198, 18, 0, 0, 15), "reserved (198.18/15)"},
    {V4(240, 0, 0, 0, 4), "reserved (240/4)"},
    {V6({0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}), 128, "loopback (::1)"},
    {V6({0xfc}), 7, "unique local (fc00::/7)"},
};

#undef V4
#undef V6

#define NRANGES(a) (sizeof(a) / sizeof((a)[0]))

const char *tr_netpolicy_kind_name(tr_netpolicy_kind k)
{
    switch (k) {
    case TR_NETPOLICY_PUBLIC:
        return "public";
    case TR_NETPOLICY_ANY:
        return "any";
    case TR_NETPOLICY_PRIVATE:
    default:
        return "private";
    }
}

/* ---- addresses ---- */

static void from_v4(const void *v4, uint8_t out[16])
{
    memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    memcpy(out + 12, v4, 4);
}

/* IPv4 carried inside IPv6 comes out as ::ffff:a.b.c.d: mapped, NAT64 well-known
 * prefix 64:ff9b::/96, and IPv4-compatible ::a.b.c.d (not :: or ::1). */
static void unwrap(uint8_t a[16])
{
    static const uint8_t zero[12] = {0};
    static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
    if (memcmp(a, nat64, 12) == 0) {
        from_v4(a + 12, a);
        return;
    }
    if (memcmp(a, zero, 12) == 0) {
        uint32_t v = (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 | a[15];
        if (v > 1)
            from_v4(a + 12, a);
    }
}

/* The 16-byte form and port of sa. 0, or -1 for another family. */
static int from_sockaddr(const struct sockaddr *sa, uint8_t out[16], int *port)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)(const void *)sa;
        from_v4(&s4->sin_addr, out);
        *port = ntohs(s4->sin_port);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)(const void *)sa;
        memcpy(out, &s6->sin6_addr, 16);
        *port = ntohs(s6->sin6_port);
        unwrap(out);
        return 0;
    }
    return -1;
}

/* A literal address (no brackets) into the 16-byte form. 0, or -1 when not one. */
static int parse_addr(const char *s, uint8_t out[16], int *is_v4)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, s, &a4) == 1) {
        from_v4(&a4, out);
        *is_v4 = 1;
        return 0;
    }
    if (inet_pton(AF_INET6, s, &a6) == 1) {
        memcpy(out, &a6, 16);
        unwrap(out);
        *is_v4 = out[10] == 0xff && out[11] == 0xff && memcmp(out, (uint8_t[10]){0}, 10) == 0;
        return 0;
    }
    return -1;
}

static int prefix_match(const uint8_t *a, const uint8_t *net, int bits)
{
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a, net, (size_t)whole) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[whole] & mask) == (net[whole] & mask);
}

static void mask_bits(uint8_t a[16], int bits)
{
    for (int i = 0; i < 16; i++) {
        int keep = bits - i * 8;
        if (keep >= 8)
            continue;
        a[i] = keep <= 0 ? 0 : (uint8_t)(a[i] & (0xff << (8 - keep)));
    }
}

/* ---- host names ---- */

/* Nonzero when the URL host h equals the entry name (case-insensitive; one trailing
 * dot of h ignored). */
static int host_eq(const char *name, const char *h)
{
    size_t n = strlen(h);
    if (n > 0 && h[n - 1] == '.')
        n--;
    return strlen(name) == n && strncasecmp(name, h, n) == 0;
}

static int valid_name(const char *s)
{
    if (*s == '\0' || strlen(s) >= TR_NETPOLICY_HOST_MAX)
        return 0;
    for (; *s != '\0'; s++)
        if (!isalnum((unsigned char)*s) && *s != '.' && *s != '-' && *s != '_')
            return 0;
    return 1;
}

/* ---- parsing ---- */

static int parse_port(const char *s, int *port)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 65535 || !isdigit((unsigned char)*s))
        return -1;
    *port = (int)v;
    return 0;
}

/* "addr" or "addr/N" into r (net, bits). -1 when it is neither. */
static int parse_net(const char *text, tr_netrule *r)
{
    char s[INET6_ADDRSTRLEN + 8];
    if (strlen(text) >= sizeof s)
        return -1;
    memcpy(s, text, strlen(text) + 1);
    char *slash = strchr(s, '/');
    int is_v4 = 0;
    if (slash != NULL)
        *slash = '\0';
    if (parse_addr(s, r->net, &is_v4) != 0)
        return -1;
    int max = is_v4 ? 32 : 128;
    int bits = max;
    if (slash != NULL) {
        char *end = NULL;
        errno = 0;
        long v = strtol(slash + 1, &end, 10);
        if (errno != 0 || end == slash + 1 || *end != '\0' || v < 0 || v > max ||
            !isdigit((unsigned char)slash[1]))
            return -1;
        bits = (int)v;
    }
    r->bits = is_v4 ? bits + 96 : bits;
    mask_bits(r->net, r->bits);
    return 0;
}

/* One entry (trimmed, non-empty, writable) into r. 0 or -1. */
static int parse_entry(char *s, tr_netrule *r)
{
    char *port = NULL;
    if (s[0] == '[') {
        char *close = strchr(s, ']');
        if (close == NULL)
            return -1;
        *close = '\0';
        if (close[1] == ':')
            port = close + 2;
        else if (close[1] != '\0')
            return -1;
        if (port != NULL && parse_port(port, &r->port) != 0)
            return -1;
        return parse_net(s + 1, r);
    }
    char *first = strchr(s, ':');
    if (first != NULL && strchr(first + 1, ':') != NULL)
        return parse_net(s, r); /* IPv6 without brackets: no port */
    if (first != NULL) {
        *first = '\0';
        if (parse_port(first + 1, &r->port) != 0)
            return -1;
    }
    if (parse_net(s, r) == 0)
        return 0;
    if (strchr(s, '/') != NULL || !valid_name(s))
        return -1;
    r->is_host = 1;
    size_t n = strlen(s);
    if (n > 0 && s[n - 1] == '.')
        s[--n] = '\0';
    for (size_t i = 0; i <= n; i++)
        r->host[i] = (char)tolower((unsigned char)s[i]);
    return 0;
}

static int parse_list(tr_netpolicy *p, const char *list, int deny, char *err, size_t errlen)
{
    const char *opt = deny ? "--callback-deny" : "--callback-allow";
    if (list == NULL)
        return 0;
    const char *s = list;
    while (*s != '\0') {
        const char *comma = strchr(s, ',');
        size_t n = comma != NULL ? (size_t)(comma - s) : strlen(s);
        char item[TR_NETPOLICY_HOST_MAX + 16];
        while (n > 0 && (*s == ' ' || *s == '\t')) {
            s++;
            n--;
        }
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        if (n >= sizeof item) {
            snprintf(err, errlen, "%s: entry '%.40s...' too long", opt, s);
            return -1;
        }
        memcpy(item, s, n);
        item[n] = '\0';
        s = comma != NULL ? comma + 1 : s + strlen(s);
        if (n == 0)
            continue;
        if (p->nrules >= TR_NETPOLICY_RULES_MAX) {
            snprintf(err, errlen, "%s: more than %d entries in all", opt, TR_NETPOLICY_RULES_MAX);
            return -1;
        }
        tr_netrule *r = &p->rules[p->nrules];
        memset(r, 0, sizeof *r);
        r->deny = deny;
        char copy[sizeof item];
        memcpy(copy, item, n + 1);
        if (parse_entry(copy, r) != 0) {
            snprintf(err, errlen,
                     "%s: '%s' is not an address, CIDR block or host name (with an optional "
                     ":PORT 1-65535)",
                     opt, item);
            return -1;
        }
        if (r->is_host)
            p->has_hosts = 1;
        p->nrules++;
    }
    return 0;
}

int tr_netpolicy_parse(tr_netpolicy *p, const char *policy, const char *allow,
                       const char *deny, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (policy == NULL || strcmp(policy, "private") == 0)
        p->kind = TR_NETPOLICY_PRIVATE;
    else if (strcmp(policy, "public") == 0)
        p->kind = TR_NETPOLICY_PUBLIC;
    else if (strcmp(policy, "any") == 0)
        p->kind = TR_NETPOLICY_ANY;
    else {
        snprintf(err, errlen, "--callback-policy: '%s' is not public, private or any", policy);
        return -1;
    }
    if (parse_list(p, deny, 1, err, errlen) != 0 || parse_list(p, allow, 0, err, errlen) != 0)
        return -1;
    return 0;
}

/* ---- self ---- */

static void add_self(tr_netpolicy *p, const uint8_t a[16], int bits, int port, const char *what)
{
    if (p->nself >= TR_NETPOLICY_SELF_MAX)
        return;
    tr_netself *s = &p->self[p->nself++];
    memcpy(s->addr, a, 16);
    s->bits = bits;
    s->port = port;
    s->what = what;
}

static void add_self_sa(tr_netpolicy *p, const struct sockaddr *sa, int port, const char *what)
{
    uint8_t a[16];
    int ignored;
    if (sa != NULL && from_sockaddr(sa, a, &ignored) == 0)
        add_self(p, a, 128, port, what);
}

/* Every address `host` stands for (literal or resolved now), with port. */
static int add_self_host(tr_netpolicy *p, const char *host, int port, const char *what,
                         char *err, size_t errlen)
{
    uint8_t a[16];
    int is_v4;
    char bare[TR_NETPOLICY_HOST_MAX];
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof bare) {
        memcpy(bare, host + 1, n - 2);
        bare[n - 2] = '\0';
        host = bare;
    }
    if (parse_addr(host, a, &is_v4) == 0) {
        static const uint8_t any6[16] = {0};
        uint8_t any4[16];
        from_v4((const uint8_t[4]){0, 0, 0, 0}, any4);
        if (memcmp(a, any6, 16) != 0 && memcmp(a, any4, 16) != 0) {
            add_self(p, a, 128, port, what);
            return 0;
        }
        /* Listening on every address: loopback and each local interface. */
        uint8_t lo4[16], lo6[16] = {0};
        from_v4((const uint8_t[4]){127, 0, 0, 0}, lo4);
        lo6[15] = 1;
        add_self(p, lo4, 104, port, what);
        add_self(p, lo6, 128, port, what);
        struct ifaddrs *ifs = NULL;
        if (getifaddrs(&ifs) != 0) {
            snprintf(err, errlen, "getifaddrs: %s", strerror(errno));
            return -1;
        }
        for (struct ifaddrs *i = ifs; i != NULL; i = i->ifa_next)
            if (i->ifa_addr != NULL &&
                (i->ifa_addr->sa_family == AF_INET || i->ifa_addr->sa_family == AF_INET6))
                add_self_sa(p, i->ifa_addr, port, what);
        freeifaddrs(ifs);
        return 0;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(host, NULL, &hints, &res) != 0)
        return 0; /* unresolvable: nothing connects there either */
    for (struct addrinfo *r = res; r != NULL; r = r->ai_next)
        add_self_sa(p, r->ai_addr, port, what);
    freeaddrinfo(res);
    return 0;
}

int tr_netpolicy_add_self(tr_netpolicy *p, const char *listen_host, int listen_port,
                          const char *redis_host, int redis_port, char *err, size_t errlen)
{
    if (listen_host != NULL && listen_host[0] != '\0' && listen_port > 0 &&
        add_self_host(p, listen_host, listen_port, "TimeRush's listen address", err, errlen) != 0)
        return -1;
    if (redis_host != NULL && redis_host[0] != '\0' && redis_port > 0 &&
        add_self_host(p, redis_host, redis_port, "TimeRush's Redis", err, errlen) != 0)
        return -1;
    return 0;
}

/* ---- decisions ---- */

static const char *in_ranges(const range *r, size_t n, const uint8_t a[16])
{
    for (size_t i = 0; i < n; i++)
        if (prefix_match(a, r[i].net, r[i].bits))
            return r[i].why;
    return NULL;
}

static int rule_matches(const tr_netrule *r, const char *host, const uint8_t *a, int port)
{
    if (r->port != 0 && r->port != port)
        return 0;
    if (r->is_host)
        return host != NULL && host_eq(r->host, host);
    return a != NULL && prefix_match(a, r->net, r->bits);
}

/* The decision for address a (16-byte form, unwrapped; NULL for a name judged by its
 * text alone) and port, for URL host `host` (may be NULL). */
static tr_netpolicy_verdict decide(const tr_netpolicy *p, const char *host, const uint8_t *a,
                                   int port, const char **why)
{
    const char *reason = NULL;
    for (int pass = 1; pass >= 0; pass--) { /* deny entries first, then allow */
        for (size_t i = 0; i < p->nrules; i++) {
            const tr_netrule *r = &p->rules[i];
            if (r->deny == pass && rule_matches(r, host, a, port)) {
                if (pass) {
                    reason = "deny list";
                    goto refuse;
                }
                goto allow;
            }
        }
    }
    if (p->kind == TR_NETPOLICY_ANY)
        goto allow;
    if (port == 0) {
        reason = "port 0";
        goto refuse;
    }
    if (a == NULL)
        goto allow; /* a name: judged at connect time */
    if ((reason = in_ranges(always_refused, NRANGES(always_refused), a)) != NULL)
        goto refuse;
    if (p->kind == TR_NETPOLICY_PUBLIC &&
        (reason = in_ranges(public_refused, NRANGES(public_refused), a)) != NULL)
        goto refuse;
    for (size_t i = 0; i < p->nself; i++) {
        if (p->self[i].port == port && prefix_match(a, p->self[i].addr, p->self[i].bits)) {
            reason = p->self[i].what;
            goto refuse;
        }
    }
allow:
    if (why != NULL)
        *why = NULL;
    return TR_NETPOLICY_ALLOW;
refuse:
    if (why != NULL)
        *why = reason;
    return TR_NETPOLICY_REFUSE;
}

tr_netpolicy_verdict tr_netpolicy_check_addr(const tr_netpolicy *p, const char *host,
                                             const struct sockaddr *sa, const char **why)
{
    uint8_t a[16];
    int port = 0;
    if (from_sockaddr(sa, a, &port) != 0) {
        if (why != NULL)
            *why = "not an IP address";
        return TR_NETPOLICY_REFUSE;
    }
    return decide(p, host, a, port, why);
}

int tr_netpolicy_url_host(const char *url, char *buf, size_t len)
{
    CURLU *h = curl_url();
    char *host = NULL;
    int rc = -1;
    if (h != NULL && curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(h, CURLUPART_HOST, &host, 0) == CURLUE_OK && host != NULL &&
        strlen(host) < len) {
        for (size_t i = 0; host[i] != '\0'; i++)
            buf[i] = (char)tolower((unsigned char)host[i]);
        buf[strlen(host)] = '\0';
        rc = 0;
    }
    curl_free(host);
    curl_url_cleanup(h);
    return rc;
}

tr_netpolicy_verdict tr_netpolicy_check_url(const tr_netpolicy *p, const char *url,
                                            const char **why)
{
    CURLU *h = curl_url();
    char *host = NULL, *port_text = NULL;
    tr_netpolicy_verdict v = TR_NETPOLICY_REFUSE;
    const char *reason = "not a URL";
    /* A tcp target is judged as the http URL of the same host and port. */
    char as_http[TR_URL_MAX + 16], msg[160];
    /* A stream target opens no connection: the entry goes into TimeRush's own
     * Redis, so no address policy applies (docs/SECURITY.md). */
    if (tr_url_is_stream(url) && tr_url_stream_name(url, "", msg, sizeof msg) != NULL) {
        v = TR_NETPOLICY_ALLOW;
        reason = NULL;
        goto done;
    }
    if (tr_url_is_tcp(url)) {
        if (tr_url_tcp_parse(url, "", as_http, sizeof as_http, NULL, 0, NULL, msg, sizeof msg) != 0)
            goto done;
        url = as_http;
    }
    if (h == NULL || curl_url_set(h, CURLUPART_URL, url, 0) != CURLUE_OK ||
        curl_url_get(h, CURLUPART_HOST, &host, 0) != CURLUE_OK || host == NULL ||
        curl_url_get(h, CURLUPART_PORT, &port_text, CURLU_DEFAULT_PORT) != CURLUE_OK ||
        port_text == NULL)
        goto done;
    char *end = NULL;
    long port = strtol(port_text, &end, 10);
    if (end == port_text || *end != '\0' || port < 0 || port > 65535)
        goto done;
    /* curl has already turned 2130706433, 0x7f000001 and 127.1 into 127.0.0.1. */
    char bare[INET6_ADDRSTRLEN + 2];
    const char *lit = host;
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof bare) {
        memcpy(bare, host + 1, n - 2);
        bare[n - 2] = '\0';
        lit = bare;
    }
    uint8_t a[16];
    int is_v4;
    int literal = parse_addr(lit, a, &is_v4) == 0;
    v = decide(p, host, literal ? a : NULL, (int)port, &reason);
done:
    curl_free(host);
    curl_free(port_text);
    curl_url_cleanup(h);
    if (why != NULL)
        *why = v == TR_NETPOLICY_REFUSE ? reason : NULL;
    return v;
}

int tr_netpolicy_host_listed(const char *list, const char *host)
{
    const char *s = list;
    while (s != NULL && *s != '\0') {
        const char *comma = strchr(s, ',');
        size_t n = comma != NULL ? (size_t)(comma - s) : strlen(s);
        while (n > 0 && (*s == ' ' || *s == '\t')) {
            s++;
            n--;
        }
        while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
            n--;
        char name[TR_NETPOLICY_HOST_MAX];
        if (n > 0 && n < sizeof name) {
            memcpy(name, s, n);
            name[n] = '\0';
            if (name[n - 1] == '.')
                name[n - 1] = '\0';
            if (host_eq(name, host))
                return 1;
        }
        s = comma != NULL ? comma + 1 : NULL;
    }
    return 0;
}
