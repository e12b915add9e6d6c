/* tr_netpolicy.h - where callbacks may go: the destination policy.
 *
 * The scheduler asks it about the address libcurl is about to connect to (its
 * CURLOPT_OPENSOCKETFUNCTION), so every spelling of an address and every DNS answer,
 * rebinding included, is judged by the bytes of the socket address, never by the URL
 * text. timerush-fcgi and the chain path ask it about a URL alone at creation, to
 * refuse early what the URL already shows (a literal address, port 0).
 *
 * A decision, in this order:
 *   1. --callback-deny: a matching entry refuses;
 *   2. --callback-allow: a matching entry allows;
 *   3. the named policy (--callback-policy):
 *      any      allows everything;
 *      private  (default) refuses 0.0.0.0/8, ::, 169.254.0.0/16, fe80::/10,
 *               fd00:ec2::254 (cloud metadata), multicast 224.0.0.0/4 and ff00::/8,
 *               255.255.255.255, port 0, and "self": TimeRush's own listen address and
 *               port, and Redis's TCP address and port (tr_netpolicy_add_self());
 *      public   refuses what private refuses, and every address that is not globally
 *               routable: 10/8, 100.64/10, 127/8, 172.16/12, 192.0.0/24, 192.168/16,
 *               198.18/15, 240/4, ::1, fc00::/7.
 * Before any match, IPv4 inside IPv6 is unwrapped: IPv4-mapped ::ffff:a.b.c.d, NAT64
 * 64:ff9b::a.b.c.d and IPv4-compatible ::a.b.c.d are judged as a.b.c.d.
 *
 * A list entry is one of (comma-separated; spaces ignored):
 *   a.b.c.d  a.b.c.d/N  a.b.c.d:PORT  a.b.c.d/N:PORT
 *   v6  v6/N  [v6]  [v6/N]  [v6]:PORT  [v6/N]:PORT
 *   HOST  HOST:PORT      (a name, compared with the URL's host, case-insensitive)
 * An entry without a port matches every port.
 *
 * A tr_netpolicy is a plain value (fixed arrays, no heap): it lives inside tr_config,
 * is filled once at start and only read afterwards, so threads share it freely.
 */
#ifndef TR_NETPOLICY_H
#define TR_NETPOLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define TR_NETPOLICY_RULES_MAX 64  /* allow + deny entries */
#define TR_NETPOLICY_SELF_MAX 160  /* own addresses (listen, interfaces, Redis: a
                                    * cluster's nodes, 2 ports each) */
#define TR_NETPOLICY_HOST_MAX 254  /* a host name entry, NUL included */

/* The error text kept for a refused delivery: nothing more is stored or returned. */
#define TR_NETPOLICY_REFUSED "destination refused by policy"

typedef enum tr_netpolicy_kind {
    TR_NETPOLICY_PRIVATE = 0, /* the default */
    TR_NETPOLICY_PUBLIC = 1,
    TR_NETPOLICY_ANY = 2
} tr_netpolicy_kind;

typedef enum tr_netpolicy_verdict {
    TR_NETPOLICY_ALLOW = 0,
    TR_NETPOLICY_REFUSE = 1
} tr_netpolicy_verdict;

/* One list entry. Addresses are kept in 16-byte IPv6 form (IPv4 as ::ffff:a.b.c.d,
 * its prefix + 96). */
typedef struct tr_netrule {
    int deny;                        /* 1: --callback-deny, 0: --callback-allow */
    int is_host;                     /* 1: host name entry (host), 0: address (net/bits) */
    uint8_t net[16];                 /* network, host bits zeroed */
    int bits;                        /* prefix length 0..128 */
    int port;                        /* 1..65535, or 0 for every port */
    char host[TR_NETPOLICY_HOST_MAX];/* lowercased, no trailing dot */
} tr_netrule;

/* One of TimeRush's own endpoints: an address (16-byte form) and port. */
typedef struct tr_netself {
    uint8_t addr[16];
    int bits;                        /* 128, or 104 for all of 127/8 */
    int port;
    const char *what;                /* "listen address" or "Redis" (static) */
} tr_netself;

typedef struct tr_netpolicy {
    tr_netpolicy_kind kind;
    int has_hosts;                   /* some rule is a host name (the caller must pass it) */
    size_t nrules;
    tr_netrule rules[TR_NETPOLICY_RULES_MAX];
    size_t nself;
    tr_netself self[TR_NETPOLICY_SELF_MAX];
} tr_netpolicy;

/* Sets *p from the option texts: policy "public", "private" or "any"; allow and deny
 * comma lists (may be empty or NULL). 0, or -1 with a one-line reason in err naming
 * the option and the bad entry. */
int tr_netpolicy_parse(tr_netpolicy *p, const char *policy, const char *allow,
                       const char *deny, char *err, size_t errlen);

/* Adds TimeRush's own endpoints to "self": the listen address (a literal address, or
 * a name resolved now; an unspecified address 0.0.0.0/:: stands for loopback and every
 * local interface address, getifaddrs()) with listen_port, and Redis's host:port when
 * redis_port > 0 (a TCP Redis). Entries beyond TR_NETPOLICY_SELF_MAX are dropped.
 * 0, or -1 with a reason in err (a name that does not resolve is not an error: it
 * cannot be connected to either). */
int tr_netpolicy_add_self(tr_netpolicy *p, const char *listen_host, int listen_port,
                          const char *redis_host, int redis_port, char *err, size_t errlen);

/* The decision for a connection to sa (AF_INET or AF_INET6, port included) made for
 * a URL whose host is `host` (lowercase or not; NULL when unknown: host entries then
 * do not match). On REFUSE *why (when why is not NULL) is a static text for the log
 * ("loopback", "deny list", ...); on ALLOW it is NULL. */
tr_netpolicy_verdict tr_netpolicy_check_addr(const tr_netpolicy *p, const char *host,
                                             const struct sockaddr *sa, const char **why);

/* The decision by a URL's text alone (creation time), with libcurl's URL parser: a
 * literal address in any spelling curl reads (2130706433, 0x7f000001, 127.1,
 * [::ffff:127.0.0.1]) is judged as a connection to it; a host name passes unless a
 * deny entry names it; port 0 is refused. A URL curl cannot parse is refused
 * ("not a URL": tr_url_check() gives the precise reason). *why as above. */
tr_netpolicy_verdict tr_netpolicy_check_url(const tr_netpolicy *p, const char *url,
                                            const char **why);

/* The host of a URL as libcurl reads it (lowercased, brackets kept for IPv6) into
 * buf. 0, or -1 when it cannot be parsed or does not fit. */
int tr_netpolicy_url_host(const char *url, char *buf, size_t len);

/* 1 when `host` (a URL's host, any case, one trailing dot ignored) is one of the
 * names in the comma list `list` (spaces around names ignored), else 0. For
 * --pem-hosts. */
int tr_netpolicy_host_listed(const char *list, const char *host);

/* The name of a policy kind ("private", ...). */
const char *tr_netpolicy_kind_name(tr_netpolicy_kind k);

#endif
