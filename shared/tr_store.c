#include "tr_store.h"
#include "tr_store_int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include "tr_cluster.h"
#include "tr_log.h"
#include "tr_redis.h"
#include "tr_shard.h"

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
extern const char tr_lua_recover[];
extern const char tr_lua_migrate[];
extern const char tr_lua_add_cluster[];
extern const char tr_lua_cancel_cluster[];
extern const char tr_lua_claim_cluster[];
extern const char tr_lua_ack_cluster[];
extern const char tr_lua_ack_many_cluster[];
extern const char tr_lua_retry_cluster[];
extern const char tr_lua_dead_cluster[];
extern const char tr_lua_release_cluster[];
extern const char tr_lua_extend_cluster[];
extern const char tr_lua_create_cluster[];
extern const char tr_lua_get_cluster[];
extern const char tr_lua_list_cluster[];
extern const char tr_lua_reschedule_cluster[];
extern const char tr_lua_replay_cluster[];
extern const char tr_lua_pause_cluster[];
extern const char tr_lua_stats_cluster[];
extern const char tr_lua_recover_cluster[];
extern const char tr_lua_migrate_cluster[];

/* Every script but get, list and stats writes (see `read_only` below).
 *
 * Each script in two variants that differ only in how they announce a due time on
 * the wake channel (shared/embed_lua.cmake): `one` PUBLISHes (one Redis, where the
 * wake line SUBSCRIBEs), `cluster` SPUBLISHes (Redis 7 sharded pub/sub: the message
 * stays on the shard's master instead of crossing the cluster bus to every node;
 * the wake line SSUBSCRIBEs per master). The store picks the variant from --cluster
 * (script_text), so every process calling the scripts through it (the REST API's
 * handlers, /register/, the scheduler, timerushctl) announces the way the wake line
 * listens, and no call site or script argument has to carry it: an argument would
 * be one more thing each of the dozen calls could pass wrong, silently losing the
 * wake-ups. */
static const struct {
    const char *name;
    const char *one;
    const char *cluster;
} scripts[S_COUNT] = {
    {"add", tr_lua_add, tr_lua_add_cluster},
    {"cancel", tr_lua_cancel, tr_lua_cancel_cluster},
    {"claim", tr_lua_claim, tr_lua_claim_cluster},
    {"ack", tr_lua_ack, tr_lua_ack_cluster},
    {"retry", tr_lua_retry, tr_lua_retry_cluster},
    {"dead", tr_lua_dead, tr_lua_dead_cluster},
    {"release", tr_lua_release, tr_lua_release_cluster},
    {"extend", tr_lua_extend, tr_lua_extend_cluster},
    {"create", tr_lua_create, tr_lua_create_cluster},
    {"get", tr_lua_get, tr_lua_get_cluster},
    {"list", tr_lua_list, tr_lua_list_cluster},
    {"reschedule", tr_lua_reschedule, tr_lua_reschedule_cluster},
    {"replay", tr_lua_replay, tr_lua_replay_cluster},
    {"pause", tr_lua_pause, tr_lua_pause_cluster},
    {"stats", tr_lua_stats, tr_lua_stats_cluster},
    {"ack_many", tr_lua_ack_many, tr_lua_ack_many_cluster},
    {"recover", tr_lua_recover, tr_lua_recover_cluster},
    {"migrate", tr_lua_migrate, tr_lua_migrate_cluster},
};

const char *tr_store_script_name(int which)
{
    return which >= 0 && which < S_COUNT ? scripts[which].name : "unknown";
}

/* The variant this store runs (see `scripts` above). */
static const char *script_text(const tr_store *s, int which)
{
    assert(which >= 0 && which < S_COUNT);
    return s->cfg->cluster[0] != '\0' ? scripts[which].cluster : scripts[which].one;
}

const char *tr_store_script_source(const tr_store *s, int which)
{
    return script_text(s, which);
}

int tr_store_on_cluster(const tr_store *s)
{
    return s->cfg->cluster[0] != '\0';
}

int tr_store_connected(const tr_store *s)
{
    return tr_store_on_cluster(s) ? s->cl != NULL && s->have_sha : s->ctx != NULL;
}

const int64_t tr_hist_bounds_ms[TR_HIST_BUCKETS] = {1,   5,   10,   25,   50,   100,
                                                    250, 500, 1000, 2500, 5000, 10000};

static const char *const key_suffix[K_COUNT] = {
    "due",  "timers", "inflight", "attempts", "meta",          "dead",
    "stats", "wake",  "paused",   "hist:lateness", "hist:duration", "owner"};


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

/* Drops the connection and whatever was owed on it (the next call reconnects). */
void tr_store_disconnect(tr_store *s)
{
    /* Answers owed on the old connection are lost with it: the caller resends. */
    tr_store_async_clear(&s->fa);
    tr_claim_batch_clear(&s->ca.acc); /* in flight already: their leases return them */
    memset(&s->ca, 0, sizeof s->ca);
    /* On a cluster the client keeps its per-node connections (it reconnects by
     * itself); only the calls not yet run are dropped. */
    tr_store_cl_drop(s);
    if (s->ctx != NULL) {
        redisFree(s->ctx);
        s->ctx = NULL;
    }
}

/* After a NULL reply: the connection is unusable, so drop it (the next call
 * reconnects) and report Redis as down. */
void tr_store_io_failed(tr_store *s, const char *what)
{
    if (tr_store_on_cluster(s)) {
        /* The cluster call that failed has set the error (with its code). */
        tr_store_disconnect(s);
        return;
    }
    tr_store_set_error(s, TR_RET_STORE_DOWN, "redis %s: %s", what,
              s->ctx != NULL && s->ctx->errstr[0] ? s->ctx->errstr : "connection lost");
    tr_store_disconnect(s);
}

/* An error reply from a script call: transient server state or our bug. */
void tr_store_reply_failed(tr_store *s, const char *what, const redisReply *r)
{
    tr_ret code = tr_redis_error_is_down(r->str, r->len) ? TR_RET_STORE_DOWN : TR_RET_INTERNAL;
    tr_store_set_error(s, code, "redis %s: %.*s", what, (int)(r->len > 200 ? 200 : r->len), r->str);
}

/* A reply of the wrong type. -1, for `return tr_store_bad_reply(...)`. */
int tr_store_bad_reply(tr_store *s, const char *name, const redisReply *r)
{
    tr_store_set_error(s, TR_RET_INTERNAL, "redis %s: unexpected reply (type %d)", name, r->type);
    return -1;
}

/* Any reply that is not the one expected: an error reply (Redis down or a
 * script error) or one of the wrong type. */
void tr_store_unexpected(tr_store *s, const char *name, const redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR)
        tr_store_reply_failed(s, name, r);
    else
        tr_store_bad_reply(s, name, r);
}

int tr_store_is_noscript(const redisReply *r)
{
    return r->type == REDIS_REPLY_ERROR && r->len >= 8 && memcmp(r->str, "NOSCRIPT", 8) == 0;
}

static int elem_is(const redisReply *e, char want)
{
    switch (want) {
    case 'i':
        return e->type == REDIS_REPLY_INTEGER;
    case 's':
        return e->type == REDIS_REPLY_STRING;
    case 'a':
        return e->type == REDIS_REPLY_ARRAY;
    case 'I':
        return e->type == REDIS_REPLY_INTEGER || e->type == REDIS_REPLY_NIL;
    case 'S':
        return e->type == REDIS_REPLY_STRING || e->type == REDIS_REPLY_NIL;
    }
    assert(!"unknown shape letter");
    return 0;
}

int tr_store_elems_shape(redisReply *const *e, const char *shape)
{
    for (size_t i = 0; shape[i] != '\0'; i++)
        if (!elem_is(e[i], shape[i]))
            return 0;
    return 1;
}

int tr_store_reply_shape(const redisReply *r, const char *shape)
{
    return r->type == REDIS_REPLY_ARRAY && r->elements == strlen(shape) &&
           tr_store_elems_shape(r->element, shape);
}

tr_store *tr_store_new(const tr_config *cfg)
{
    tr_store *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->cfg = cfg;
    s->shard = -1;
    tr_store_use_shard(s, 0);
    return s;
}

void tr_store_use_shard(tr_store *s, int shard)
{
    assert(shard >= 0 && shard < (s->cfg->shards > 1 ? s->cfg->shards : 1));
    if (s->shard == shard)
        return;
    s->shard = shard;
    for (int k = 0; k < K_COUNT; k++) {
        int rc = tr_config_shard_key(s->cfg, shard, key_suffix[k], s->key[k], sizeof s->key[k]);
        /* cannot fail: --key is at most TR_CONFIG_STR_MAX - 1 bytes, KEY_MAX has room */
        assert(rc == 0);
        (void)rc;
    }
}

int tr_store_shard_key(const tr_store *s, const char *suffix, char *buf, size_t len)
{
    return tr_config_shard_key(s->cfg, s->shard, suffix, buf, len);
}

int tr_store_refused(const tr_store *store)
{
    return store->refused;
}

/* Refuses to serve: Redis holds another deployment's shard count. -1. */
static int shards_refused(tr_store *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int shards_refused(tr_store *s, const char *fmt, ...)
{
    char why[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    tr_store_set_error(s, TR_RET_INTERNAL, "--shards %d refused: %s", s->cfg->shards, why);
    s->refused = 1;
    tr_store_disconnect(s);
    return -1;
}

/* A reply read as a whole number: 0, or -1 when it is not one. */
static int reply_number(const redisReply *r, long long *v)
{
    if (r->type == REDIS_REPLY_INTEGER) {
        *v = r->integer;
        return 0;
    }
    if (r->type != REDIS_REPLY_STRING || r->len == 0 || r->len > 20)
        return -1;
    char buf[24], *end = NULL;
    memcpy(buf, r->str, r->len);
    buf[r->len] = '\0';
    *v = strtoll(buf, &end, 10);
    return *end == '\0' ? 0 : -1;
}

/* The shard count is fixed per deployment: {P}:shards holds it (written by the
 * first process with --shards > 1; absent means 1, today's layout). A process with
 * another count would read and write keys nobody else does, so it refuses to serve.
 * A count > 1 also refuses while unsharded data ({P}:stats) is there without a
 * count: that data would be invisible to it. 0, or -1 with the error set. */
static int check_shards(tr_store *s)
{
    char key[KEY_MAX], stats[KEY_MAX];
    if (tr_config_redis_key(s->cfg, "shards", key, sizeof key) != 0 ||
        tr_config_redis_key(s->cfg, "stats", stats, sizeof stats) != 0)
        return shards_refused(s, "--key too long");
    for (int round = 0; round < 2; round++) {
        const char *get[] = {"GET", key};
        redisReply *r = tr_store_command(s, key, 2, get, 1);
        if (r == NULL)
            return -1;
        if (r->type == REDIS_REPLY_ERROR) {
            /* Loading, an ACL: not an answer; connect again later. */
            tr_store_reply_failed(s, "GET shards", r);
            freeReplyObject(r);
            tr_store_disconnect(s);
            return -1;
        }
        long long held = 0;
        int have = r->type != REDIS_REPLY_NIL;
        int bad = have && reply_number(r, &held) != 0;
        freeReplyObject(r);
        if (bad)
            return shards_refused(s, "the shard count in Redis ({KEY}:shards) is not a number");
        if (have && held != s->cfg->shards)
            return shards_refused(s, "Redis holds this deployment's data in %lld shards "
                                     "({KEY}:shards); start every process with that --shards",
                                  held);
        if (have || s->cfg->shards <= 1)
            return 0; /* one shard writes nothing: today's data stays exactly as it is */
        if (round == 1)
            break;
        const char *exists[] = {"EXISTS", stats};
        r = tr_store_command(s, stats, 2, exists, 1);
        if (r == NULL)
            return -1;
        long long unsharded = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
        freeReplyObject(r);
        if (unsharded != 0)
            return shards_refused(s, "Redis holds unsharded data (--shards 1) under --key "
                                     "(EXISTS {KEY}:stats answered %lld); start with --shards 1",
                                  unsharded);
        /* Two first processes may race: the loser reads the winner's count. */
        char count[16];
        snprintf(count, sizeof count, "%d", s->cfg->shards);
        const char *set[] = {"SET", key, count, "NX"};
        r = tr_store_command(s, key, 4, set, 1); /* NX: harmless to repeat */
        if (r == NULL)
            return -1;
        freeReplyObject(r);
    }
    return shards_refused(s, "the shard count could not be stored in Redis");
}

void tr_store_free(tr_store *store)
{
    if (store == NULL)
        return;
    tr_store_disconnect(store);
    tr_store_cl_free(store);
    (void)tr_store_set_cutoff(store, 0); /* frees it */
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
        const char *argv[] = {"SCRIPT", "LOAD", script_text(s, i)};
        if (redisAppendCommandArgv(s->ctx, 3, argv, NULL) != REDIS_OK) {
            tr_store_io_failed(s, "SCRIPT LOAD");
            return -1;
        }
    }
    int rc = 0;
    for (int i = 0; i < S_COUNT; i++) {
        redisReply *r = tr_store_read_reply(s, "SCRIPT LOAD");
        if (r == NULL)
            return -1;
        if (r->type == REDIS_REPLY_STRING && r->len == 40) {
            memcpy(s->sha[i], r->str, 41);
        } else if (rc == 0) {
            tr_store_unexpected(s, scripts[i].name, r);
            rc = -1;
        }
        freeReplyObject(r);
    }
    if (rc != 0)
        tr_store_disconnect(s); /* scripts missing: start over next time */
    return rc;
}

redisReply *tr_store_command(tr_store *s, const char *route, int argc, const char **argv,
                             int idempotent)
{
    if (tr_store_on_cluster(s))
        return tr_store_cl_command(s, route, argc, argv, idempotent != 0);
    redisReply *r = redisCommandArgv(s->ctx, argc, argv, NULL);
    if (r == NULL)
        tr_store_io_failed(s, argv[0]);
    return r;
}

/* A script's SHA1, as Redis names it (lower-case hex): on a cluster the client
 * loads the scripts per node on NOSCRIPT, so the hash is all the store needs. */
static int script_sha(tr_store *s, int which)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    const char *src = script_text(s, which);
    if (EVP_Digest(src, strlen(src), md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20) {
        tr_store_set_error(s, TR_RET_INTERNAL, "SHA1 of %s failed", scripts[which].name);
        return -1;
    }
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(s->sha[which] + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* The cluster variant of the scripts SPUBLISHes (Redis 7.0+). On an older Redis a
 * script would fail at its announcement, after its writes (Redis does not roll a
 * script back), so a cluster that lacks the command is refused before any script
 * runs: `COMMAND INFO SPUBLISH` answers [nil] there. Asked of the master of
 * {P}:shards, once per process. 0, or -1 with the error set. */
static int check_spublish(tr_store *s)
{
    char key[KEY_MAX];
    if (tr_config_redis_key(s->cfg, "shards", key, sizeof key) != 0) {
        tr_store_set_error(s, TR_RET_INTERNAL, "--key too long");
        return -1;
    }
    const char *argv[] = {"COMMAND", "INFO", "SPUBLISH"};
    redisReply *r = tr_store_command(s, key, 3, argv, 1);
    if (r == NULL)
        return -1;
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR) {
        tr_store_reply_failed(s, "COMMAND INFO", r);
        rc = -1;
    } else if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 ||
               r->element[0]->type != REDIS_REPLY_ARRAY) {
        tr_store_set_error(s, TR_RET_STORE_DOWN,
                           "--cluster needs Redis 7.0 or later on every node (the scripts "
                           "announce wake-ups with SPUBLISH, which this cluster does not know)");
        rc = -1;
    }
    freeReplyObject(r);
    return rc;
}

/* tr_store_connect on a cluster: the client (slot map) once, then the shard count
 * check, the SPUBLISH check and the scripts' hashes once per process. */
static int connect_cluster(tr_store *s)
{
    if (s->refused) {
        tr_store_set_error(s, TR_RET_INTERNAL, "redis holds another --shards: not serving");
        return -1;
    }
    if (tr_store_cl_connect(s) != 0)
        return -1;
    if (s->have_sha)
        return 0;
    if (check_shards(s) != 0 || check_spublish(s) != 0)
        return -1;
    for (int i = 0; i < S_COUNT; i++)
        if (script_sha(s, i) != 0)
            return -1;
    s->have_sha = 1;
    return 0;
}

int tr_store_connect(tr_store *store)
{
    if (store->fa.active || store->ca.active) {
        /* Another command now would read the owed answers as its own. */
        tr_store_set_error(store, TR_RET_INTERNAL, "a finish is outstanding: read its answers first");
        return -1;
    }
    if (tr_store_on_cluster(store))
        return connect_cluster(store);
    if (store->ctx != NULL && tr_redis_is_stale(store->ctx)) {
        tr_log_debug("store: connection closed by redis, reconnecting");
        tr_store_disconnect(store);
    }
    if (store->ctx != NULL)
        return 0;
    tr_ret code = TR_RET_INTERNAL;
    if (store->refused) {
        /* Kept until the process restarts: the check is not worth repeating. */
        tr_store_set_error(store, TR_RET_INTERNAL, "redis holds another --shards: not serving");
        return -1;
    }
    store->ctx = tr_redis_connect(store->cfg, &code, store->err, sizeof store->err);
    if (store->ctx == NULL) {
        store->err_code = code;
        tr_log_debug("store: %s", store->err);
        return -1;
    }
    if (check_shards(store) != 0)
        return -1;
    return tr_store_load_scripts(store);
}

/* ---- The EVALSHA argv builder ---- */

void tr_store_args_init(call_args *a, int which)
{
    assert(which >= 0 && which < S_COUNT);
    a->which = which;
    a->argc = 3; /* EVALSHA sha numkeys, filled by args_finish() */
    a->cap = ARGV_SMALL;
    a->argv = a->argv_small;
    a->len = a->len_small;
    a->num = a->num_small;
    a->nnum = 0;
    a->numcap = NUM_SMALL;
    snprintf(a->nkeys, sizeof a->nkeys, "0");
}

/* Room for nargs keys and arguments, nnums of them numbers. 0, or -1 with the
 * error set (out of memory; nothing to free). */
int tr_store_args_init_n(tr_store *s, call_args *a, int which, size_t nargs, size_t nnums)
{
    tr_store_args_init(a, which);
    if (3 + nargs <= ARGV_SMALL && nnums <= NUM_SMALL)
        return 0;
    a->cap = 3 + nargs;
    a->numcap = nnums;
    a->argv = malloc(a->cap * sizeof *a->argv);
    a->len = malloc(a->cap * sizeof *a->len);
    a->num = malloc((nnums ? nnums : 1) * sizeof *a->num);
    if (a->argv == NULL || a->len == NULL || a->num == NULL) {
        tr_store_args_free(a);
        tr_store_set_error(s, TR_RET_INTERNAL, "%s: out of memory", scripts[which].name);
        return -1;
    }
    return 0;
}

void tr_store_args_free(call_args *a)
{
    if (a->argv != a->argv_small)
        free(a->argv);
    if (a->len != a->len_small)
        free(a->len);
    if (a->num != a->num_small)
        free(a->num);
    a->argv = a->argv_small;
    a->len = a->len_small;
    a->num = a->num_small;
    a->cap = ARGV_SMALL;
    a->numcap = NUM_SMALL;
}

void tr_store_arg_bin(call_args *a, const char *str, size_t len)
{
    assert(a->argc < a->cap);
    a->argv[a->argc] = str;
    a->len[a->argc++] = len;
}

void tr_store_arg_str(call_args *a, const char *str)
{
    tr_store_arg_bin(a, str, strlen(str));
}

void tr_store_arg_i64(call_args *a, int64_t v)
{
    assert(a->nnum < a->numcap);
    char *buf = a->num[a->nnum++];
    int n = snprintf(buf, sizeof a->num[0], "%" PRId64, v);
    tr_store_arg_bin(a, buf, (size_t)n);
}

/* Appends the keys, in the order the script's header lists them (first, before
 * any argument). */
void tr_store_arg_set_nkeys(call_args *a, size_t nkeys)
{
    assert(nkeys <= a->argc - 3);
    snprintf(a->nkeys, sizeof a->nkeys, "%zu", nkeys);
}

void tr_store_arg_keys(call_args *a, const tr_store *s, int nkeys, const int *keys)
{
    assert(a->argc == 3);
    snprintf(a->nkeys, sizeof a->nkeys, "%d", nkeys);
    for (int i = 0; i < nkeys; i++) {
        assert(keys[i] >= 0 && keys[i] < K_COUNT);
        tr_store_arg_str(a, s->key[keys[i]]);
    }
}

/* Slots 0..2: EVALSHA, the script's sha (valid for the current connection), numkeys. */
static void args_finish(call_args *a, const tr_store *s)
{
    a->argv[0] = "EVALSHA";
    a->len[0] = 7;
    a->argv[1] = s->sha[a->which];
    a->len[1] = 40;
    a->argv[2] = a->nkeys;
    a->len[2] = strlen(a->nkeys);
}

int tr_store_read_only(int which)
{
    return which == S_GET || which == S_LIST || which == S_STATS;
}

redisReply *tr_store_run_script(tr_store *s, call_args *a)
{
    const char *name = scripts[a->which].name;
    /* On a cluster a call run alone first takes the answers owed on the masters'
     * connections (blocking) and leaves the calls queued as they are, so a finish
     * owed there does not stop it: the cut-off's recoveries go before a claim
     * queued behind a finish. */
    if (tr_store_on_cluster(s) ? connect_cluster(s) != 0 : tr_store_connect(s) != 0)
        return NULL;
    if (tr_store_on_cluster(s)) {
        /* NOSCRIPT, MOVED and ASK are the client's (per node). */
        args_finish(a, s);
        redisReply *r = tr_store_cl_script(s, a);
        if (r != NULL && r->type == REDIS_REPLY_ERROR) {
            tr_store_reply_failed(s, name, r);
            freeReplyObject(r);
            return NULL;
        }
        return r;
    }
    for (int tries = 0; tries < 2; tries++) {
        /* Written whole first: a failure before that point changed nothing (Redis
         * runs no half-received command); one after it may have been applied. */
        if (tr_store_append_script(s, a, name) != 0 || tr_store_write_out(s, name) != 0)
            return NULL;
        redisReply *r = tr_store_read_reply(s, name);
        if (r == NULL) {
            if (!tr_store_read_only(a->which)) {
                char why[sizeof s->err];
                snprintf(why, sizeof why, "%s", s->err);
                tr_store_set_error(s, TR_RET_OUTCOME_UNKNOWN,
                                   "redis %s: no answer after the request was sent (%s): it "
                                   "may have been applied",
                                   name, why);
            }
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

int tr_store_append_script(tr_store *s, call_args *a, const char *what)
{
    args_finish(a, s);
    if (tr_store_on_cluster(s))
        return tr_store_cl_queue(s, a); /* run when its answer is read */
    assert(s->ctx != NULL);
    if (redisAppendCommandArgv(s->ctx, (int)a->argc, a->argv, a->len) != REDIS_OK) {
        tr_store_io_failed(s, what);
        return -1;
    }
    return 0;
}

int tr_store_write_out(tr_store *s, const char *what)
{
    if (tr_store_on_cluster(s)) {
        tr_store_cl_start(s); /* every call queued, one pipeline per master */
        return 0;
    }
    int done = 0;
    while (!done) {
        if (redisBufferWrite(s->ctx, &done) != REDIS_OK) {
            tr_store_io_failed(s, what);
            return -1;
        }
    }
    return 0;
}

tr_store_recv_result tr_store_take_reply(tr_store *s, tr_store_recv_mode mode, int *did_read,
                                         void **reply)
{
    *reply = NULL;
    if (tr_store_on_cluster(s)) {
        /* Answers on several masters' sockets: POLL's one read(2) per master, once
         * per _recv; the later takes of that _recv only what it brought. */
        if (mode == TR_STORE_RECV_POLL && *did_read)
            mode = TR_STORE_RECV_BUFFERED;
        else if (mode == TR_STORE_RECV_POLL)
            *did_read = 1;
        redisReply *r = NULL;
        tr_store_recv_result got = tr_store_cl_take(s, mode, &r);
        *reply = r;
        return got;
    }
    if (mode == TR_STORE_RECV_BLOCK)
        return redisGetReply(s->ctx, reply) == REDIS_OK && *reply != NULL ? TR_STORE_RECV_DONE
                                                                          : TR_STORE_RECV_FAILED;
    /* At most one read(2) (none when BUFFERED), made when poll said readable:
     * never blocks. */
    for (;;) {
        if (redisGetReplyFromReader(s->ctx, reply) != REDIS_OK)
            return TR_STORE_RECV_FAILED;
        if (*reply != NULL)
            return TR_STORE_RECV_DONE;
        if (mode == TR_STORE_RECV_BUFFERED || *did_read)
            return TR_STORE_RECV_OWED;
        *did_read = 1;
        if (redisBufferRead(s->ctx) != REDIS_OK)
            return TR_STORE_RECV_FAILED;
    }
}

redisReply *tr_store_read_reply(tr_store *s, const char *what)
{
    void *v = NULL;
    int did_read = 0;
    if (tr_store_take_reply(s, TR_STORE_RECV_BLOCK, &did_read, &v) != TR_STORE_RECV_DONE) {
        tr_store_io_failed(s, what);
        return NULL;
    }
    return v;
}

/* ---- The calls both sides make ---- */

tr_store_add_result tr_store_add(tr_store *store, const char *id, const char *record,
                                 size_t record_len, int64_t delay_ms, int64_t *due_ms)
{
    if (store->group != NULL) {
        /* Grouped: the create script, with other threads' creates. */
        tr_create c = {id, record, record_len, delay_ms < 0 ? 0 : delay_ms, -1};
        tr_create_result result;
        int64_t now;
        if (tr_store_create(store, &c, 1, &result, due_ms, &now) != 0)
            return TR_STORE_ADD_FAILED;
        return result == TR_CREATE_NEW ? TR_STORE_ADD_NEW : TR_STORE_ADD_EXISTS;
    }
    static const int keys[] = {K_TIMERS, K_DUE, K_STATS};
    tr_store_use_shard(store, tr_shard_of(store->cfg, id));
    call_args a;
    tr_store_args_init(&a, S_ADD);
    tr_store_arg_keys(&a, store, 3, keys);
    tr_store_arg_str(&a, id);
    tr_store_arg_bin(&a, record, record_len);
    tr_store_arg_i64(&a, delay_ms < 0 ? 0 : delay_ms);
    tr_store_arg_str(&a, store->key[K_WAKE]);
    redisReply *r = tr_store_run_script(store, &a);
    if (r == NULL)
        return TR_STORE_ADD_FAILED;
    tr_store_add_result rc;
    if (!tr_store_reply_shape(r, "ii")) {
        rc = TR_STORE_ADD_FAILED;
        tr_store_bad_reply(store, "add", r);
    } else {
        rc = r->element[0]->integer == 0 ? TR_STORE_ADD_NEW : TR_STORE_ADD_EXISTS;
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
