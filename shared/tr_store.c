#include "tr_store.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "tr_log.h"
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

enum {
    S_ADD, S_CANCEL, S_CLAIM, S_ACK, S_RETRY, S_DEAD, S_RELEASE, S_EXTEND, S_CREATE, S_GET,
    S_LIST, S_RESCHEDULE, S_REPLAY, S_PAUSE, S_STATS, S_ACK_MANY, S_COUNT
};

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

const int64_t tr_hist_bounds_ms[TR_HIST_BUCKETS] = {1,   5,   10,   25,   50,   100,
                                                    250, 500, 1000, 2500, 5000, 10000};

const char *const tr_store_stats_names[TR_STATS_COUNT] = {
    "created", "delivered", "failed", "retried", "dead",    "cancelled",
    "chained", "fired",     "reaped", "released", "replayed"};

/* Leases reaped per claim at most: bounds the time one script holds Redis. */
#define TR_STORE_REAP_LIMIT 256
/* Claimed per call at most, for the same reason. */
#define TR_STORE_CLAIM_MAX 10000

#define KEY_MAX (TR_CONFIG_STR_MAX + 16)

/* Longest argv of a script call: EVALSHA sha numkeys + 7 keys + 5 args. */
#define ARGV_MAX 24

enum {
    K_DUE, K_TIMERS, K_INFLIGHT, K_ATTEMPTS, K_META, K_DEAD, K_STATS, K_WAKE, K_PAUSED,
    K_HIST_LATENESS, K_HIST_DURATION, K_COUNT
};
static const char *const key_suffix[K_COUNT] = {
    "due",  "timers", "inflight", "attempts", "meta",          "dead",
    "stats", "wake",  "paused",   "hist:lateness", "hist:duration"};

/* One call of a finish: order[first..first+count) are its items; many: ack_many. */
typedef struct finish_call {
    size_t first, count;
    int many;
} finish_call;

/* A finish sent as one pipeline: its calls in order, answered one reply each. */
typedef struct finish_plan {
    size_t *order;       /* item indexes, singles first then plain acks */
    finish_call *calls;
    size_t ncalls;
} finish_plan;

/* The finish sent by tr_store_finish_send(), its answers not all read yet. */
typedef struct finish_async {
    int active;
    size_t n;            /* items */
    int *res;            /* n results, filled as answers arrive */
    size_t *again;       /* items answered NOSCRIPT (n entries of room) */
    size_t nagain;
    finish_plan plan;
    size_t answered;     /* calls answered so far */
    int failed;          /* an answer said Redis cannot serve: -1 at the end */
} finish_async;

struct tr_store {
    const tr_config *cfg;          /* borrowed, outlives the store */
    redisContext *ctx;             /* NULL while disconnected */
    char sha[S_COUNT][41];         /* SCRIPT LOAD answers, valid while ctx is */
    char key[K_COUNT][KEY_MAX];    /* "{P}:due" ...; K_WAKE is the channel */
    finish_async fa;               /* answers owed on ctx; no other call until read */
    int claim_active;              /* a claim sent by tr_store_claim_send, unanswered */
    size_t claim_limit;            /* its arguments, to repeat it after NOSCRIPT */
    int64_t claim_lease_ms;
    tr_ret err_code;
    char err[256];
};

static void set_error(tr_store *s, tr_ret code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_error(tr_store *s, tr_ret code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof s->err, fmt, ap);
    va_end(ap);
    s->err_code = code;
    tr_log_debug("store: %s", s->err);
}

static void plan_free(finish_plan *p)
{
    free(p->order);
    free(p->calls);
    memset(p, 0, sizeof *p);
}

static void async_clear(finish_async *fa)
{
    free(fa->res);
    free(fa->again);
    plan_free(&fa->plan);
    memset(fa, 0, sizeof *fa);
}

static void disconnect(tr_store *s)
{
    /* Answers owed on the old connection are lost with it: the caller resends. */
    async_clear(&s->fa);
    s->claim_active = 0;
    if (s->ctx != NULL) {
        redisFree(s->ctx);
        s->ctx = NULL;
    }
}

/* After a NULL reply: the connection is unusable, so drop it (the next call
 * reconnects) and report Redis as down. */
static void io_failed(tr_store *s, const char *what)
{
    set_error(s, TR_RET_STORE_DOWN, "redis %s: %s", what,
              s->ctx != NULL && s->ctx->errstr[0] ? s->ctx->errstr : "connection lost");
    disconnect(s);
}

/* An error reply from a script call: transient server state or our bug. */
static void reply_failed(tr_store *s, const char *what, const redisReply *r)
{
    tr_ret code = tr_redis_error_is_down(r->str, r->len) ? TR_RET_STORE_DOWN : TR_RET_INTERNAL;
    set_error(s, code, "redis %s: %.*s", what, (int)(r->len > 200 ? 200 : r->len), r->str);
}

static int is_noscript(const redisReply *r)
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
static int load_scripts(tr_store *s)
{
    for (int i = 0; i < S_COUNT; i++) {
        const char *argv[] = {"SCRIPT", "LOAD", scripts[i].source};
        if (redisAppendCommandArgv(s->ctx, 3, argv, NULL) != REDIS_OK) {
            io_failed(s, "SCRIPT LOAD");
            return -1;
        }
    }
    int rc = 0;
    for (int i = 0; i < S_COUNT; i++) {
        void *v = NULL;
        if (redisGetReply(s->ctx, &v) != REDIS_OK || v == NULL) {
            io_failed(s, "SCRIPT LOAD");
            return -1;
        }
        redisReply *r = v;
        if (r->type == REDIS_REPLY_STRING && r->len == 40) {
            memcpy(s->sha[i], r->str, 41);
        } else if (rc == 0) {
            if (r->type == REDIS_REPLY_ERROR)
                reply_failed(s, scripts[i].name, r);
            else
                set_error(s, TR_RET_INTERNAL, "SCRIPT LOAD %s: unexpected reply type %d",
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
        set_error(store, TR_RET_INTERNAL, "a finish is outstanding: read its answers first");
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
    return load_scripts(store);
}

/* The argv of one EVALSHA: slots 0..2 (EVALSHA sha numkeys) are filled by
 * run_script()/append_script(); keys then arguments follow. Borrowed strings. */
typedef struct call_args {
    int which;                 /* S_* */
    int argc;
    const char *argv[ARGV_MAX];
    size_t len[ARGV_MAX];
    char nkeys[8];
    char num[6][24];           /* room for the numbers among the arguments */
    int nnum;
} call_args;

static void args_init(call_args *a, int which)
{
    a->which = which;
    a->argc = 3;
    a->nnum = 0;
}

static void arg_bin(call_args *a, const char *str, size_t len)
{
    a->argv[a->argc] = str;
    a->len[a->argc++] = len;
}

static void arg_str(call_args *a, const char *str)
{
    arg_bin(a, str, strlen(str));
}

static void arg_i64(call_args *a, int64_t v)
{
    char *buf = a->num[a->nnum++];
    int n = snprintf(buf, sizeof a->num[0], "%" PRId64, v);
    arg_bin(a, buf, (size_t)n);
}

/* Appends the keys, in the order the script's header lists them. */
static void arg_keys(call_args *a, const tr_store *s, int nkeys, const int *keys)
{
    snprintf(a->nkeys, sizeof a->nkeys, "%d", nkeys);
    for (int i = 0; i < nkeys; i++)
        arg_str(a, s->key[keys[i]]);
}

static void args_finish(call_args *a, const tr_store *s)
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
static redisReply *run_script(tr_store *s, call_args *a)
{
    const char *name = scripts[a->which].name;
    if (tr_store_connect(s) != 0)
        return NULL;
    for (int tries = 0; tries < 2; tries++) {
        args_finish(a, s);
        redisReply *r = redisCommandArgv(s->ctx, a->argc, a->argv, a->len);
        if (r == NULL) {
            io_failed(s, name);
            return NULL;
        }
        if (is_noscript(r) && tries == 0) {
            freeReplyObject(r);
            tr_log_debug("store: NOSCRIPT for %s, reloading", name);
            if (load_scripts(s) != 0)
                return NULL;
            continue;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            reply_failed(s, name, r);
            freeReplyObject(r);
            return NULL;
        }
        return r;
    }
    set_error(s, TR_RET_INTERNAL, "redis %s: NOSCRIPT after reload", name);
    return NULL;
}

static int bad_reply(tr_store *s, const char *name, const redisReply *r)
{
    set_error(s, TR_RET_INTERNAL, "redis %s: unexpected reply (type %d)", name, r->type);
    return -1;
}

int tr_store_add(tr_store *store, const char *id, const char *record, size_t record_len,
                 int64_t delay_ms, int64_t *due_ms)
{
    static const int keys[] = {K_TIMERS, K_DUE, K_STATS};
    call_args a;
    args_init(&a, S_ADD);
    arg_keys(&a, store, 3, keys);
    arg_str(&a, id);
    arg_bin(&a, record, record_len);
    arg_i64(&a, delay_ms < 0 ? 0 : delay_ms);
    arg_str(&a, store->key[K_WAKE]);
    redisReply *r = run_script(store, &a);
    if (r == NULL)
        return -1;
    int rc;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER) {
        rc = bad_reply(store, "add", r);
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
    args_init(&a, S_CANCEL);
    arg_keys(&a, store, 7, keys);
    arg_str(&a, id);
    redisReply *r = run_script(store, &a);
    if (r == NULL)
        return -1;
    int rc = 0;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->integer < 0 || r->element[1]->integer > TR_STATE_DEAD) {
        rc = bad_reply(store, "cancel", r);
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

static char *dup_bytes(const char *p, size_t len)
{
    char *out = malloc(len + 1);
    if (out != NULL) {
        memcpy(out, p, len);
        out[len] = '\0';
    }
    return out;
}

/* Fills *out from the claim answer. 0, or -1 with the error set. */
static int parse_claim(tr_store *s, const redisReply *r, tr_claim_batch *out)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 3 || (r->elements - 3) % 5 != 0 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER ||
        r->element[2]->type != REDIS_REPLY_INTEGER)
        return bad_reply(s, "claim", r);
    out->now_ms = r->element[0]->integer;
    out->next_ms = r->element[1]->integer;
    out->paused = r->element[2]->integer != 0;
    size_t n = (r->elements - 3) / 5;
    if (n == 0)
        return 0;
    out->items = calloc(n, sizeof *out->items);
    if (out->items == NULL) {
        set_error(s, TR_RET_INTERNAL, "claim: out of memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        redisReply **e = r->element + 3 + 5 * i;
        if (e[0]->type != REDIS_REPLY_STRING || e[1]->type != REDIS_REPLY_INTEGER ||
            e[2]->type != REDIS_REPLY_INTEGER || e[3]->type != REDIS_REPLY_STRING ||
            (e[4]->type != REDIS_REPLY_STRING && e[4]->type != REDIS_REPLY_NIL))
            return bad_reply(s, "claim item", e[0]);
        tr_claimed *c = &out->items[out->count++]; /* counted now, so clear frees it */
        c->id = dup_bytes(e[0]->str, e[0]->len);
        c->due_ms = e[1]->integer;
        c->attempt = e[2]->integer;
        c->record = dup_bytes(e[3]->str, e[3]->len);
        c->record_len = e[3]->len;
        if (e[4]->type == REDIS_REPLY_STRING) {
            c->meta = dup_bytes(e[4]->str, e[4]->len);
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
    set_error(s, TR_RET_INTERNAL, "claim: out of memory");
    return -1;
}

static void claim_args(const tr_store *store, size_t limit, int64_t lease_ms, call_args *a)
{
    static const int keys[] = {K_DUE,  K_INFLIGHT, K_TIMERS, K_ATTEMPTS,
                               K_META, K_STATS,    K_PAUSED};
    args_init(a, S_CLAIM);
    arg_keys(a, store, 7, keys);
    arg_i64(a, (int64_t)(limit > TR_STORE_CLAIM_MAX ? TR_STORE_CLAIM_MAX : limit));
    arg_i64(a, lease_ms < 1 ? 1 : lease_ms);
    arg_i64(a, TR_STORE_REAP_LIMIT);
    arg_str(a, store->key[K_WAKE]);
}

int tr_store_claim(tr_store *store, size_t limit, int64_t lease_ms, tr_claim_batch *out)
{
    memset(out, 0, sizeof *out);
    out->next_ms = -1;
    call_args a;
    claim_args(store, limit, lease_ms, &a);
    redisReply *r = run_script(store, &a);
    if (r == NULL)
        return -1;
    int rc = parse_claim(store, r, out);
    freeReplyObject(r);
    return rc;
}

int tr_store_claim_send(tr_store *store, size_t limit, int64_t lease_ms)
{
    if (store->claim_active) {
        set_error(store, TR_RET_INTERNAL, "claim: one is outstanding already");
        return -1;
    }
    /* Behind an owed finish the connection is up (its answers come first);
     * otherwise connect (which refuses while answers are owed). */
    if (!store->fa.active && tr_store_connect(store) != 0)
        return -1;
    call_args a;
    claim_args(store, limit, lease_ms, &a);
    args_finish(&a, store);
    if (redisAppendCommandArgv(store->ctx, a.argc, a.argv, a.len) != REDIS_OK) {
        io_failed(store, "claim");
        return -1;
    }
    int done = 0;
    while (!done) {
        if (redisBufferWrite(store->ctx, &done) != REDIS_OK) {
            io_failed(store, "claim");
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
        set_error(store, TR_RET_INTERNAL, "claim: none outstanding");
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
        io_failed(store, "claim");
        return -1;
    }
    store->claim_active = 0;
    redisReply *r = v;
    if (is_noscript(r)) {
        /* run_script reloads the scripts and claims again (blocking, rare). */
        freeReplyObject(r);
        return tr_store_claim(store, store->claim_limit, store->claim_lease_ms, out) == 0 ? 1
                                                                                       : -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        reply_failed(store, "claim", r);
        freeReplyObject(r);
        return -1;
    }
    int rc = parse_claim(store, r, out);
    freeReplyObject(r);
    return rc == 0 ? 1 : -1;
}

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
        return S_RELEASE;
    case TR_FINISH_EXTEND:
        return S_EXTEND;
    }
    return -1;
}

/* Plain acks sent in one ack_many call at most: bounds the argv and the time one
 * script holds Redis (a round holds at most --max-inflight outcomes anyway). */
#define TR_STORE_ACK_MANY_MAX 1024

static const int ack_keys[] = {K_TIMERS, K_DUE, K_INFLIGHT, K_DEAD, K_ATTEMPTS, K_META, K_STATS};

/* An ack with neither a chain nor a next firing: it goes into ack_many. */
static int is_plain_ack(const tr_finish *f)
{
    return f->kind == TR_FINISH_ACK && f->chain_id == NULL && f->repeat_record == NULL;
}

/* Why an item cannot be sent at all, or NULL when it can. */
static const char *malformed(const tr_finish *f)
{
    if (kind_script(f->kind) < 0)
        return "unknown kind";
    if (f->id == NULL)
        return "no id";
    if (f->kind == TR_FINISH_ACK && f->chain_id != NULL && f->chain_record == NULL)
        return "chain without a record";
    return NULL;
}

/* The EVALSHA call that applies one outcome (kinds were checked by the caller). */
static void finish_args(const tr_store *s, const tr_finish *f, call_args *a)
{
    static const int retry_keys[] = {K_INFLIGHT, K_ATTEMPTS, K_DUE, K_META, K_STATS};
    static const int dead_keys[] = {K_INFLIGHT, K_ATTEMPTS, K_DEAD, K_META,
                                    K_STATS,    K_TIMERS,   K_DUE};
    static const int extend_keys[] = {K_INFLIGHT, K_ATTEMPTS};
    static const int release_keys[] = {K_INFLIGHT, K_ATTEMPTS, K_DUE, K_STATS};
    a->argc = 0;
    switch (f->kind) {
    case TR_FINISH_ACK:
        args_init(a, S_ACK);
        arg_keys(a, s, 7, ack_keys);
        arg_str(a, f->id);
        arg_str(a, s->key[K_WAKE]);
        if (f->chain_id != NULL) {
            arg_str(a, f->chain_id);
            arg_bin(a, f->chain_record, f->chain_record_len);
            arg_i64(a, f->chain_delay_ms < 0 ? 0 : f->chain_delay_ms);
        } else {
            arg_str(a, "");
            arg_str(a, "");
            arg_str(a, "0");
        }
        if (f->repeat_record != NULL) {
            arg_bin(a, f->repeat_record, f->repeat_record_len);
            arg_i64(a, f->repeat_at_ms);
        }
        return;
    case TR_FINISH_RETRY:
        args_init(a, S_RETRY);
        arg_keys(a, s, 5, retry_keys);
        arg_str(a, f->id);
        arg_i64(a, f->attempt);
        arg_i64(a, f->delay_ms < 0 ? 0 : f->delay_ms);
        arg_str(a, f->meta != NULL ? f->meta : "");
        arg_str(a, s->key[K_WAKE]);
        return;
    case TR_FINISH_DEAD:
        args_init(a, S_DEAD);
        arg_keys(a, s, 7, dead_keys);
        arg_str(a, f->id);
        arg_i64(a, f->attempt);
        arg_str(a, f->meta != NULL ? f->meta : "");
        if (f->repeat_record != NULL)
            arg_bin(a, f->repeat_record, f->repeat_record_len);
        else
            arg_str(a, "");
        arg_i64(a, f->repeat_at_ms);
        arg_str(a, s->key[K_WAKE]);
        return;
    case TR_FINISH_RELEASE:
        args_init(a, S_RELEASE);
        arg_keys(a, s, 4, release_keys);
        arg_str(a, f->id);
        arg_i64(a, f->attempt);
        arg_str(a, s->key[K_WAKE]);
        return;
    case TR_FINISH_EXTEND:
        args_init(a, S_EXTEND);
        arg_keys(a, s, 2, extend_keys);
        arg_str(a, f->id);
        arg_i64(a, f->attempt);
        arg_i64(a, f->delay_ms < 1 ? 1 : f->delay_ms);
        return;
    }
}

/* Appends one ack_many call for the plain acks items[order[0..n)]. 0 or -1. */
static int append_ack_many(tr_store *s, const tr_finish *items, const size_t *order, size_t n,
                           const char **argv, size_t *len)
{
    char nkeys[8];
    int argc = 0;
    snprintf(nkeys, sizeof nkeys, "%d", 7);
    argv[argc] = "EVALSHA";
    len[argc++] = 7;
    argv[argc] = s->sha[S_ACK_MANY];
    len[argc++] = 40;
    argv[argc] = nkeys;
    len[argc++] = strlen(nkeys);
    for (int k = 0; k < 7; k++) {
        argv[argc] = s->key[ack_keys[k]];
        len[argc] = strlen(argv[argc]);
        argc++;
    }
    for (size_t i = 0; i < n; i++) {
        argv[argc] = items[order[i]].id;
        len[argc++] = strlen(items[order[i]].id);
    }
    return redisAppendCommandArgv(s->ctx, argc, argv, len) == REDIS_OK ? 0 : -1;
}

/* An error answer to one call. Redis unable to serve now (down): -1, the whole
 * finish is retried later. Anything else would fail again on every retry (a
 * script error, a wrong type under a key): its items are answered -1 and logged,
 * so the others are not held back forever. */
static int call_failed(tr_store *s, const tr_finish *items, const size_t *order,
                       const finish_call *c, const redisReply *r, int *results)
{
    const char *name = c->many ? "ack_many" : scripts[kind_script(items[order[c->first]].kind)].name;
    if (r->type == REDIS_REPLY_ERROR) {
        reply_failed(s, name, r);
        if (s->err_code == TR_RET_STORE_DOWN)
            return -1;
    } else {
        bad_reply(s, name, r);
    }
    for (size_t j = 0; j < c->count; j++) {
        results[order[c->first + j]] = -1;
        tr_log_error("key=%s outcome refused by redis (%s): not applied, the timer returns "
                     "after its lease",
                     items[order[c->first + j]].id, s->err);
    }
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
    size_t most = nacks < TR_STORE_ACK_MANY_MAX ? nacks : TR_STORE_ACK_MANY_MAX;
    /* Other outcomes first: a lease EXTEND queued before the ack of the same
     * timer must stay first. */
    p->order = malloc(n * sizeof *p->order);
    p->calls = malloc((maxcalls ? maxcalls : 1) * sizeof *p->calls);
    const char **argv = malloc((most + 10) * sizeof *argv);
    size_t *len = malloc((most + 10) * sizeof *len);
    int rc = -1;
    if (p->order == NULL || p->calls == NULL || argv == NULL || len == NULL) {
        set_error(s, TR_RET_INTERNAL, "finish: out of memory");
        goto done;
    }
    size_t a = 0, b = nsingle;
    for (size_t i = 0; i < n; i++) {
        if (is_plain_ack(&items[idx[i]]))
            p->order[b++] = idx[i];
        else
            p->order[a++] = idx[i];
    }
    for (size_t i = 0; i < nsingle; i++)
        p->calls[p->ncalls++] = (finish_call){.first = i, .count = 1, .many = 0};
    for (size_t i = nsingle; i < n; i += TR_STORE_ACK_MANY_MAX) {
        size_t c = n - i < TR_STORE_ACK_MANY_MAX ? n - i : TR_STORE_ACK_MANY_MAX;
        p->calls[p->ncalls++] = (finish_call){.first = i, .count = c, .many = 1};
    }
    for (size_t k = 0; k < p->ncalls; k++) {
        int bad;
        if (p->calls[k].many) {
            bad = append_ack_many(s, items, p->order + p->calls[k].first, p->calls[k].count,
                                  argv, len);
        } else {
            call_args ca;
            finish_args(s, &items[p->order[p->calls[k].first]], &ca);
            args_finish(&ca, s);
            bad = redisAppendCommandArgv(s->ctx, ca.argc, ca.argv, ca.len) != REDIS_OK;
        }
        if (bad) {
            io_failed(s, "finish");
            goto done;
        }
    }
    rc = 0;
done:
    free(argv);
    free(len);
    if (rc != 0)
        plan_free(p);
    return rc;
}

/* Takes the answer to call k of plan p: results set, or its items added to
 * again[*nagain] when it was NOSCRIPT. 0, or -1 when Redis cannot serve (the
 * other answers must still be read to stay in step). Frees r. */
static int plan_answer(tr_store *s, const tr_finish *items, const finish_plan *p, size_t k,
                       redisReply *r, int *results, size_t *again, size_t *nagain)
{
    const finish_call *c = &p->calls[k];
    int rc = 0;
    if (is_noscript(r)) {
        for (size_t j = 0; j < c->count; j++)
            again[(*nagain)++] = p->order[c->first + j];
    } else if (!c->many && r->type == REDIS_REPLY_INTEGER) {
        results[p->order[c->first]] = r->integer != 0;
    } else if (c->many && r->type == REDIS_REPLY_STRING && r->len == c->count) {
        for (size_t j = 0; j < c->count; j++)
            results[p->order[c->first + j]] = r->str[j] == '1';
    } else if (call_failed(s, items, p->order, c, r, results) != 0) {
        rc = -1;
    }
    freeReplyObject(r);
    return rc;
}

/* Sends items[idx[0..n)] in one pipeline and reads the answers into results
 * (blocking). Items answered NOSCRIPT are written back to idx (their count in
 * *noscript). 0 when every answer arrived (results set for the others), -1 on
 * failure. */
static int finish_round(tr_store *s, const tr_finish *items, size_t *idx, size_t n, int *results,
                        size_t *noscript)
{
    finish_plan p;
    if (plan_append(s, items, idx, n, &p) != 0)
        return -1;
    int rc = 0;
    size_t again = 0;
    for (size_t k = 0; k < p.ncalls; k++) {
        void *v = NULL;
        if (redisGetReply(s->ctx, &v) != REDIS_OK || v == NULL) {
            io_failed(s, "finish");
            rc = -1;
            goto done;
        }
        /* Keep reading after a failure: every answer must be consumed. */
        if (plan_answer(s, items, &p, k, v, results, idx, &again) != 0)
            rc = -1;
    }
    *noscript = again;
done:
    plan_free(&p);
    return rc;
}

/* Answers the malformed items here (-1, logged: never sendable, so they cannot
 * hold the others back), the others 0 for now; lists the sendable ones in idx.
 * Returns their count. */
static size_t sendable(const tr_finish *items, size_t n, int *results, size_t *idx)
{
    size_t todo = 0;
    for (size_t i = 0; i < n; i++) {
        const char *why = malformed(&items[i]);
        results[i] = 0;
        if (why == NULL) {
            idx[todo++] = i;
            continue;
        }
        results[i] = -1;
        tr_log_error("key=%s outcome not written: malformed (%s, kind %d): the timer returns "
                     "after its lease",
                     items[i].id != NULL ? items[i].id : "?", why, (int)items[i].kind);
    }
    return todo;
}

/* Repeats items[idx[0..n)], answered NOSCRIPT, once the scripts are loaded again
 * (blocking). 0 or -1. */
static int finish_noscript(tr_store *s, const tr_finish *items, size_t *idx, size_t n,
                           int *results)
{
    tr_log_debug("store: NOSCRIPT in finish, reloading");
    if (load_scripts(s) != 0)
        return -1;
    size_t noscript = 0;
    if (finish_round(s, items, idx, n, results, &noscript) != 0)
        return -1;
    if (noscript > 0) {
        set_error(s, TR_RET_INTERNAL, "redis finish: NOSCRIPT after reload");
        return -1;
    }
    return 0;
}

int tr_store_finish(tr_store *store, const tr_finish *items, size_t n, int *results)
{
    if (n == 0)
        return 0;
    size_t *idx = malloc(n * sizeof *idx);
    if (idx == NULL) {
        set_error(store, TR_RET_INTERNAL, "finish: out of memory");
        return -1;
    }
    size_t todo = sendable(items, n, results, idx);
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

int tr_store_fd(const tr_store *store)
{
    return store->ctx != NULL ? store->ctx->fd : -1;
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
    size_t room = n > 0 ? n : 1;
    size_t *idx = malloc(room * sizeof *idx);
    fa->res = malloc(room * sizeof *fa->res);
    fa->again = malloc(room * sizeof *fa->again);
    if (idx == NULL || fa->res == NULL || fa->again == NULL) {
        free(idx);
        async_clear(fa);
        set_error(store, TR_RET_INTERNAL, "finish: out of memory");
        return -1;
    }
    fa->n = n;
    size_t todo = sendable(items, n, fa->res, idx);
    int rc = 0;
    if (todo > 0 && plan_append(store, items, idx, todo, &fa->plan) != 0)
        rc = -1; /* plan_append cleared fa when it dropped the connection */
    /* Written out now (bounded by --redis-timeout-ms); only the answers wait. */
    int done = todo == 0;
    while (rc == 0 && !done) {
        if (redisBufferWrite(store->ctx, &done) != REDIS_OK) {
            io_failed(store, "finish");
            rc = -1;
        }
    }
    free(idx);
    if (rc != 0) {
        async_clear(fa);
        return -1;
    }
    fa->active = 1;
    return 0;
}

int tr_store_finish_recv(tr_store *store, const tr_finish *items, int *results, int wait)
{
    finish_async *fa = &store->fa;
    if (!fa->active) {
        set_error(store, TR_RET_INTERNAL, "finish: none outstanding");
        return -1;
    }
    int did_read = 0;
    while (fa->answered < fa->plan.ncalls) {
        void *v = NULL;
        int ok;
        if (wait > 0) {
            ok = redisGetReply(store->ctx, &v) == REDIS_OK && v != NULL;
        } else {
            ok = redisGetReplyFromReader(store->ctx, &v) == REDIS_OK;
            if (ok && v == NULL) {
                /* At most one read(2) per call (none when wait < 0), made when
                 * poll said readable: never blocks. */
                if (did_read || wait < 0)
                    return 0;
                did_read = 1;
                if (redisBufferRead(store->ctx) == REDIS_OK)
                    continue;
                ok = 0;
            }
        }
        if (!ok) {
            io_failed(store, "finish"); /* clears fa: the caller resends */
            return -1;
        }
        /* Keep reading after a failure: every answer must be consumed. */
        if (plan_answer(store, items, &fa->plan, fa->answered, v, fa->res, fa->again,
                        &fa->nagain) != 0)
            fa->failed = 1;
        fa->answered++;
    }
    /* Every answer read: the connection is free for other calls again. */
    finish_async done = *fa;
    memset(fa, 0, sizeof *fa);
    int rc = done.failed ? -1 : 0;
    if (rc == 0 && done.nagain > 0)
        rc = finish_noscript(store, items, done.again, done.nagain, done.res);
    if (rc == 0)
        memcpy(results, done.res, done.n * sizeof *results);
    async_clear(&done);
    return rc == 0 ? 1 : -1;
}

/* ---- The REST API ---- */

const char *tr_timer_state_name(tr_timer_state state)
{
    switch (state) {
    case TR_STATE_PENDING:
        return "pending";
    case TR_STATE_IN_FLIGHT:
        return "in_flight";
    case TR_STATE_DEAD:
        return "dead";
    case TR_STATE_NONE:
        break;
    }
    return "unknown";
}

/* Creates per script call at most: bounds the time one script holds Redis. */
#define TR_STORE_CREATE_CHUNK 1000

/* One create script call for items[0..n), n <= TR_STORE_CREATE_CHUNK. */
static int create_chunk(tr_store *s, const tr_create *items, size_t n,
                        tr_create_result *results, int64_t *due_ms, int64_t *now_ms)
{
    static const int keys[] = {K_TIMERS, K_DUE, K_STATS};
    size_t argc = 3 + 3 + 1 + 4 * n;
    const char **argv = malloc(argc * sizeof *argv);
    size_t *lens = malloc(argc * sizeof *lens);
    char(*nums)[2][24] = malloc(n * sizeof *nums);
    redisReply *r = NULL;
    int rc = -1;
    if (argv == NULL || lens == NULL || nums == NULL) {
        set_error(s, TR_RET_INTERNAL, "create: out of memory");
        goto done;
    }
    size_t k = 3;
    for (int i = 0; i < 3; i++) {
        argv[k] = s->key[keys[i]];
        lens[k++] = strlen(s->key[keys[i]]);
    }
    argv[k] = s->key[K_WAKE];
    lens[k++] = strlen(s->key[K_WAKE]);
    for (size_t i = 0; i < n; i++) {
        const tr_create *it = &items[i];
        int a = snprintf(nums[i][0], 24, "%" PRId64, it->delay_ms < 0 ? 0 : it->delay_ms);
        int b = snprintf(nums[i][1], 24, "%" PRId64, it->at_ms < 0 ? -1 : it->at_ms);
        argv[k] = it->id;
        lens[k++] = strlen(it->id);
        argv[k] = it->record;
        lens[k++] = it->record_len;
        argv[k] = nums[i][0];
        lens[k++] = (size_t)a;
        argv[k] = nums[i][1];
        lens[k++] = (size_t)b;
    }
    if (tr_store_connect(s) != 0)
        goto done;
    for (int tries = 0; tries < 2; tries++) {
        argv[0] = "EVALSHA";
        lens[0] = 7;
        argv[1] = s->sha[S_CREATE];
        lens[1] = 40;
        argv[2] = "3";
        lens[2] = 1;
        r = redisCommandArgv(s->ctx, (int)argc, argv, lens);
        if (r == NULL) {
            io_failed(s, "create");
            goto done;
        }
        if (!is_noscript(r) || tries == 1)
            break;
        freeReplyObject(r);
        r = NULL;
        if (load_scripts(s) != 0)
            goto done;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        reply_failed(s, "create", r);
        goto done;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 + 2 * n ||
        r->element[0]->type != REDIS_REPLY_INTEGER) {
        bad_reply(s, "create", r);
        goto done;
    }
    *now_ms = r->element[0]->integer;
    for (size_t i = 0; i < n; i++) {
        const redisReply *c = r->element[1 + 2 * i], *d = r->element[2 + 2 * i];
        if (c->type != REDIS_REPLY_INTEGER || d->type != REDIS_REPLY_INTEGER || c->integer < 0 ||
            c->integer > 2) {
            bad_reply(s, "create item", c);
            goto done;
        }
        results[i] = (tr_create_result)c->integer;
        due_ms[i] = d->integer;
    }
    rc = 0;
done:
    freeReplyObject(r);
    free(argv);
    free(lens);
    free(nums);
    return rc;
}

int tr_store_create(tr_store *store, const tr_create *items, size_t n,
                    tr_create_result *results, int64_t *due_ms, int64_t *now_ms)
{
    *now_ms = 0;
    for (size_t off = 0; off < n; off += TR_STORE_CREATE_CHUNK) {
        size_t m = n - off < TR_STORE_CREATE_CHUNK ? n - off : TR_STORE_CREATE_CHUNK;
        if (create_chunk(store, items + off, m, results + off, due_ms + off, now_ms) != 0)
            return -1;
    }
    return 0;
}

void tr_timer_view_clear(tr_timer_view *view)
{
    if (view == NULL)
        return;
    free(view->id);
    free(view->record);
    free(view->meta);
    memset(view, 0, sizeof *view);
}

/* Copies a string reply (or NIL: NULL) into *out. 0, or -1 out of memory. */
static int take_str(const redisReply *r, char **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (r->type != REDIS_REPLY_STRING)
        return 0;
    *out = dup_bytes(r->str, r->len);
    if (*out == NULL)
        return -1;
    *len = r->len;
    return 0;
}

static int is_int_or_nil(const redisReply *r)
{
    return r->type == REDIS_REPLY_INTEGER || r->type == REDIS_REPLY_NIL;
}

int tr_store_get(tr_store *store, const char *id, tr_timer_view *out)
{
    static const int keys[] = {K_TIMERS, K_DUE, K_INFLIGHT, K_DEAD, K_ATTEMPTS, K_META};
    memset(out, 0, sizeof *out);
    call_args a;
    args_init(&a, S_GET);
    arg_keys(&a, store, 6, keys);
    arg_str(&a, id);
    redisReply *r = run_script(store, &a);
    if (r == NULL)
        return -1;
    int rc = -1;
    redisReply **e = r->element;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 7 || e[0]->type != REDIS_REPLY_INTEGER ||
        (e[1]->type != REDIS_REPLY_STRING && e[1]->type != REDIS_REPLY_NIL) ||
        !is_int_or_nil(e[2]) || !is_int_or_nil(e[3]) || !is_int_or_nil(e[4]) ||
        !is_int_or_nil(e[5]) || (e[6]->type != REDIS_REPLY_STRING && e[6]->type != REDIS_REPLY_NIL)) {
        bad_reply(store, "get", r);
        goto done;
    }
    out->now_ms = e[0]->integer;
    if (e[1]->type == REDIS_REPLY_NIL) {
        rc = 1;
        goto done;
    }
    if (e[2]->type == REDIS_REPLY_INTEGER) {
        out->state = TR_STATE_PENDING;
        out->score_ms = e[2]->integer;
    } else if (e[3]->type == REDIS_REPLY_INTEGER) {
        out->state = TR_STATE_IN_FLIGHT;
        out->score_ms = e[3]->integer;
    } else if (e[4]->type == REDIS_REPLY_INTEGER) {
        out->state = TR_STATE_DEAD;
        out->score_ms = e[4]->integer;
    } else {
        /* A record in no set: a half-made timer (should not exist). */
        out->state = TR_STATE_NONE;
        out->score_ms = -1;
    }
    out->attempts = e[5]->type == REDIS_REPLY_INTEGER ? e[5]->integer : 0;
    out->id = dup_bytes(id, strlen(id));
    if (out->id == NULL || take_str(e[1], &out->record, &out->record_len) != 0 ||
        take_str(e[6], &out->meta, &out->meta_len) != 0) {
        tr_timer_view_clear(out);
        set_error(store, TR_RET_INTERNAL, "get: out of memory");
        goto done;
    }
    rc = 0;
done:
    freeReplyObject(r);
    return rc;
}

int tr_store_list(tr_store *store, int dead, int64_t after_score, const char *after_id,
                  size_t limit, tr_timer_view **out, size_t *n)
{
    static const int keys_due[] = {K_DUE, K_TIMERS, K_ATTEMPTS, K_META};
    static const int keys_dead[] = {K_DEAD, K_TIMERS, K_ATTEMPTS, K_META};
    *out = NULL;
    *n = 0;
    if (limit < 1)
        limit = 1;
    if (limit > 1001)
        limit = 1001;
    call_args a;
    args_init(&a, S_LIST);
    arg_keys(&a, store, 4, dead ? keys_dead : keys_due);
    arg_i64(&a, (int64_t)limit);
    if (after_id != NULL) {
        arg_i64(&a, after_score);
        arg_str(&a, after_id);
    } else {
        arg_str(&a, "");
        arg_str(&a, "");
    }
    redisReply *r = run_script(store, &a);
    if (r == NULL)
        return -1;
    int rc = -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || (r->elements - 1) % 5 != 0 ||
        r->element[0]->type != REDIS_REPLY_INTEGER) {
        bad_reply(store, "list", r);
        goto done;
    }
    size_t count = (r->elements - 1) / 5;
    tr_timer_view *v = count > 0 ? calloc(count, sizeof *v) : NULL;
    if (count > 0 && v == NULL)
        goto oom;
    for (size_t i = 0; i < count; i++) {
        redisReply **e = r->element + 1 + 5 * i;
        if (e[0]->type != REDIS_REPLY_STRING || e[1]->type != REDIS_REPLY_INTEGER ||
            e[2]->type != REDIS_REPLY_STRING || e[3]->type != REDIS_REPLY_INTEGER ||
            (e[4]->type != REDIS_REPLY_STRING && e[4]->type != REDIS_REPLY_NIL)) {
            *out = v;
            *n = i;
            bad_reply(store, "list item", e[0]);
            goto fail;
        }
        tr_timer_view *t = &v[i];
        t->state = dead ? TR_STATE_DEAD : TR_STATE_PENDING;
        t->now_ms = r->element[0]->integer;
        t->score_ms = e[1]->integer;
        t->attempts = e[3]->integer;
        size_t idlen = 0;
        if (take_str(e[0], &t->id, &idlen) != 0 || take_str(e[2], &t->record, &t->record_len) != 0 ||
            take_str(e[4], &t->meta, &t->meta_len) != 0) {
            *out = v;
            *n = i + 1;
            goto oom;
        }
    }
    *out = v;
    *n = count;
    rc = 0;
    goto done;
oom:
    set_error(store, TR_RET_INTERNAL, "list: out of memory");
fail:
    for (size_t i = 0; i < *n; i++)
        tr_timer_view_clear(&(*out)[i]);
    free(*out);
    *out = NULL;
    *n = 0;
done:
    freeReplyObject(r);
    return rc;
}

int tr_store_reschedule(tr_store *store, const char *id, int64_t delay_ms, int64_t at_ms,
                        int64_t *due_ms)
{
    static const int keys[] = {K_TIMERS, K_DUE, K_INFLIGHT, K_DEAD};
    call_args a;
    args_init(&a, S_RESCHEDULE);
    arg_keys(&a, store, 4, keys);
    arg_str(&a, id);
    arg_i64(&a, delay_ms < 0 ? 0 : delay_ms);
    arg_i64(&a, at_ms < 0 ? -1 : at_ms);
    arg_str(&a, store->key[K_WAKE]);
    redisReply *r = run_script(store, &a);
    if (r == NULL)
        return -1;
    int rc;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER || r->element[1]->type != REDIS_REPLY_INTEGER ||
        r->element[0]->integer < 0 || r->element[0]->integer > 2) {
        rc = bad_reply(store, "reschedule", r);
    } else {
        rc = (int)r->element[0]->integer;
        *due_ms = r->element[1]->integer;
    }
    freeReplyObject(r);
    return rc;
}

int tr_store_replay(tr_store *store, const char *id, int64_t *due_ms)
{
    static const int keys[] = {K_DEAD, K_DUE, K_ATTEMPTS, K_STATS};
    call_args a;
    args_init(&a, S_REPLAY);
    arg_keys(&a, store, 4, keys);
    arg_str(&a, id);
    arg_str(&a, store->key[K_WAKE]);
    redisReply *r = run_script(store, &a);
    if (r == NULL)
        return -1;
    int rc;
    if (r->type != REDIS_REPLY_INTEGER) {
        rc = bad_reply(store, "replay", r);
    } else {
        *due_ms = r->integer;
        rc = r->integer < 0 ? 1 : 0;
    }
    freeReplyObject(r);
    return rc;
}

int tr_store_set_paused(tr_store *store, int paused)
{
    static const int keys[] = {K_PAUSED, K_DUE};
    call_args a;
    args_init(&a, S_PAUSE);
    arg_keys(&a, store, 2, keys);
    arg_str(&a, paused ? "1" : "0");
    arg_str(&a, store->key[K_WAKE]);
    redisReply *r = run_script(store, &a);
    if (r == NULL)
        return -1;
    int rc = r->type == REDIS_REPLY_INTEGER ? 0 : bad_reply(store, "pause", r);
    freeReplyObject(r);
    return rc;
}

static int64_t reply_i64(const redisReply *r)
{
    if (r->type == REDIS_REPLY_INTEGER)
        return r->integer;
    if (r->type != REDIS_REPLY_STRING)
        return 0;
    char buf[32];
    size_t n = r->len < sizeof buf - 1 ? r->len : sizeof buf - 1;
    memcpy(buf, r->str, n);
    buf[n] = '\0';
    return strtoll(buf, NULL, 10);
}

static int field_is(const redisReply *f, const char *name)
{
    return f->type == REDIS_REPLY_STRING && f->len == strlen(name) &&
           memcmp(f->str, name, f->len) == 0;
}

/* Reads a histogram hash ("b0".."b12", "sum_ms", "count") from its HGETALL. */
static void read_hist(const redisReply *h, uint64_t *buckets, int64_t *sum_ms, uint64_t *count)
{
    for (size_t i = 0; i + 1 < h->elements; i += 2) {
        const redisReply *f = h->element[i];
        int64_t v = reply_i64(h->element[i + 1]);
        if (field_is(f, "sum_ms")) {
            *sum_ms = v;
        } else if (field_is(f, "count")) {
            *count = v < 0 ? 0 : (uint64_t)v;
        } else if (f->type == REDIS_REPLY_STRING && f->len >= 2 && f->len <= 3 &&
                   f->str[0] == 'b') {
            int b = 0;
            for (size_t k = 1; k < f->len; k++)
                b = b * 10 + (f->str[k] >= '0' && f->str[k] <= '9' ? f->str[k] - '0' : 100);
            if (b <= TR_HIST_BUCKETS)
                buckets[b] = v < 0 ? 0 : (uint64_t)v;
        }
    }
}

int tr_store_get_stats(tr_store *store, int with_hist, tr_store_stats *out)
{
    static const int keys[] = {K_DUE,   K_INFLIGHT,      K_DEAD,          K_PAUSED,
                               K_STATS, K_HIST_LATENESS, K_HIST_DURATION};
    memset(out, 0, sizeof *out);
    call_args a;
    args_init(&a, S_STATS);
    arg_keys(&a, store, 7, keys);
    arg_str(&a, with_hist ? "1" : "0");
    redisReply *r = run_script(store, &a);
    if (r == NULL)
        return -1;
    int rc = -1;
    redisReply **e = r->element;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 7 || e[0]->type != REDIS_REPLY_INTEGER ||
        e[1]->type != REDIS_REPLY_INTEGER || e[2]->type != REDIS_REPLY_INTEGER ||
        e[3]->type != REDIS_REPLY_INTEGER || e[4]->type != REDIS_REPLY_ARRAY ||
        e[5]->type != REDIS_REPLY_ARRAY || e[6]->type != REDIS_REPLY_ARRAY) {
        bad_reply(store, "stats", r);
        goto done;
    }
    out->pending = e[0]->integer;
    out->in_flight = e[1]->integer;
    out->dead = e[2]->integer;
    out->paused = e[3]->integer != 0;
    for (size_t i = 0; i + 1 < e[4]->elements; i += 2)
        for (int k = 0; k < TR_STATS_COUNT; k++)
            if (field_is(e[4]->element[i], tr_store_stats_names[k]))
                out->totals[k] = reply_i64(e[4]->element[i + 1]);
    read_hist(e[5], out->lateness, &out->lateness_sum_ms, &out->lateness_count);
    read_hist(e[6], out->duration, &out->duration_sum_ms, &out->duration_count);
    rc = 0;
done:
    freeReplyObject(r);
    return rc;
}

int tr_store_observe(tr_store *store, const char *name,
                     const uint64_t counts[TR_HIST_BUCKETS + 1], int64_t sum_ms,
                     uint64_t count)
{
    char key[KEY_MAX + 16];
    int kn = snprintf(key, sizeof key, "{%s}:hist:%s", store->cfg->key, name);
    if (kn < 0 || (size_t)kn >= sizeof key) {
        set_error(store, TR_RET_INTERNAL, "observe: name too long");
        return -1;
    }
    if (tr_store_connect(store) != 0)
        return -1;
    int sent = 0;
    for (int i = 0; i <= TR_HIST_BUCKETS + 2; i++) {
        char field[8], val[24];
        uint64_t v;
        if (i <= TR_HIST_BUCKETS) {
            v = counts[i];
            snprintf(field, sizeof field, "b%d", i);
        } else if (i == TR_HIST_BUCKETS + 1) {
            v = (uint64_t)(sum_ms < 0 ? 0 : sum_ms);
            snprintf(field, sizeof field, "sum_ms");
        } else {
            v = count;
            snprintf(field, sizeof field, "count");
        }
        if (v == 0)
            continue;
        snprintf(val, sizeof val, "%" PRIu64, v);
        const char *argv[] = {"HINCRBY", key, field, val};
        if (redisAppendCommandArgv(store->ctx, 4, argv, NULL) != REDIS_OK) {
            io_failed(store, "observe");
            return -1;
        }
        sent++;
    }
    int rc = 0;
    for (int i = 0; i < sent; i++) {
        void *v = NULL;
        if (redisGetReply(store->ctx, &v) != REDIS_OK || v == NULL) {
            io_failed(store, "observe");
            return -1;
        }
        redisReply *r = v;
        if (r->type != REDIS_REPLY_INTEGER && rc == 0) {
            if (r->type == REDIS_REPLY_ERROR)
                reply_failed(store, "observe", r);
            else
                bad_reply(store, "observe", r);
            rc = -1;
        }
        freeReplyObject(r);
    }
    return rc;
}

int tr_store_ping(tr_store *store)
{
    if (tr_store_connect(store) != 0)
        return -1;
    redisReply *r = redisCommand(store->ctx, "PING");
    if (r == NULL) {
        io_failed(store, "PING");
        return -1;
    }
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR) {
        reply_failed(store, "PING", r);
        rc = -1;
    }
    freeReplyObject(r);
    return rc;
}
