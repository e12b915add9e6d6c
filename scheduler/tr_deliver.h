/* tr_deliver.h - the deliveries in flight: one libcurl multi handle, one easy
 * handle per transfer, per-transfer state hung off CURLOPT_PRIVATE.
 *
 * Connections are kept alive in the multi handle's pool and reused across
 * transfers; finished transfers go to a free list and their easy handles are
 * recycled: the options that never change are set once when the handle is made,
 * only the per-delivery ones (URL, body, headers, timeouts) at each start, and a
 * plain delivery's headers live in the transfer itself (no list allocated).
 * Caps: CURLMOPT_MAX_TOTAL_CONNECTIONS = --max-inflight; curl has no per-host cap
 * of its own (it would queue a transfer inside curl, its timeout running): the
 * loop starts a transfer only when its destination has a free slot (tr_dest.h).
 *
 * Ownership: a tr_xfer comes from tr_deliver_xfer_get() and belongs to the caller
 * until tr_deliver_start() succeeds; then to the multi handle until
 * tr_deliver_done() or tr_deliver_abort_one() hands it back; the caller returns it
 * with tr_deliver_xfer_put(). tr_deliver_free() frees every transfer still in flight.
 */
#ifndef TR_DELIVER_H
#define TR_DELIVER_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#include "tr_config.h"
#include "tr_netpolicy.h"
#include "tr_sign.h"
#include "tr_store_sched.h"
#include "tr_timer.h"

typedef struct tr_deliver tr_deliver;
struct tr_xfer;

/* Where a side transfer (tr_deliver_connect()) goes when it finishes or is aborted:
 * called with x (result, errbuf, peer, refused and, when connected, sock filled);
 * x then belongs to the callee (it returns it with tr_deliver_xfer_put()). */
typedef void tr_deliver_side_fn(void *ctx, struct tr_xfer *x);

typedef struct tr_xfer {
    /* Set by the caller before tr_deliver_start(). */
    char *id;                /* timer key, NUL-terminated; owned (malloc), freed by put */
    char token[TR_CLAIM_TOKEN_MAX]; /* the claim's token: its outcome's fence */
    int64_t attempt;         /* from the claim: X-TimeRush-Attempt */
    int64_t due_ms;          /* claim's due time, Redis clock ms (lateness) */
    int64_t fire_due_ms;     /* due time of this firing (X-TimeRush-Due-Ms, meta "due") */
    tr_timer_spec spec;      /* url and body; owned, cleared by tr_deliver_xfer_put() */
    int notice;              /* 1: a failure notice to spec.url (X-TimeRush-Failure: 1,
                              * no timer headers), not a timer's delivery; attempt and
                              * fire_due_ms are then the last failed delivery's */
    int64_t timeout_ms;      /* whole transfer; 0: --timeout-ms */
    int64_t late_ms;         /* lateness when started (for the delivery's log line) */

    /* Kept by tr_dests (tr_dest.h) while it counts or queues the transfer. */
    struct tr_dest *dest;    /* its destination; NULL when not counted */
    struct tr_dest_addr *addr;  /* the address it is counted on; NULL when none */
    struct tr_xfer *qnext;   /* the destination's queue */
    int64_t queued_mono_ms;  /* when it joined the queue */
    int probe;               /* the probe of an open breaker */

    /* Another notifier's use of the transfer (tr_notifier.h). */
    tr_deliver_side_fn *side; /* non-NULL: a side transfer (a connect), handed to
                               * side(side_ctx, x) instead of to the loop */
    void *side_ctx;
    int sock;                 /* a side connect's socket, duplicated from libcurl's
                               * when it connected (the callee owns and closes it);
                               * -1 when none */
    struct tr_xfer *lnext;    /* a notifier's own list (tr_notify_tcp: a connection's
                               * deliveries in order) while it holds the transfer */
    uint64_t line_end;        /* tr_notify_tcp: where its line ends in the stream */

    /* Filled by tr_deliver. */
    int64_t start_mono_ms;   /* when it was added */
    int64_t end_mono_ms;     /* when it finished */
    CURLcode result;         /* CURLE_OK when an answer arrived */
    long status;             /* HTTP status, 0 when none */
    char *body;              /* answer body, body_len bytes + NUL; at most --max-response */
    size_t body_len, body_cap;
    size_t body_dropped;     /* bytes beyond --max-response, read but not kept */
    char retry_after[64];    /* Retry-After value, NUL-terminated; empty when none */
    char errbuf[CURL_ERROR_SIZE]; /* curl's detailed error text; may be empty */
    char peer[64];           /* "address port" of its last new connection; may be empty */
    const char *refused;     /* the destination policy refused a connection it tried:
                              * the reason (static text, for the log only); NULL when
                              * none was refused. With result != CURLE_OK the delivery
                              * failed because of it (tr_netpolicy.h) */
    char refused_peer[64];   /* "address port" refused; valid while refused is set */

    /* Private to tr_deliver. */
    CURL *easy;
    struct curl_slist *headers;  /* malloc'd list (notices, timers with own headers) */
    struct curl_slist hnode[9];  /* a plain delivery's headers, no allocation */
    char hkey[TR_KEY_MAX + 24], hattempt[48], hdue[48];
    char host[TR_NETPOLICY_HOST_MAX]; /* the URL's host when the policy or --pem-hosts
                                       * needs it (lowercase); else empty */
    /* Signed (tr_deliver_set_signer): the Standard Webhooks lines. hwid points to
     * hwid_buf, or to hwid_heap (malloc'd, freed by put) for a key too long for it. */
    char *hwid, *hwid_heap;
    char hwid_buf[sizeof "webhook-id: " + TR_SIGN_ID_MAX];
    char hwts[48];
    char hwsig[sizeof "webhook-signature: " + TR_SIGN_VALUE_MAX];
    struct tr_xfer *prev, *next; /* the list of active transfers, or the free list */
    size_t max_body;
    tr_deliver *owner;
} tr_xfer;

/* Called when curl opens a connection for x (x->peer filled) that the destination
 * policy (cfg->netpolicy) allowed: tr_dests counts transfers per resolved address.
 * A connection the policy refuses is never opened (the socket callback answers
 * CURL_SOCKET_BAD: curl tries the name's next address, else fails the transfer) and
 * x->refused says why. Runs inside curl: it must not call libcurl. */
typedef void tr_deliver_connect_fn(void *ctx, tr_xfer *x);

/* Makes the multi handle with the caps from cfg (which must outlive it). NULL on
 * failure. curl_global_init() must have run. */
tr_deliver *tr_deliver_new(const tr_config *cfg);

/* Signs every transfer started from now on with s (NULL: unsigned): the
 * webhook-id, webhook-timestamp and webhook-signature headers (tr_sign.h). s stays
 * the caller's and must outlive the transfers it signs until they are started
 * (a started transfer keeps its own copy of the lines). */
void tr_deliver_set_signer(tr_deliver *d, tr_sign *s);

/* Sets the connect callback (NULL: none). */
void tr_deliver_on_connect(tr_deliver *d, tr_deliver_connect_fn *fn, void *ctx);

/* Removes and frees every transfer (in flight or free) and the multi handle. Takes NULL. */
void tr_deliver_free(tr_deliver *d);

/* A clean transfer to fill in; NULL when out of memory. */
tr_xfer *tr_deliver_xfer_get(tr_deliver *d);

/* Returns a transfer (not in flight) for reuse: frees its spec and headers. */
void tr_deliver_xfer_put(tr_deliver *d, tr_xfer *x);

/* Sets every option on x and adds it to the multi handle: the headers of
 * tr_deliver_headers() (or tr_deliver_notice_headers() for a notice) plus the
 * timer's own (spec.headers_json, tr_headers.h), the signature lines when a signer
 * is set (the timestamp is now, the id made from id, fire_due_ms, attempt and
 * notice by tr_sign_id()), CURLOPT_TIMEOUT_MS from x->timeout_ms. 0, or -1 with a
 * reason in x->errbuf (x still belongs to the caller; nothing is sent unsigned
 * while a signer is set). */
int tr_deliver_start(tr_deliver *d, tr_xfer *x);

/* Transfers added and not yet handed back (side transfers included). */
int tr_deliver_running(const tr_deliver *d);

/* Side transfers added and not yet handed back. */
int tr_deliver_side_running(const tr_deliver *d);

/* Starts a side transfer on x: resolve and connect to url (http://HOST:PORT/,
 * libcurl's resolver, never blocking; the destination policy checks the address in
 * the open-socket callback, x->host naming the host for host rules) and stop there
 * (CURLOPT_CONNECT_ONLY), bounded by timeout_ms. x->side must be set. When it
 * connected, x->sock is a duplicate of the connected socket (close-on-exec) that
 * outlives the transfer. 0, or -1 with x->errbuf (x stays the caller's). */
int tr_deliver_connect(tr_deliver *d, tr_xfer *x, const char *url, long timeout_ms);

/* curl_multi_poll() for up to timeout_ms on the transfers' sockets and the extra
 * fds w[0..n) (their events as given; revents filled). 0 or -1. */
int tr_deliver_poll(tr_deliver *d, struct curl_waitfd *w, unsigned n, int timeout_ms);

/* curl_multi_poll() for up to timeout_ms, also watching extra_fd (-1: none) for
 * reading; *extra_ready is set nonzero when it is readable. 0 or -1. */
int tr_deliver_wait(tr_deliver *d, int extra_fd, int timeout_ms, int *extra_ready);

/* Like tr_deliver_wait() with up to TR_DELIVER_WAIT_FDS_MAX extra fds (-1 entries
 * are skipped); ready[i] is set nonzero when fds[i] is readable. 0 or -1. */
#define TR_DELIVER_WAIT_FDS_MAX 4
int tr_deliver_wait_fds(tr_deliver *d, const int *fds, int *ready, unsigned n, int timeout_ms);

/* curl_multi_perform(). 0 or -1. */
int tr_deliver_perform(tr_deliver *d);

/* The next finished transfer, removed from the multi handle (result, status, body
 * filled), or NULL when none is left. */
tr_xfer *tr_deliver_done(tr_deliver *d);

/* Removes any one transfer still in flight (unfinished: for shutdown) and hands it
 * back, or NULL when none is. */
tr_xfer *tr_deliver_abort_one(tr_deliver *d);

/* The request headers of one delivery (caller frees with curl_slist_free_all()):
 * Content-Type, X-TimeRush-Key, X-TimeRush-Attempt, X-TimeRush-Due-Ms, User-Agent,
 * and an empty "Expect:" that turns off 100-continue. NULL when out of memory. */
struct curl_slist *tr_deliver_headers(const char *id, int64_t attempt, int64_t due_ms);

/* The transfer's curl callbacks, public so tests/fuzz/fuzz_answer.c can feed them the
 * answer's bytes without a network. CURLOPT_WRITEFUNCTION: keeps at most x->max_body
 * bytes of the body in x->body (NUL-terminated), counts the rest in x->body_dropped;
 * 0 (abort) only when out of memory. CURLOPT_HEADERFUNCTION: keeps the Retry-After
 * value (blanks and CR LF stripped, cut to fit) in x->retry_after, emptied by each new
 * status line. Both take the callback's arguments, userdata being the tr_xfer. */
size_t tr_deliver_on_body(char *ptr, size_t size, size_t nmemb, void *userdata);
size_t tr_deliver_on_header(char *buf, size_t size, size_t nitems, void *userdata);

/* The request headers of a failure notice: Content-Type, User-Agent, Expect:,
 * X-TimeRush-Key and X-TimeRush-Failure: 1. NULL when out of memory. */
struct curl_slist *tr_deliver_notice_headers(const char *id);

#endif
