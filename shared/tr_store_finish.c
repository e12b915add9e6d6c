#include "tr_store_sched.h"
#include "tr_store_int.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_log.h"
#include "tr_url.h"
#include "tr_shard.h"

/* The script of a finish kind, or -1 for an unknown kind. */
static int kind_script(tr_finish_kind kind)
{
    switch (kind) {
    case TR_FINISH_ACK:
        return S_ACK;
    case TR_FINISH_RETRY:
        return S_RETRY;
    case TR_FINISH_DEAD:
        return S_DEAD;
    case TR_FINISH_RELEASE:
    case TR_FINISH_HOLD:
        return S_RELEASE;
    case TR_FINISH_EXTEND:
        return S_EXTEND;
    }
    return -1; /* a malformed item: refused before anything is sent */
}

/* Plain acks sent in one ack_many call at most: bounds the argv and the time one
 * script holds Redis (a round holds at most --max-inflight outcomes anyway). */
#define TR_STORE_ACK_MANY_MAX 1024

static const int ack_keys[] = {K_TIMERS,   K_DUE,  K_INFLIGHT, K_DEAD,
                               K_ATTEMPTS, K_META, K_STATS,    K_OWNER};

/* An ack with neither a chain nor a next firing: it goes into ack_many. */
static int is_plain_ack(const tr_finish *f)
{
    return f->kind == TR_FINISH_ACK && f->chain_id == NULL && f->repeat_record == NULL &&
           f->stream == NULL;
}

/* Why an item cannot be sent at all, or NULL when it can. */
static const char *malformed(const tr_store *s, const tr_finish *f)
{
    if (kind_script(f->kind) < 0)
        return "unknown kind";
    if (f->id == NULL)
        return "no id";
    if (f->token == NULL || f->token[0] == '\0')
        return "no claim token";
    if (f->kind == TR_FINISH_ACK && f->chain_id != NULL && f->chain_record == NULL)
        return "chain without a record";
    if (f->stream != NULL && (f->kind != TR_FINISH_ACK || f->chain_id != NULL))
        return "a stream entry rides on a plain ack only";
    if (f->stream != NULL && (f->stream[0] == '\0' || strpbrk(f->stream, "{}") != NULL))
        return "bad stream name";
    /* The ack script creates the chained timer in its parent's shard. */
    if (f->kind == TR_FINISH_ACK && f->chain_id != NULL &&
        tr_shard_of(s->cfg, f->chain_id) != tr_shard_of(s->cfg, f->id))
        return "chained key in another shard";
    return NULL;
}

/* The EVALSHA call that applies one outcome (kinds were checked by the caller).
 * skey: the stream key of a stream ack, made here (borrowed by a until the call is
 * appended). */
static void finish_args(const tr_store *s, const tr_finish *f, call_args *a,
                        const char *skey)
{
    static const int retry_keys[] = {K_INFLIGHT, K_ATTEMPTS, K_DUE, K_META, K_STATS, K_OWNER};
    static const int dead_keys[] = {K_INFLIGHT, K_ATTEMPTS, K_DEAD, K_META,
                                    K_STATS,    K_TIMERS,   K_DUE,  K_OWNER};
    static const int extend_keys[] = {K_INFLIGHT, K_DUE, K_OWNER, K_STATS};
    static const int release_keys[] = {K_INFLIGHT, K_ATTEMPTS, K_DUE, K_STATS, K_OWNER};
    switch (f->kind) {
    case TR_FINISH_ACK:
        tr_store_args_init(a, S_ACK);
        tr_store_arg_keys(a, s, 8, ack_keys);
        if (f->stream != NULL) {
            /* ack.lua's stream part: KEYS[9], ARGV 10..13 below. */
            tr_store_arg_str(a, skey);
            tr_store_arg_set_nkeys(a, 9);
        }
        tr_store_arg_str(a, f->id);
        tr_store_arg_str(a, f->token);
        tr_store_arg_str(a, s->key[K_WAKE]);
        if (f->chain_id != NULL) {
            tr_store_arg_str(a, f->chain_id);
            tr_store_arg_bin(a, f->chain_record, f->chain_record_len);
            tr_store_arg_i64(a, f->chain_delay_ms < 0 ? 0 : f->chain_delay_ms);
        } else {
            tr_store_arg_str(a, "");
            tr_store_arg_str(a, "");
            tr_store_arg_str(a, "0");
        }
        if (f->repeat_record != NULL) {
            tr_store_arg_bin(a, f->repeat_record, f->repeat_record_len);
            tr_store_arg_i64(a, f->repeat_at_ms);
        } else if (f->chain_dead_meta != NULL || f->stream != NULL) {
            tr_store_arg_str(a, "");
            tr_store_arg_str(a, "0");
        }
        if (f->chain_dead_meta != NULL)
            tr_store_arg_str(a, f->chain_dead_meta);
        else if (f->stream != NULL)
            tr_store_arg_str(a, "");
        if (f->stream != NULL) {
            tr_store_arg_i64(a, s->cfg->stream_maxlen);
            tr_store_arg_i64(a, f->attempt);
            tr_store_arg_i64(a, f->stream_due_ms);
            tr_store_arg_bin(a, f->stream_data, f->stream_data_len);
        }
        return;
    case TR_FINISH_RETRY:
        tr_store_args_init(a, S_RETRY);
        tr_store_arg_keys(a, s, 6, retry_keys);
        tr_store_arg_str(a, f->id);
        tr_store_arg_str(a, f->token);
        tr_store_arg_i64(a, f->delay_ms < 0 ? 0 : f->delay_ms);
        tr_store_arg_str(a, f->meta != NULL ? f->meta : "");
        tr_store_arg_str(a, s->key[K_WAKE]);
        return;
    case TR_FINISH_DEAD:
        tr_store_args_init(a, S_DEAD);
        tr_store_arg_keys(a, s, 8, dead_keys);
        tr_store_arg_str(a, f->id);
        tr_store_arg_str(a, f->token);
        tr_store_arg_str(a, f->meta != NULL ? f->meta : "");
        if (f->repeat_record != NULL)
            tr_store_arg_bin(a, f->repeat_record, f->repeat_record_len);
        else
            tr_store_arg_str(a, "");
        tr_store_arg_i64(a, f->repeat_at_ms);
        tr_store_arg_str(a, s->key[K_WAKE]);
        return;
    case TR_FINISH_RELEASE:
    case TR_FINISH_HOLD:
        tr_store_args_init(a, S_RELEASE);
        tr_store_arg_keys(a, s, 5, release_keys);
        tr_store_arg_str(a, f->id);
        tr_store_arg_str(a, f->token);
        tr_store_arg_str(a, s->key[K_WAKE]);
        if (f->kind == TR_FINISH_HOLD) {
            tr_store_arg_i64(a, f->delay_ms < 1 ? 1 : f->delay_ms);
            tr_store_arg_str(a, "held");
        }
        return;
    case TR_FINISH_EXTEND:
        tr_store_args_init(a, S_EXTEND);
        tr_store_arg_keys(a, s, 4, extend_keys);
        tr_store_arg_str(a, f->id);
        tr_store_arg_str(a, f->token);
        tr_store_arg_i64(a, f->delay_ms < 1 ? 1 : f->delay_ms);
        return;
    }
    assert(!"finish_args: kind not checked by malformed()");
}

/* Appends one ack_many call for the plain acks items[order[0..n)]. 0, or -1 with
 * the error set (out of memory, or disconnected). */
static int append_ack_many(tr_store *s, const tr_finish *items, const size_t *order, size_t n)
{
    call_args a;
    if (tr_store_args_init_n(s, &a, S_ACK_MANY, 8 + 2 * n, 0) != 0)
        return -1;
    tr_store_arg_keys(&a, s, 8, ack_keys);
    for (size_t i = 0; i < n; i++) {
        tr_store_arg_str(&a, items[order[i]].id);
        tr_store_arg_str(&a, items[order[i]].token);
    }
    int rc = tr_store_append_script(s, &a, "finish");
    tr_store_args_free(&a);
    return rc;
}

/* Appends the call that applies one outcome. 0, or -1 (disconnected). */
static int append_single(tr_store *s, const tr_finish *f)
{
    call_args a;
    char skey[KEY_MAX + TR_URL_STREAM_MAX];
    if (f->stream != NULL) {
        char suffix[TR_URL_STREAM_MAX + 8];
        int n = snprintf(suffix, sizeof suffix, "stream:%s", f->stream);
        if (n < 0 || (size_t)n >= sizeof suffix ||
            tr_config_redis_key(s->cfg, suffix, skey, sizeof skey) != 0) {
            tr_store_set_error(s, TR_RET_INTERNAL, "finish: stream name too long");
            return -1;
        }
    }
    finish_args(s, f, &a, skey);
    return tr_store_append_script(s, &a, "finish");
}

/* An error answer to one call. Redis unable to serve now (down): -1, the whole
 * finish is retried later. Anything else would fail again on every retry (a
 * script error, a wrong type under a key): its items are answered -1 and logged,
 * so the others are not held back forever. */
static int call_failed(tr_store *s, const tr_finish *items, const size_t *order,
                       const finish_call *c, const redisReply *r, tr_finish_result *results)
{
    const char *name = c->many ? "ack_many"
                               : tr_store_script_name(kind_script(items[order[c->first]].kind));
    tr_store_unexpected(s, name, r);
    if (r->type == REDIS_REPLY_ERROR && s->err_code == TR_RET_STORE_DOWN)
        return -1;
    for (size_t j = 0; j < c->count; j++) {
        results[order[c->first + j]] = TR_FINISH_REFUSED;
        tr_log_error("key=%s outcome refused by redis (%s): not applied, the timer returns "
                     "after its lease",
                     items[order[c->first + j]].id, s->err);
    }
    return 0;
}

/* Sorts the plain acks order[0..n) by shard (stable; a no-op with one shard), so
 * each shard's go in one ack_many call. 0, or -1 when out of memory. */
static int order_acks_by_shard(tr_store *s, const tr_finish *items, size_t *order, size_t n)
{
    int S = s->cfg->shards;
    if (S <= 1 || n < 2)
        return 0;
    size_t *start = calloc((size_t)S + 1, sizeof *start);
    size_t *sorted = malloc(n * sizeof *sorted);
    if (start == NULL || sorted == NULL) {
        free(start);
        free(sorted);
        tr_store_set_error(s, TR_RET_INTERNAL, "finish: out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        start[tr_shard_of(s->cfg, items[order[i]].id) + 1]++;
    for (int k = 0; k < S; k++)
        start[k + 1] += start[k];
    for (size_t i = 0; i < n; i++)
        sorted[start[tr_shard_of(s->cfg, items[order[i]].id)]++] = order[i];
    memcpy(order, sorted, n * sizeof *order);
    free(start);
    free(sorted);
    return 0;
}

/* Plans items[idx[0..n)] (each outcome alone, in order, then the plain acks in
 * ack_many calls) and appends every call to the output buffer (nothing written
 * yet). 0, or -1 with the error set (*p freed). */
static int plan_append(tr_store *s, const tr_finish *items, const size_t *idx, size_t n,
                       finish_plan *p)
{
    size_t nacks = 0, nsingle = 0;
    memset(p, 0, sizeof *p);
    for (size_t i = 0; i < n; i++)
        nacks += is_plain_ack(&items[idx[i]]);
    nsingle = n - nacks;
    size_t maxcalls = nsingle + (nacks + TR_STORE_ACK_MANY_MAX - 1) / TR_STORE_ACK_MANY_MAX;
    if (s->cfg->shards > 1)
        maxcalls = nsingle + nacks; /* at worst an ack_many call per ack */
    /* Other outcomes first: a lease EXTEND queued before the ack of the same
     * timer must stay first. */
    p->order = malloc(n * sizeof *p->order);
    p->calls = malloc((maxcalls ? maxcalls : 1) * sizeof *p->calls);
    int rc = -1;
    if (p->order == NULL || p->calls == NULL) {
        tr_store_set_error(s, TR_RET_INTERNAL, "finish: out of memory");
        goto done;
    }
    size_t a = 0, b = nsingle;
    for (size_t i = 0; i < n; i++) {
        if (is_plain_ack(&items[idx[i]]))
            p->order[b++] = idx[i];
        else
            p->order[a++] = idx[i];
    }
    if (order_acks_by_shard(s, items, p->order + nsingle, nacks) != 0)
        goto done;
    for (size_t i = 0; i < nsingle; i++)
        p->calls[p->ncalls++] = (finish_call){.first = i, .count = 1, .many = 0};
    for (size_t i = nsingle; i < n;) {
        /* One ack_many call per shard (per TR_STORE_ACK_MANY_MAX): one script, one slot. */
        int shard = tr_shard_of(s->cfg, items[p->order[i]].id);
        size_t c = 1;
        while (i + c < n && c < TR_STORE_ACK_MANY_MAX &&
               tr_shard_of(s->cfg, items[p->order[i + c]].id) == shard)
            c++;
        p->calls[p->ncalls++] = (finish_call){.first = i, .count = c, .many = 1};
        i += c;
    }
    assert(p->ncalls <= maxcalls);
    for (size_t k = 0; k < p->ncalls; k++) {
        const finish_call *c = &p->calls[k];
        tr_store_use_shard(s, tr_shard_of(s->cfg, items[p->order[c->first]].id));
        int bad = c->many ? append_ack_many(s, items, p->order + c->first, c->count)
                          : append_single(s, &items[p->order[c->first]]);
        if (bad) {
            /* Out of memory after some calls went into the output buffer: drop
             * the connection, so no answer is ever read out of step. */
            if (k > 0 && tr_store_connected(s))
                tr_store_disconnect(s);
            goto done;
        }
    }
    rc = 0;
done:
    if (rc != 0)
        tr_store_plan_free(p);
    return rc;
}

/* Takes the answer to call k of plan p: results set, or its items added to
 * again[*nagain] when it was NOSCRIPT. 0, or -1 when Redis cannot serve (the
 * other answers must still be read to stay in step). Frees r. */
static int plan_answer(tr_store *s, const tr_finish *items, const finish_plan *p, size_t k,
                       redisReply *r, tr_finish_result *results, size_t *again, size_t *nagain)
{
    assert(k < p->ncalls);
    const finish_call *c = &p->calls[k];
    int rc = 0;
    if (tr_store_is_noscript(r)) {
        for (size_t j = 0; j < c->count; j++)
            again[(*nagain)++] = p->order[c->first + j];
    } else if (!c->many && r->type == REDIS_REPLY_INTEGER) {
        results[p->order[c->first]] = r->integer != 0 ? TR_FINISH_APPLIED : TR_FINISH_STALE;
        if (r->integer == 2) /* ack.lua: the stream key holds another type */
            tr_log_error("key=%s stream %s: the key holds no stream; timer put in the "
                         "dead-letter set (or its next firing)",
                         items[p->order[c->first]].id, items[p->order[c->first]].stream);
    } else if (c->many && r->type == REDIS_REPLY_STRING && r->len == c->count) {
        for (size_t j = 0; j < c->count; j++)
            results[p->order[c->first + j]] =
                r->str[j] == '1' ? TR_FINISH_APPLIED : TR_FINISH_STALE;
    } else if (call_failed(s, items, p->order, c, r, results) != 0) {
        rc = -1;
    }
    freeReplyObject(r);
    return rc;
}

/* Cut-off: call k of plan p answered r (NULL: it failed or was skipped, its
 * master given up for now; the store's error says why). When it failed or said
 * Redis cannot serve, its outcomes are TR_FINISH_UNWRITTEN: kept by the caller and
 * written again. Frees r. */
static void cut_took(tr_store *s, const tr_finish *items, const finish_plan *p, size_t k,
                     redisReply *r, tr_finish_result *results, size_t *again, size_t *nagain)
{
    if (r != NULL && plan_answer(s, items, p, k, r, results, again, nagain) == 0)
        return;
    const finish_call *c = &p->calls[k];
    for (size_t j = 0; j < c->count; j++)
        results[p->order[c->first + j]] = TR_FINISH_UNWRITTEN;
    tr_log_debug("key=%s and %zu more: outcome kept, written again later (%s)",
                 items[p->order[c->first]].id, c->count - 1, s->err);
}

/* Cut-off: takes call k's answer (blocking), as cut_took. */
static void cut_answer(tr_store *s, const tr_finish *items, const finish_plan *p, size_t k,
                       tr_finish_result *results, size_t *again, size_t *nagain)
{
    void *v = NULL;
    int did_read = 0;
    tr_store_recv_result got = tr_store_take_reply(s, TR_STORE_RECV_BLOCK, &did_read, &v);
    cut_took(s, items, p, k, got == TR_STORE_RECV_DONE ? v : NULL, results, again, nagain);
}

/* Sends items[idx[0..n)] in one pipeline and reads the answers into results
 * (blocking). Items answered NOSCRIPT are written back to idx (their count in
 * *noscript). 0 when every answer arrived (results set for the others), -1 on
 * failure. */
static int finish_round(tr_store *s, const tr_finish *items, size_t *idx, size_t n,
                        tr_finish_result *results, size_t *noscript)
{
    finish_plan p;
    if (plan_append(s, items, idx, n, &p) != 0)
        return -1;
    int rc = 0;
    size_t again = 0;
    for (size_t k = 0; k < p.ncalls; k++) {
        if (tr_store_cut_on(s)) {
            /* A cluster: each call alone; one that fails holds back only its own. */
            cut_answer(s, items, &p, k, results, idx, &again);
            continue;
        }
        redisReply *r = tr_store_read_reply(s, "finish");
        if (r == NULL) {
            rc = -1;
            goto done;
        }
        /* Keep reading after a failure: every answer must be consumed. */
        if (plan_answer(s, items, &p, k, r, results, idx, &again) != 0)
            rc = -1;
    }
    *noscript = again;
done:
    tr_store_plan_free(&p);
    return rc;
}

/* Answers the malformed items here (-1, logged: never sendable, so they cannot
 * hold the others back), the others 0 for now; lists the sendable ones in idx.
 * Returns their count. */
static size_t sendable(const tr_store *s, const tr_finish *items, size_t n,
                       tr_finish_result *results, size_t *idx)
{
    size_t todo = 0;
    for (size_t i = 0; i < n; i++) {
        const char *why = malformed(s, &items[i]);
        results[i] = TR_FINISH_STALE;
        if (why == NULL) {
            idx[todo++] = i;
            continue;
        }
        results[i] = TR_FINISH_REFUSED;
        tr_log_error("key=%s outcome not written: malformed (%s, kind %d): the timer returns "
                     "after its lease",
                     items[i].id != NULL ? items[i].id : "?", why, (int)items[i].kind);
    }
    return todo;
}

/* Repeats items[idx[0..n)], answered NOSCRIPT, once the scripts are loaded again
 * (blocking). 0 or -1. */
static int finish_noscript(tr_store *s, const tr_finish *items, size_t *idx, size_t n,
                           tr_finish_result *results)
{
    tr_log_debug("store: NOSCRIPT in finish, reloading");
    if (tr_store_load_scripts(s) != 0)
        return -1;
    size_t noscript = 0;
    if (finish_round(s, items, idx, n, results, &noscript) != 0)
        return -1;
    if (noscript > 0) {
        tr_store_set_error(s, TR_RET_INTERNAL, "redis finish: NOSCRIPT after reload");
        return -1;
    }
    return 0;
}

int tr_store_finish(tr_store *store, const tr_finish *items, size_t n,
                    tr_finish_result *results)
{
    if (n == 0)
        return 0;
    size_t *idx = malloc(n * sizeof *idx);
    if (idx == NULL) {
        tr_store_set_error(store, TR_RET_INTERNAL, "finish: out of memory");
        return -1;
    }
    size_t todo = sendable(store, items, n, results, idx);
    int rc = 0;
    if (todo == 0)
        goto done;
    rc = tr_store_connect(store);
    if (rc != 0)
        goto done;
    size_t noscript = 0;
    rc = finish_round(store, items, idx, todo, results, &noscript);
    if (rc == 0 && noscript > 0)
        rc = finish_noscript(store, items, idx, noscript, results);
done:
    free(idx);
    return rc;
}

int tr_store_finish_outstanding(const tr_store *store)
{
    return store->fa.active;
}

int tr_store_finish_send(tr_store *store, const tr_finish *items, size_t n)
{
    finish_async *fa = &store->fa;
    if (tr_store_connect(store) != 0) /* refuses while answers are owed */
        return -1;
    assert(!fa->active && !store->ca.active);
    size_t room = n > 0 ? n : 1;
    size_t *idx = malloc(room * sizeof *idx);
    fa->res = malloc(room * sizeof *fa->res);
    fa->again = malloc(room * sizeof *fa->again);
    if (idx == NULL || fa->res == NULL || fa->again == NULL) {
        free(idx);
        tr_store_async_clear(fa);
        tr_store_set_error(store, TR_RET_INTERNAL, "finish: out of memory");
        return -1;
    }
    fa->n = n;
    size_t todo = sendable(store, items, n, fa->res, idx);
    int rc = 0;
    if (todo > 0 && plan_append(store, items, idx, todo, &fa->plan) != 0)
        rc = -1; /* plan_append cleared fa when it dropped the connection */
    /* Written out now (bounded by --redis-timeout-ms); only the answers wait. */
    if (rc == 0 && todo > 0 && tr_store_write_out(store, "finish") != 0)
        rc = -1;
    free(idx);
    if (rc != 0) {
        tr_store_async_clear(fa);
        return -1;
    }
    fa->active = 1;
    return 0;
}

tr_store_recv_result tr_store_finish_recv(tr_store *store, const tr_finish *items,
                                          tr_finish_result *results,
                                          tr_store_recv_mode mode)
{
    finish_async *fa = &store->fa;
    if (!fa->active) {
        tr_store_set_error(store, TR_RET_INTERNAL, "finish: none outstanding");
        return TR_STORE_RECV_FAILED;
    }
    int did_read = 0;
    while (fa->answered < fa->plan.ncalls) {
        void *v = NULL;
        tr_store_recv_result got = tr_store_take_reply(store, mode, &did_read, &v);
        if (got == TR_STORE_RECV_OWED)
            return got;
        if (tr_store_cut_on(store)) {
            /* A cluster: as the blocking finish, a call that fails holds back only
             * its own outcomes (UNWRITTEN), and a claim sent behind keeps its calls. */
            cut_took(store, items, &fa->plan, fa->answered++,
                     got == TR_STORE_RECV_DONE ? v : NULL, fa->res, fa->again, &fa->nagain);
            continue;
        }
        if (got == TR_STORE_RECV_FAILED) {
            tr_store_io_failed(store, "finish"); /* clears fa: the caller resends */
            return TR_STORE_RECV_FAILED;
        }
        /* Keep reading after a failure: every answer must be consumed. */
        if (plan_answer(store, items, &fa->plan, fa->answered, v, fa->res, fa->again,
                        &fa->nagain) != 0)
            fa->failed = 1;
        fa->answered++;
    }
    assert(fa->answered == fa->plan.ncalls);
    /* Every answer read: the connection is free for other calls again. */
    finish_async done = *fa;
    memset(fa, 0, sizeof *fa);
    int rc = done.failed ? -1 : 0;
    if (rc == 0 && done.nagain > 0)
        rc = finish_noscript(store, items, done.again, done.nagain, done.res);
    if (rc == 0)
        memcpy(results, done.res, done.n * sizeof *results);
    tr_store_async_clear(&done);
    return rc == 0 ? TR_STORE_RECV_DONE : TR_STORE_RECV_FAILED;
}

