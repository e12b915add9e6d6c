#include "tr_dest.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_clock.h"
#include "tr_log.h"
#include "tr_url.h"

#define HOLD_BUSY_MIN_MS 100
#define HOLD_BUSY_MAX_MS 5000
#define HOLD_SPACING_MAX_US 1000 /* held timers of one destination come back at least this
                                  * close (a slow one's, one a ms), and at most --host-limit
                                  * a ms (a fast one's: its pace over its slots) */
#define SWEEP_MIN 1024 /* destinations kept before idle ones are forgotten */
#define URLS_MAX 4096  /* callback URLs remembered (a burst repeats one URL) */

/* A hash-table entry: the first member of tr_dest and of dest_addr. */
typedef struct node {
    struct node *hnext;
    uint64_t hash;
    char *key;
} node;

typedef struct map {
    node **buckets;
    size_t nbuckets; /* a power of two */
    size_t count;
} map;

/* A callback URL already parsed. */
typedef struct url_entry {
    node n;
    struct tr_dest *dest;
} url_entry;

/* An address:port connections went to; shared by every name resolving to it. */
typedef struct tr_dest_addr {
    node n;
    int active; /* transfers counted on it */
    int refs;   /* destinations whose last address it is */
} dest_addr;

struct tr_dest {
    node n;
    int active;            /* transfers in flight */
    dest_addr *addr;       /* last address learned; NULL until a connection opened */
    tr_xfer *qhead, *qtail; /* waiting, oldest first (through tr_xfer.qnext) */
    int qlen;
    struct tr_dest *qprev, *qnext; /* the list of destinations with a queue */
    int64_t ewma_ms;       /* recent delivery time */
    int64_t progress_mono; /* last finish, or the start of this busy spell; 0: never */
    int fails;             /* consecutive unreachable results */
    int open;              /* breaker open: timers held, one probe at probe_at */
    int probing;           /* the probe is in flight */
    int64_t probe_at;      /* local monotonic ms */
    int64_t probe_end;     /* while probing: when the probe times out at the latest */
    int64_t backoff_ms;    /* the wait before the probe */
    int64_t hold_next_us;  /* the earliest return the next hold may get (mono, µs) */
};

struct tr_dests {
    int limit;
    int breaker_failures;
    int64_t timeout_ms;    /* a delivery's timeout when the transfer has none of its own */
    int64_t max_wait_ms;
    size_t queue_total;
    tr_deliver *dl;
    map dests, addrs;
    map urls;              /* callback URL -> its destination: parsed once */
    tr_dest *queues;       /* destinations with a non-empty queue */
    size_t queued;
    size_t open;
    size_t sweep_at;
};

/* ---- the map ---- */

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static int map_init(map *m)
{
    m->nbuckets = 64;
    m->count = 0;
    m->buckets = calloc(m->nbuckets, sizeof *m->buckets);
    return m->buckets == NULL ? -1 : 0;
}

static node *map_get(const map *m, const char *key, uint64_t h)
{
    for (node *n = m->buckets[h & (m->nbuckets - 1)]; n != NULL; n = n->hnext)
        if (n->hash == h && strcmp(n->key, key) == 0)
            return n;
    return NULL;
}

/* Doubles the buckets when full; a failed grow only costs longer chains. */
static void map_grow(map *m)
{
    if (m->count < m->nbuckets)
        return;
    size_t nb = m->nbuckets * 2;
    node **b = calloc(nb, sizeof *b);
    if (b == NULL)
        return;
    for (size_t i = 0; i < m->nbuckets; i++) {
        node *n = m->buckets[i];
        while (n != NULL) {
            node *next = n->hnext;
            n->hnext = b[n->hash & (nb - 1)];
            b[n->hash & (nb - 1)] = n;
            n = next;
        }
    }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = nb;
}

/* Links n (key and hash set) into m. */
static void map_put(map *m, node *n)
{
    map_grow(m);
    node **b = &m->buckets[n->hash & (m->nbuckets - 1)];
    n->hnext = *b;
    *b = n;
    m->count++;
}

/* Unlinks and frees (with its key) every entry `drop` says yes to. */
static void map_sweep(map *m, int (*drop)(node *))
{
    for (size_t i = 0; i < m->nbuckets; i++) {
        node **p = &m->buckets[i];
        while (*p != NULL) {
            node *n = *p;
            if (drop(n)) {
                *p = n->hnext;
                free(n->key);
                free(n);
                m->count--;
            } else {
                p = &n->hnext;
            }
        }
    }
}

static int drop_all(node *n)
{
    (void)n;
    return 1;
}

/* Allocates an entry of `size` bytes whose first member is a node keyed `key`,
 * linked into m. NULL when out of memory. */
static node *map_add(map *m, const char *key, uint64_t h, size_t size)
{
    node *n = calloc(1, size);
    if (n == NULL)
        return NULL;
    n->key = strdup(key);
    if (n->key == NULL) {
        free(n);
        return NULL;
    }
    n->hash = h;
    map_put(m, n);
    return n;
}

/* ---- the table ---- */

tr_dests *tr_dests_new(int limit, int breaker_failures, int64_t max_wait_ms, int queue_total,
                       int64_t timeout_ms, tr_deliver *dl)
{
    tr_dests *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->timeout_ms = timeout_ms;
    t->limit = limit < 1 ? 1 : limit;
    t->breaker_failures = breaker_failures < 0 ? 0 : breaker_failures;
    t->max_wait_ms = max_wait_ms;
    t->queue_total = queue_total < 1 ? 1 : (size_t)queue_total;
    t->dl = dl;
    t->sweep_at = SWEEP_MIN;
    if (map_init(&t->dests) != 0 || map_init(&t->addrs) != 0 || map_init(&t->urls) != 0) {
        free(t->dests.buckets);
        free(t->addrs.buckets);
        free(t);
        return NULL;
    }
    return t;
}

void tr_dests_free(tr_dests *t)
{
    if (t == NULL)
        return;
    tr_xfer *x;
    while ((x = tr_dests_pop_any(t)) != NULL)
        tr_deliver_xfer_put(t->dl, x);
    map_sweep(&t->urls, drop_all);
    map_sweep(&t->dests, drop_all);
    map_sweep(&t->addrs, drop_all);
    free(t->urls.buckets);
    free(t->dests.buckets);
    free(t->addrs.buckets);
    free(t);
}

static int dest_idle(node *n)
{
    tr_dest *d = (tr_dest *)n;
    if (d->active > 0 || d->qlen > 0 || d->open || d->fails > 0 ||
        d->hold_next_us > tr_clock_mono_ms() * 1000)
        return 0; /* its held timers' pacing still matters */
    if (d->addr != NULL)
        d->addr->refs--;
    return 1;
}

static int addr_unused(node *n)
{
    dest_addr *a = (dest_addr *)n;
    return a->active == 0 && a->refs == 0;
}

/* Forgets destinations nothing is in flight to or waiting for (their address and
 * recent delivery time are learned again), then addresses no one uses. */
static void sweep(tr_dests *t)
{
    if (t->dests.count < t->sweep_at)
        return;
    map_sweep(&t->urls, drop_all); /* they may point at destinations swept next */
    map_sweep(&t->dests, dest_idle);
    map_sweep(&t->addrs, addr_unused);
    t->sweep_at = t->dests.count * 2 > SWEEP_MIN ? t->dests.count * 2 : SWEEP_MIN;
}

/* "scheme://host:port" of url into out (host lowercased; a TCP target,
 * tr_url_is_tcp(), is "tcp://host:port" whichever way it was written, or
 * "tls://host:port"). 0, or -1
 * with err. */
static int dest_key(const char *url, char *out, size_t outlen, char *err, size_t errlen)
{
    int rc = -1;
    char *scheme = NULL, *host = NULL, *port = NULL;
    if (tr_url_is_tcp(url)) {
        char h[TR_DEST_KEY_MAX], msg[160];
        int p = 0;
        if (tr_url_tcp_parse(url, "callback", NULL, 0, h, sizeof h, &p, msg, sizeof msg) != 0) {
            snprintf(err, errlen, "bad callback target: %s", msg);
            return -1;
        }
        for (char *c = h; *c != '\0'; c++)
            *c = (char)tolower((unsigned char)*c);
        int n = snprintf(out, outlen, "%s://%s:%d", tr_url_is_tls(url) ? "tls" : "tcp", h, p);
        if (n < 0 || (size_t)n >= outlen) {
            snprintf(err, errlen, "callback host too long");
            return -1;
        }
        return 0;
    }
    CURLU *u = curl_url();
    if (u == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    if (uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    if (uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_HOST, &host, 0);
    if (uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT);
    if (uc != CURLUE_OK) {
        snprintf(err, errlen, "bad callback url: %s", curl_url_strerror(uc));
        goto done;
    }
    for (char *p = host; *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);
    int n = snprintf(out, outlen, "%s://%s:%s", scheme, host, port);
    if (n < 0 || (size_t)n >= outlen) {
        snprintf(err, errlen, "callback host too long");
        goto done;
    }
    rc = 0;
done:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return rc;
}

/* The destination of key, made when new. NULL when out of memory. */
static tr_dest *dest_get(tr_dests *t, const char *key)
{
    uint64_t h = hash_str(key);
    node *n = map_get(&t->dests, key, h);
    if (n != NULL)
        return (tr_dest *)n;
    sweep(t);
    return (tr_dest *)map_add(&t->dests, key, h, sizeof(tr_dest));
}

tr_dest *tr_dests_find(tr_dests *t, const char *url, char *err, size_t errlen)
{
    /* libcurl's parser costs microseconds a timer; a burst repeats its URLs. */
    uint64_t uh = hash_str(url);
    url_entry *u = (url_entry *)map_get(&t->urls, url, uh);
    if (u != NULL)
        return u->dest;
    char key[TR_DEST_KEY_MAX];
    if (dest_key(url, key, sizeof key, err, errlen) != 0)
        return NULL;
    tr_dest *d = dest_get(t, key);
    if (d == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (t->urls.count >= URLS_MAX)
        map_sweep(&t->urls, drop_all);
    u = (url_entry *)map_add(&t->urls, url, uh, sizeof *u);
    if (u != NULL) /* else parsed again next time */
        u->dest = d;
    return d;
}

const char *tr_dest_key(const tr_dest *d)
{
    return d->n.key;
}

int tr_dest_is_open(const tr_dest *d)
{
    return d->open;
}

/* Whether one more transfer to d may go now. */
static int can_start(const tr_dests *t, const tr_dest *d, int64_t mono)
{
    if (d->open)
        return !d->probing && mono >= d->probe_at; /* the probe */
    if (d->active >= t->limit)
        return 0;
    if (d->addr == NULL)
        return d->active == 0; /* one until the address is known */
    return d->addr->active < t->limit;
}

/* How long a delivery to d takes now: its recent average, or the time since
 * anything of it last finished when that is longer (0: nothing known). */
static int64_t pace_ms(const tr_dest *d, int64_t mono)
{
    int64_t pace = d->ewma_ms;
    if (d->active > 0 && d->progress_mono > 0 && mono - d->progress_mono > pace)
        pace = mono - d->progress_mono;
    return pace;
}

/* The transfers d's queue may hold: what its slots can start within the wait
 * bound at its pace (a fast receiver takes a whole burst, a dripping one a few,
 * one that never finishes almost none); --host-limit while nothing is known. */
static size_t queue_cap(const tr_dests *t, const tr_dest *d, int64_t mono)
{
    if (d->ewma_ms == 0)
        return (size_t)t->limit;
    int64_t pace = pace_ms(d, mono);
    int64_t cap = (int64_t)t->limit * t->max_wait_ms / (pace < 1 ? 1 : pace);
    return cap > (int64_t)t->queue_total ? t->queue_total : (size_t)cap;
}

tr_dest_verdict tr_dests_admit(tr_dests *t, tr_dest *d, int64_t mono)
{
    /* Behind a queue a new transfer waits its turn. */
    if (d->qlen == 0 && can_start(t, d, mono))
        return TR_DEST_START;
    if (d->open)
        return TR_DEST_HOLD;
    if ((size_t)d->qlen < queue_cap(t, d, mono) && t->queued < t->queue_total)
        return TR_DEST_QUEUE;
    return TR_DEST_HOLD;
}

void tr_dests_started(tr_dests *t, tr_dest *d, tr_xfer *x, int64_t mono)
{
    x->dest = d;
    if (d->active++ == 0)
        d->progress_mono = mono; /* a busy spell starts */
    if (d->addr != NULL) {
        x->addr = d->addr;
        d->addr->active++;
    }
    if (d->open && !d->probing && mono >= d->probe_at) {
        x->probe = 1;
        d->probing = 1;
        d->probe_end = mono + (x->timeout_ms > 0 ? x->timeout_ms : t->timeout_ms);
        tr_log_info("destination %s: probing with key=%s", d->n.key, x->id != NULL ? x->id : "-");
    }
}

static void qlist_link(tr_dests *t, tr_dest *d)
{
    d->qprev = NULL;
    d->qnext = t->queues;
    if (t->queues != NULL)
        t->queues->qprev = d;
    t->queues = d;
}

static void qlist_unlink(tr_dests *t, tr_dest *d)
{
    if (d->qprev != NULL)
        d->qprev->qnext = d->qnext;
    else
        t->queues = d->qnext;
    if (d->qnext != NULL)
        d->qnext->qprev = d->qprev;
    d->qprev = d->qnext = NULL;
}

void tr_dests_enqueue(tr_dests *t, tr_dest *d, tr_xfer *x, int64_t mono)
{
    x->dest = d;
    x->queued_mono_ms = mono;
    x->qnext = NULL;
    if (d->qtail != NULL)
        d->qtail->qnext = x;
    else
        d->qhead = x;
    d->qtail = x;
    if (d->qlen++ == 0)
        qlist_link(t, d);
    t->queued++;
}

/* Takes the head of d's queue. */
static tr_xfer *dequeue(tr_dests *t, tr_dest *d)
{
    tr_xfer *x = d->qhead;
    d->qhead = x->qnext;
    if (d->qhead == NULL)
        d->qtail = NULL;
    x->qnext = NULL;
    if (--d->qlen == 0)
        qlist_unlink(t, d);
    t->queued--;
    return x;
}

tr_xfer *tr_dests_pop(tr_dests *t, int64_t mono, int may_start, tr_dest_verdict *verdict)
{
    for (tr_dest *d = t->queues; d != NULL; d = d->qnext) {
        tr_xfer *x = d->qhead;
        int startable = can_start(t, d, mono);
        if (d->open && !startable) {
            *verdict = TR_DEST_HOLD; /* the breaker opened while it waited */
        } else if (startable && may_start) {
            *verdict = TR_DEST_START;
        } else if (mono - x->queued_mono_ms >= t->max_wait_ms) {
            *verdict = TR_DEST_HOLD; /* the lease must not run out while it waits */
        } else {
            continue;
        }
        return dequeue(t, d);
    }
    return NULL;
}

tr_xfer *tr_dests_pop_any(tr_dests *t)
{
    return t->queues != NULL ? dequeue(t, t->queues) : NULL;
}

int64_t tr_dests_next_expiry(const tr_dests *t)
{
    int64_t next = -1;
    for (const tr_dest *d = t->queues; d != NULL; d = d->qnext) {
        int64_t at = d->qhead->queued_mono_ms + t->max_wait_ms;
        if (next < 0 || at < next)
            next = at;
    }
    return next;
}

void tr_dests_connected(tr_dests *t, tr_xfer *x, const char *peer)
{
    tr_dest *d = x->dest;
    if (d == NULL)
        return; /* a transfer the table does not count */
    uint64_t h = hash_str(peer);
    dest_addr *a = (dest_addr *)map_get(&t->addrs, peer, h);
    if (a == NULL && (a = (dest_addr *)map_add(&t->addrs, peer, h, sizeof *a)) == NULL)
        return; /* out of memory: counted on the name only */
    if (x->addr != a) {
        if (x->addr != NULL)
            x->addr->active--;
        a->active++;
        x->addr = a;
    }
    if (d->addr != a) {
        if (d->addr != NULL)
            d->addr->refs--;
        a->refs++;
        d->addr = a;
    }
}

static void breaker_close(tr_dests *t, tr_dest *d)
{
    if (d->open) {
        d->open = 0;
        t->open--;
        tr_log_info("destination %s answers again: breaker closed, its timers flow", d->n.key);
    }
    d->fails = 0;
    d->backoff_ms = 0;
}

void tr_dests_finished(tr_dests *t, tr_xfer *x, tr_dest_result r, int64_t mono)
{
    tr_dest *d = x->dest;
    if (d == NULL)
        return;
    /* Refused by the destination policy: no receiver was tried, so it says nothing
     * about whether one is there (the breaker would hold timers that will be
     * refused anyway, instead of dead-lettering them at once). */
    if (x->refused != NULL && r == TR_DEST_UNREACHABLE)
        r = TR_DEST_OTHER;
    d->active--;
    d->progress_mono = mono;
    if (x->addr != NULL)
        x->addr->active--;
    if (x->end_mono_ms >= x->start_mono_ms) { /* aborted ones never ended */
        int64_t took = x->end_mono_ms - x->start_mono_ms;
        d->ewma_ms = d->ewma_ms == 0 ? took : (7 * d->ewma_ms + took) / 8;
    }
    int probe = x->probe;
    x->dest = NULL;
    x->addr = NULL;
    x->probe = 0;
    if (probe)
        d->probing = 0;
    if (r == TR_DEST_ANSWERED || (r == TR_DEST_OTHER && probe)) {
        breaker_close(t, d);
        return;
    }
    if (r != TR_DEST_UNREACHABLE)
        return;
    d->fails++;
    if (probe) {
        d->backoff_ms = d->backoff_ms * 2 > TR_BREAKER_MAX_MS ? TR_BREAKER_MAX_MS : d->backoff_ms * 2;
        d->probe_at = mono + d->backoff_ms;
        tr_log_warning("destination %s: probe failed (%d in a row); next probe in %lld ms",
                       d->n.key, d->fails, (long long)d->backoff_ms);
    } else if (!d->open && t->breaker_failures > 0 && d->fails >= t->breaker_failures) {
        d->open = 1;
        t->open++;
        d->backoff_ms = TR_BREAKER_MIN_MS;
        d->probe_at = mono + d->backoff_ms;
        tr_log_warning("destination %s unreachable %d times in a row: breaker open, its timers "
                       "are held and one probe goes in %d ms", d->n.key, d->fails,
                       TR_BREAKER_MIN_MS);
    }
}

int64_t tr_dests_hold_ms(const tr_dests *t, const tr_dest *d, int64_t mono, uint64_t rnd)
{
    if (d->open) {
        /* Until the probe may go, or while it runs until it must have ended: the
         * held timers then come back spread over the back-off. */
        int64_t until = d->probing ? d->probe_end : d->probe_at;
        int64_t wait = until > mono ? until - mono : 0;
        return wait + (int64_t)(rnd % (uint64_t)(d->backoff_ms + 1));
    }
    /* Busy: about a delivery's time, or how long nothing has finished (a receiver
     * that has not answered yet is not known to be fast), 100 ms to 5 s. Stalled
     * longer (nothing finished for 5 s): as long again as it has stalled, never past
     * when what it has in flight must have ended (a slot frees or the breaker has
     * decided by then). Growing with the stall, not jumping to that end: a healthy
     * receiver's 0.5 s pause held 317 of a burst's 400 timers for 10-15 s, where
     * it now costs them about its own length; a hanging receiver's timers come back
     * a few times, at growing intervals, until its transfers time out. */
    int64_t since = d->active > 0 && d->progress_mono > 0 ? mono - d->progress_mono : 0;
    if (since > HOLD_BUSY_MAX_MS) {
        int64_t end = d->progress_mono + t->timeout_ms - mono;
        int64_t wait = since < end ? since : end;
        if (wait > HOLD_BUSY_MAX_MS)
            return wait + (int64_t)(rnd % (uint64_t)(HOLD_BUSY_MAX_MS + 1));
    }
    int64_t base = pace_ms(d, mono);
    base = base < HOLD_BUSY_MIN_MS ? HOLD_BUSY_MIN_MS : base > HOLD_BUSY_MAX_MS ? HOLD_BUSY_MAX_MS : base;
    return base + (int64_t)(rnd % (uint64_t)(base + 1));
}

/* Held timers come back spaced by what the destination can take: its pace spread
 * over its slots, between --host-limit a ms and one a ms. One a ms for every
 * destination made a fast receiver's burst (a pipelined TCP one takes ~20 a ms)
 * drain its held part at 1,000/s. */
static int64_t hold_spacing_us(const tr_dests *t, const tr_dest *d, int64_t mono)
{
    int64_t step = pace_ms(d, mono) * 1000 / t->limit;
    int64_t min = 1000 / t->limit;
    if (min < 1)
        min = 1;
    return step < min ? min : step > HOLD_SPACING_MAX_US ? HOLD_SPACING_MAX_US : step;
}

int64_t tr_dests_hold(tr_dests *t, tr_dest *d, int64_t mono, uint64_t rnd)
{
    int64_t at_us = (mono + tr_dests_hold_ms(t, d, mono, rnd)) * 1000;
    if (at_us < d->hold_next_us)
        at_us = d->hold_next_us;
    d->hold_next_us = at_us + hold_spacing_us(t, d, mono);
    return (at_us + 999) / 1000 - mono;
}

size_t tr_dests_queued(const tr_dests *t)
{
    return t->queued;
}

size_t tr_dests_open(const tr_dests *t)
{
    return t->open;
}

tr_dest_result tr_dest_result_of(int curl_code)
{
    switch ((CURLcode)curl_code) {
    case CURLE_OK:
        return TR_DEST_ANSWERED;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_OPERATION_TIMEDOUT:
        return TR_DEST_UNREACHABLE;
    default:
        return TR_DEST_OTHER;
    }
}
