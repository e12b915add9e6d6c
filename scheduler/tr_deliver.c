#include "tr_deliver.h"

#include <assert.h>
#include <inttypes.h>
#include <netdb.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <unistd.h>

#include "tr_clock.h"
#include "tr_dest.h"
#include "tr_headers.h"
#include "tr_log.h"
#include "tr_netpolicy.h"

struct tr_deliver {
    const tr_config *cfg;
    CURLM *multi;
    tr_xfer *active;  /* doubly linked: transfers in the multi handle */
    tr_xfer *free;    /* singly linked through next: ready for reuse */
    int running;      /* length of active */
    int free_count;
    int side_running; /* side transfers in active */
    tr_deliver_connect_fn *on_connect;
    void *on_connect_ctx;
    tr_sign *signer;  /* NULL: unsigned; the caller's */
};

tr_deliver *tr_deliver_new(const tr_config *cfg)
{
    tr_deliver *d = calloc(1, sizeof *d);
    if (d == NULL)
        return NULL;
    d->cfg = cfg;
    d->multi = curl_multi_init();
    if (d->multi == NULL)
        goto fail;
    if (curl_multi_setopt(d->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)cfg->max_inflight) != CURLM_OK ||
        curl_multi_setopt(d->multi, CURLMOPT_MAXCONNECTS, (long)cfg->max_inflight) != CURLM_OK)
        goto fail;
    return d;
fail:
    if (d->multi != NULL)
        curl_multi_cleanup(d->multi);
    free(d);
    return NULL;
}

void tr_deliver_set_signer(tr_deliver *d, tr_sign *s)
{
    d->signer = s;
}

void tr_deliver_on_connect(tr_deliver *d, tr_deliver_connect_fn *fn, void *ctx)
{
    d->on_connect = fn;
    d->on_connect_ctx = ctx;
}

static void xfer_destroy(tr_xfer *x)
{
    if (x->easy != NULL)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    tr_timer_spec_clear(&x->spec);
    free(x->id);
    free(x->hwid_heap);
    free(x->body);
    free(x);
}

void tr_deliver_free(tr_deliver *d)
{
    if (d == NULL)
        return;
    while (d->active != NULL) {
        tr_xfer *x = d->active;
        d->active = x->next;
        (void)curl_multi_remove_handle(d->multi, x->easy); /* freeing anyway */
        xfer_destroy(x);
    }
    while (d->free != NULL) {
        tr_xfer *x = d->free;
        d->free = x->next;
        xfer_destroy(x);
    }
    /* Easy handles go first: curl_multi_cleanup needs none attached. */
    curl_multi_cleanup(d->multi);
    free(d);
}

static int set_fixed(const tr_deliver *d, tr_xfer *x);

tr_xfer *tr_deliver_xfer_get(tr_deliver *d)
{
    tr_xfer *x = d->free;
    if (x != NULL) {
        d->free = x->next;
        d->free_count--;
        x->next = x->prev = NULL;
        return x;
    }
    x = calloc(1, sizeof *x);
    if (x == NULL)
        return NULL;
    x->sock = -1;
    x->owner = d;
    x->easy = curl_easy_init();
    if (x->easy == NULL || set_fixed(d, x) != 0) {
        xfer_destroy(x);
        return NULL;
    }
    return x;
}

/* Forgets everything of the last delivery but the easy handle and body buffer. */
static void xfer_reset(tr_xfer *x)
{
    curl_slist_free_all(x->headers);
    x->headers = NULL;
    tr_timer_spec_clear(&x->spec);
    free(x->id);
    x->id = NULL;
    free(x->hwid_heap);
    x->hwid_heap = NULL;
    x->hwid = NULL;
    x->attempt = x->due_ms = x->fire_due_ms = 0;
    x->notice = 0;
    x->timeout_ms = 0;
    x->late_ms = 0;
    x->side = NULL;
    x->side_ctx = NULL;
    x->sock = -1; /* the callee took it */
    x->lnext = NULL;
    x->line_end = 0;
    x->dest = NULL;
    x->addr = NULL;
    x->qnext = NULL;
    x->queued_mono_ms = 0;
    x->probe = 0;
    x->peer[0] = '\0';
    x->refused = NULL;
    x->refused_peer[0] = '\0';
    x->host[0] = '\0';
    x->start_mono_ms = x->end_mono_ms = 0;
    x->result = CURLE_OK;
    x->status = 0;
    x->body_len = 0;
    x->body_dropped = 0;
    x->retry_after[0] = '\0';
    x->errbuf[0] = '\0';
    x->prev = x->next = NULL;
}

void tr_deliver_xfer_put(tr_deliver *d, tr_xfer *x)
{
    if (x == NULL)
        return;
    xfer_reset(x);
    /* Keep about as many idle transfers as can be in flight; free the rest. */
    if (d->free_count >= d->cfg->max_inflight) {
        xfer_destroy(x);
        return;
    }
    x->next = d->free;
    d->free = x;
    d->free_count++;
}

/* The request headers every delivery and failure notice starts with, in this
 * order: the one place they are written. */
static const char *const fixed_headers[] = {"Content-Type: application/json",
                                            "User-Agent: TimeRush/1.0", "Expect:"};
#define FIXED_HEADERS (sizeof fixed_headers / sizeof fixed_headers[0])

/* Appends lines[0..n) to *list. 0, or -1 (out of memory: *list freed and NULL). */
static int append_lines(struct curl_slist **list, const char *const *lines, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct curl_slist *t = curl_slist_append(*list, lines[i]);
        if (t == NULL) {
            curl_slist_free_all(*list);
            *list = NULL;
            return -1;
        }
        *list = t;
    }
    return 0;
}

/* Appends "X-TimeRush-Key: <id>" (heap line: ids from Redis may be long). */
static struct curl_slist *append_key(struct curl_slist *list, const char *id)
{
    size_t need = strlen(id) + sizeof "X-TimeRush-Key: ";
    char *kline = malloc(need);
    if (kline == NULL)
        return NULL;
    snprintf(kline, need, "X-TimeRush-Key: %s", id);
    struct curl_slist *t = curl_slist_append(list, kline);
    free(kline);
    return t;
}

struct curl_slist *tr_deliver_notice_headers(const char *id)
{
    static const char *const failure[] = {"X-TimeRush-Failure: 1"};
    struct curl_slist *list = NULL, *t;
    if (append_lines(&list, fixed_headers, FIXED_HEADERS) != 0 ||
        append_lines(&list, failure, 1) != 0)
        return NULL;
    if ((t = append_key(list, id)) == NULL)
        curl_slist_free_all(list);
    return t;
}

struct curl_slist *tr_deliver_headers(const char *id, int64_t attempt, int64_t due_ms)
{
    char attempt_line[48], due_line[48];
    struct curl_slist *list = NULL, *t;
    if (append_lines(&list, fixed_headers, FIXED_HEADERS) != 0)
        return NULL;
    /* The key can be longer than a fixed line only if Redis holds a key the API
     * never accepts; append_key uses a heap line. */
    if ((t = append_key(list, id)) == NULL) {
        curl_slist_free_all(list);
        return NULL;
    }
    list = t;
    snprintf(attempt_line, sizeof attempt_line, "X-TimeRush-Attempt: %" PRId64, attempt);
    snprintf(due_line, sizeof due_line, "X-TimeRush-Due-Ms: %" PRId64, due_ms);
    const char *const lines[] = {attempt_line, due_line};
    if (append_lines(&list, lines, 2) != 0)
        return NULL;
    return list;
}

size_t tr_deliver_on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    tr_xfer *x = userdata;
    size_t n = size * nmemb;
    size_t room = x->max_body > x->body_len ? x->max_body - x->body_len : 0;
    size_t keep = n < room ? n : room;
    if (keep > 0) {
        if (x->body_len + keep + 1 > x->body_cap) {
            size_t cap = x->body_cap ? x->body_cap : 1024;
            while (cap < x->body_len + keep + 1)
                cap *= 2;
            if (cap > x->max_body + 1)
                cap = x->max_body + 1;
            char *b = realloc(x->body, cap);
            if (b == NULL)
                return 0; /* aborts the transfer: CURLE_WRITE_ERROR, retried later */
            x->body = b;
            x->body_cap = cap;
        }
        memcpy(x->body + x->body_len, ptr, keep);
        x->body_len += keep;
        x->body[x->body_len] = '\0';
    }
    /* Past the cap: keep reading (the connection stays reusable), stop storing. */
    x->body_dropped += n - keep;
    return n;
}

size_t tr_deliver_on_header(char *buf, size_t size, size_t nitems, void *userdata)
{
    tr_xfer *x = userdata;
    size_t n = size * nitems;
    static const char name[] = "Retry-After:";
    if (n >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
        x->retry_after[0] = '\0'; /* a new response (after a 1xx) starts afresh */
    } else if (n > sizeof name - 1 && strncasecmp(buf, name, sizeof name - 1) == 0) {
        const char *v = buf + sizeof name - 1;
        size_t len = n - (sizeof name - 1);
        while (len > 0 && (*v == ' ' || *v == '\t')) {
            v++;
            len--;
        }
        while (len > 0 && (v[len - 1] == '\r' || v[len - 1] == '\n' || v[len - 1] == ' '))
            len--;
        if (len >= sizeof x->retry_after)
            len = sizeof x->retry_after - 1; /* too long to be valid; parsing rejects it */
        memcpy(x->retry_after, v, len);
        x->retry_after[len] = '\0';
    }
    return n;
}

/* CURLOPT_OPENSOCKETFUNCTION: the destination policy's check of the address curl
 * is about to connect to (after DNS, whatever the URL spelled), then makes the
 * socket as curl would and tells the connect callback where it goes (per-address
 * limits, tr_dest.h). */
static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose,
                                    struct curl_sockaddr *address)
{
    tr_xfer *x = clientp;
    (void)purpose;
    const char *why = NULL;
    if (tr_netpolicy_check_addr(&x->owner->cfg->netpolicy, x->host[0] != '\0' ? x->host : NULL,
                                &address->addr, &why) != TR_NETPOLICY_ALLOW) {
        char h[48] = "?", p[8] = "?";
        (void)getnameinfo(&address->addr, address->addrlen, h, sizeof h, p, sizeof p,
                          NI_NUMERICHOST | NI_NUMERICSERV);
        snprintf(x->refused_peer, sizeof x->refused_peer, "%s %s", h, p);
        x->refused = why != NULL ? why : "refused";
        return CURL_SOCKET_BAD; /* curl tries the next address, else fails */
    }
    curl_socket_t fd = socket(address->family, address->socktype | SOCK_CLOEXEC,
                              address->protocol);
    if (fd == CURL_SOCKET_BAD)
        return fd;
    char host[48], port[8];
    if (getnameinfo(&address->addr, address->addrlen, host, sizeof host, port, sizeof port,
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
        snprintf(x->peer, sizeof x->peer, "%s %s", host, port);
        if (x->owner->on_connect != NULL)
            x->owner->on_connect(x->owner->on_connect_ctx, x);
    }
    return fd;
}

#define SET(opt, val)                                                        \
    do {                                                                     \
        if ((rc = curl_easy_setopt(e, opt, val)) != CURLE_OK) {              \
            what = #opt;                                                     \
            goto fail;                                                       \
        }                                                                    \
    } while (0)

/* The options every transfer of this handle shares, set once when it is made
 * (a curl_easy_reset and twenty setopts per delivery showed in the profile of a
 * burst). 0 or -1. */
static int set_fixed(const tr_deliver *d, tr_xfer *x)
{
    const tr_config *cfg = d->cfg;
    CURL *e = x->easy;
    CURLcode rc = CURLE_OK;
    const char *what = "";
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
    SET(CURLOPT_WRITEFUNCTION, tr_deliver_on_body);
    SET(CURLOPT_WRITEDATA, x);
    SET(CURLOPT_HEADERFUNCTION, tr_deliver_on_header);
    SET(CURLOPT_HEADERDATA, x);
    SET(CURLOPT_PRIVATE, x);
    SET(CURLOPT_ERRORBUFFER, x->errbuf);
    SET(CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    SET(CURLOPT_OPENSOCKETDATA, x);
    /* A proxy (http_proxy and friends in the environment) would make the connection
     * the policy sees the proxy's, not the receiver's: none unless the policy is any. */
    if (cfg->netpolicy.kind != TR_NETPOLICY_ANY)
        SET(CURLOPT_PROXY, "");
    if (cfg->cacert[0] != '\0')
        SET(CURLOPT_CAINFO, cfg->cacert);
    if (cfg->pem[0] != '\0' && cfg->pem_hosts[0] == '\0') {
        SET(CURLOPT_SSLCERT, cfg->pem);
        SET(CURLOPT_SSLCERTTYPE, "PEM");
        SET(CURLOPT_SSLKEY, cfg->pem);
        SET(CURLOPT_SSLKEYTYPE, "PEM");
    }
    if (cfg->insecure) {
        SET(CURLOPT_SSL_VERIFYPEER, 0L);
        SET(CURLOPT_SSL_VERIFYHOST, 0L);
    } else {
        SET(CURLOPT_SSL_VERIFYPEER, 1L);
        SET(CURLOPT_SSL_VERIFYHOST, 2L);
    }
    return 0;
fail:
    tr_log_error("curl_easy_setopt %s: %s", what, curl_easy_strerror(rc));
    return -1;
}

/* Fills x's Standard Webhooks lines (hwid, hwts, hwsig): its id, this second, and
 * the signatures of its body with every secret of s. 0, or -1 with x->errbuf set. */
static int sign_xfer(tr_sign *s, tr_xfer *x)
{
    static const char id_name[] = "webhook-id: ", sig_name[] = "webhook-signature: ";
    const size_t id_off = sizeof id_name - 1, sig_off = sizeof sig_name - 1;
    char *line = x->hwid_buf;
    size_t cap = sizeof x->hwid_buf;
    free(x->hwid_heap); /* a start tried again */
    x->hwid_heap = NULL;
    size_t n = tr_sign_id(line + id_off, cap - id_off, x->id, x->fire_due_ms, x->attempt,
                          x->notice);
    if (n >= cap - id_off) {
        /* Only a key longer than the API accepts (TR_KEY_MAX) gets here. */
        cap = id_off + n + 1;
        if ((x->hwid_heap = malloc(cap)) == NULL) {
            snprintf(x->errbuf, sizeof x->errbuf, "out of memory for the webhook-id");
            return -1;
        }
        line = x->hwid_heap;
        (void)tr_sign_id(line + id_off, cap - id_off, x->id, x->fire_due_ms, x->attempt,
                         x->notice);
    }
    memcpy(line, id_name, id_off);
    x->hwid = line;
    int64_t ts = tr_clock_wall_ms() / 1000;
    snprintf(x->hwts, sizeof x->hwts, "webhook-timestamp: %" PRId64, ts);
    memcpy(x->hwsig, sig_name, sig_off);
    if (tr_sign_value(s, line + id_off, ts, x->spec.data, x->spec.data_len, x->hwsig + sig_off,
                      sizeof x->hwsig - sig_off) != 0) {
        snprintf(x->errbuf, sizeof x->errbuf, "cannot sign the callback (OpenSSL)");
        return -1;
    }
    return 0;
}

/* Points CURLOPT_HTTPHEADER's list at nodes inside x: the headers of
 * tr_deliver_headers() and, when signed, x's signature lines, without a single
 * allocation. -1 when the key does not fit (only a key the API never accepts); the
 * caller then builds the list. */
static int inline_headers(tr_xfer *x, int is_signed)
{
    int n = snprintf(x->hkey, sizeof x->hkey, "X-TimeRush-Key: %s", x->id);
    if (n < 0 || (size_t)n >= sizeof x->hkey)
        return -1;
    snprintf(x->hattempt, sizeof x->hattempt, "X-TimeRush-Attempt: %" PRId64, x->attempt);
    snprintf(x->hdue, sizeof x->hdue, "X-TimeRush-Due-Ms: %" PRId64, x->fire_due_ms);
    /* curl only reads the list (data and next), never frees or changes it. */
    enum { NODES = sizeof x->hnode / sizeof x->hnode[0] };
    static_assert(NODES == FIXED_HEADERS + 3 + 3, "hnode holds the fixed lines + 3 + 3 signed");
    char *lines[NODES];
    size_t used = 0;
    for (size_t i = 0; i < FIXED_HEADERS; i++)
        lines[used++] = (char *)(uintptr_t)fixed_headers[i];
    lines[used++] = x->hkey;
    lines[used++] = x->hattempt;
    lines[used++] = x->hdue;
    if (is_signed) {
        lines[used++] = x->hwid;
        lines[used++] = x->hwts;
        lines[used++] = x->hwsig;
    }
    for (size_t i = 0; i < used; i++) {
        x->hnode[i].data = lines[i];
        x->hnode[i].next = i + 1 < used ? &x->hnode[i + 1] : NULL;
    }
    return 0;
}

/* x's request headers as a malloc'd list in x->headers: a notice's, or a delivery's
 * with the timer's own, then the signature lines when signed. 0, or -1 (out of
 * memory, or a record whose headers are not a JSON object). */
static int list_headers(tr_xfer *x, int is_signed)
{
    if (x->notice) {
        x->headers = tr_deliver_notice_headers(x->id);
    } else {
        x->headers = tr_deliver_headers(x->id, x->attempt, x->fire_due_ms);
        int skipped = 0;
        if (x->headers != NULL &&
            tr_headers_merge(&x->headers, x->spec.headers_json, &skipped) != 0) {
            curl_slist_free_all(x->headers);
            x->headers = NULL;
        }
        if (skipped > 0)
            tr_log_warning("key=%s %d header(s) of the timer not sent (reserved or invalid)",
                           x->id, skipped);
    }
    if (x->headers == NULL)
        return -1;
    if (is_signed) {
        const char *const lines[] = {x->hwid, x->hwts, x->hwsig};
        if (append_lines(&x->headers, lines, 3) != 0)
            return -1;
    }
    return 0;
}

/* Adds x's easy handle to the multi handle and x to the active list, started now.
 * 0, or -1 with x->errbuf set. */
static int add_active(tr_deliver *d, tr_xfer *x)
{
    CURLMcode mc = curl_multi_add_handle(d->multi, x->easy);
    if (mc != CURLM_OK) {
        snprintf(x->errbuf, sizeof x->errbuf, "curl_multi_add_handle: %s", curl_multi_strerror(mc));
        return -1;
    }
    x->prev = NULL;
    x->next = d->active;
    if (d->active != NULL)
        d->active->prev = x;
    d->active = x;
    x->start_mono_ms = tr_clock_mono_ms();
    d->running++;
    return 0;
}

/* x->host from its destination's key ("scheme://host:port", already parsed and
 * lowercased by tr_dests) or, for a failure notice, from its URL. Empty when unknown. */
static void url_host(tr_xfer *x)
{
    x->host[0] = '\0';
    if (x->dest != NULL) {
        const char *key = tr_dest_key(x->dest);
        const char *h = strstr(key, "://");
        const char *colon = h != NULL ? strrchr(h + 3, ':') : NULL;
        if (colon != NULL && (size_t)(colon - (h + 3)) < sizeof x->host) {
            size_t n = (size_t)(colon - (h + 3));
            memcpy(x->host, h + 3, n);
            x->host[n] = '\0';
        }
        return;
    }
    if (tr_netpolicy_url_host(x->spec.url, x->host, sizeof x->host) != 0)
        x->host[0] = '\0';
}

int tr_deliver_start(tr_deliver *d, tr_xfer *x)
{
    const tr_config *cfg = d->cfg;
    CURL *e = x->easy;
    CURLcode rc = CURLE_OK;
    const char *what = "";
    struct curl_slist *hdrs = NULL;
    x->errbuf[0] = '\0';
    x->max_body = (size_t)cfg->max_response_bytes;
    if (x->id == NULL || x->spec.url == NULL) {
        snprintf(x->errbuf, sizeof x->errbuf, "transfer without key or url");
        return -1;
    }
    int is_signed = d->signer != NULL;
    if (is_signed && sign_xfer(d->signer, x) != 0)
        return -1; /* fails closed: never sent unsigned while signing is on */
    if (!x->notice && (x->spec.headers_json == NULL || x->spec.headers_json[0] == '\0') &&
        inline_headers(x, is_signed) == 0) {
        hdrs = x->hnode;
    } else if (list_headers(x, is_signed) == 0) {
        hdrs = x->headers;
    } else {
        snprintf(x->errbuf, sizeof x->errbuf, "out of memory or bad headers in the record");
        return -1;
    }
    if (cfg->netpolicy.has_hosts || cfg->pem_hosts[0] != '\0')
        url_host(x);
    if (cfg->pem[0] != '\0' && cfg->pem_hosts[0] != '\0') {
        /* --pem only to the hosts listed: set or cleared per transfer (the handle
         * is reused for other hosts). */
        const char *pem = tr_netpolicy_host_listed(cfg->pem_hosts, x->host) ? cfg->pem : NULL;
        SET(CURLOPT_SSLCERT, pem);
        SET(CURLOPT_SSLCERTTYPE, "PEM");
        SET(CURLOPT_SSLKEY, pem);
        SET(CURLOPT_SSLKEYTYPE, "PEM");
    }
    long timeout = x->timeout_ms > 0 ? (long)x->timeout_ms : (long)cfg->timeout_ms;
    long connect_timeout = (long)cfg->connect_timeout_ms;
    if (connect_timeout > timeout)
        connect_timeout = timeout; /* a short per-timer timeout bounds the connect too */
    SET(CURLOPT_URL, x->spec.url);
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->spec.data_len);
    SET(CURLOPT_POSTFIELDS, x->spec.data);
    SET(CURLOPT_HTTPHEADER, hdrs);
    SET(CURLOPT_CONNECTTIMEOUT_MS, connect_timeout);
    SET(CURLOPT_TIMEOUT_MS, timeout);
    return add_active(d, x);
fail:
    snprintf(x->errbuf, sizeof x->errbuf, "%s: %s", what, curl_easy_strerror(rc));
    return -1;
}

int tr_deliver_running(const tr_deliver *d)
{
    return d->running;
}

int tr_deliver_side_running(const tr_deliver *d)
{
    return d->side_running;
}

int tr_deliver_connect(tr_deliver *d, tr_xfer *x, const char *url, long timeout_ms)
{
    CURL *e = x->easy;
    CURLcode rc = CURLE_OK;
    const char *what = "";
    x->errbuf[0] = '\0';
    x->sock = -1;
    long connect_timeout = (long)d->cfg->connect_timeout_ms;
    if (connect_timeout > timeout_ms)
        connect_timeout = timeout_ms;
    /* Undone when it leaves the multi handle (side_reset), so the pooled handle
     * is an ordinary delivery's again. Not FORBID_REUSE: libcurl would close the
     * connection before CURLINFO_ACTIVESOCKET could be read. libcurl keeps its own
     * descriptor in its pool (a connect-only connection is never reused for
     * another transfer) until it prunes it; ours is a dup, and the notifier ends
     * the connection with shutdown(), which acts on the socket itself. */
    SET(CURLOPT_CONNECT_ONLY, 1L);
    SET(CURLOPT_PROXY, ""); /* a proxy would get the lines: never one for a side connect */
    SET(CURLOPT_URL, url);
    SET(CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    SET(CURLOPT_CONNECTTIMEOUT_MS, connect_timeout);
    SET(CURLOPT_TIMEOUT_MS, timeout_ms);
    if (add_active(d, x) != 0)
        goto undo;
    d->side_running++;
    return 0;
fail:
    snprintf(x->errbuf, sizeof x->errbuf, "%s: %s", what, curl_easy_strerror(rc));
undo:
    (void)curl_easy_setopt(e, CURLOPT_CONNECT_ONLY, 0L);
    (void)curl_easy_setopt(e, CURLOPT_PROXY,
                           d->cfg->netpolicy.kind != TR_NETPOLICY_ANY ? "" : (const char *)NULL);
    return -1;
}

/* A side transfer out of the multi handle: its handle back to an ordinary one.
 * Failing here only costs the handle's reuse as a connect (the options are set
 * again by the next tr_deliver_connect), but a delivery on a connect-only handle
 * would send nothing: logged. */
static void side_reset(tr_deliver *d, tr_xfer *x)
{
    if (x->side == NULL)
        return;
    d->side_running--;
    /* The proxy back to the handle's own setting (set_fixed: none unless the
     * policy is any, then libcurl's default, the environment). */
    const char *proxy = d->cfg->netpolicy.kind != TR_NETPOLICY_ANY ? "" : NULL;
    if (curl_easy_setopt(x->easy, CURLOPT_CONNECT_ONLY, 0L) != CURLE_OK ||
        curl_easy_setopt(x->easy, CURLOPT_PROXY, proxy) != CURLE_OK)
        tr_log_error("cannot reset a connect-only handle");
}

int tr_deliver_poll(tr_deliver *d, struct curl_waitfd *w, unsigned n, int timeout_ms)
{
    int numfds = 0;
    return curl_multi_poll(d->multi, n > 0 ? w : NULL, n, timeout_ms, &numfds) == CURLM_OK ? 0
                                                                                            : -1;
}

#undef SET

int tr_deliver_wait(tr_deliver *d, int extra_fd, int timeout_ms, int *extra_ready)
{
    struct curl_waitfd wfd = {.fd = extra_fd, .events = CURL_WAIT_POLLIN, .revents = 0};
    int numfds = 0;
    CURLMcode mc = curl_multi_poll(d->multi, extra_fd >= 0 ? &wfd : NULL, extra_fd >= 0 ? 1 : 0,
                                   timeout_ms, &numfds);
    *extra_ready = extra_fd >= 0 && (wfd.revents & (CURL_WAIT_POLLIN | CURL_WAIT_POLLPRI)) != 0;
    return mc == CURLM_OK ? 0 : -1;
}

int tr_deliver_wait_fds(tr_deliver *d, const int *fds, int *ready, unsigned n, int timeout_ms)
{
    struct curl_waitfd w[TR_DELIVER_WAIT_FDS_MAX];
    unsigned m = 0;
    if (n > TR_DELIVER_WAIT_FDS_MAX)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        ready[i] = 0;
        if (fds[i] >= 0)
            w[m++] = (struct curl_waitfd){.fd = fds[i], .events = CURL_WAIT_POLLIN, .revents = 0};
    }
    int numfds = 0;
    CURLMcode mc = curl_multi_poll(d->multi, m > 0 ? w : NULL, m, timeout_ms, &numfds);
    for (unsigned i = 0, j = 0; i < n; i++) {
        if (fds[i] < 0)
            continue;
        ready[i] = (w[j].revents & (CURL_WAIT_POLLIN | CURL_WAIT_POLLPRI)) != 0;
        j++;
    }
    return mc == CURLM_OK ? 0 : -1;
}

int tr_deliver_perform(tr_deliver *d)
{
    int still = 0;
    return curl_multi_perform(d->multi, &still) == CURLM_OK ? 0 : -1;
}

static void unlink_active(tr_deliver *d, tr_xfer *x)
{
    if (x->prev != NULL)
        x->prev->next = x->next;
    else
        d->active = x->next;
    if (x->next != NULL)
        x->next->prev = x->prev;
    x->prev = x->next = NULL;
    d->running--;
}

/* Says in x->errbuf where a timed-out delivery's time went: whether the receiver
 * took the connection and the request (a hanging receiver) or never did. */
static void note_timing(tr_xfer *x, CURL *e)
{
    curl_off_t connect_us = 0, sent_us = 0;
    if (curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &connect_us) != CURLE_OK)
        connect_us = 0;
    if (curl_easy_getinfo(e, CURLINFO_PRETRANSFER_TIME_T, &sent_us) != CURLE_OK)
        sent_us = 0;
    size_t len = strlen(x->errbuf);
    if (len + 1 >= sizeof x->errbuf)
        return;
    if (sent_us > 0)
        snprintf(x->errbuf + len, sizeof x->errbuf - len, " (request sent after %lld ms)",
                 (long long)(sent_us / 1000));
    else if (connect_us > 0)
        snprintf(x->errbuf + len, sizeof x->errbuf - len, " (connected after %lld ms, request not sent)",
                 (long long)(connect_us / 1000));
    else
        snprintf(x->errbuf + len, sizeof x->errbuf - len, " (never connected)");
}

tr_xfer *tr_deliver_done(tr_deliver *d)
{
    int left = 0;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(d->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *e = msg->easy_handle;
        CURLcode result = msg->data.result; /* msg is invalid after remove_handle */
        char *priv = NULL;
        if (curl_easy_getinfo(e, CURLINFO_PRIVATE, &priv) != CURLE_OK || priv == NULL)
            continue; /* cannot happen: every handle we add carries its transfer */
        tr_xfer *x = (tr_xfer *)(void *)priv;
        x->result = result;
        x->end_mono_ms = tr_clock_mono_ms();
        long status = 0;
        if (curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK)
            status = 0;
        x->status = status;
        if (result == CURLE_OPERATION_TIMEDOUT)
            note_timing(x, e);
        if (x->side != NULL && result == CURLE_OK) {
            /* Read while the transfer is in the multi handle (libcurl finds the
             * connection through it). */
            curl_socket_t fd = CURL_SOCKET_BAD;
            if (curl_easy_getinfo(e, CURLINFO_ACTIVESOCKET, &fd) != CURLE_OK ||
                fd == CURL_SOCKET_BAD || (x->sock = fcntl(fd, F_DUPFD_CLOEXEC, 0)) < 0) {
                x->result = CURLE_COULDNT_CONNECT;
                snprintf(x->errbuf, sizeof x->errbuf, "connected, but the socket cannot be kept");
            }
        }
        (void)curl_multi_remove_handle(d->multi, e); /* only fails for a handle not added */
        unlink_active(d, x);
        side_reset(d, x);
        return x;
    }
    return NULL;
}

tr_xfer *tr_deliver_abort_one(tr_deliver *d)
{
    tr_xfer *x = d->active;
    if (x == NULL)
        return NULL;
    (void)curl_multi_remove_handle(d->multi, x->easy);
    unlink_active(d, x);
    side_reset(d, x);
    return x;
}
