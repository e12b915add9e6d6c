#include "tr_store.h"
#include "tr_store_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "tr_log.h"
#include "tr_mem.h"
#include "tr_redis.h"

/* The scripts, embedded from shared/lua/NAME.lua by shared/embed_lua.cmake. */
extern const char tr_lua_add[];
extern const char tr_lua_cancel[];
extern const char tr_lua_claim[];
extern const char tr_lua_ack[];
extern const char tr_lua_ack_many[];
extern const char tr_lua_retry[];
extern const char tr_lua_dead[];
extern const char tr_lua_release[];
extern const char tr_lua_extend[];
extern const char tr_lua_create[];
extern const char tr_lua_get[];
extern const char tr_lua_list[];
extern const char tr_lua_reschedule[];
extern const char tr_lua_replay[];
extern const char tr_lua_pause[];
extern const char tr_lua_stats[];

static const struct {
    const char *name;
    const char *source;
} scripts[S_COUNT] = {
    {"add", tr_lua_add},     {"cancel", tr_lua_cancel}, {"claim", tr_lua_claim},
    {"ack", tr_lua_ack},     {"retry", tr_lua_retry},   {"dead", tr_lua_dead},
    {"release", tr_lua_release}, {"extend", tr_lua_extend}, {"create", tr_lua_create},
    {"get", tr_lua_get},     {"list", tr_lua_list},     {"reschedule", tr_lua_reschedule},
    {"replay", tr_lua_replay}, {"pause", tr_lua_pause}, {"stats", tr_lua_stats},
    {"ack_many", tr_lua_ack_many},
};

const char *tr_store_script_name(int which)
{
    return which >= 0 && which < S_COUNT ? scripts[which].name : "unknown";
}

const int64_t tr_hist_bounds_ms[TR_HIST_BUCKETS] = {1,   5,   10,   25,   50,   100,
                                                    250, 500, 1000, 2500, 5000, 10000};

const char *const tr_store_stats_names[TR_STATS_COUNT] = {
    "created", "delivered", "failed", "retried", "dead",    "cancelled",
    "chained", "fired",     "reaped", "released", "replayed"};

static const char *const key_suffix[K_COUNT] = {
    "due",  "timers", "inflight", "attempts", "meta",          "dead",
    "stats", "wake",  "paused",   "hist:lateness", "hist:duration"};


void tr_store_set_error(tr_store *s, tr_ret code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    s->err_code = code;
    tr_log_debug("store: %s", s->err);
}

void tr_store_plan_free(finish_plan *p)
{
    free(p->order);
    free(p->calls);
    memset(p, 0, sizeof *p);
}

void tr_store_async_clear(finish_async *fa)
{
    free(fa->res);
    free(fa->again);
    tr_store_plan_free(&fa->plan);
    memset(fa, 0, sizeof *fa);
}

static void disconnect(tr_store *s)
{
    /* Answers owed on the old connection are lost with it: the caller resends. */
    tr_store_async_clear(&s->fa);
    s->claim_active = 0;
    if (s->ctx != NULL) {
        redisFree(s->ctx);
        s->ctx = NULL;
    }
}

/* After a NULL reply: the connection is unusable, so drop it (the next call
 * reconnects) and report Redis as down. */
void tr_store_io_failed(tr_store *s, const char *what)
{
    tr_store_set_error(s, TR_RET_STORE_DOWN, "redis %s: %s", what,
              s->ctx != NULL && s->ctx->errstr[0] ? s->ctx->errstr : "connection lost");
    disconnect(s);
}

/* An error reply from a script call: transient server state or our bug. */
void tr_store_reply_failed(tr_store *s, const char *what, const redisReply *r)
{
    tr_ret code = tr_redis_error_is_down(r->str, r->len) ? TR_RET_STORE_DOWN : TR_RET_INTERNAL;
    tr_store_set_error(s, code, "redis %s: %.*s", what, (int)(r->len > 200 ? 200 : r->len), r->str);
}

int tr_store_is_noscript(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && r->len >= 8 && memcmp(r->str, "NOSCRIPT", 8) == 0;
}

tr_store *tr_store_new(const tr_config *cfg)
{
    tr_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->cfg = cfg;
    for (int k = 0; k < K_COUNT; k++) {
        if (tr_config_redis_key(cfg, key_suffix[k], s->key[k], sizeof s->key[k]) != 0) {
            free(s); /* cannot happen: --key is at most TR_CONFIG_STR_MAX - 1 bytes */
            return NULL;
        }
    }
    return s;
}

void tr_store_free(tr_store *store)
{
    if (store == NULL)
        return;
    disconnect(store);
    free(store);
}

tr_ret tr_store_error_code(const tr_store *store)
{
    return store->err_code;
}

const char *tr_store_error(const tr_store *store)
{
    return store->err;
}

/* SCRIPT LOAD of every script in one round trip. 0, or -1 (disconnected on I/O). */
int tr_store_load_scripts(tr_store *s)
{
    for (int i = 0; i < S_COUNT; i++) {
        const char *argv[] = {"SCRIPT", "LOAD", scripts[i].source};
        if (redisAppendCommandArgv(s->ctx, 3, argv, NULL) != REDIS_OK) {
            tr_store_io_failed(s, "SCRIPT LOAD");
            return -1;
        }
    }
    int rc = 0;
    for (int i = 0; i < S_COUNT; i++) {
        void *v = NULL;
        if (redisGetReply(s->ctx, &v) != REDIS_OK || v == NULL) {
            tr_store_io_failed(s, "SCRIPT LOAD");
            return -1;
        }
        redisReply *r = v;
        if (r->type == REDIS_REPLY_STRING && r->len == 40) {
            memcpy(s->sha[i], r->str, 41);
        } else if (rc == 0) {
            if (r->type == REDIS_REPLY_ERROR)
                tr_store_reply_failed(s, scripts[i].name, r);
            else
                tr_store_set_error(s, TR_RET_INTERNAL, "SCRIPT LOAD %s: unexpected reply type %d",
                          scripts[i].name, r->type);
            rc = -1;
        }
        freeReplyObject(r);
    }
    if (rc != 0)
        disconnect(s); /* scripts missing: start over next time */
    return rc;
}

int tr_store_connect(tr_store *store)
{
    if (store->fa.active || store->claim_active) {
        /* Another command now would read the owed answers as its own. */
        tr_store_set_error(store, TR_RET_INTERNAL, "a finish is outstanding: read its answers first");
        return -1;
    }
    if (store->ctx != NULL && tr_redis_is_stale(store->ctx)) {
        tr_log_debug("store: connection closed by redis, reconnecting");
        disconnect(store);
    }
    if (store->ctx != NULL)
        return 0;
    tr_ret code = TR_RET_INTERNAL;
    store->ctx = tr_redis_connect(store->cfg, &code, store->err, sizeof store->err);
    if (store->ctx == NULL) {
        store->err_code = code;
        tr_log_debug("store: %s", store->err);
        return -1;
    }
    return tr_store_load_scripts(store);
}

/* The argv of one EVALSHA: slots 0..2 (EVALSHA sha numkeys) are filled by
 * tr_store_run_script()/append_script(); keys then arguments follow. Borrowed strings. */

void tr_store_args_init(call_args *a, int which)
{
    a->which = which;
    a->argc = 3;
    a->nnum = 0;
}

void tr_store_arg_bin(call_args *a, const char *str, size_t len)
{
    a->argv[a->argc] = str;
    a->len[a->argc++] = len;
}

void tr_store_arg_str(call_args *a, const char *str)
{
    tr_store_arg_bin(a, str, strlen(str));
}

void tr_store_arg_i64(call_args *a, int64_t v)
{
    char *buf = a->num[a->nnum++];
    int n = snprintf(buf, sizeof a->num[0], "%" PRId64, v);
    tr_store_arg_bin(a, buf, (size_t)n);
}

/* Appends the keys, in the order the script's header lists them. */
void tr_store_arg_keys(call_args *a, const tr_store *s, int nkeys, const int *keys)
{
    snprintf(a->nkeys, sizeof a->nkeys, "%d", nkeys);
    for (int i = 0; i < nkeys; i++)
        tr_store_arg_str(a, s->key[keys[i]]);
}

void tr_store_args_finish(call_args *a, const tr_store *s)
{
    a->argv[0] = "EVALSHA";
    a->len[0] = 7;
    a->argv[1] = s->sha[a->which];
    a->len[1] = 40;
    a->argv[2] = a->nkeys;
    a->len[2] = strlen(a->nkeys);
}

/* Runs one script call. A NOSCRIPT answer reloads the scripts and repeats the
 * call once. Returns the reply (caller frees; never an error reply), or NULL with
 * the error set. */
redisReply *tr_store_run_script(tr_store *s, call_args *a)
{
    const char *name = scripts[a->which].name;
    if (tr_store_connect(s) != 0)
        return NULL;
    for (int tries = 0; tries < 2; tries++) {
        tr_store_args_finish(a, s);
        redisReply *r = redisCommandArgv(s->ctx, a->argc, a->argv, a->len);
        if (r == NULL) {
            tr_store_io_failed(s, name);
            return NULL;
        }
        if (tr_store_is_noscript(r) && tries == 0) {
            freeReplyObject(r);
            tr_log_debug("store: NOSCRIPT for %s, reloading", name);
            if (tr_store_load_scripts(s) != 0)
                return NULL;
            continue;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            tr_store_reply_failed(s, name, r);
            freeReplyObject(r);
            return NULL;
        }
        return r;
    }
    tr_store_set_error(s, TR_RET_INTERNAL, "redis %s: NOSCRIPT after reload", name);
    return NULL;
}

int tr_store_bad_reply(tr_store *s, const char *name, const redisReply *r)
{
    tr_store_set_error(s, TR_RET_INTERNAL, "redis %s: unexpected reply (type %d)", name, r->type);
    return -1;
}

int tr_store_add(tr_store *store, const char *id, const char *record, size_t record_len,
                 int64_t delay_ms, int64_t *due_ms)
{
    static const int keys[] = {K_TIMERS, K_DUE, K_STATS};
    call_args a;
    tr_store_args_init(&a, S_ADD);
    tr_store_arg_keys(&a, store, 3, keys);
    tr_store_arg_str(&a, id);
    tr_store_arg_bin(&a, record, record_len);
    tr_store_arg_i64(&a, delay_ms < 0 ? 0 : delay_ms);
    tr_store_arg_str(&a, store->key[K_WAKE]);
    redisReply *r = tr_store_run_script(store, &a);
    if (r == NULL)
        return -1;
    int rc;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER) {
        rc = tr_store_bad_reply(store, "add", r);
    } else {
        rc = r->element[0]->integer == 0 ? 0 : 1;
        *due_ms = r->element[1]->integer;
    }
    freeReplyObject(r);
    return rc;
}

int tr_store_cancel(tr_store *store, const char *id, int64_t *ttl_ms)
{
    tr_timer_state state;
    return tr_store_cancel_state(store, id, ttl_ms, &state);
}

int tr_store_cancel_state(tr_store *store, const char *id, int64_t *ttl_ms,
                          tr_timer_state *state)
{
    static const int keys[] = {K_TIMERS, K_DUE, K_INFLIGHT, K_DEAD, K_ATTEMPTS, K_META, K_STATS};
    call_args a;
    tr_store_args_init(&a, S_CANCEL);
    tr_store_arg_keys(&a, store, 7, keys);
    tr_store_arg_str(&a, id);
    redisReply *r = tr_store_run_script(store, &a);
    if (r == NULL)
        return -1;
    int rc = 0;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->integer < 0 || r->element[1]->integer > TR_STATE_DEAD) {
        rc = tr_store_bad_reply(store, "cancel", r);
    } else {
        *ttl_ms = r->element[0]->integer;
        *state = (tr_timer_state)r->element[1]->integer;
    }
    freeReplyObject(r);
    return rc;
}

void tr_claim_batch_clear(tr_claim_batch *batch)
{
    for (size_t i = 0; i < batch->count; i++) {
        free(batch->items[i].id);
        free(batch->items[i].record);
        free(batch->items[i].meta);
    }
    free(batch->items);
    memset(batch, 0, sizeof *batch);
}

/* Fills *out from the claim answer. 0, or -1 with the error set. */
static int parse_claim(tr_store *s, const redisReply *r, tr_claim_batch *out)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 || (r->elements - 3) % 5 != 0 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER ||
        r->element[2]->type != REDIS_REPLY_INTEGER)
        return tr_store_bad_reply(s, "claim", r);
    out->now_ms = r->element[0]->integer;
    out->next_ms = r->element[1]->integer;
    out->paused = r->element[2]->integer != 0;
    size_t n = (r->elements - 3) / 5;
    if (n == 0)
        return 0;
    out->items = calloc(n, sizeof *out->items);
    if (out->items == NULL) {
        tr_store_set_error(s, TR_RET_INTERNAL, "claim: out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        redisReply **e = r->element + 3 + 5 * i;
        if (e[0]->type != REDIS_REPLY_STRING || e[1]->type != REDIS_REPLY_INTEGER ||
            e[2]->type != REDIS_REPLY_INTEGER || e[3]->type != REDIS_REPLY_STRING ||
            (e[4]->type != REDIS_REPLY_STRING && e[4]->type != REDIS_REPLY_NIL))
            return tr_store_bad_reply(s, "claim item", e[0]);
        tr_claimed *c = &out->items[out->count++]; /* counted now, so clear frees it */
        c->id = tr_dup_bytes(e[0]->str, e[0]->len);
        c->due_ms = e[1]->integer;
        c->attempt = e[2]->integer;
        c->record = tr_dup_bytes(e[3]->str, e[3]->len);
        c->record_len = e[3]->len;
        if (e[4]->type == REDIS_REPLY_STRING) {
            c->meta = tr_dup_bytes(e[4]->str, e[4]->len);
            c->meta_len = e[4]->len;
            if (c->meta == NULL)
                goto oom;
        }
        if (c->id == NULL || c->record == NULL)
            goto oom;
    }
    return 0;
oom:
    /* The timers are in flight already: their lease returns them to due. */
    tr_store_set_error(s, TR_RET_INTERNAL, "claim: out of memory");
    return -1;
}

static void claim_args(const tr_store *store, size_t limit, int64_t lease_ms, call_args *a)
{
    static const int keys[] = {K_DUE,  K_INFLIGHT, K_TIMERS, K_ATTEMPTS,
                               K_META, K_STATS,    K_PAUSED};
    tr_store_args_init(a, S_CLAIM);
    tr_store_arg_keys(a, store, 7, keys);
    tr_store_arg_i64(a, (int64_t)(limit > TR_STORE_CLAIM_MAX ? TR_STORE_CLAIM_MAX : limit));
    tr_store_arg_i64(a, lease_ms < 1 ? 1 : lease_ms);
    tr_store_arg_i64(a, TR_STORE_REAP_LIMIT);
    tr_store_arg_str(a, store->key[K_WAKE]);
}

int tr_store_claim(tr_store *store, size_t limit, int64_t lease_ms, tr_claim_batch *out)
{
    memset(out, 0, sizeof *out);
    out->next_ms = -1;
    call_args a;
    claim_args(store, limit, lease_ms, &a);
    redisReply *r = tr_store_run_script(store, &a);
    if (r == NULL)
        return -1;
    int rc = parse_claim(store, r, out);
    freeReplyObject(r);
    return rc;
}

int tr_store_claim_send(tr_store *store, size_t limit, int64_t lease_ms)
{
    if (store->claim_active) {
        tr_store_set_error(store, TR_RET_INTERNAL, "claim: one is outstanding already");
        return -1;
    }
    /* Behind an owed finish the connection is up (its answers come first);
     * otherwise connect (which refuses while answers are owed). */
    if (!store->fa.active && tr_store_connect(store) != 0)
        return -1;
    call_args a;
    claim_args(store, limit, lease_ms, &a);
    tr_store_args_finish(&a, store);
    if (redisAppendCommandArgv(store->ctx, a.argc, a.argv, a.len) != REDIS_OK) {
        tr_store_io_failed(store, "claim");
        return -1;
    }
    int done = 0;
    while (!done) {
        if (redisBufferWrite(store->ctx, &done) != REDIS_OK) {
            tr_store_io_failed(store, "claim");
            return -1;
        }
    }
    store->claim_active = 1;
    store->claim_limit = limit;
    store->claim_lease_ms = lease_ms;
    return 0;
}

int tr_store_claim_outstanding(const tr_store *store)
{
    return store->claim_active;
}

int tr_store_claim_recv(tr_store *store, tr_claim_batch *out, int wait)
{
    memset(out, 0, sizeof *out);
    out->next_ms = -1;
    if (!store->claim_active) {
        tr_store_set_error(store, TR_RET_INTERNAL, "claim: none outstanding");
        return -1;
    }
    if (store->fa.active)
        return 0; /* the finish sent before it is answered first */
    void *v = NULL;
    int ok;
    if (wait > 0) {
        ok = redisGetReply(store->ctx, &v) == REDIS_OK && v != NULL;
    } else {
        /* At most one read(2) (none when wait < 0), made when poll said
         * readable: never blocks. */
        ok = redisGetReplyFromReader(store->ctx, &v) == REDIS_OK &&
             (v != NULL || wait < 0 ||
              (redisBufferRead(store->ctx) == REDIS_OK &&
               redisGetReplyFromReader(store->ctx, &v) == REDIS_OK));
        if (ok && v == NULL)
            return 0;
    }
    if (!ok) {
        tr_store_io_failed(store, "claim");
        return -1;
    }
    store->claim_active = 0;
    redisReply *r = v;
    if (tr_store_is_noscript(r)) {
        /* tr_store_run_script reloads the scripts and claims again (blocking, rare). */
        freeReplyObject(r);
        return tr_store_claim(store, store->claim_limit, store->claim_lease_ms, out) == 0 ? 1
                                                                                       : -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        tr_store_reply_failed(store, "claim", r);
        freeReplyObject(r);
        return -1;
    }
    int rc = parse_claim(store, r, out);
    freeReplyObject(r);
    return rc == 0 ? 1 : -1;
}