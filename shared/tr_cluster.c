#include "tr_cluster.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "tr_clock.h"
#include "tr_redis.h"

#define NO_NODE 0xFFFFu
#define NODES_MAX 1024u         /* nodes ever seen (masters, replicas, seeds) */
#define DEFAULT_ATTEMPTS 8
#define DEFAULT_BACKOFF_MS 20
#define DEFAULT_BACKOFF_MAX_MS 1000
/* A probe (TR_CLUSTER_ONE_TRY) waits this long at most for its connection to be
 * made and authenticated; what is not done by then goes on at the next probe, so a
 * node that accepts connections but does not answer (stopped) costs a caller's loop
 * a few ms, not a read timeout. Loopback and LAN nodes answer well within it. */
#define PROBE_CONNECT_WAIT_MS 5
/* A probe's connection still not answered after this long (and the read timeout)
 * is made anew: a stopped node answers the AUTH waiting in its socket when it
 * resumes, so it is kept over a few probes; a lost SYN is not waited for forever. */
#define PROBE_CONNECT_MAX_MS 5000

typedef struct cl_node {
    char host[TR_CLUSTER_HOST_MAX]; /* as the seeds or the cluster name it */
    int port;
    redisContext *ctx;              /* NULL until first use, and after a failure */
    redisContext *pend;             /* a probe's connection being made, non-blocking
                                     * (TR_CLUSTER_ONE_TRY): connect, then AUTH (PING
                                     * without a password) until answered; then it is
                                     * ctx. NULL: none. Only while ctx is NULL */
    int64_t pend_since_ms;          /* monotonic ms: pend started */
    int pend_written;               /* pend's AUTH/PING is written out */
    int suspect;                    /* its last exchange failed (no connection, no
                                     * answer): a map reload asks it last */
} cl_node;

/* What one exchange with a node gave. */
typedef enum cl_send {
    CL_SENT,      /* every reply read */
    CL_NOT_SENT,  /* no connection, or it failed before the commands were all written */
    CL_LOST,      /* written, then the connection failed: they may have run */
    CL_FATAL      /* the node refused us (AUTH) or out of memory: retrying will not help */
} cl_send;

/* A call of the batch in flight (tr_cluster_append; tr_cluster_run's too). */
typedef struct run_call {
    const tr_cluster_call *call; /* the caller's, until the batch is done */
    tr_cluster_answer *ans;      /* the caller's, filled when the batch is done */
    size_t rn;                   /* its master's index in run_batch.rn; SIZE_MAX: none */
    unsigned char st;            /* run_state */
} run_call;

/* A master of the batch in flight. */
typedef struct run_node {
    unsigned ni;                /* index into c->nodes */
    size_t ncalls;              /* calls appended to its connection */
    size_t owed;                /* of them, answers not read yet */
    size_t unwritten;           /* of them, appended since the last write */
    size_t next;                /* calls[] index from which its next owed call is found */
    int64_t deadline_ms;        /* monotonic ms: owed answers not begun by then are lost */
    cl_send s;                  /* CL_SENT while its connection is usable */
    int failed;                 /* a call run again after its failure failed too */
    tr_ret err;                 /* its failure (s != CL_SENT, or failed) */
    char errstr[256];
} run_node;

/* The calls sent and not all answered: one pipeline per master, the answers read
 * as they arrive (tr_cluster_recv), resends once all are in. */
typedef struct run_batch {
    run_call *calls;
    size_t n, cap;
    run_node *rn;
    size_t nrn, rncap;
    int moved;                  /* an answer was -MOVED: reload the map at the end */
    unsigned moved_to;          /* ... from the node the last one named, first */
    int finishing;              /* the resends run (blocking routing): no settle */
} run_batch;

struct tr_cluster {
    cl_node *nodes;                 /* append-only; slot_node[] indexes it */
    size_t nnodes, cap;
    uint16_t slot_node[TR_CLUSTER_SLOTS]; /* index into nodes, NO_NODE: unknown */
    char *user, *password;          /* NULL when not set; password never logged */
    int timeout_ms, max_attempts, backoff_ms, backoff_max_ms;
    tr_ret err;
    char errstr[256];
    tr_cluster_stats stats;
    run_batch batch;                /* the calls sent and not all answered */
};

__attribute__((format(printf, 3, 4))) static void set_err(tr_cluster *c, tr_ret code,
                                                          const char *fmt, ...)
{
    c->err = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errstr, sizeof c->errstr, fmt, ap);
    va_end(ap);
}

/* --- slots --------------------------------------------------------------------- */

/* CRC16-XMODEM a byte at a time: crc16_table[i] is the CRC of byte i (the
 * specification's reference code has the same table; fuzz_cluster_redirect checks it
 * against the bit-by-bit definition). */
static const uint16_t crc16_table[256] = {
    0x0000, 0x1021, 0x2042, 0x3063, 0x4084, 0x50a5, 0x60c6, 0x70e7,
    0x8108, 0x9129, 0xa14a, 0xb16b, 0xc18c, 0xd1ad, 0xe1ce, 0xf1ef,
    0x1231, 0x0210, 0x3273, 0x2252, 0x52b5, 0x4294, 0x72f7, 0x62d6,
    0x9339, 0x8318, 0xb37b, 0xa35a, 0xd3bd, 0xc39c, 0xf3ff, 0xe3de,
    0x2462, 0x3443, 0x0420, 0x1401, 0x64e6, 0x74c7, 0x44a4, 0x5485,
    0xa56a, 0xb54b, 0x8528, 0x9509, 0xe5ee, 0xf5cf, 0xc5ac, 0xd58d,
    0x3653, 0x2672, 0x1611, 0x0630, 0x76d7, 0x66f6, 0x5695, 0x46b4,
    0xb75b, 0xa77a, 0x9719, 0x8738, 0xf7df, 0xe7fe, 0xd79d, 0xc7bc,
    0x48c4, 0x58e5, 0x6886, 0x78a7, 0x0840, 0x1861, 0x2802, 0x3823,
    0xc9cc, 0xd9ed, 0xe98e, 0xf9af, 0x8948, 0x9969, 0xa90a, 0xb92b,
    0x5af5, 0x4ad4, 0x7ab7, 0x6a96, 0x1a71, 0x0a50, 0x3a33, 0x2a12,
    0xdbfd, 0xcbdc, 0xfbbf, 0xeb9e, 0x9b79, 0x8b58, 0xbb3b, 0xab1a,
    0x6ca6, 0x7c87, 0x4ce4, 0x5cc5, 0x2c22, 0x3c03, 0x0c60, 0x1c41,
    0xedae, 0xfd8f, 0xcdec, 0xddcd, 0xad2a, 0xbd0b, 0x8d68, 0x9d49,
    0x7e97, 0x6eb6, 0x5ed5, 0x4ef4, 0x3e13, 0x2e32, 0x1e51, 0x0e70,
    0xff9f, 0xefbe, 0xdfdd, 0xcffc, 0xbf1b, 0xaf3a, 0x9f59, 0x8f78,
    0x9188, 0x81a9, 0xb1ca, 0xa1eb, 0xd10c, 0xc12d, 0xf14e, 0xe16f,
    0x1080, 0x00a1, 0x30c2, 0x20e3, 0x5004, 0x4025, 0x7046, 0x6067,
    0x83b9, 0x9398, 0xa3fb, 0xb3da, 0xc33d, 0xd31c, 0xe37f, 0xf35e,
    0x02b1, 0x1290, 0x22f3, 0x32d2, 0x4235, 0x5214, 0x6277, 0x7256,
    0xb5ea, 0xa5cb, 0x95a8, 0x8589, 0xf56e, 0xe54f, 0xd52c, 0xc50d,
    0x34e2, 0x24c3, 0x14a0, 0x0481, 0x7466, 0x6447, 0x5424, 0x4405,
    0xa7db, 0xb7fa, 0x8799, 0x97b8, 0xe75f, 0xf77e, 0xc71d, 0xd73c,
    0x26d3, 0x36f2, 0x0691, 0x16b0, 0x6657, 0x7676, 0x4615, 0x5634,
    0xd94c, 0xc96d, 0xf90e, 0xe92f, 0x99c8, 0x89e9, 0xb98a, 0xa9ab,
    0x5844, 0x4865, 0x7806, 0x6827, 0x18c0, 0x08e1, 0x3882, 0x28a3,
    0xcb7d, 0xdb5c, 0xeb3f, 0xfb1e, 0x8bf9, 0x9bd8, 0xabbb, 0xbb9a,
    0x4a75, 0x5a54, 0x6a37, 0x7a16, 0x0af1, 0x1ad0, 0x2ab3, 0x3a92,
    0xfd2e, 0xed0f, 0xdd6c, 0xcd4d, 0xbdaa, 0xad8b, 0x9de8, 0x8dc9,
    0x7c26, 0x6c07, 0x5c64, 0x4c45, 0x3ca2, 0x2c83, 0x1ce0, 0x0cc1,
    0xef1f, 0xff3e, 0xcf5d, 0xdf7c, 0xaf9b, 0xbfba, 0x8fd9, 0x9ff8,
    0x6e17, 0x7e36, 0x4e55, 0x5e74, 0x2e93, 0x3eb2, 0x0ed1, 0x1ef0,
};

static uint16_t crc16_xmodem(const unsigned char *p, size_t len)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < len; i++)
        crc = (uint16_t)((crc << 8) ^ crc16_table[((crc >> 8) ^ p[i]) & 0xFF]);
    return crc;
}

unsigned tr_cluster_keyslot(const char *key, size_t len)
{
    const char *open = memchr(key, '{', len);
    if (open != NULL) {
        size_t rest = len - (size_t)(open - key) - 1;
        const char *close = memchr(open + 1, '}', rest);
        if (close != NULL && close > open + 1) /* "{}" is no tag: the whole key */
            return crc16_xmodem((const unsigned char *)open + 1, (size_t)(close - open - 1)) &
                   (TR_CLUSTER_SLOTS - 1);
    }
    return crc16_xmodem((const unsigned char *)key, len) & (TR_CLUSTER_SLOTS - 1);
}

/* Reads a decimal number of 1..digits_max digits at p (len bytes); -1 when none. */
static long parse_dec(const char *p, size_t len, size_t digits_max, size_t *used)
{
    size_t i = 0;
    long v = 0;
    while (i < len && i < digits_max && p[i] >= '0' && p[i] <= '9')
        v = v * 10 + (p[i++] - '0');
    if (i == 0 || (i < len && p[i] >= '0' && p[i] <= '9'))
        return -1;
    *used = i;
    return v;
}

tr_cluster_redirect_kind tr_cluster_parse_redirect(const char *msg, size_t len,
                                                   tr_cluster_redirect *out)
{
    memset(out, 0, sizeof *out);
    tr_cluster_redirect_kind kind;
    size_t pos;
    if (len > 6 && memcmp(msg, "MOVED ", 6) == 0) {
        kind = TR_CLUSTER_REDIRECT_MOVED;
        pos = 6;
    } else if (len > 4 && memcmp(msg, "ASK ", 4) == 0) {
        kind = TR_CLUSTER_REDIRECT_ASK;
        pos = 4;
    } else {
        return TR_CLUSTER_REDIRECT_NONE;
    }
    size_t used;
    long slot = parse_dec(msg + pos, len - pos, 5, &used);
    if (slot < 0 || slot >= TR_CLUSTER_SLOTS)
        return TR_CLUSTER_REDIRECT_NONE;
    pos += used;
    if (pos >= len || msg[pos] != ' ')
        return TR_CLUSTER_REDIRECT_NONE;
    pos++;
    /* host:port, the port after the last ':' (IPv6 hosts hold colons); no blanks. */
    const char *ep = msg + pos;
    size_t eplen = len - pos;
    if (memchr(ep, ' ', eplen) != NULL)
        return TR_CLUSTER_REDIRECT_NONE;
    const char *colon = NULL;
    for (size_t i = eplen; i > 0; i--) {
        if (ep[i - 1] == ':') {
            colon = ep + i - 1;
            break;
        }
    }
    if (colon == NULL)
        return TR_CLUSTER_REDIRECT_NONE;
    size_t hostlen = (size_t)(colon - ep);
    size_t portlen = eplen - hostlen - 1;
    long port = parse_dec(colon + 1, portlen, 5, &used);
    if (port < 1 || port > 65535 || used != portlen || hostlen >= TR_CLUSTER_HOST_MAX ||
        memchr(ep, '\0', hostlen) != NULL)
        return TR_CLUSTER_REDIRECT_NONE;
    memcpy(out->host, ep, hostlen);
    out->host[hostlen] = '\0';
    out->port = (int)port;
    out->slot = (unsigned)slot;
    out->kind = kind;
    return kind;
}

/* 1 when the error reply starts with the word `w`. */
static int error_is(const redisReply *r, const char *w)
{
    size_t n = strlen(w);
    return r->type == REDIS_REPLY_ERROR && r->len >= n && memcmp(r->str, w, n) == 0 &&
           ((size_t)r->len == n || r->str[n] == ' ');
}

/* --- nodes and connections --------------------------------------------------- */

/* The index of host:port in c->nodes, added when new; NO_NODE when full or out of
 * memory (error set). */
static unsigned node_index(tr_cluster *c, const char *host_in, size_t hostlen, int port)
{
    if (hostlen >= TR_CLUSTER_HOST_MAX) {
        set_err(c, TR_RET_STORE_DOWN, "redis cluster: host name over %d bytes",
                TR_CLUSTER_HOST_MAX - 1);
        return NO_NODE;
    }
    /* A copy: host_in may be a node's own name, which the realloc below would free. */
    char host[TR_CLUSTER_HOST_MAX];
    memcpy(host, host_in, hostlen);
    for (size_t i = 0; i < c->nnodes; i++) {
        if (c->nodes[i].port == port && strlen(c->nodes[i].host) == hostlen &&
            memcmp(c->nodes[i].host, host, hostlen) == 0)
            return (unsigned)i;
    }
    if (c->nnodes == NODES_MAX) {
        set_err(c, TR_RET_INTERNAL, "redis cluster: over %u nodes", NODES_MAX);
        return NO_NODE;
    }
    if (c->nnodes == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        cl_node *n = realloc(c->nodes, cap * sizeof *n);
        if (n == NULL) {
            set_err(c, TR_RET_INTERNAL, "redis cluster: out of memory");
            return NO_NODE;
        }
        c->nodes = n;
        c->cap = cap;
    }
    cl_node *n = &c->nodes[c->nnodes];
    memcpy(n->host, host, hostlen);
    n->host[hostlen] = '\0';
    n->port = port;
    n->ctx = NULL;
    n->pend = NULL;
    n->pend_since_ms = 0;
    n->pend_written = 0;
    n->suspect = 0;
    return (unsigned)c->nnodes++;
}

static void node_close(cl_node *n)
{
    if (n->ctx != NULL) {
        redisFree(n->ctx);
        n->ctx = NULL;
    }
    if (n->pend != NULL) {
        redisFree(n->pend);
        n->pend = NULL;
    }
}

/* A new connection to n, timeouts set and authenticated. NULL with the error set;
 * *fatal = 1 when the node refused us (retrying will not help). */
/* AUTH [user] password into argv (3 slots): its argc. Only with a password. */
static int auth_argv(const tr_cluster *c, const char **argv)
{
    int argc = 0;
    argv[argc++] = "AUTH";
    if (c->user != NULL)
        argv[argc++] = c->user;
    argv[argc++] = c->password;
    return argc;
}

/* The error for an AUTH answered with error r (Redis's text never holds the password). */
static void auth_refused(tr_cluster *c, const cl_node *n, const redisReply *r)
{
    set_err(c, TR_RET_STORE_DOWN, "redis cluster %s:%d: AUTH refused (%s): %.*s", n->host,
            n->port, c->user != NULL ? "check --redis-user and the password" : "check the password",
            (int)(r->len > 120 ? 120 : r->len), r->str);
}

static redisContext *node_connect(tr_cluster *c, const cl_node *n, int *fatal)
{
    *fatal = 0;
    struct timeval tv = {c->timeout_ms / 1000, (c->timeout_ms % 1000) * 1000};
    redisContext *ctx = redisConnectWithTimeout(n->host, n->port, tv);
    if (ctx == NULL) {
        *fatal = 1;
        set_err(c, TR_RET_INTERNAL, "redis cluster connect: out of memory");
        return NULL;
    }
    if (ctx->err) {
        set_err(c, TR_RET_STORE_DOWN, "redis cluster connect %s:%d: %s", n->host, n->port,
                ctx->errstr);
        goto fail;
    }
    if (redisSetTimeout(ctx, tv) != REDIS_OK) {
        set_err(c, TR_RET_STORE_DOWN, "redis cluster %s:%d: set timeout: %s", n->host,
                n->port, ctx->errstr);
        goto fail;
    }
    c->stats.connects++;
    if (c->password != NULL) {
        const char *argv[3];
        int argc = auth_argv(c, argv);
        redisReply *r = redisCommandArgv(ctx, argc, argv, NULL);
        if (r == NULL) {
            set_err(c, TR_RET_STORE_DOWN, "redis cluster %s:%d: AUTH: %s", n->host, n->port,
                    ctx->errstr);
            goto fail;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            auth_refused(c, n, r);
            freeReplyObject(r);
            *fatal = 1;
            goto fail;
        }
        freeReplyObject(r);
    }
    return ctx;
fail:
    redisFree(ctx);
    return NULL;
}

/* --- a probe's connection, made without blocking ------------------------------ */

typedef enum pend_state {
    PEND_READY,  /* answered: it is n->ctx now, blocking with the timeouts set */
    PEND_WAIT,   /* not answered yet: kept for the next probe (error set) */
    PEND_FAILED, /* refused, reset, closed: gone (error set) */
    PEND_FATAL   /* AUTH refused, or out of memory: gone (error set) */
} pend_state;

/* Starts n's probe connection: a non-blocking connect with AUTH (or PING) queued.
 * 0, or -1 with the error set (*fatal: out of memory). */
static int pend_start(tr_cluster *c, cl_node *n, int *fatal)
{
    *fatal = 0;
    redisContext *p = redisConnectNonBlock(n->host, n->port);
    if (p == NULL) {
        *fatal = 1;
        set_err(c, TR_RET_INTERNAL, "redis cluster connect: out of memory");
        return -1;
    }
    if (p->err) {
        set_err(c, TR_RET_STORE_DOWN, "redis cluster connect %s:%d: %s", n->host, n->port,
                p->errstr);
        redisFree(p);
        return -1;
    }
    /* Its answer says the node runs: a stopped node accepts the connection (the
     * kernel does) but answers nothing. */
    const char *argv[3] = {"PING", NULL, NULL};
    int argc = c->password != NULL ? auth_argv(c, argv) : 1;
    if (redisAppendCommandArgv(p, argc, argv, NULL) != REDIS_OK) {
        *fatal = 1;
        set_err(c, TR_RET_INTERNAL, "redis cluster %s:%d: %s", n->host, n->port, p->errstr);
        redisFree(p);
        return -1;
    }
    n->pend = p;
    n->pend_since_ms = tr_clock_mono_ms();
    n->pend_written = 0;
    return 0;
}

/* n's probe connection answered: made blocking, with the timeouts, as node_connect's. */
static pend_state pend_adopt(tr_cluster *c, cl_node *n)
{
    redisContext *p = n->pend;
    struct timeval tv = {c->timeout_ms / 1000, (c->timeout_ms % 1000) * 1000};
    int fl = fcntl(p->fd, F_GETFL);
    n->pend = NULL;
    /* hiredis 0.14 has no call for it: the socket and the context's flag (the reverse
     * of scheduler/tr_wake.c's make_nonblocking). */
    if (fl < 0 || fcntl(p->fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        set_err(c, TR_RET_STORE_DOWN, "redis cluster %s:%d: fcntl: %s", n->host, n->port,
                strerror(errno));
        redisFree(p);
        return PEND_FAILED;
    }
    p->flags |= REDIS_BLOCK;
    if (redisSetTimeout(p, tv) != REDIS_OK) {
        set_err(c, TR_RET_STORE_DOWN, "redis cluster %s:%d: set timeout: %s", n->host, n->port,
                p->errstr);
        redisFree(p);
        return PEND_FAILED;
    }
    n->ctx = p;
    c->stats.connects++;
    return PEND_READY;
}

/* Drives n's probe connection for up to wait_ms: connected (POLLOUT, no SO_ERROR),
 * its AUTH/PING written, its answer read. */
static pend_state pend_step(tr_cluster *c, cl_node *n, int wait_ms)
{
    redisContext *p = n->pend;
    int64_t end = tr_clock_mono_ms() + wait_ms;
    const char *why = NULL;
    char buf[128];
    for (;;) {
        int64_t left = end - tr_clock_mono_ms();
        struct pollfd pf = {.fd = p->fd, .events = n->pend_written ? POLLIN : POLLOUT};
        int r = poll(&pf, 1, left > 0 ? (int)left : 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(buf, sizeof buf, "poll: %s", strerror(errno));
            why = buf;
            break;
        }
        if (r == 0) {
            set_err(c, TR_RET_STORE_DOWN,
                    "redis cluster %s:%d: connecting: no answer to %s after %lld ms (tried "
                    "again at the next probe)",
                    n->host, n->port, c->password != NULL ? "AUTH" : "PING",
                    (long long)(tr_clock_mono_ms() - n->pend_since_ms));
            return PEND_WAIT;
        }
        if (!n->pend_written) {
            int err = 0, done = 0;
            socklen_t len = sizeof err;
            if (getsockopt(p->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
                err = errno;
            if (err != 0) {
                snprintf(buf, sizeof buf, "%s", strerror(err));
                why = buf;
                break;
            }
            if (redisBufferWrite(p, &done) != REDIS_OK) {
                why = p->errstr;
                break;
            }
            n->pend_written = done;
            continue;
        }
        void *v = NULL;
        if (redisBufferRead(p) != REDIS_OK || redisGetReplyFromReader(p, &v) != REDIS_OK) {
            why = p->errstr;
            break;
        }
        if (v == NULL)
            continue; /* part of the answer: more to come */
        redisReply *rep = v;
        if (rep->type == REDIS_REPLY_ERROR && c->password != NULL) {
            auth_refused(c, n, rep);
            freeReplyObject(rep);
            node_close(n);
            return PEND_FATAL;
        }
        freeReplyObject(rep); /* PING's error (NOAUTH) is the next command's to meet */
        return pend_adopt(c, n);
    }
    set_err(c, TR_RET_STORE_DOWN, "redis cluster connect %s:%d: %s", n->host, n->port, why);
    node_close(n);
    return PEND_FAILED;
}

/* A probe's connection to n: the one being made goes on (made anew when it is too
 * old), a new one is started; then up to PROBE_CONNECT_WAIT_MS for it. */
static cl_send node_ready_probe(tr_cluster *c, cl_node *n)
{
    int fatal = 0;
    int max_ms = c->timeout_ms > PROBE_CONNECT_MAX_MS ? c->timeout_ms : PROBE_CONNECT_MAX_MS;
    if (n->pend != NULL && tr_clock_mono_ms() - n->pend_since_ms >= max_ms) {
        pend_state st = pend_step(c, n, 0); /* answered just now? */
        if (st != PEND_WAIT)
            return st == PEND_READY ? CL_SENT : st == PEND_FATAL ? CL_FATAL : CL_NOT_SENT;
        node_close(n);
    }
    if (n->pend == NULL && pend_start(c, n, &fatal) != 0)
        return fatal ? CL_FATAL : CL_NOT_SENT;
    pend_state st = pend_step(c, n, PROBE_CONNECT_WAIT_MS);
    return st == PEND_READY ? CL_SENT : st == PEND_FATAL ? CL_FATAL : CL_NOT_SENT;
}

/* Makes sure node ni has a usable connection. 0, or a CL_* failure. A probe
 * (flags: TR_CLUSTER_ONE_TRY) does not block on a new connection: node_ready_probe. */
static cl_send node_ready(tr_cluster *c, unsigned ni, unsigned flags)
{
    cl_node *n = &c->nodes[ni];
    if (n->ctx != NULL && (n->ctx->err || tr_redis_is_stale(n->ctx)))
        node_close(n); /* closed while idle: reopen rather than lose a command on it */
    if (n->ctx != NULL)
        return CL_SENT;
    if (flags & TR_CLUSTER_ONE_TRY)
        return node_ready_probe(c, n);
    if (n->pend != NULL) {
        /* Another call than a probe: the probe's connection if it is ready, else
         * a connection made the blocking way. */
        if (pend_step(c, n, 0) == PEND_READY)
            return CL_SENT;
        node_close(n);
    }
    int fatal;
    n->ctx = node_connect(c, n, &fatal);
    if (n->ctx == NULL)
        return fatal ? CL_FATAL : CL_NOT_SENT;
    return CL_SENT;
}

/* Writes cmds[0..k-1] to node ni in one go and reads the k replies into replies[]
 * (caller's on CL_SENT; none left on failure). */
static cl_send exchange_once(tr_cluster *c, unsigned ni, size_t k, const tr_cluster_cmd *cmds,
                             redisReply **replies, int one_cmd, unsigned flags)
{
    cl_send s = node_ready(c, ni, flags);
    if (s != CL_SENT)
        return s;
    cl_node *n = &c->nodes[ni];
    for (size_t i = 0; i < k; i++) {
        if (redisAppendCommandArgv(n->ctx, cmds[i].argc, cmds[i].argv, cmds[i].argvlen) !=
            REDIS_OK) {
            set_err(c, TR_RET_INTERNAL, "redis cluster %s:%d: %s", n->host, n->port,
                    n->ctx->errstr);
            node_close(n); /* its output buffer holds a partial pipeline */
            return CL_FATAL;
        }
    }
    int done = 0;
    while (!done) {
        if (redisBufferWrite(n->ctx, &done) != REDIS_OK) {
            /* A command cut short is not run by Redis; whole ones before it may have
             * been. With one_cmd (one command, or ASKING + one) nothing ran. */
            set_err(c, TR_RET_STORE_DOWN, "redis cluster %s:%d: %s", n->host, n->port,
                    n->ctx->errstr);
            node_close(n);
            return one_cmd ? CL_NOT_SENT : CL_LOST;
        }
    }
    for (size_t i = 0; i < k; i++) {
        void *r = NULL;
        if (redisGetReply(n->ctx, &r) != REDIS_OK || r == NULL) {
            set_err(c, TR_RET_OUTCOME_UNKNOWN, "redis cluster %s:%d: no answer: %s", n->host,
                    n->port, n->ctx->errstr);
            node_close(n);
            for (size_t j = 0; j < i; j++) {
                freeReplyObject(replies[j]);
                replies[j] = NULL;
            }
            return CL_LOST;
        }
        replies[i] = r;
    }
    return CL_SENT;
}

/* exchange_once, noting whether node ni answered (cl_node.suspect). */
static cl_send exchange(tr_cluster *c, unsigned ni, size_t k, const tr_cluster_cmd *cmds,
                        redisReply **replies, int one_cmd, unsigned flags)
{
    cl_send s = exchange_once(c, ni, k, cmds, replies, one_cmd, flags);
    if (s != CL_FATAL)
        c->nodes[ni].suspect = s != CL_SENT;
    return s;
}

/* --- the slot map ------------------------------------------------------------ */

/* Fills map[] from a CLUSTER SLOTS reply got from node `from`. 0 or -1 (error set). */
static int parse_slots(tr_cluster *c, const redisReply *r, unsigned from, uint16_t *map)
{
    if (r->type != REDIS_REPLY_ARRAY) {
        set_err(c, TR_RET_STORE_DOWN, "redis cluster: CLUSTER SLOTS: %s",
                r->type == REDIS_REPLY_ERROR ? r->str : "not an array");
        return -1;
    }
    for (size_t s = 0; s < TR_CLUSTER_SLOTS; s++)
        map[s] = NO_NODE;
    for (size_t i = 0; i < r->elements; i++) {
        const redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 ||
            e->element[0]->type != REDIS_REPLY_INTEGER ||
            e->element[1]->type != REDIS_REPLY_INTEGER ||
            e->element[2]->type != REDIS_REPLY_ARRAY || e->element[2]->elements < 2 ||
            (e->element[2]->element[0]->type != REDIS_REPLY_STRING &&
             e->element[2]->element[0]->type != REDIS_REPLY_NIL) ||
            e->element[2]->element[1]->type != REDIS_REPLY_INTEGER) {
            set_err(c, TR_RET_STORE_DOWN, "redis cluster: CLUSTER SLOTS: malformed entry %zu",
                    i);
            return -1;
        }
        long long lo = e->element[0]->integer, hi = e->element[1]->integer;
        const redisReply *host = e->element[2]->element[0];
        long long port = e->element[2]->element[1]->integer;
        if (lo < 0 || hi >= TR_CLUSTER_SLOTS || lo > hi || port < 1 || port > 65535) {
            set_err(c, TR_RET_STORE_DOWN,
                    "redis cluster: CLUSTER SLOTS: bad range %lld-%lld or port %lld", lo, hi,
                    port);
            return -1;
        }
        /* Redis 7 sends a null (cluster-preferred-endpoint-type unknown-endpoint), "" or
         * "?" when the endpoint is unknown: the node we asked. */
        unsigned ni;
        if (host->type == REDIS_REPLY_NIL || host->len == 0 ||
            (host->len == 1 && host->str[0] == '?'))
            ni = node_index(c, c->nodes[from].host, strlen(c->nodes[from].host), (int)port);
        else
            ni = node_index(c, host->str, host->len, (int)port);
        if (ni == NO_NODE)
            return -1;
        for (long long s = lo; s <= hi; s++)
            map[s] = (uint16_t)ni;
    }
    return 0;
}

/* tr_cluster_refresh, not asking node `avoid` (NO_NODE: any): a probe's reload
 * would otherwise wait on the very node that just did not answer; asking node
 * `prefer` first (NO_NODE: none): after a -MOVED the node it named serves the slot,
 * so its map has the move, where another node (a replica, the seed) may not have
 * heard of it yet and would give the old master back. */
static int refresh_from(tr_cluster *c, unsigned avoid, unsigned prefer)
{
    const char *argv[] = {"CLUSTER", "SLOTS"};
    /* Any node will do; nnodes may grow while parsing, the loop sees only old ones.
     * Those whose last exchange failed are asked last (one stopped would make us
     * wait), each node once: which ones is decided before asking. */
    size_t known = c->nnodes;
    uint16_t *map = malloc(sizeof c->slot_node);
    unsigned char *late = malloc(known > 0 ? known : 1);
    if (map == NULL || late == NULL) {
        free(map);
        free(late);
        set_err(c, TR_RET_INTERNAL, "redis cluster: out of memory");
        return -1;
    }
    for (size_t i = 0; i < known; i++)
        late[i] = c->nodes[i].suspect != 0;
    tr_cluster_cmd cmd = {2, argv, NULL};
    int rc = -1;
    if (prefer != NO_NODE && prefer != avoid && prefer < known && !late[prefer]) {
        redisReply *r = NULL;
        if (exchange(c, prefer, 1, &cmd, &r, 1, 0) == CL_SENT) {
            if (parse_slots(c, r, prefer, map) == 0) {
                memcpy(c->slot_node, map, sizeof c->slot_node);
                c->stats.refreshes++;
                rc = 0;
            }
            freeReplyObject(r);
        }
        late[prefer] = 2; /* asked: not again below */
    }
    for (size_t j = 0; j < 2 * known && rc != 0; j++) {
        size_t i = j % known;
        redisReply *r = NULL;
        if (i == avoid || late[i] == 2 || late[i] != (j >= known))
            continue;
        if (exchange(c, (unsigned)i, 1, &cmd, &r, 1, 0) != CL_SENT)
            continue;
        if (parse_slots(c, r, (unsigned)i, map) == 0) {
            memcpy(c->slot_node, map, sizeof c->slot_node);
            c->stats.refreshes++;
            rc = 0;
        }
        freeReplyObject(r);
    }
    free(map);
    free(late);
    if (rc == 0) {
        /* Connections to nodes that serve no slot now (a demoted master) go. */
        unsigned char *used = calloc(c->nnodes, 1);
        if (used != NULL) {
            for (size_t s = 0; s < TR_CLUSTER_SLOTS; s++)
                if (c->slot_node[s] != NO_NODE)
                    used[c->slot_node[s]] = 1;
            for (size_t i = 0; i < c->nnodes; i++)
                if (!used[i])
                    node_close(&c->nodes[i]);
            free(used);
        }
        c->err = TR_RET_OK;
        c->errstr[0] = '\0';
    }
    return rc;
}

static void settle(tr_cluster *c);

int tr_cluster_refresh(tr_cluster *c)
{
    settle(c);
    return refresh_from(c, NO_NODE, NO_NODE);
}

/* After a -MOVED to node `to`: the map reloaded from that node first. */
static int refresh_after_moved(tr_cluster *c, unsigned to)
{
    settle(c);
    return refresh_from(c, NO_NODE, to);
}

/* --- routing ------------------------------------------------------------------- */

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* A map reload (not from node avoid) whose outcome is ignored: the command's
 * failure is kept as the handle's error (a reload that works clears it). */
static void reload_keep_err(tr_cluster *c, unsigned avoid)
{
    tr_ret keep = c->err;
    char msg[sizeof c->errstr];
    memcpy(msg, c->errstr, sizeof msg);
    (void)refresh_from(c, avoid, NO_NODE);
    c->err = keep; /* the command's failure says more than the reload's */
    memcpy(c->errstr, msg, sizeof msg);
}

/* A pause before a retry, doubled each time; then a map reload (failure ignored: the
 * next attempt says what is wrong). */
static void retry_pause(tr_cluster *c, int *backoff)
{
    c->stats.retries++;
    pause_ms(*backoff);
    *backoff = *backoff * 2 > c->backoff_max_ms ? c->backoff_max_ms : *backoff * 2;
    reload_keep_err(c, NO_NODE);
}

/* After the last attempt: says so, keeping the last failure's code and text. */
static void gave_up(tr_cluster *c, unsigned slot, int attempts)
{
    char last[sizeof c->errstr];
    memcpy(last, c->errstr, sizeof last);
    set_err(c, c->err != TR_RET_OK ? c->err : TR_RET_STORE_DOWN,
            "%s (slot %u: gave up after %d attempt%s)", last[0] ? last : "redis cluster", slot,
            attempts, attempts == 1 ? "" : "s");
}

/* The node that serves slot, reloading the map once when it has none. */
static unsigned slot_master(tr_cluster *c, unsigned slot)
{
    if (c->slot_node[slot] == NO_NODE)
        (void)tr_cluster_refresh(c);
    if (c->slot_node[slot] == NO_NODE)
        set_err(c, TR_RET_STORE_DOWN, "redis cluster: no master serves slot %u", slot);
    return c->slot_node[slot];
}

/* Loads `script` on node ni; 0, -1 (error set; *s says whether retrying may help). */
static int load_script(tr_cluster *c, unsigned ni, const char *script, const char *sha,
                       size_t shalen, cl_send *s)
{
    const char *argv[] = {"SCRIPT", "LOAD", script};
    tr_cluster_cmd cmd = {3, argv, NULL};
    redisReply *r = NULL;
    *s = exchange(c, ni, 1, &cmd, &r, 1, 0);
    if (*s == CL_LOST)
        *s = CL_NOT_SENT; /* SCRIPT LOAD may be repeated */
    if (*s != CL_SENT)
        return -1;
    c->stats.script_loads++;
    int ok = r->type == REDIS_REPLY_STRING && (size_t)r->len == shalen &&
             strncasecmp(r->str, sha, shalen) == 0;
    if (!ok) {
        set_err(c, TR_RET_INTERNAL, "redis cluster %s:%d: SCRIPT LOAD answered %.*s",
                c->nodes[ni].host, c->nodes[ni].port,
                (int)(r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_ERROR
                          ? (r->len > 120 ? 120 : r->len)
                          : 0),
                r->str != NULL ? r->str : "");
        *s = CL_FATAL;
    }
    freeReplyObject(r);
    return ok ? 0 : -1;
}

static redisReply *succeeded(tr_cluster *c, redisReply *r)
{
    c->err = TR_RET_OK;
    c->errstr[0] = '\0';
    return r;
}

/* tr_cluster_command and tr_cluster_evalsha: script non-NULL handles -NOSCRIPT. */
static redisReply *route(tr_cluster *c, const char *key, size_t keylen, int argc,
                         const char **argv, const size_t *argvlen, unsigned flags,
                         const char *script)
{
    unsigned slot = tr_cluster_keyslot(key, keylen);
    /* Where -MOVED / -ASK (or a script load) sends the next attempt, and whether ASKING
     * goes first; NO_NODE: the map's master of the slot. ASK is followed once. */
    unsigned next = NO_NODE;
    int next_asking = 0;
    int backoff = c->backoff_ms;
    c->err = TR_RET_OK;
    c->errstr[0] = '\0';
    int pause_next = 0; /* the last attempt asked for a pause and a reload first */
    unsigned last = NO_NODE; /* the node the last attempt went to */
    int tries = 0;
    for (int attempt = 0; attempt < c->max_attempts; attempt++) {
        if (pause_next) {
            if (flags & TR_CLUSTER_ONE_TRY) {
                reload_keep_err(c, last); /* a promoted replica is found next time */
                break;
            }
            retry_pause(c, &backoff);
            pause_next = 0;
        }
        tries++;
        unsigned ni = next != NO_NODE ? next : slot_master(c, slot);
        last = ni;
        int asking = next != NO_NODE && next_asking;
        next = NO_NODE;
        next_asking = 0;
        if (ni == NO_NODE) {
            pause_next = 1;
            continue;
        }
        const char *asking_argv[] = {"ASKING"};
        tr_cluster_cmd cmds[2] = {{1, asking_argv, NULL}, {argc, argv, argvlen}};
        redisReply *rs[2] = {NULL, NULL};
        cl_send s = exchange(c, ni, asking ? 2 : 1, asking ? cmds : cmds + 1, rs, 1, flags);
        if (s == CL_LOST && (flags & TR_CLUSTER_IDEMPOTENT))
            s = CL_NOT_SENT;
        if (s == CL_NOT_SENT && (flags & TR_CLUSTER_FAIL_FAST)) {
            reload_keep_err(c, ni); /* a promoted replica is found next time */
            break;
        }
        if (s == CL_NOT_SENT) {
            pause_next = 1;
            continue;
        }
        if (s != CL_SENT)
            return NULL; /* error set: fatal, or the outcome is unknown */
        redisReply *r = rs[asking ? 1 : 0];
        if (asking) {
            int ok = rs[0]->type == REDIS_REPLY_STATUS;
            freeReplyObject(rs[0]);
            if (!ok) {
                set_err(c, TR_RET_INTERNAL, "redis cluster %s:%d: ASKING refused",
                        c->nodes[ni].host, c->nodes[ni].port);
                freeReplyObject(r);
                return NULL;
            }
        }
        if (r->type != REDIS_REPLY_ERROR)
            return succeeded(c, r);
        tr_cluster_redirect red;
        if (tr_cluster_parse_redirect(r->str, r->len, &red) != TR_CLUSTER_REDIRECT_NONE) {
            const char *host = red.host[0] != '\0' ? red.host : c->nodes[ni].host;
            unsigned to = node_index(c, host, strlen(host), red.port);
            freeReplyObject(r);
            if (to == NO_NODE)
                return NULL;
            next = to; /* as the spec says: resend where the node told us */
            if (red.kind == TR_CLUSTER_REDIRECT_ASK) {
                c->stats.ask++;
                next_asking = 1;
            } else {
                c->stats.moved++;
                c->slot_node[red.slot] = (uint16_t)to; /* kept if the reload fails */
                (void)refresh_after_moved(c, to);
            }
            set_err(c, TR_RET_INTERNAL, "redis cluster: slot %u: too many redirections", slot);
            continue;
        }
        if (error_is(r, "TRYAGAIN") || error_is(r, "CLUSTERDOWN")) {
            set_err(c, TR_RET_STORE_DOWN, "redis cluster %s:%d: %.*s", c->nodes[ni].host,
                    c->nodes[ni].port, (int)(r->len > 120 ? 120 : r->len), r->str);
            freeReplyObject(r);
            pause_next = 1;
            continue;
        }
        if (script != NULL && error_is(r, "NOSCRIPT")) {
            freeReplyObject(r);
            if (load_script(c, ni, script, argv[1], argvlen ? argvlen[1] : strlen(argv[1]),
                            &s) != 0) {
                if (s == CL_FATAL)
                    return NULL;
                pause_next = 1;
                continue;
            }
            next = ni; /* the same node, under ASKING if it was */
            next_asking = asking;
            continue;
        }
        return succeeded(c, r); /* the command's own error */
    }
    gave_up(c, slot, tries);
    return NULL;
}

redisReply *tr_cluster_command(tr_cluster *c, const char *key, size_t keylen, int argc,
                               const char **argv, const size_t *argvlen, unsigned flags)
{
    settle(c);
    return route(c, key, keylen, argc, argv, argvlen, flags, NULL);
}

redisReply *tr_cluster_evalsha(tr_cluster *c, const char *script, int argc,
                               const char **argv, const size_t *argvlen, unsigned flags)
{
    settle(c);
    size_t nk_len = argc >= 3 ? (argvlen ? argvlen[2] : strlen(argv[2])) : 0;
    size_t used = 0;
    long numkeys = argc >= 3 ? parse_dec(argv[2], nk_len, 9, &used) : -1;
    if (argc < 4 || numkeys < 1 || used != nk_len || numkeys > argc - 3) {
        set_err(c, TR_RET_INTERNAL, "redis cluster: EVALSHA needs a sha and at least one key");
        return NULL;
    }
    return route(c, argv[3], argvlen ? argvlen[3] : strlen(argv[3]), argc, argv, argvlen,
                 flags, script);
}

/* 1 when a pipeline's reply must be resent alone (the slot moved, or try again). */
static int resend_alone(const redisReply *r)
{
    tr_cluster_redirect red;
    return r->type == REDIS_REPLY_ERROR &&
           (tr_cluster_parse_redirect(r->str, r->len, &red) != TR_CLUSTER_REDIRECT_NONE ||
            error_is(r, "TRYAGAIN") || error_is(r, "CLUSTERDOWN"));
}

static void free_replies(redisReply **replies, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (replies[i] != NULL)
            freeReplyObject(replies[i]);
        replies[i] = NULL;
    }
}

int tr_cluster_pipeline(tr_cluster *c, const char *key, size_t keylen, size_t n,
                        const tr_cluster_cmd *cmds, redisReply **replies, unsigned flags)
{
    settle(c);
    unsigned slot = tr_cluster_keyslot(key, keylen);
    int backoff = c->backoff_ms;
    for (size_t i = 0; i < n; i++)
        replies[i] = NULL;
    c->err = TR_RET_OK;
    c->errstr[0] = '\0';
    int pause_next = 0; /* the last attempt asked for a pause and a reload first */
    unsigned last = NO_NODE; /* the node the last attempt went to */
    int tries = 0;
    for (int attempt = 0; attempt < c->max_attempts; attempt++) {
        if (pause_next) {
            if (flags & TR_CLUSTER_ONE_TRY) {
                reload_keep_err(c, last); /* a promoted replica is found next time */
                break;
            }
            retry_pause(c, &backoff);
            pause_next = 0;
        }
        tries++;
        unsigned ni = slot_master(c, slot);
        last = ni;
        if (ni == NO_NODE) {
            pause_next = 1;
            continue;
        }
        cl_send s = exchange(c, ni, n, cmds, replies, n == 1, flags);
        if (s == CL_LOST && (flags & TR_CLUSTER_IDEMPOTENT))
            s = CL_NOT_SENT;
        if (s == CL_NOT_SENT && (flags & TR_CLUSTER_FAIL_FAST)) {
            reload_keep_err(c, ni);
            break;
        }
        if (s == CL_NOT_SENT) {
            pause_next = 1;
            continue;
        }
        if (s != CL_SENT)
            return -1;
        /* All -MOVED: the slot had left before the first command; none ran. */
        size_t moved = 0;
        tr_cluster_redirect red;
        for (size_t i = 0; i < n; i++)
            moved += replies[i]->type == REDIS_REPLY_ERROR &&
                     tr_cluster_parse_redirect(replies[i]->str, replies[i]->len, &red) ==
                         TR_CLUSTER_REDIRECT_MOVED;
        if (n > 0 && moved == n) {
            c->stats.moved++;
            const char *host = red.host[0] != '\0' ? red.host : c->nodes[ni].host;
            unsigned to = node_index(c, host, strlen(host), red.port);
            free_replies(replies, n);
            if (to != NO_NODE)
                c->slot_node[red.slot] = (uint16_t)to; /* kept if the reload fails */
            (void)refresh_after_moved(c, to);
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            if (!resend_alone(replies[i]))
                continue;
            freeReplyObject(replies[i]);
            replies[i] = route(c, key, keylen, cmds[i].argc, cmds[i].argv, cmds[i].argvlen,
                               flags, NULL);
            if (replies[i] == NULL) {
                free_replies(replies, n);
                return -1;
            }
        }
        c->err = TR_RET_OK;
        c->errstr[0] = '\0';
        return 0;
    }
    gave_up(c, slot, tries);
    return -1;
}

/* --- many calls over many masters: a batch ----------------------------------------
 * tr_cluster_append / tr_cluster_flush send, tr_cluster_recv takes the answers (as
 * they arrive, or blocking), tr_cluster_run is all three, blocking. */

/* Where a call of the batch stands. */
typedef enum run_state {
    RUN_QUEUED, /* appended to its master's output, answer not read yet */
    RUN_DONE,   /* answered: its answer is final (a reply, or a failure) */
    RUN_AGAIN,  /* to be run alone through route() */
    RUN_LOST    /* written, its answer lost: it may have run */
} run_state;

static void node_failed(tr_cluster *c, run_node *rn, cl_send s)
{
    rn->s = s;
    rn->err = c->err != TR_RET_OK ? c->err : TR_RET_STORE_DOWN;
    memcpy(rn->errstr, c->errstr, sizeof rn->errstr);
}

static void answer_fail(tr_cluster_answer *a, tr_ret code, const char *msg)
{
    a->reply = NULL;
    a->err = code;
    snprintf(a->errstr, sizeof a->errstr, "%s", msg);
}

/* 1 when a first-pass answer must be run again alone. */
static int run_again(const redisReply *r, const tr_cluster_call *call)
{
    return resend_alone(r) || (call->script != NULL && error_is(r, "NOSCRIPT"));
}

static redisReply *route_call(tr_cluster *c, const tr_cluster_call *call)
{
    return route(c, call->key, call->keylen, call->argc, call->argv, call->argvlen,
                 call->flags, call->script);
}

/* Room for n more calls and masters in the batch. 0, or -1 (out of memory). */
static int batch_reserve(run_batch *b, size_t n)
{
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 32;
        while (cap < b->n + n)
            cap *= 2;
        run_call *p = realloc(b->calls, cap * sizeof *p);
        if (p == NULL)
            return -1;
        b->calls = p;
        b->cap = cap;
    }
    if (b->nrn + n > b->rncap) {
        size_t cap = b->rncap ? b->rncap : 8;
        while (cap < b->nrn + n)
            cap *= 2;
        run_node *p = realloc(b->rn, cap * sizeof *p);
        if (p == NULL)
            return -1;
        b->rn = p;
        b->rncap = cap;
    }
    return 0;
}

/* Master k of the batch failed (s): its connection goes, and so do the answers it
 * owed: lost (CL_LOST: they may have run), to be sent again alone (CL_NOT_SENT), or
 * failed (CL_FATAL). The handle's error says why. */
static void node_down(tr_cluster *c, size_t k, cl_send s)
{
    run_batch *b = &c->batch;
    run_node *rn = &b->rn[k];
    node_close(&c->nodes[rn->ni]);
    if (s != CL_FATAL)
        c->nodes[rn->ni].suspect = 1;
    node_failed(c, rn, s);
    for (size_t i = rn->next; i < b->n; i++) {
        run_call *rc = &b->calls[i];
        if (rc->rn != k || rc->st != RUN_QUEUED)
            continue;
        rc->st = s == CL_LOST ? RUN_LOST : s == CL_NOT_SENT ? RUN_AGAIN : RUN_DONE;
        if (rc->st == RUN_DONE)
            answer_fail(rc->ans, rn->err, rn->errstr);
    }
    rn->owed = 0;
}

/* Adds call (answer: its answer) for node ni (NO_NODE: no master known; route()
 * reloads the map, pauses and retries) to the batch, appended to that node's output.
 * Room is reserved. */
static void batch_add(tr_cluster *c, unsigned ni, const tr_cluster_call *call,
                      tr_cluster_answer *answer)
{
    run_batch *b = &c->batch;
    size_t i = b->n++;
    run_call *rc = &b->calls[i];
    *rc = (run_call){.call = call, .ans = answer, .rn = SIZE_MAX, .st = RUN_AGAIN};
    answer->reply = NULL;
    answer->err = TR_RET_OK;
    answer->errstr[0] = '\0';
    if (ni == NO_NODE)
        return;
    size_t k = 0;
    while (k < b->nrn && b->rn[k].ni != ni)
        k++;
    if (k == b->nrn) {
        b->rn[k] = (run_node){.ni = ni, .s = CL_SENT, .next = i};
        b->nrn++;
        cl_send s = node_ready(c, ni, call->flags);
        if (s == CL_NOT_SENT)
            c->nodes[ni].suspect = 1;
        if (s != CL_SENT)
            node_failed(c, &b->rn[k], s);
    }
    rc->rn = k;
    run_node *rn = &b->rn[k];
    if (rn->s == CL_LOST) {
        /* Its master failed with answers owed in this batch: not tried again here
         * (not sent: STORE_DOWN), as the others of a master that failed. */
        answer_fail(answer, TR_RET_STORE_DOWN, rn->errstr);
        rc->st = RUN_DONE;
        return;
    }
    if (rn->s != CL_SENT)
        return;
    redisContext *ctx = c->nodes[ni].ctx;
    if (redisAppendCommandArgv(ctx, call->argc, call->argv, call->argvlen) != REDIS_OK) {
        set_err(c, TR_RET_INTERNAL, "redis cluster %s:%d: %s", c->nodes[ni].host,
                c->nodes[ni].port, ctx->errstr);
        /* Nothing of it written yet: none of its calls ran, unless some went out
         * earlier in the batch. */
        node_down(c, k, rn->ncalls > rn->unwritten ? CL_LOST : CL_NOT_SENT);
        return;
    }
    rc->st = RUN_QUEUED;
    rn->ncalls++;
    rn->unwritten++;
    rn->owed++;
}

int tr_cluster_append(tr_cluster *c, const tr_cluster_call *call, tr_cluster_answer *answer)
{
    run_batch *b = &c->batch;
    if (batch_reserve(b, 1) != 0) {
        set_err(c, TR_RET_INTERNAL, "redis cluster: out of memory");
        answer_fail(answer, c->err, c->errstr);
        return -1;
    }
    unsigned slot = tr_cluster_keyslot(call->key, call->keylen);
    /* A map reload closes the connections of nodes that serve nothing: only while
     * none holds a call of the batch. Later, a slot with no master is route()'s. */
    unsigned ni = b->n == 0 ? slot_master(c, slot) : c->slot_node[slot];
    batch_add(c, ni, call, answer);
    return 0;
}

void tr_cluster_flush(tr_cluster *c)
{
    run_batch *b = &c->batch;
    int64_t deadline = tr_clock_mono_ms() + c->timeout_ms;
    /* Every master's output before any answer is read: the round trips overlap. */
    for (size_t k = 0; k < b->nrn; k++) {
        run_node *rn = &b->rn[k];
        if (rn->s != CL_SENT || rn->unwritten == 0)
            continue;
        cl_node *nd = &c->nodes[rn->ni];
        int done = 0;
        while (!done) {
            if (redisBufferWrite(nd->ctx, &done) != REDIS_OK) {
                set_err(c, TR_RET_STORE_DOWN, "redis cluster %s:%d: %s", nd->host, nd->port,
                        nd->ctx->errstr);
                /* A command cut short is not run; whole ones before it may have been. */
                node_down(c, k, rn->ncalls == 1 ? CL_NOT_SENT : CL_LOST);
                break;
            }
        }
        rn->unwritten = 0;
        if (done && rn->owed > 0)
            rn->deadline_ms = deadline;
    }
}

/* Call i's first-pass answer r (from node nd). */
static void take_answer(tr_cluster *c, size_t i, redisReply *r, const cl_node *nd)
{
    run_batch *b = &c->batch;
    run_call *rc = &b->calls[i];
    if (!run_again(r, rc->call)) {
        rc->ans->reply = r;
        rc->st = RUN_DONE;
        return;
    }
    /* Counted here as route() counts them: the resend may not meet them again. */
    tr_cluster_redirect red;
    tr_cluster_redirect_kind kind = tr_cluster_parse_redirect(r->str, r->len, &red);
    if (kind == TR_CLUSTER_REDIRECT_MOVED) {
        const char *host = red.host[0] != '\0' ? red.host : nd->host;
        unsigned to = node_index(c, host, strlen(host), red.port);
        if (to != NO_NODE)
            c->slot_node[red.slot] = (uint16_t)to; /* route() goes there at once */
        c->stats.moved++;
        b->moved = 1;
        b->moved_to = to;
    } else if (kind == TR_CLUSTER_REDIRECT_ASK) {
        c->stats.ask++;
    } else if (error_is(r, "TRYAGAIN") || error_is(r, "CLUSTERDOWN")) {
        c->stats.retries++;
    }
    freeReplyObject(r);
    rc->st = RUN_AGAIN;
}

/* Takes the answers master k's reader holds, in its calls' order (no read(2)). */
static void node_take(tr_cluster *c, size_t k)
{
    run_batch *b = &c->batch;
    run_node *rn = &b->rn[k];
    cl_node *nd = &c->nodes[rn->ni];
    while (rn->owed > 0 && rn->s == CL_SENT) {
        void *v = NULL;
        if (redisGetReplyFromReader(nd->ctx, &v) != REDIS_OK) {
            set_err(c, TR_RET_OUTCOME_UNKNOWN, "redis cluster %s:%d: no answer: %s", nd->host,
                    nd->port, nd->ctx->errstr);
            node_down(c, k, CL_LOST);
            return;
        }
        if (v == NULL)
            return;
        size_t i = rn->next;
        while (b->calls[i].rn != k || b->calls[i].st != RUN_QUEUED)
            i++;
        rn->next = i + 1;
        rn->owed--;
        rn->deadline_ms = tr_clock_mono_ms() + c->timeout_ms; /* it answers: more time */
        nd->suspect = 0;
        take_answer(c, i, v, nd);
    }
}

/* One read(2) on master k's connection (blocking up to the timeout on a socket that
 * is not readable), then the answers it brought. */
static void node_read(tr_cluster *c, size_t k)
{
    cl_node *nd = &c->nodes[c->batch.rn[k].ni];
    if (redisBufferRead(nd->ctx) != REDIS_OK) {
        set_err(c, TR_RET_OUTCOME_UNKNOWN, "redis cluster %s:%d: no answer: %s", nd->host,
                nd->port, nd->ctx->errstr);
        node_down(c, k, CL_LOST);
        return;
    }
    node_take(c, k);
}

/* POLL: one read(2) on each master whose socket is readable now. */
static void batch_poll(tr_cluster *c)
{
    run_batch *b = &c->batch;
    struct pollfd pf[32];
    size_t idx[32];
    for (size_t from = 0; from < b->nrn;) {
        size_t m = 0;
        for (; from < b->nrn && m < 32; from++) {
            if (b->rn[from].owed == 0 || b->rn[from].s != CL_SENT)
                continue;
            pf[m] = (struct pollfd){.fd = c->nodes[b->rn[from].ni].ctx->fd, .events = POLLIN};
            idx[m++] = from;
        }
        if (m == 0 || poll(pf, m, 0) <= 0)
            continue; /* EINTR: the next call reads */
        for (size_t j = 0; j < m; j++)
            if (pf[j].revents != 0)
                node_read(c, idx[j]);
    }
}

/* The batch's end: every first-pass answer is in. The calls not answered for good
 * are run again alone (route()), in call order; the batch is emptied. */
static void batch_finish(tr_cluster *c)
{
    run_batch *b = &c->batch;
    b->finishing = 1;
    if (b->moved) /* every answer is read: connections may go */
        (void)refresh_from(c, NO_NODE, b->moved_to);
    tr_ret first = TR_RET_OK;
    char first_msg[sizeof c->errstr] = "";
    for (size_t i = 0; i < b->n; i++) {
        run_call *rc = &b->calls[i];
        tr_cluster_answer *a = rc->ans;
        const tr_cluster_call *call = rc->call;
        run_node *k = rc->rn != SIZE_MAX ? &b->rn[rc->rn] : NULL;
        if (rc->st == RUN_LOST && !(call->flags & TR_CLUSTER_IDEMPOTENT)) {
            answer_fail(a, TR_RET_OUTCOME_UNKNOWN, k->errstr);
        } else if (rc->st != RUN_DONE && k != NULL && (k->failed || k->s == CL_FATAL)) {
            /* Its master failed once in this batch, or refused us (AUTH). */
            answer_fail(a, k->err, k->errstr);
        } else if (rc->st == RUN_AGAIN && k != NULL && k->s == CL_NOT_SENT &&
                   (call->flags & (TR_CLUSTER_ONE_TRY | TR_CLUSTER_FAIL_FAST))) {
            /* A probe, or its caller gives an unreachable master up: its one send was
             * this batch's; a promoted replica is found next. */
            answer_fail(a, k->err, k->errstr);
            k->failed = 1;
            reload_keep_err(c, k->ni);
        } else if (rc->st != RUN_DONE) {
            a->reply = route_call(c, call);
            if (a->reply == NULL) {
                answer_fail(a, c->err != TR_RET_OK ? c->err : TR_RET_STORE_DOWN, c->errstr);
                if (k != NULL && k->s != CL_SENT) { /* its connection failed, then this */
                    k->failed = 1;
                    k->err = a->err;
                    memcpy(k->errstr, a->errstr, sizeof k->errstr);
                }
            }
        }
        if (a->reply == NULL && first == TR_RET_OK) {
            first = a->err;
            memcpy(first_msg, a->errstr, sizeof first_msg);
        }
    }
    b->n = 0;
    b->nrn = 0;
    b->moved = 0;
    b->moved_to = NO_NODE;
    b->finishing = 0;
    c->err = first;
    memcpy(c->errstr, first_msg, sizeof c->errstr);
}

int tr_cluster_recv(tr_cluster *c, int mode)
{
    run_batch *b = &c->batch;
    if (b->n == 0)
        return 1;
    tr_cluster_flush(c); /* calls appended and not written yet would never answer */
    if (mode > 0) {
        for (size_t k = 0; k < b->nrn; k++) {
            node_take(c, k);
            while (b->rn[k].owed > 0 && b->rn[k].s == CL_SENT)
                node_read(c, k); /* bounded by the socket's timeout */
        }
    } else {
        if (mode == 0)
            batch_poll(c);
        /* A master that stays silent past the timeout is lost, as a blocking read's
         * timeout would have it; the others' answers are not held up. */
        int64_t now = tr_clock_mono_ms();
        for (size_t k = 0; k < b->nrn; k++) {
            run_node *rn = &b->rn[k];
            if (rn->owed == 0 || rn->s != CL_SENT || now < rn->deadline_ms)
                continue;
            set_err(c, TR_RET_OUTCOME_UNKNOWN, "redis cluster %s:%d: no answer within %d ms",
                    c->nodes[rn->ni].host, c->nodes[rn->ni].port, c->timeout_ms);
            node_down(c, k, CL_LOST);
        }
    }
    for (size_t k = 0; k < b->nrn; k++)
        if (b->rn[k].owed > 0)
            return 0;
    batch_finish(c);
    return 1;
}

int tr_cluster_owed(const tr_cluster *c)
{
    return c->batch.n > 0;
}

size_t tr_cluster_fds(const tr_cluster *c, int *fds, size_t max)
{
    size_t m = 0;
    for (size_t k = 0; k < c->batch.nrn; k++) {
        const run_node *rn = &c->batch.rn[k];
        if (rn->owed == 0 || rn->s != CL_SENT)
            continue;
        if (m < max)
            fds[m] = c->nodes[rn->ni].ctx->fd;
        m++;
    }
    return m;
}

int64_t tr_cluster_recv_in_ms(const tr_cluster *c)
{
    int64_t at = -1;
    for (size_t k = 0; k < c->batch.nrn; k++) {
        const run_node *rn = &c->batch.rn[k];
        if (rn->owed > 0 && rn->s == CL_SENT && (at < 0 || rn->deadline_ms < at))
            at = rn->deadline_ms;
    }
    if (at < 0)
        return -1;
    int64_t in = at - tr_clock_mono_ms();
    return in < 0 ? 0 : in;
}

void tr_cluster_abandon(tr_cluster *c)
{
    run_batch *b = &c->batch;
    for (size_t k = 0; k < b->nrn; k++)
        if (b->rn[k].owed > 0 || b->rn[k].unwritten > 0)
            node_close(&c->nodes[b->rn[k].ni]); /* its answers would come out of step */
    for (size_t i = 0; i < b->n; i++) {
        if (b->calls[i].ans->reply != NULL)
            freeReplyObject(b->calls[i].ans->reply);
        answer_fail(b->calls[i].ans, TR_RET_STORE_DOWN, "redis cluster: batch dropped");
    }
    b->n = 0;
    b->nrn = 0;
    b->moved = 0;
    b->moved_to = NO_NODE;
}

/* Before a blocking call: the batch in flight is answered first (its connections
 * must carry nothing else meanwhile). */
static void settle(tr_cluster *c)
{
    if (c->batch.n > 0 && !c->batch.finishing)
        (void)tr_cluster_recv(c, 1);
}

int tr_cluster_run(tr_cluster *c, size_t n, const tr_cluster_call *calls,
                   tr_cluster_answer *answers)
{
    settle(c);
    for (size_t i = 0; i < n; i++)
        answers[i] = (tr_cluster_answer){.reply = NULL, .err = TR_RET_OK};
    c->err = TR_RET_OK;
    c->errstr[0] = '\0';
    if (n == 0)
        return 0;
    if (n == 1) {
        answers[0].reply = route_call(c, &calls[0]);
        answers[0].err = c->err;
        memcpy(answers[0].errstr, c->errstr, sizeof answers[0].errstr);
        return answers[0].reply != NULL ? 0 : -1;
    }
    unsigned *node = malloc(n * sizeof *node);
    if (node == NULL || batch_reserve(&c->batch, n) != 0) {
        free(node);
        set_err(c, TR_RET_INTERNAL, "redis cluster: out of memory");
        for (size_t i = 0; i < n; i++)
            answer_fail(&answers[i], c->err, c->errstr);
        return -1;
    }
    /* Every call's master first: a map reload (no master for a slot) closes the
     * connections of nodes that serve nothing, which must hold no pipeline yet. */
    for (size_t i = 0; i < n; i++)
        node[i] = slot_master(c, tr_cluster_keyslot(calls[i].key, calls[i].keylen));
    for (size_t i = 0; i < n; i++)
        batch_add(c, node[i], &calls[i], &answers[i]);
    free(node);
    tr_cluster_flush(c);
    (void)tr_cluster_recv(c, 1);
    return c->err == TR_RET_OK ? 0 : -1;
}

redisContext *tr_cluster_connect_for_key(tr_cluster *c, const char *key, size_t keylen)
{
    settle(c);
    unsigned ni = slot_master(c, tr_cluster_keyslot(key, keylen));
    if (ni == NO_NODE)
        return NULL;
    int fatal;
    return node_connect(c, &c->nodes[ni], &fatal);
}

/* --- the handle ---------------------------------------------------------------- */

static char *dup_opt(const char *s)
{
    return s != NULL && s[0] != '\0' ? strdup(s) : NULL;
}

/* Reads one "host:port" (len bytes at p): 0 with the host's length and the port, or -1. */
static int parse_seed(const char *p, size_t len, size_t *hostlen, int *port)
{
    const char *colon = NULL;
    for (size_t i = len; i > 0; i--) {
        if (p[i - 1] == ':') {
            colon = p + i - 1;
            break;
        }
    }
    if (colon == NULL || colon == p || (size_t)(colon - p) >= TR_CLUSTER_HOST_MAX)
        return -1;
    size_t plen = len - (size_t)(colon - p) - 1, used = 0;
    long v = parse_dec(colon + 1, plen, 5, &used);
    if (v < 1 || v > 65535 || used != plen)
        return -1;
    *hostlen = (size_t)(colon - p);
    *port = (int)v;
    return 0;
}

int tr_cluster_seeds_each(const char *seeds, tr_cluster_seed_fn fn, void *arg, char *err,
                          size_t errlen)
{
    const char *p = seeds;
    if (p == NULL || *p == '\0') {
        snprintf(err, errlen, "redis cluster: no seed nodes (--cluster HOST:PORT,...)");
        return -1;
    }
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        size_t hostlen;
        int port;
        if (parse_seed(p, len, &hostlen, &port) != 0) {
            snprintf(err, errlen, "redis cluster: seed '%.*s' is not HOST:PORT (port 1..65535)",
                     (int)(len > 200 ? 200 : len), p);
            return -1;
        }
        if (fn != NULL && fn(arg, p, hostlen, port, err, errlen) != 0)
            return -1;
        if (end == NULL)
            return 0;
        p = end + 1;
    }
}

int tr_cluster_seeds_check(const char *seeds, char *err, size_t errlen)
{
    return tr_cluster_seeds_each(seeds, NULL, NULL, err, errlen);
}

/* tr_cluster_new's seed callback: the seed becomes a known node. */
static int add_seed(void *arg, const char *host, size_t hostlen, int port, char *err,
                    size_t errlen)
{
    tr_cluster *c = arg;
    if (node_index(c, host, hostlen, port) != NO_NODE)
        return 0;
    if (err != c->errstr)
        snprintf(err, errlen, "%s", c->errstr);
    return -1;
}

tr_cluster *tr_cluster_new(const tr_cluster_opts *opts, tr_ret *code, char *err, size_t errlen)
{
    tr_cluster *c = calloc(1, sizeof *c);
    if (c == NULL) {
        *code = TR_RET_INTERNAL;
        snprintf(err, errlen, "redis cluster: out of memory");
        return NULL;
    }
    for (size_t s = 0; s < TR_CLUSTER_SLOTS; s++)
        c->slot_node[s] = NO_NODE;
    c->timeout_ms = opts->timeout_ms > 0 ? opts->timeout_ms : 1000;
    c->max_attempts = opts->max_attempts > 0 ? opts->max_attempts : DEFAULT_ATTEMPTS;
    c->backoff_ms = opts->backoff_ms > 0 ? opts->backoff_ms : DEFAULT_BACKOFF_MS;
    c->backoff_max_ms = opts->backoff_max_ms > 0 ? opts->backoff_max_ms : DEFAULT_BACKOFF_MAX_MS;
    c->user = dup_opt(opts->user);
    c->password = dup_opt(opts->password);
    if ((opts->user != NULL && opts->user[0] != '\0' && c->user == NULL) ||
        (opts->password != NULL && opts->password[0] != '\0' && c->password == NULL)) {
        set_err(c, TR_RET_INTERNAL, "redis cluster: out of memory");
        goto fail;
    }
    if (tr_cluster_seeds_each(opts->seeds, add_seed, c, c->errstr, sizeof c->errstr) != 0) {
        c->err = TR_RET_STORE_DOWN;
        goto fail;
    }
    if (tr_cluster_refresh(c) != 0)
        goto fail;
    return c;
fail:
    *code = c->err != TR_RET_OK ? c->err : TR_RET_STORE_DOWN;
    snprintf(err, errlen, "%s", c->errstr[0] != '\0' ? c->errstr : "redis cluster: no seed answered");
    tr_cluster_free(c);
    return NULL;
}

void tr_cluster_free(tr_cluster *c)
{
    if (c == NULL)
        return;
    tr_cluster_abandon(c);
    free(c->batch.calls);
    free(c->batch.rn);
    for (size_t i = 0; i < c->nnodes; i++)
        node_close(&c->nodes[i]);
    free(c->nodes);
    if (c->password != NULL) {
        /* Not left in freed memory; volatile so the stores are not dropped. */
        volatile char *p = c->password;
        while (*p != '\0')
            *p++ = '\0';
        free(c->password);
    }
    free(c->user);
    free(c);
}

int tr_cluster_slot_node(const tr_cluster *c, unsigned slot, const char **host, int *port)
{
    if (slot >= TR_CLUSTER_SLOTS || c->slot_node[slot] == NO_NODE)
        return -1;
    *host = c->nodes[c->slot_node[slot]].host;
    *port = c->nodes[c->slot_node[slot]].port;
    return 0;
}

void tr_cluster_get_stats(const tr_cluster *c, tr_cluster_stats *out)
{
    *out = c->stats;
}

tr_ret tr_cluster_err(const tr_cluster *c)
{
    return c->err;
}

const char *tr_cluster_errstr(const tr_cluster *c)
{
    return c->errstr;
}
