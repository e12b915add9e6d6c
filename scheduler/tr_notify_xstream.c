#include "tr_notify_xstream.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <hiredis/hiredis.h>
#include <hiredis/sds.h>

#include "tr_clock.h"
#include "tr_log.h"
#include "tr_redis_addr.h"
#include "tr_stream_entry.h"
#include "tr_url.h"
#include "tr_xfer_fifo.h"

struct tr_notify_xstream {
    const tr_config *cfg;      /* borrowed */
    tr_deliver *dl;            /* the pool (borrowed) */
    tr_redis_addr addr;        /* host replaced by its numeric address once resolved */
    char where[72];            /* the address as given (cut), for messages */
    char unresolved[160];      /* non-empty: why HOST did not resolve (every start fails) */
    redisContext *ctx;         /* NULL while not connected */
    int auth_owed;             /* the AUTH reply comes before the XADDs' */
    tr_xfer_fifo sent;         /* writes sent or queued, their replies owed, in order */
    tr_xfer_fifo done;         /* finished, not handed back yet */
    long widx;                 /* ctx's index in the last waitfds(); -1 when none */
};

/* Fails every outstanding XADD with why and closes the connection. */
static void fail_all(tr_notify_xstream *t, CURLcode result, const char *why)
{
    tr_xfer *x;
    if (t->sent.count > 0)
        tr_log_debug("stream redis %s: %s (%d XADDs outstanding)", t->where, why,
                     t->sent.count);
    while ((x = tr_xfer_fifo_pop(&t->sent)) != NULL)
        tr_xfer_fifo_finish(&t->done, x, result, why);
    if (t->ctx != NULL)
        redisFree(t->ctx);
    t->ctx = NULL;
    t->auth_owed = 0;
}

/* Opens the connection (non-blocking: a TCP connect completes later, its failure
 * shows as a failed write or read). 0, or -1 with why. */
static int connect_now(tr_notify_xstream *t, char *why, size_t len)
{
    if (t->unresolved[0] != '\0') {
        snprintf(why, len, "%s", t->unresolved);
        return -1;
    }
    t->ctx = t->addr.is_unix ? redisConnectUnixNonBlock(t->addr.path)
                             : redisConnectNonBlock(t->addr.host, t->addr.port);
    if (t->ctx == NULL || t->ctx->err != 0) {
        snprintf(why, len, "stream redis %s: cannot connect: %s", t->where,
                 t->ctx != NULL ? t->ctx->errstr : "out of memory");
        if (t->ctx != NULL)
            redisFree(t->ctx);
        t->ctx = NULL;
        return -1;
    }
    if (t->cfg->stream_redis_password[0] != '\0') {
        const char *argv[] = {"AUTH", t->cfg->stream_redis_password};
        size_t argl[] = {4, strlen(t->cfg->stream_redis_password)};
        if (redisAppendCommandArgv(t->ctx, 2, argv, argl) != REDIS_OK) {
            snprintf(why, len, "stream redis %s: out of memory", t->where);
            redisFree(t->ctx);
            t->ctx = NULL;
            return -1;
        }
        t->auth_owed = 1;
    }
    return 0;
}

static int xs_start(void *impl, tr_xfer *x)
{
    tr_notify_xstream *t = impl;
    char msg[160];
    const char *name = tr_url_stream_name(x->spec.url, "callback", msg, sizeof msg);
    if (name == NULL) {
        snprintf(x->errbuf, sizeof x->errbuf, "%s", msg);
        return -1;
    }
    if (t->ctx == NULL && connect_now(t, x->errbuf, sizeof x->errbuf) != 0)
        return -1;
    /* The stream NAME itself: the consumer's own name, no prefix. */
    tr_stream_entry e;
    if (tr_stream_entry_make(&e, t->cfg, name, x) != 0) {
        snprintf(x->errbuf, sizeof x->errbuf, "stream redis %s: out of memory", t->where);
        return -1;
    }
    int appended = redisAppendCommandArgv(t->ctx, e.argc, e.argv, e.argvlen);
    tr_stream_entry_clear(&e);
    if (appended != REDIS_OK) {
        snprintf(x->errbuf, sizeof x->errbuf, "stream redis %s: out of memory", t->where);
        return -1;
    }
    x->start_mono_ms = tr_clock_mono_ms();
    x->errbuf[0] = '\0';
    tr_xfer_fifo_push(&t->sent, x);
    return 0;
}

static tr_xfer *xs_done(void *impl)
{
    tr_notify_xstream *t = impl;
    return tr_xfer_fifo_pop(&t->done);
}

/* Finished ones first; then an outstanding XADD, undecided (shutdown: released,
 * so it may have an entry and get another: at least once). */
static tr_xfer *xs_abort_one(void *impl)
{
    tr_notify_xstream *t = impl;
    tr_xfer *x = xs_done(t);
    if (x != NULL)
        return x;
    return tr_xfer_fifo_pop(&t->sent);
}

static int xs_running(const void *impl)
{
    const tr_notify_xstream *t = impl;
    return t->sent.count + t->done.count;
}

static size_t xs_waitfds(void *impl, struct curl_waitfd *out, size_t max)
{
    tr_notify_xstream *t = impl;
    t->widx = -1;
    if (t->ctx == NULL)
        return 0;
    if (max > 0) {
        out[0].fd = t->ctx->fd;
        out[0].events = CURL_WAIT_POLLIN;
        if (sdslen(t->ctx->obuf) > 0)
            out[0].events |= CURL_WAIT_POLLOUT;
        t->widx = 0;
    }
    return 1;
}

static int64_t timeout_of(const tr_notify_xstream *t, const tr_xfer *x)
{
    return x->timeout_ms > 0 ? x->timeout_ms : (int64_t)t->cfg->timeout_ms;
}

static int64_t xs_next_ms(const void *impl)
{
    const tr_notify_xstream *t = impl;
    if (t->done.head != NULL)
        return 0; /* finished ones waiting: the loop must collect them now */
    if (t->sent.head != NULL)
        return t->sent.head->start_mono_ms + timeout_of(t, t->sent.head);
    return -1;
}

/* Takes every complete reply: AUTH's first, then one per outstanding XADD in order.
 * 0, or -1 when the connection must close (AUTH refused, a reply nobody asked for). */
static int take_replies(tr_notify_xstream *t)
{
    for (;;) {
        void *rv = NULL;
        if (redisGetReplyFromReader(t->ctx, &rv) != REDIS_OK) {
            char why[256];
            snprintf(why, sizeof why, "stream redis %s: %s", t->where, t->ctx->errstr);
            fail_all(t, CURLE_RECV_ERROR, why);
            return -1;
        }
        redisReply *r = rv;
        if (r == NULL)
            return 0;
        if (t->auth_owed) {
            t->auth_owed = 0;
            int ok = r->type == REDIS_REPLY_STATUS && strcmp(r->str, "OK") == 0;
            freeReplyObject(r);
            if (!ok) {
                char why[256];
                snprintf(why, sizeof why, "stream redis %s: AUTH refused (check "
                         "--stream-redis-password-file)", t->where);
                tr_log_error("%s", why);
                fail_all(t, CURLE_LOGIN_DENIED, why);
                return -1;
            }
            continue;
        }
        tr_xfer *x = tr_xfer_fifo_pop(&t->sent);
        if (x == NULL) {
            freeReplyObject(r);
            char why[256];
            snprintf(why, sizeof why, "stream redis %s: a reply nobody asked for", t->where);
            fail_all(t, CURLE_WEIRD_SERVER_REPLY, why);
            return -1;
        }
        char where[96], why[CURL_ERROR_SIZE];
        snprintf(where, sizeof where, "stream redis %s", t->where);
        if (tr_stream_entry_written(r, where, why, sizeof why) == 0)
            tr_xfer_fifo_finish(&t->done, x, CURLE_OK, "");
        else
            tr_xfer_fifo_finish(&t->done, x, CURLE_WEIRD_SERVER_REPLY, why);
        freeReplyObject(r);
    }
}

static int xs_perform(void *impl, const struct curl_waitfd *w, size_t n)
{
    tr_notify_xstream *t = impl;
    if (t->ctx == NULL)
        return 0;
    short rev = t->widx >= 0 && (size_t)t->widx < n ? w[t->widx].revents : 0;
    t->widx = -1;
    char why[256];
    if (sdslen(t->ctx->obuf) > 0) {
        int done = 0;
        /* EAGAIN (a connect still going on, a full socket buffer) is no error. */
        if (redisBufferWrite(t->ctx, &done) != REDIS_OK) {
            snprintf(why, sizeof why, "stream redis %s: %s", t->where, t->ctx->errstr);
            fail_all(t, CURLE_SEND_ERROR, why);
            return 0;
        }
    }
    if ((rev & (CURL_WAIT_POLLIN | CURL_WAIT_POLLPRI)) != 0) {
        if (redisBufferRead(t->ctx) != REDIS_OK) {
            snprintf(why, sizeof why, "stream redis %s: %s", t->where, t->ctx->errstr);
            (void)take_replies(t); /* what arrived before the end still counts */
            if (t->ctx != NULL)
                fail_all(t, CURLE_RECV_ERROR, why);
            return 0;
        }
        if (take_replies(t) != 0)
            return 0;
    }
    tr_xfer *oldest = t->sent.head;
    if (oldest != NULL && tr_clock_mono_ms() >= oldest->start_mono_ms + timeout_of(t, oldest)) {
        snprintf(why, sizeof why, "stream redis %s: no answer within %lld ms; the connection "
                 "is closed", t->where, (long long)timeout_of(t, oldest));
        fail_all(t, CURLE_OPERATION_TIMEDOUT, why);
    }
    return 0;
}

static void xs_free(void *impl)
{
    tr_notify_xstream *t = impl;
    if (t == NULL)
        return;
    tr_xfer *x;
    while ((x = xs_abort_one(t)) != NULL)
        tr_deliver_xfer_put(t->dl, x);
    if (t->ctx != NULL)
        redisFree(t->ctx);
    free(t);
}

/* HOST to a numeric address, once (getaddrinfo blocks: not in the loop). */
static void resolve(tr_notify_xstream *t)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(t->addr.host, NULL, &hints, &res);
    if (rc != 0 || res == NULL) {
        snprintf(t->unresolved, sizeof t->unresolved, "stream redis %s: %.40s does not resolve: %s",
                 t->where, t->addr.host, rc != 0 ? gai_strerror(rc) : "no address");
        tr_log_error("%s (redis-stream:// deliveries fail until a restart)", t->unresolved);
        return;
    }
    char num[INET6_ADDRSTRLEN];
    if (getnameinfo(res->ai_addr, res->ai_addrlen, num, sizeof num, NULL, 0, NI_NUMERICHOST) == 0)
        snprintf(t->addr.host, sizeof t->addr.host, "%s", num);
    freeaddrinfo(res);
}

tr_notify_xstream *tr_notify_xstream_new(const tr_config *cfg, tr_deliver *dl, char *err,
                                         size_t errlen)
{
    tr_notify_xstream *t = calloc(1, sizeof *t);
    if (t == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->cfg = cfg;
    t->dl = dl;
    t->widx = -1;
    if (tr_redis_addr_parse(cfg->stream_redis, &t->addr, err, errlen) != 0) {
        free(t);
        return NULL;
    }
    tr_redis_addr_format(&t->addr, t->where, sizeof t->where);
    if (!t->addr.is_unix)
        resolve(t);
    return t;
}

const tr_notifier_ops tr_notify_xstream_ops = {
    .name = "stream (external redis)",
    .start = xs_start,
    .done = xs_done,
    .abort_one = xs_abort_one,
    .running = xs_running,
    .waitfds = xs_waitfds,
    .next_ms = xs_next_ms,
    .perform = xs_perform,
    .free = xs_free,
};
