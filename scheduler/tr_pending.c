#include "tr_pending.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "tr_log.h"
#include "tr_mem.h"

/* The copies behind one tr_finish, freed when it leaves the list. */
typedef struct owned {
    char *id, *token, *meta, *chain_id, *chain_record, *chain_dead_meta, *repeat_record;
    char *stream, *stream_data; /* a stream ack's entry, or NULL */
    char *notice_url, *notice_body; /* failure notice, or NULL */
    size_t notice_len;
} owned;

struct tr_pending {
    tr_finish *fin; /* n entries, strings point into own[i] */
    owned *own;
    tr_finish_result *results; /* cap entries, for tr_store_finish */
    size_t n, cap;
    size_t sent;    /* fin[0..sent) are outstanding (tr_store_finish_send) */
    size_t kept;    /* the last flush's or recv's UNWRITTEN ones, first in fin[] */
    tr_pending_notice_fn notice_fn;
    void *notice_ctx;
};

tr_pending *tr_pending_new(void)
{
    return calloc(1, sizeof(tr_pending));
}

static void clear_owned(owned *o)
{
    free(o->id);
    free(o->token);
    free(o->meta);
    free(o->chain_id);
    free(o->chain_record);
    free(o->chain_dead_meta);
    free(o->repeat_record);
    free(o->stream);
    free(o->stream_data);
    free(o->notice_url);
    free(o->notice_body);
    memset(o, 0, sizeof *o);
}

static void clear_all(tr_pending *p)
{
    for (size_t i = 0; i < p->n; i++)
        clear_owned(&p->own[i]);
    p->n = 0;
}

void tr_pending_free(tr_pending *p)
{
    if (p == NULL)
        return;
    clear_all(p);
    free(p->fin);
    free(p->own);
    free(p->results);
    free(p);
}

static int grow(tr_pending *p)
{
    size_t cap = p->cap ? p->cap * 2 : 64;
    tr_finish *fin = realloc(p->fin, cap * sizeof *fin);
    if (fin == NULL)
        return -1;
    p->fin = fin;
    owned *own = realloc(p->own, cap * sizeof *own);
    if (own == NULL)
        return -1;
    p->own = own;
    tr_finish_result *res = realloc(p->results, cap * sizeof *res);
    if (res == NULL)
        return -1;
    p->results = res;
    p->cap = cap;
    return 0;
}

void tr_pending_on_notice(tr_pending *p, tr_pending_notice_fn fn, void *ctx)
{
    p->notice_fn = fn;
    p->notice_ctx = ctx;
}

static int add(tr_pending *p, const tr_finish *f, const char *url, const char *body,
               size_t body_len)
{
    if (p->n == p->cap && grow(p) != 0)
        return -1;
    owned o = {0};
    o.id = tr_dup_bytes(f->id, strlen(f->id));
    if (o.id == NULL)
        goto fail;
    /* No token is malformed: tr_store refuses it (and says so) when it is sent. */
    if (f->token != NULL && (o.token = tr_dup_bytes(f->token, strlen(f->token))) == NULL)
        goto fail;
    if (f->meta != NULL && (o.meta = tr_dup_bytes(f->meta, strlen(f->meta))) == NULL)
        goto fail;
    if (f->chain_id != NULL) {
        o.chain_id = tr_dup_bytes(f->chain_id, strlen(f->chain_id));
        o.chain_record = tr_dup_bytes(f->chain_record, f->chain_record_len);
        if (o.chain_id == NULL || o.chain_record == NULL)
            goto fail;
        if (f->chain_dead_meta != NULL &&
            (o.chain_dead_meta = tr_dup_bytes(f->chain_dead_meta, strlen(f->chain_dead_meta))) ==
                NULL)
            goto fail;
    }
    if (f->repeat_record != NULL &&
        (o.repeat_record = tr_dup_bytes(f->repeat_record, f->repeat_record_len)) == NULL)
        goto fail;
    if (f->stream != NULL) {
        o.stream = tr_dup_bytes(f->stream, strlen(f->stream));
        o.stream_data = tr_dup_bytes(f->stream_data != NULL ? f->stream_data : "",
                                     f->stream_data != NULL ? f->stream_data_len : 0);
        if (o.stream == NULL || o.stream_data == NULL)
            goto fail;
    }
    if (url != NULL) {
        o.notice_url = tr_dup_bytes(url, strlen(url));
        o.notice_body = tr_dup_bytes(body, body_len);
        o.notice_len = body_len;
        if (o.notice_url == NULL || o.notice_body == NULL)
            goto fail;
    }
    tr_finish *dst = &p->fin[p->n];
    *dst = *f;
    dst->id = o.id;
    dst->token = o.token;
    dst->meta = o.meta;
    dst->chain_id = o.chain_id;
    dst->chain_record = o.chain_record;
    dst->chain_dead_meta = o.chain_dead_meta;
    dst->repeat_record = o.repeat_record;
    dst->stream = o.stream;
    dst->stream_data = o.stream_data;
    dst->stream_data_len = o.stream != NULL && f->stream_data != NULL ? f->stream_data_len : 0;
    p->own[p->n] = o;
    p->n++;
    return 0;
fail:
    clear_owned(&o);
    return -1;
}

int tr_pending_add(tr_pending *p, const tr_finish *f)
{
    return add(p, f, NULL, NULL, 0);
}

int tr_pending_add_notice(tr_pending *p, const tr_finish *f, const char *url, const char *body,
                          size_t body_len)
{
    return add(p, f, url, body, body_len);
}

size_t tr_pending_count(const tr_pending *p)
{
    return p->n;
}

const tr_finish *tr_pending_item(const tr_pending *p, size_t i)
{
    return &p->fin[i];
}

/* Handles the answers to the first n outcomes (stale and refused counted apart,
 * notices sent) and removes them, except the unwritten ones, which stay first in
 * their order (an EXTEND still before its ack); later ones follow. Returns how many
 * stayed. */
static size_t applied(tr_pending *p, size_t n, tr_sched_stats *st)
{
    assert(n <= p->n);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        switch (p->results[i]) {
        case TR_FINISH_UNWRITTEN:
            /* Its master is away (a cluster): written again later. The strings
             * belong to own[], so moving both keeps every pointer valid. */
            p->fin[kept] = p->fin[i];
            p->own[kept] = p->own[i];
            kept++;
            continue;
        case TR_FINISH_REFUSED:
            /* Malformed, or a script error: tr_store logged it. */
            st->refused++;
            break;
        case TR_FINISH_STALE:
            st->stale++;
            tr_log_info("key=%s stale outcome kind=%d attempt=%lld: the claim no longer holds "
                        "the timer (cancelled, re-created or taken over); nothing changed",
                        p->fin[i].id, (int)p->fin[i].kind, (long long)p->fin[i].attempt);
            break;
        case TR_FINISH_APPLIED:
            if (p->own[i].notice_url != NULL && p->notice_fn != NULL)
                p->notice_fn(p->notice_ctx, &p->fin[i], p->own[i].notice_url,
                             p->own[i].notice_body, p->own[i].notice_len);
            break;
        }
        clear_owned(&p->own[i]);
    }
    memmove(p->fin + kept, p->fin + n, (p->n - n) * sizeof *p->fin);
    memmove(p->own + kept, p->own + n, (p->n - n) * sizeof *p->own);
    p->n -= n - kept;
    return kept;
}

int tr_pending_flush(tr_pending *p, tr_store *store, tr_sched_stats *st)
{
    if (p->sent > 0 &&
        tr_pending_recv(p, store, st, TR_STORE_RECV_BLOCK) == TR_STORE_RECV_FAILED)
        return -1;
    if (p->n == 0)
        return 0;
    if (tr_store_finish(store, p->fin, p->n, p->results) != 0)
        return -1;
    p->kept = applied(p, p->n, st);
    return p->kept > 0 ? 1 : 0;
}

size_t tr_pending_kept(const tr_pending *p)
{
    return p->kept;
}

size_t tr_pending_sent(const tr_pending *p)
{
    return p->sent;
}

int tr_pending_send(tr_pending *p, tr_store *store)
{
    if (p->sent > 0 || p->n == 0)
        return p->n == 0 ? 0 : -1;
    if (tr_store_finish_send(store, p->fin, p->n) != 0)
        return -1;
    p->sent = p->n;
    return 0;
}

tr_store_recv_result tr_pending_recv(tr_pending *p, tr_store *store, tr_sched_stats *st,
                                     tr_store_recv_mode mode)
{
    if (p->sent == 0)
        return TR_STORE_RECV_DONE;
    assert(p->sent <= p->n);
    tr_store_recv_result rc = tr_store_finish_recv(store, p->fin, p->results, mode);
    if (rc == TR_STORE_RECV_OWED)
        return rc;
    size_t n = p->sent;
    p->sent = 0; /* answered, or to be sent again (each is safe to apply twice) */
    p->kept = 0;
    if (rc == TR_STORE_RECV_DONE)
        p->kept = applied(p, n, st); /* a cluster's cut-off may keep some (UNWRITTEN) */
    return rc;
}
