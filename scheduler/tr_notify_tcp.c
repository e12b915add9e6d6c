#include "tr_notify_tcp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tr_clock.h"
#include "tr_dest.h"
#include "tr_json.h"
#include "tr_log.h"
#include "tr_netpolicy.h"
#include "tr_url.h"

#define READ_ROUND_MAX (256 * 1024) /* bytes read from one connection per round: fairness */
#define READ_CHUNK 16384

typedef enum conn_state {
    CONN_CONNECTING = 0, /* the side connect runs in libcurl */
    CONN_UP = 1,         /* fd connected (tls: handshake done): lines go out, answers come in */
    CONN_CLOSED = 2,     /* given up while its connect still runs: freed when it returns */
    CONN_HANDSHAKE = 3   /* tls: fd connected, the TLS handshake runs */
} conn_state;

typedef struct tcp_conn {
    struct tcp_conn *next;          /* the notifier's list */
    char key[TR_DEST_KEY_MAX];      /* "tcp://host:port" or "tls://host:port" */
    conn_state state;
    int fd;                         /* -1 unless UP or HANDSHAKE */
    SSL *ssl;                       /* tls:// only (made with the connection); else NULL */
    int want_write;                 /* tls: the last SSL call waits for POLLOUT */
    int64_t hs_deadline;            /* tls: monotonic ms by which the handshake must end */
    int64_t hs_timeout_ms;          /* tls: --connect-timeout-ms, for the handshake */
    tr_xfer *carrier;               /* the side connect while CONNECTING/CLOSED; tr_deliver's */
    char peer[64];                  /* "address port" once connected */
    tr_xfer *head, *tail;           /* outstanding, in line order, through lnext */
    tr_xfer *unannounced;           /* the first of them not yet told to on_connect */
    int count;                      /* length of head..tail */
    uint64_t queued;                /* bytes of lines appended since connect */
    uint64_t written;               /* bytes of them written */
    char *out;                      /* out[out_off..out_len): not yet written */
    size_t out_off, out_len, out_cap;
    char *in;                       /* a partial answer line, in_len bytes */
    size_t in_len, in_cap;
    long widx;                      /* its entry in the last waitfds() slice; -1 none */
} tcp_conn;

struct tr_notify_tcp {
    const tr_config *cfg;
    tr_deliver *dl;
    tr_deliver_connect_fn *on_connect;
    void *on_connect_ctx;
    tcp_conn *conns;
    tcp_conn *last;                 /* the last one used: a burst repeats its target */
    tr_xfer *done_head, *done_tail; /* finished or aborted, through lnext */
    int running;                    /* started and not handed back */
    SSL_CTX *tls[2];                /* tls:// contexts, made at first use: [1] presents
                                     * --pem (--pem-hosts), [0] no client certificate */
};

/* ---- lines ------------------------------------------------------------------ */

static int reserve(char **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : 4096;
    while (c < need)
        c *= 2;
    char *b = realloc(*buf, c);
    if (b == NULL)
        return -1;
    *buf = b;
    *cap = c;
    return 0;
}

/* 1 when data[0..len) is one JSON value (a stored object or array is). */
static int is_json(const char *data, size_t len)
{
    if (len == 0)
        return 0;
    char msg[8];
    json_object *v = tr_json_parse_value(data, len, msg, sizeof msg);
    if (v == NULL)
        return 0;
    json_object_put(v);
    return 1;
}

int tr_notify_tcp_line(const char *key, int64_t attempt, int64_t due_ms, const char *data,
                       size_t data_len, char **buf, size_t *len, size_t *cap)
{
    size_t klen = strlen(key);
    if (reserve(buf, cap, *len + klen * 6 + data_len * 6 + 128) != 0)
        return -1;
    char *start = *buf + *len, *o = start;
    memcpy(o, "{\"key\":", 7);
    o = tr_json_escape(o + 7, key, klen);
    o += snprintf(o, 80, ",\"attempt\":%" PRId64 ",\"due_ms\":%" PRId64 ",\"data\":", attempt,
                  due_ms);
    if (is_json(data, data_len)) {
        /* A newline in JSON text can only be whitespace: a space says the same. */
        for (size_t i = 0; i < data_len; i++)
            *o++ = data[i] == '\n' || data[i] == '\r' ? ' ' : data[i];
    } else {
        o = tr_json_escape(o, data, data_len);
    }
    *o++ = '}';
    *o++ = '\n';
    *len += (size_t)(o - start);
    return 0;
}

/* ---- connections ------------------------------------------------------------ */

static void done_push(tr_notify_tcp *t, tr_xfer *x)
{
    x->lnext = NULL;
    if (t->done_tail != NULL)
        t->done_tail->lnext = x;
    else
        t->done_head = x;
    t->done_tail = x;
}

static tr_xfer *fifo_pop(tcp_conn *c)
{
    tr_xfer *x = c->head;
    if (x == NULL)
        return NULL;
    c->head = x->lnext;
    if (c->head == NULL)
        c->tail = NULL;
    if (c->unannounced == x)
        c->unannounced = c->head;
    c->count--;
    x->lnext = NULL;
    return x;
}

static void close_fd(tcp_conn *c)
{
    /* No close_notify: a connection is only closed on failure or at shutdown, and
     * every line not answered is failed (retried) whatever the receiver saw. */
    SSL_free(c->ssl);
    c->ssl = NULL;
    if (c->fd >= 0) {
        /* shutdown(), not only close(): libcurl's pool may still hold a descriptor
         * of the same socket (tr_deliver_connect()); the receiver must see the end. */
        (void)shutdown(c->fd, SHUT_RDWR);
        (void)close(c->fd);
    }
    c->fd = -1;
    c->out_off = c->out_len = 0;
    c->in_len = 0;
    c->queued = c->written = 0;
}

/* Fails every outstanding notification of c (the first with first_result, the
 * others with CURLE_RECV_ERROR; all with why) and closes its socket. */
static void fail_all(tr_notify_tcp *t, tcp_conn *c, CURLcode first_result, const char *why)
{
    int64_t now = tr_clock_mono_ms();
    int n = c->count, i = 0;
    if (n > 0 || c->state == CONN_UP)
        tr_log_debug("tcp %s: %s (%d notifications outstanding)", c->key, why, n);
    tr_xfer *x;
    while ((x = fifo_pop(c)) != NULL) {
        x->result = i++ == 0 ? first_result : CURLE_RECV_ERROR;
        x->status = 0;
        x->end_mono_ms = now;
        snprintf(x->errbuf, sizeof x->errbuf, "%s", why);
        done_push(t, x);
    }
    close_fd(c);
}

static void conn_free(tcp_conn *c)
{
    close_fd(c);
    free(c->out);
    free(c->in);
    free(c);
}

/* ---- TLS (tls:// targets) ------------------------------------------------------ */

/* The last OpenSSL error (the queue emptied) into why, after `what`. */
static void tls_why(const char *what, char *why, size_t len)
{
    unsigned long e = ERR_peek_last_error();
    char text[160] = "";
    if (e != 0)
        ERR_error_string_n(e, text, sizeof text);
    ERR_clear_error();
    snprintf(why, len, "%s%s%s", what, text[0] != '\0' ? ": " : "", text);
}

/* The context for tls:// connections, with or without --pem, made at first use
 * with the https options (--cacert or the system store, --insecure). NULL with why. */
static SSL_CTX *tls_ctx(tr_notify_tcp *t, int with_pem, char *why, size_t len)
{
    const tr_config *cfg = t->cfg;
    if (t->tls[with_pem] != NULL)
        return t->tls[with_pem];
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        tls_why("TLS: cannot make a context", why, len);
        return NULL;
    }
    /* TLS 1.2 at least, as libcurl 7.88 asks by default. Partial writes and a
     * moving buffer: out grows and is compacted between the tries of one write. An
     * EOF without close_notify reads as the receiver closing (our lines carry their
     * own framing: a cut line is never an answer). */
    (void)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    const char *fail = NULL;
    if (cfg->insecure) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    } else {
        if (cfg->cacert[0] != '\0' ? SSL_CTX_load_verify_locations(ctx, cfg->cacert, NULL) != 1
                                   : SSL_CTX_set_default_verify_paths(ctx) != 1)
            fail = "TLS: cannot load the CA certificates (--cacert)";
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    }
    if (fail == NULL && with_pem &&
        (SSL_CTX_use_certificate_chain_file(ctx, cfg->pem) != 1 ||
         SSL_CTX_use_PrivateKey_file(ctx, cfg->pem, SSL_FILETYPE_PEM) != 1 ||
         SSL_CTX_check_private_key(ctx) != 1))
        fail = "TLS: cannot load the client certificate and key (--pem)";
    if (fail != NULL) {
        tls_why(fail, why, len);
        SSL_CTX_free(ctx);
        return NULL;
    }
    return t->tls[with_pem] = ctx;
}

/* c's TLS session for host (lowercase; an IPv6 address in brackets): SNI for a
 * name, and unless --insecure the certificate checked against the name or the
 * address, as libcurl checks an https peer. 0, or -1 with why. */
static int tls_new(tr_notify_tcp *t, tcp_conn *c, const char *host, char *why, size_t len)
{
    const tr_config *cfg = t->cfg;
    int with_pem = cfg->pem[0] != '\0' &&
                   (cfg->pem_hosts[0] == '\0' || tr_netpolicy_host_listed(cfg->pem_hosts, host));
    SSL_CTX *ctx = tls_ctx(t, with_pem, why, len);
    if (ctx == NULL)
        return -1;
    char bare[TR_NETPOLICY_HOST_MAX];
    size_t hl = strlen(host);
    unsigned char addr[sizeof(struct in6_addr)];
    int is_ip = 0;
    if (host[0] == '[' && hl >= 2 && hl - 2 < sizeof bare) {
        memcpy(bare, host + 1, hl - 2);
        bare[hl - 2] = '\0';
        is_ip = 1;
    } else {
        snprintf(bare, sizeof bare, "%s", host);
        is_ip = inet_pton(AF_INET, bare, addr) == 1;
    }
    ERR_clear_error();
    c->ssl = SSL_new(ctx);
    int ok = c->ssl != NULL;
    /* SNI is for names only (RFC 6066). */
    if (ok && !is_ip)
        ok = SSL_set_tlsext_host_name(c->ssl, bare) == 1;
    if (ok && !cfg->insecure)
        ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), bare) == 1
                   : SSL_set1_host(c->ssl, bare) == 1;
    if (!ok) {
        tls_why("TLS: cannot set up the session", why, len);
        SSL_free(c->ssl);
        c->ssl = NULL;
        return -1;
    }
    return 0;
}

/* One step of c's handshake. 0 (done: c is UP; or waiting for the socket), or -1
 * when it failed (c's notifications failed, the reason in each). */
static int tls_handshake(tr_notify_tcp *t, tcp_conn *c)
{
    ERR_clear_error();
    errno = 0;
    int r = SSL_connect(c->ssl);
    if (r == 1) {
        c->state = CONN_UP;
        c->want_write = 0;
        return 0;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        c->want_write = e == SSL_ERROR_WANT_WRITE;
        return 0;
    }
    char why[CURL_ERROR_SIZE];
    long v = SSL_get_verify_result(c->ssl);
    CURLcode code = CURLE_SSL_CONNECT_ERROR;
    if (v != X509_V_OK) {
        ERR_clear_error();
        snprintf(why, sizeof why, "TLS: the receiver's certificate was not verified: %s",
                 X509_verify_cert_error_string(v));
        code = CURLE_PEER_FAILED_VERIFICATION;
    } else if (e == SSL_ERROR_SYSCALL && ERR_peek_last_error() == 0) {
        snprintf(why, sizeof why, "TLS handshake: connection closed or reset%s%s",
                 errno != 0 ? ": " : "", errno != 0 ? strerror(errno) : "");
    } else {
        tls_why("TLS handshake failed", why, sizeof why);
    }
    fail_all(t, c, code, why);
    return -1;
}

typedef enum io_rc {
    IO_OK = 0,     /* *n bytes moved */
    IO_AGAIN = 1,  /* nothing now: wait for the socket (c->want_write says which way) */
    IO_EOF = 2,    /* the receiver closed (reading) */
    IO_FAIL = 3    /* the connection failed: why says how */
} io_rc;

/* send() or SSL_write() of buf[0..len) on c. */
static io_rc conn_send(tcp_conn *c, const char *buf, size_t len, size_t *n, char *why,
                       size_t wl)
{
    if (c->ssl == NULL) {
        ssize_t w = send(c->fd, buf, len, MSG_NOSIGNAL);
        if (w > 0) {
            *n = (size_t)w;
            return IO_OK;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            return IO_AGAIN;
        snprintf(why, wl, "write failed: %s", w < 0 ? strerror(errno) : "nothing written");
        return IO_FAIL;
    }
    ERR_clear_error();
    errno = 0;
    int r = SSL_write_ex(c->ssl, buf, len, n);
    if (r == 1) {
        c->want_write = 0;
        return IO_OK;
    }
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        c->want_write = e == SSL_ERROR_WANT_WRITE;
        return IO_AGAIN;
    }
    /* "TLS" in every TLS failure, a reset by the receiver too (one refusing our
     * missing certificate may reset before or after its alert). */
    if (e == SSL_ERROR_SYSCALL && ERR_peek_last_error() == 0)
        snprintf(why, wl, "TLS write failed: %s", errno != 0 ? strerror(errno) : "connection closed");
    else
        tls_why("TLS write failed", why, wl);
    return IO_FAIL;
}

/* recv() or SSL_read() into buf[0..len) from c. */
static io_rc conn_recv(tcp_conn *c, char *buf, size_t len, size_t *n, char *why, size_t wl)
{
    if (c->ssl == NULL) {
        ssize_t r = recv(c->fd, buf, len, 0);
        if (r > 0) {
            *n = (size_t)r;
            return IO_OK;
        }
        if (r == 0)
            return IO_EOF;
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return IO_AGAIN;
        snprintf(why, wl, "connection lost: %s", strerror(errno));
        return IO_FAIL;
    }
    ERR_clear_error();
    errno = 0;
    int r = SSL_read_ex(c->ssl, buf, len, n);
    if (r == 1)
        return IO_OK;
    int e = SSL_get_error(c->ssl, r);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        c->want_write = e == SSL_ERROR_WANT_WRITE;
        return IO_AGAIN;
    }
    if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && ERR_peek_last_error() == 0 &&
                                       errno == 0))
        return IO_EOF;
    if (e == SSL_ERROR_SYSCALL && ERR_peek_last_error() == 0)
        snprintf(why, wl, "TLS connection lost: %s", strerror(errno));
    else
        tls_why("TLS read failed", why, wl);
    return IO_FAIL;
}

static void on_side(void *ctx, tr_xfer *carrier);

/* The connection for x's target, made (and its connect started) when new. NULL
 * with x->errbuf set. */
static tcp_conn *conn_for(tr_notify_tcp *t, tr_xfer *x)
{
    char key[TR_DEST_KEY_MAX], url[TR_URL_MAX + 16], host[TR_NETPOLICY_HOST_MAX], msg[200];
    int port = 0;
    if (tr_url_tcp_parse(x->spec.url, "callback", url, sizeof url, host, sizeof host, &port, msg,
                         sizeof msg) != 0) {
        snprintf(x->errbuf, sizeof x->errbuf, "%s", msg);
        return NULL;
    }
    if (x->dest != NULL)
        snprintf(key, sizeof key, "%s", tr_dest_key(x->dest));
    else
        snprintf(key, sizeof key, "%s://%s:%d", tr_url_is_tls(x->spec.url) ? "tls" : "tcp", host,
                 port);
    if (t->last != NULL && t->last->state != CONN_CLOSED && strcmp(t->last->key, key) == 0)
        return t->last;
    for (tcp_conn *c = t->conns; c != NULL; c = c->next)
        if (c->state != CONN_CLOSED && strcmp(c->key, key) == 0)
            return t->last = c;
    tcp_conn *c = calloc(1, sizeof *c);
    tr_xfer *cx = c != NULL ? tr_deliver_xfer_get(t->dl) : NULL;
    if (cx == NULL) {
        free(c);
        snprintf(x->errbuf, sizeof x->errbuf, "out of memory");
        return NULL;
    }
    snprintf(c->key, sizeof c->key, "%s", key);
    c->fd = -1;
    c->widx = -1;
    c->state = CONN_CONNECTING;
    c->hs_timeout_ms = (int64_t)t->cfg->connect_timeout_ms;
    if (tr_url_is_tls(x->spec.url) && tls_new(t, c, host, x->errbuf, sizeof x->errbuf) != 0) {
        tr_deliver_xfer_put(t->dl, cx);
        free(c);
        return NULL;
    }
    cx->side = on_side;
    cx->side_ctx = c;
    snprintf(cx->host, sizeof cx->host, "%s", host);
    if (cx->host[0] == '[')
        cx->host[0] = '\0'; /* host rules name hosts; an address is judged as one */
    if (tr_deliver_connect(t->dl, cx, url, (long)t->cfg->connect_timeout_ms) != 0) {
        snprintf(x->errbuf, sizeof x->errbuf, "%s", cx->errbuf);
        tr_deliver_xfer_put(t->dl, cx);
        SSL_free(c->ssl);
        free(c);
        return NULL;
    }
    c->carrier = cx;
    c->next = t->conns;
    t->conns = c;
    return t->last = c;
}

/* tr_deliver's side callback: c's connect finished (or was aborted). */
/* The connected socket cannot be set up: every waiting notification is marked
 * "failed by its connect" (status -1, for perform()) with result and why, and the
 * socket closed. */
static void setup_failed(tcp_conn *c, CURLcode result, const char *why)
{
    c->state = CONN_CLOSED;
    for (tr_xfer *x = c->head; x != NULL; x = x->lnext) {
        x->result = result;
        snprintf(x->errbuf, sizeof x->errbuf, "%s", why);
        x->status = -1;
    }
    close_fd(c);
}

static void on_side(void *ctx, tr_xfer *cx)
{
    tcp_conn *c = ctx;
    c->carrier = NULL;
    if (c->state == CONN_CLOSED) {
        if (cx->sock >= 0)
            (void)close(cx->sock);
        cx->sock = -1;
        tr_deliver_xfer_put(cx->owner, cx);
        return; /* perform() frees it */
    }
    /* perform() hands the outcome to the notifications (the connection does not
     * point back to its notifier). */
    if (cx->result != CURLE_OK || cx->sock < 0) {
        /* Handed to every waiting notification by perform(): keep what it says. */
        c->state = CONN_CLOSED;
        for (tr_xfer *x = c->head; x != NULL; x = x->lnext) {
            x->result = cx->result != CURLE_OK ? cx->result : CURLE_COULDNT_CONNECT;
            x->refused = cx->refused;
            snprintf(x->refused_peer, sizeof x->refused_peer, "%s", cx->refused_peer);
            snprintf(x->errbuf, sizeof x->errbuf, "%s",
                     cx->errbuf[0] != '\0' ? cx->errbuf : curl_easy_strerror(x->result));
            x->status = -1; /* marks "failed by its connect" for perform() */
        }
        if (cx->sock >= 0)
            (void)close(cx->sock);
        cx->sock = -1;
        tr_deliver_xfer_put(cx->owner, cx);
        return;
    }
    c->fd = cx->sock;
    cx->sock = -1;
    snprintf(c->peer, sizeof c->peer, "%s", cx->peer);
    tr_deliver_xfer_put(cx->owner, cx);
    int fl = fcntl(c->fd, F_GETFL);
    int one = 1;
    if (fl < 0 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        setup_failed(c, CURLE_COULDNT_CONNECT, "cannot make the socket non-blocking");
        return;
    }
    /* Lines are small and answered one by one: no Nagle delay. Best effort. */
    (void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    (void)setsockopt(c->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
    if (c->ssl == NULL) {
        c->state = CONN_UP;
        return;
    }
    /* tls: the handshake runs in perform(), ClientHello first (POLLOUT). */
    if (SSL_set_fd(c->ssl, c->fd) != 1) {
        ERR_clear_error();
        setup_failed(c, CURLE_SSL_CONNECT_ERROR, "TLS: cannot attach the socket");
        return;
    }
    c->state = CONN_HANDSHAKE;
    c->want_write = 1;
    c->hs_deadline = tr_clock_mono_ms() + c->hs_timeout_ms;
}

/* ---- the interface ------------------------------------------------------------ */

static int tcp_start(void *impl, tr_xfer *x)
{
    tr_notify_tcp *t = impl;
    x->errbuf[0] = '\0';
    if (x->id == NULL || x->spec.url == NULL || x->notice) {
        snprintf(x->errbuf, sizeof x->errbuf, "a tcp target takes timer deliveries only");
        return -1;
    }
    tcp_conn *c = conn_for(t, x);
    if (c == NULL)
        return -1;
    size_t before = c->out_len;
    if (tr_notify_tcp_line(x->id, x->attempt, x->fire_due_ms, x->spec.data, x->spec.data_len,
                           &c->out, &c->out_len, &c->out_cap) != 0) {
        snprintf(x->errbuf, sizeof x->errbuf, "out of memory");
        return -1;
    }
    c->queued += c->out_len - before;
    x->line_end = c->queued;
    x->max_body = (size_t)t->cfg->max_response_bytes;
    x->result = CURLE_OK;
    x->status = 0;
    x->lnext = NULL;
    if (c->tail != NULL)
        c->tail->lnext = x;
    else
        c->head = x;
    c->tail = x;
    if (c->unannounced == NULL)
        c->unannounced = x;
    c->count++;
    x->start_mono_ms = tr_clock_mono_ms();
    t->running++;
    return 0;
}

static tr_xfer *tcp_done(void *impl)
{
    tr_notify_tcp *t = impl;
    tr_xfer *x = t->done_head;
    if (x == NULL)
        return NULL;
    t->done_head = x->lnext;
    if (t->done_head == NULL)
        t->done_tail = NULL;
    x->lnext = NULL;
    t->running--;
    return x;
}

static tr_xfer *tcp_abort_one(void *impl)
{
    tr_notify_tcp *t = impl;
    /* Shutdown: every connection goes at once (what it still holds is released,
     * due again now); a connect still running is left to libcurl's abort. */
    for (tcp_conn *c = t->conns; c != NULL; c = c->next) {
        tr_xfer *x;
        while ((x = fifo_pop(c)) != NULL)
            done_push(t, x);
        close_fd(c);
        c->state = CONN_CLOSED;
    }
    return tcp_done(impl);
}

static int tcp_running(const void *impl)
{
    const tr_notify_tcp *t = impl;
    return t->running;
}

static size_t tcp_waitfds(void *impl, struct curl_waitfd *out, size_t max)
{
    tr_notify_tcp *t = impl;
    size_t n = 0;
    for (tcp_conn *c = t->conns; c != NULL; c = c->next) {
        c->widx = -1;
        if (c->state != CONN_UP && c->state != CONN_HANDSHAKE)
            continue;
        if (n < max) {
            out[n].fd = c->fd;
            if (c->state == CONN_HANDSHAKE) {
                out[n].events = c->want_write ? CURL_WAIT_POLLOUT : CURL_WAIT_POLLIN;
            } else {
                out[n].events = CURL_WAIT_POLLIN;
                if (c->out_len > c->out_off || c->want_write)
                    out[n].events |= CURL_WAIT_POLLOUT;
            }
            c->widx = (long)n;
        }
        n++;
    }
    return n;
}

static int64_t timeout_of(const tr_notify_tcp *t, const tr_xfer *x)
{
    return x->timeout_ms > 0 ? x->timeout_ms : (int64_t)t->cfg->timeout_ms;
}

static int64_t tcp_next_ms(const void *impl)
{
    const tr_notify_tcp *t = impl;
    int64_t next = -1;
    for (const tcp_conn *c = t->conns; c != NULL; c = c->next) {
        if (c->state == CONN_CLOSED && c->head != NULL)
            return 0; /* a failed connect's notifications: fail them now */
        if (c->ssl != NULL && c->state == CONN_UP && SSL_pending(c->ssl) > 0)
            return 0; /* decrypted and not yet read: no poll would say so (not
                       * SSL_has_pending: true for half a record too, a busy loop) */
        if (c->state == CONN_HANDSHAKE && (next < 0 || c->hs_deadline < next))
            next = c->hs_deadline;
        if (c->head == NULL || (c->state != CONN_UP && c->state != CONN_HANDSHAKE))
            continue;
        int64_t due = c->head->start_mono_ms + timeout_of(t, c->head);
        if (next < 0 || due < next)
            next = due;
    }
    return next;
}

/* Judges one answer line (no newline) for the oldest outstanding notification. */
static void answer(tr_notify_tcp *t, tcp_conn *c, const char *line, size_t len)
{
    tr_xfer *x = fifo_pop(c);
    if (len > 0 && line[len - 1] == '\r')
        len--;
    x->end_mono_ms = tr_clock_mono_ms();
    int ok = len == 9 && memcmp(line, "{\"ret\":0}", 9) == 0;
    if (!ok) {
        char msg[8];
        json_object *v = tr_json_parse_object(line, len, msg, sizeof msg);
        ok = v != NULL && json_object_object_get_ex(v, "ret", NULL);
        json_object_put(v);
    }
    if (ok) {
        x->result = CURLE_OK;
        x->status = 200; /* judged as an HTTP 200 answer with this body (tr_answer.h) */
        x->body_len = x->body_dropped = 0;
        (void)tr_deliver_on_body((char *)(uintptr_t)line, 1, len, x);
    } else {
        x->result = CURLE_WEIRD_SERVER_REPLY;
        x->status = 0;
        snprintf(x->errbuf, sizeof x->errbuf, "garbage answer (not a JSON object with ret): %.40s",
                 len > 0 ? line : "(empty line)");
        for (char *p = x->errbuf; *p != '\0'; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f)
                *p = '?'; /* log-safe */
    }
    done_push(t, x);
}

/* Reads what arrived on c and judges every complete line. 0, or -1 when c failed
 * (its notifications are failed already). */
static int read_answers(tr_notify_tcp *t, tcp_conn *c)
{
    size_t max_line = (size_t)t->cfg->max_response_bytes + 2;
    size_t total = 0;
    while (total < READ_ROUND_MAX) {
        if (reserve(&c->in, &c->in_cap, c->in_len + READ_CHUNK) != 0) {
            fail_all(t, c, CURLE_OUT_OF_MEMORY, "out of memory for the answers");
            return -1;
        }
        char why[CURL_ERROR_SIZE];
        size_t r = 0;
        io_rc rc = conn_recv(c, c->in + c->in_len, READ_CHUNK, &r, why, sizeof why);
        if (rc == IO_AGAIN)
            return 0;
        if (rc != IO_OK) {
            if (rc == IO_EOF)
                snprintf(why, sizeof why, "connection closed by the receiver with %d notification(s) "
                         "outstanding%s", c->count, c->in_len > 0 ? " and a half-written answer" : "");
            fail_all(t, c, CURLE_RECV_ERROR, why);
            return -1;
        }
        total += r;
        size_t scan = c->in_len, used = 0;
        c->in_len += r;
        char *nl;
        while ((nl = memchr(c->in + scan, '\n', c->in_len - scan)) != NULL) {
            size_t end = (size_t)(nl - c->in);
            if (c->head == NULL || c->head->line_end > c->written) {
                fail_all(t, c, CURLE_WEIRD_SERVER_REPLY,
                         "an answer to a notification not sent (receiver out of step)");
                return -1;
            }
            answer(t, c, c->in + used, end - used);
            used = scan = end + 1;
        }
        if (used > 0) {
            memmove(c->in, c->in + used, c->in_len - used);
            c->in_len -= used;
        }
        if (c->in_len > max_line) {
            fail_all(t, c, CURLE_WEIRD_SERVER_REPLY, "answer line longer than --max-response");
            return -1;
        }
    }
    return 0;
}

/* Writes what c has queued, as far as the socket takes it. 0, or -1 when c failed. */
static int write_lines(tr_notify_tcp *t, tcp_conn *c)
{
    while (c->out_len > c->out_off) {
        char why[CURL_ERROR_SIZE];
        size_t w = 0;
        io_rc rc = conn_send(c, c->out + c->out_off, c->out_len - c->out_off, &w, why, sizeof why);
        if (rc == IO_AGAIN)
            break; /* back-pressure: POLLOUT (or, tls, what the session waits for) next round */
        if (rc != IO_OK) {
            fail_all(t, c, CURLE_SEND_ERROR, why);
            return -1;
        }
        c->out_off += w;
        c->written += (uint64_t)w;
    }
    if (c->out_off == c->out_len) {
        c->out_off = c->out_len = 0;
    } else if (c->out_off > c->out_cap / 2) {
        memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
        c->out_len -= c->out_off;
        c->out_off = 0;
    }
    return 0;
}

static int tcp_perform(void *impl, const struct curl_waitfd *w, size_t n)
{
    tr_notify_tcp *t = impl;
    int64_t now = tr_clock_mono_ms();
    tcp_conn **pp = &t->conns;
    while (*pp != NULL) {
        tcp_conn *c = *pp;
        if (c->state == CONN_CLOSED) {
            /* A failed connect: its notifications fail with what libcurl said. */
            tr_xfer *x;
            while ((x = fifo_pop(c)) != NULL) {
                if (x->status == -1)
                    x->status = 0;
                else if (x->result == CURLE_OK) {
                    x->result = CURLE_COULDNT_CONNECT;
                    snprintf(x->errbuf, sizeof x->errbuf, "connection given up");
                }
                x->end_mono_ms = now;
                done_push(t, x);
            }
            if (c->carrier == NULL) {
                *pp = c->next;
                if (t->last == c)
                    t->last = NULL;
                conn_free(c);
                continue;
            }
        } else if (c->state == CONN_UP || c->state == CONN_HANDSHAKE) {
            short rev = c->widx >= 0 && (size_t)c->widx < n ? w[c->widx].revents : 0;
            c->widx = -1;
            for (tr_xfer *x = c->unannounced; x != NULL; x = x->lnext) {
                snprintf(x->peer, sizeof x->peer, "%s", c->peer);
                if (t->on_connect != NULL)
                    t->on_connect(t->on_connect_ctx, x);
            }
            c->unannounced = NULL;
            int alive = 1;
            if (c->state == CONN_HANDSHAKE) {
                alive = tls_handshake(t, c) == 0;
                if (alive && c->state == CONN_HANDSHAKE && now >= c->hs_deadline) {
                    char why[160];
                    snprintf(why, sizeof why, "TLS handshake not done within %lld ms",
                             (long long)c->hs_timeout_ms);
                    fail_all(t, c, CURLE_OPERATION_TIMEDOUT, why);
                    alive = 0;
                }
            }
            if (alive && c->state == CONN_UP) {
                alive = write_lines(t, c) == 0;
                /* tls: a session may hold records already read off the socket, or
                 * wait for POLLOUT to go on reading: asked whenever anything moved. */
                int readable = (rev & (CURL_WAIT_POLLIN | CURL_WAIT_POLLPRI)) != 0 ||
                               (c->ssl != NULL && (rev != 0 || SSL_pending(c->ssl) > 0));
                if (alive && readable)
                    alive = read_answers(t, c) == 0;
            }
            if (alive && c->head != NULL && now >= c->head->start_mono_ms + timeout_of(t, c->head)) {
                char why[160];
                snprintf(why, sizeof why,
                         "no answer within %lld ms (%s); the connection is closed",
                         (long long)timeout_of(t, c->head),
                         c->state == CONN_HANDSHAKE ? "TLS handshake not done"
                         : c->head->line_end > c->written ? "its line not fully written: the receiver "
                                                            "does not read"
                                                          : "line sent");
                fail_all(t, c, CURLE_OPERATION_TIMEDOUT, why);
                alive = 0;
            }
            if (!alive) {
                /* Failed: every notification is done already; the next start
                 * connects again. */
                *pp = c->next;
                if (t->last == c)
                    t->last = NULL;
                conn_free(c);
                continue;
            }
        }
        pp = &c->next;
    }
    return 0;
}

static void tcp_free(void *impl)
{
    tr_notify_tcp *t = impl;
    if (t == NULL)
        return;
    tr_xfer *x;
    while ((x = tcp_abort_one(t)) != NULL)
        tr_deliver_xfer_put(t->dl, x);
    while (t->conns != NULL) {
        tcp_conn *c = t->conns;
        t->conns = c->next;
        if (c->carrier != NULL)
            c->carrier->side_ctx = NULL; /* tr_deliver_free() frees it without a call */
        conn_free(c);
    }
    SSL_CTX_free(t->tls[0]);
    SSL_CTX_free(t->tls[1]);
    free(t);
}

tr_notify_tcp *tr_notify_tcp_new(const tr_config *cfg, tr_deliver *dl,
                                 tr_deliver_connect_fn *on_connect, void *ctx)
{
    tr_notify_tcp *t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->cfg = cfg;
    t->dl = dl;
    t->on_connect = on_connect;
    t->on_connect_ctx = ctx;
    return t;
}

const tr_notifier_ops tr_notify_tcp_ops = {
    .name = "tcp",
    .start = tcp_start,
    .done = tcp_done,
    .abort_one = tcp_abort_one,
    .running = tcp_running,
    .waitfds = tcp_waitfds,
    .next_ms = tcp_next_ms,
    .perform = tcp_perform,
    .free = tcp_free,
};
