#include "tr_store_sched.h"
#include "tr_store_int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_log.h"
#include "tr_mem.h"

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
        !tr_store_elems_shape(r->element, "iii"))
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
        if (!tr_store_elems_shape(e, "siisS"))
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

/* The name of the key that revokes `token` in the current shard: "{P}:revoked:<token>"
 * ("{P:i}:revoked:<token>"). */
typedef struct revoked_key {
    char name[KEY_MAX + TR_CLAIM_TOKEN_MAX + 16];
} revoked_key;

/* Fills *k. 0, or -1 with the error set (no token, or one too long). */
static int revoked_name(tr_store *s, const char *token, revoked_key *k)
{
    if (token == NULL || token[0] == '\0' || strlen(token) >= TR_CLAIM_TOKEN_MAX) {
        tr_store_set_error(s, TR_RET_INTERNAL, "claim token missing or too long");
        return -1;
    }
    char suffix[TR_CLAIM_TOKEN_MAX + 16];
    snprintf(suffix, sizeof suffix, "revoked:%s", token);
    if (tr_store_shard_key(s, suffix, k->name, sizeof k->name) != 0) {
        tr_store_set_error(s, TR_RET_INTERNAL, "claim token too long");
        return -1;
    }
    return 0;
}

/* The claim call; `rk` (the token's revoked key) must live as long as `a`. */
static int claim_args(tr_store *store, size_t limit, int64_t lease_ms, const char *token,
                      revoked_key *rk, call_args *a)
{
    static const int keys[] = {K_DUE,  K_INFLIGHT, K_TIMERS, K_ATTEMPTS,
                               K_META, K_STATS,    K_PAUSED, K_OWNER};
    if (revoked_name(store, token, rk) != 0)
        return -1;
    tr_store_args_init(a, S_CLAIM);
    tr_store_arg_keys(a, store, 8, keys);
    tr_store_arg_str(a, rk->name);
    tr_store_arg_set_nkeys(a, 9);
    tr_store_arg_i64(a, (int64_t)(limit > TR_STORE_CLAIM_MAX ? TR_STORE_CLAIM_MAX : limit));
    tr_store_arg_i64(a, lease_ms < 1 ? 1 : lease_ms);
    tr_store_arg_i64(a, TR_STORE_REAP_LIMIT);
    tr_store_arg_str(a, store->key[K_WAKE]);
    tr_store_arg_str(a, token);
    return 0;
}

static int shard_count(const tr_store *s)
{
    return s->cfg->shards > 1 ? s->cfg->shards : 1;
}

/* Call k of a claim of `limit` over S shards asks for this many: the limit split
 * evenly, the remainder to the first calls (call 0's shard rotates per claim), so
 * a claim never takes more than its limit. Every shard is asked, with 0 when the
 * limit is below S: it still reaps and tells its earliest due time. */
static size_t claim_quota(size_t limit, int nshards, int k)
{
    size_t S = (size_t)nshards;
    return limit / S + ((size_t)k < limit % S ? 1 : 0);
}

/* Moves part's items behind acc's and merges the rest (latest now, earliest next,
 * paused when any shard is); part is cleared. 0, or -1 when out of memory (part
 * cleared; its timers return after their lease). */
static int batch_merge(tr_store *s, tr_claim_batch *acc, tr_claim_batch *part)
{
    if (part->now_ms > acc->now_ms)
        acc->now_ms = part->now_ms;
    if (part->next_ms >= 0 && (acc->next_ms < 0 || part->next_ms < acc->next_ms))
        acc->next_ms = part->next_ms;
    acc->paused |= part->paused;
    if (part->count == 0) {
        tr_claim_batch_clear(part);
        return 0;
    }
    if (acc->count == 0) {
        acc->items = part->items;
        acc->count = part->count;
        part->items = NULL;
        part->count = 0;
        return 0;
    }
    tr_claimed *items = realloc(acc->items, (acc->count + part->count) * sizeof *items);
    if (items == NULL) {
        tr_claim_batch_clear(part);
        tr_store_set_error(s, TR_RET_INTERNAL, "claim: out of memory");
        return -1;
    }
    memcpy(items + acc->count, part->items, part->count * sizeof *items);
    acc->items = items;
    acc->count += part->count;
    free(part->items); /* the strings moved to acc */
    part->items = NULL;
    part->count = 0;
    return 0;
}

/* Claims on the current shard, blocking (after NOSCRIPT: run_script reloads). */
static int claim_blocking(tr_store *store, size_t limit, int64_t lease_ms, const char *token,
                          tr_claim_batch *out)
{
    call_args a;
    revoked_key rk;
    if (claim_args(store, limit, lease_ms, token, &rk, &a) != 0)
        return -1;
    redisReply *r = tr_store_run_script(store, &a);
    if (r == NULL)
        return -1;
    int rc = parse_claim(store, r, out);
    freeReplyObject(r);
    return rc;
}

int tr_store_claim(tr_store *store, size_t limit, int64_t lease_ms, const char *token,
                   tr_claim_batch *out)
{
    memset(out, 0, sizeof *out);
    out->next_ms = -1;
    if (store->fa.active || store->ca.active) {
        tr_store_set_error(store, TR_RET_INTERNAL, "claim: answers are owed");
        return -1;
    }
    /* Every shard's call in one pipeline: one round trip whatever S is. */
    if (tr_store_claim_send(store, limit, lease_ms, token) != 0)
        return -1;
    return tr_store_claim_recv(store, out, TR_STORE_RECV_BLOCK) == TR_STORE_RECV_DONE ? 0 : -1;
}

static int recover_shard(tr_store *store, const char *mode, const char *const *args, size_t n,
                         int64_t revoke_ms, int64_t *released);

/* Cut-off: gives back what the claims owed a recovery hold, on each shard whose
 * master answers (given up ones wait; a failure gives its master up and waits). */
static void recover_owed(tr_store *store)
{
    if (!tr_store_cut_any_owed(store))
        return;
    for (int i = 0; i < shard_count(store); i++) {
        const char *list[64];
        size_t n = tr_store_cut_owed(store, i, list, sizeof list / sizeof list[0]);
        if (n == 0)
            continue;
        tr_store_cut_node node;
        tr_store_use_shard(store, i);
        if (tr_store_cut_check(store, store->key[K_INFLIGHT], strlen(store->key[K_INFLIGHT]),
                               &node) == TR_STORE_CUT_SKIP)
            continue;
        int64_t got = 0;
        if (recover_shard(store, "tokens", list, n, tr_store_cut_revoke_ms(store), &got) != 0)
            continue;
        tr_log_info("shard %d: recovered %lld timers held by %zu claims whose answers were "
                    "lost there (revoked; due again now)", i, (long long)got, n);
        tr_store_cut_paid(store, i, n);
    }
}

int tr_store_claim_send(tr_store *store, size_t limit, int64_t lease_ms, const char *token)
{
    if (store->ca.active) {
        tr_store_set_error(store, TR_RET_INTERNAL, "claim: one is outstanding already");
        return -1;
    }
    /* Behind an owed finish the connection is up (its answers come first);
     * otherwise connect (which refuses while answers are owed). */
    if (!store->fa.active && tr_store_connect(store) != 0)
        return -1;
    if (tr_store_cut_on(store)) {
        tr_store_cut_sweep(store);
        recover_owed(store);
    }
    int S = shard_count(store);
    int ncalls = S;
    int first = store->claim_next % S;
    store->claim_next = (first + 1) % S;
    for (int k = 0; k < ncalls; k++) {
        call_args a;
        revoked_key rk;
        tr_store_use_shard(store, (first + k) % S);
        if (claim_args(store, claim_quota(limit, S, k), lease_ms, token, &rk, &a) != 0 ||
            tr_store_append_script(store, &a, "claim") != 0) {
            /* Calls already in the output buffer would be answered out of step. */
            if (k > 0 && tr_store_connected(store))
                tr_store_disconnect(store);
            return -1;
        }
    }
    if (tr_store_write_out(store, "claim") != 0)
        return -1;
    store->ca = (claim_async){.active = 1, .limit = limit, .lease_ms = lease_ms,
                              .first = first, .ncalls = ncalls};
    store->ca.acc.next_ms = -1;
    snprintf(store->ca.token, sizeof store->ca.token, "%s", token); /* checked above */
    return 0;
}

int tr_store_claim_outstanding(const tr_store *store)
{
    return store->ca.active;
}

/* Takes the answer to call k of the owed claim into ca.acc. Frees r. */
static void claim_answer(tr_store *store, int k, redisReply *r)
{
    claim_async *ca = &store->ca;
    int S = shard_count(store);
    size_t quota = claim_quota(ca->limit, S, k);
    tr_claim_batch part = {.next_ms = -1};
    int rc;
    if (tr_store_is_noscript(r)) {
        /* Rare (a Redis restart): this call is made again, blocking, once every
         * answer is read and the connection is free. */
        freeReplyObject(r);
        ca->noscript[k / 8] |= (unsigned char)(1u << (k % 8));
        ca->failed |= 2;
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        tr_store_reply_failed(store, "claim", r);
        rc = -1;
    } else {
        rc = parse_claim(store, r, &part);
    }
    freeReplyObject(r);
    /* More may be due than this claim took: a shard filled its part, or one asked
     * for none has due timers. */
    if (rc == 0 && S > 1 &&
        (quota > 0 ? part.count >= quota
                   : part.next_ms >= 0 && part.next_ms <= part.now_ms && !part.paused))
        ca->more = 1;
    if (rc != 0 || batch_merge(store, &ca->acc, &part) != 0) {
        tr_claim_batch_clear(&part);
        ca->failed |= 1;
    }
}

/* Cut-off: call k of the owed claim failed or was skipped (the store's error says
 * which). A call that may have run holds its timers under the token on that shard
 * until it is recovered there. */
static void claim_cut(tr_store *store, int k)
{
    claim_async *ca = &store->ca;
    int shard = (ca->first + k) % shard_count(store);
    if (store->err_code != TR_RET_STORE_DOWN) /* STORE_DOWN: never run */
        tr_store_cut_owe(store, shard, ca->token);
    ca->skipped++;
    tr_log_debug("claim: shard %d skipped: %s", shard, store->err);
}

tr_store_recv_result tr_store_claim_recv(tr_store *store, tr_claim_batch *out,
                                         tr_store_recv_mode mode)
{
    memset(out, 0, sizeof *out);
    out->next_ms = -1;
    if (!store->ca.active) {
        tr_store_set_error(store, TR_RET_INTERNAL, "claim: none outstanding");
        return TR_STORE_RECV_FAILED;
    }
    if (store->fa.active)
        return TR_STORE_RECV_OWED; /* the finish sent before it is answered first */
    assert(tr_store_connected(store)); /* a lost connection clears ca */
    int did_read = 0;
    while (store->ca.answered < store->ca.ncalls) {
        void *v = NULL;
        tr_store_recv_result got = tr_store_take_reply(store, mode, &did_read, &v);
        if (got == TR_STORE_RECV_OWED)
            return got;
        if (got == TR_STORE_RECV_FAILED && tr_store_cut_on(store)) {
            claim_cut(store, store->ca.answered++); /* the other shards go on */
            continue;
        }
        if (got == TR_STORE_RECV_FAILED) {
            tr_store_io_failed(store, "claim"); /* clears ca and what it holds */
            return TR_STORE_RECV_FAILED;
        }
        claim_answer(store, store->ca.answered++, v);
    }
    claim_async sent = store->ca;
    memset(&store->ca, 0, sizeof store->ca);
    if (sent.skipped > 0 && sent.skipped == sent.ncalls) {
        /* No shard answered: as a lost claim on one Redis (the error is the last's). */
        tr_claim_batch_clear(&sent.acc);
        return TR_STORE_RECV_FAILED;
    }
    if (sent.skipped > 0) {
        /* The skipped shards' timers may be due: claim again when their master is
         * tried again (Redis's clock, from this claim's). */
        int64_t retry = tr_store_cutoff_retry_ms(store);
        int64_t at = sent.acc.now_ms + (retry < 0 ? 0 : retry);
        if (sent.acc.next_ms < 0 || at < sent.acc.next_ms)
            sent.acc.next_ms = at;
    }
    if (sent.failed & 2) {
        /* NOSCRIPT: the scripts are loaded again and the shards that said so
         * claimed again, blocking, with their quota (a claim that did not run). */
        tr_log_debug("store: NOSCRIPT in claim, reloading");
        int S = shard_count(store);
        if (!(sent.failed & 1) && tr_store_load_scripts(store) != 0)
            sent.failed |= 1;
        for (int k = 0; k < sent.ncalls && !(sent.failed & 1); k++) {
            if (!(sent.noscript[k / 8] & (1u << (k % 8))))
                continue;
            tr_store_use_shard(store, (sent.first + k) % S);
            tr_claim_batch part = {.next_ms = -1};
            if (claim_blocking(store, claim_quota(sent.limit, S, k), sent.lease_ms, sent.token,
                               &part) != 0 ||
                batch_merge(store, &sent.acc, &part) != 0) {
                tr_claim_batch_clear(&part);
                sent.failed |= 1;
            }
        }
    }
    if (sent.failed & 1) {
        /* What the other shards claimed is in flight under the token: the caller
         * recovers the token (tr_store_recover_tokens) and gets them back. */
        tr_claim_batch_clear(&sent.acc);
        return TR_STORE_RECV_FAILED;
    }
    *out = sent.acc;
    out->more = sent.more;
    return TR_STORE_RECV_DONE;
}

/* Runs recover.lua on the current shard: `mode` "tokens" (args = the tokens, each
 * revoked) or "prefix" (args = prefix, keep). */
static int recover_shard(tr_store *store, const char *mode, const char *const *args, size_t n,
                   int64_t revoke_ms, int64_t *released)
{
    static const int keys[] = {K_INFLIGHT, K_DUE, K_ATTEMPTS, K_STATS, K_OWNER};
    int tokens = strcmp(mode, "tokens") == 0;
    size_t nkeys = 5 + (tokens ? n : 0);
    *released = 0;
    revoked_key *rk = NULL;
    if (tokens && (rk = calloc(n ? n : 1, sizeof *rk)) == NULL) {
        tr_store_set_error(store, TR_RET_INTERNAL, "recover: out of memory");
        return -1;
    }
    for (size_t i = 0; tokens && i < n; i++) {
        if (revoked_name(store, args[i], &rk[i]) != 0) {
            free(rk);
            return -1;
        }
    }
    call_args a;
    if (tr_store_args_init_n(store, &a, S_RECOVER, nkeys + 3 + n, 1) != 0) {
        free(rk);
        return -1;
    }
    tr_store_arg_keys(&a, store, 5, keys);
    for (size_t i = 0; tokens && i < n; i++)
        tr_store_arg_str(&a, rk[i].name);
    tr_store_arg_set_nkeys(&a, nkeys);
    tr_store_arg_str(&a, mode);
    tr_store_arg_str(&a, store->key[K_WAKE]);
    tr_store_arg_i64(&a, revoke_ms < 1 ? 1 : revoke_ms);
    for (size_t i = 0; i < n; i++)
        tr_store_arg_str(&a, args[i]);
    redisReply *r = tr_store_run_script(store, &a);
    tr_store_args_free(&a);
    free(rk);
    if (r == NULL)
        return -1;
    int rc = 0;
    if (r->type != REDIS_REPLY_INTEGER)
        rc = tr_store_bad_reply(store, "recover", r);
    else
        *released = r->integer;
    freeReplyObject(r);
    return rc;
}

/* recover_shard on every shard (a claim token claims on all of them), the
 * releases added up. With the cut-off, shards whose master is given up or fails
 * are left out (a claim call that may have run there is owed its recovery already,
 * tr_store_cut_owe; tokens given here are owed on a shard that failed now; a prefix
 * there waits for its leases): -1 only when no shard answered. */
static int recover(tr_store *store, const char *mode, const char *const *args, size_t n,
                   int64_t revoke_ms, int64_t *released)
{
    int cut = tr_store_cut_on(store), answered = 0;
    *released = 0;
    for (int i = 0; i < shard_count(store); i++) {
        int64_t got = 0;
        tr_store_use_shard(store, i);
        if (recover_shard(store, mode, args, n, revoke_ms, &got) != 0) {
            if (!cut)
                return -1;
            if (store->err_code == TR_RET_OUTCOME_UNKNOWN && strcmp(mode, "tokens") == 0)
                for (size_t t = 0; t < n; t++)
                    tr_store_cut_owe(store, i, args[t]);
            continue;
        }
        answered++;
        *released += got;
    }
    return answered > 0 ? 0 : -1;
}

int tr_store_recover_tokens(tr_store *store, const char *const *tokens, size_t n,
                            int64_t revoke_ms, int64_t *released)
{
    return recover(store, "tokens", tokens, n, revoke_ms, released);
}

int tr_store_recover_prefix(tr_store *store, const char *prefix, const char *keep,
                            int64_t *released)
{
    const char *args[] = {prefix, keep};
    return recover(store, "prefix", args, 2, 1, released);
}

/* migrate.lua on the current shard. */
static int migrate_shard(tr_store *store, size_t count, int64_t *moved, int64_t *left)
{
    static const int keys[] = {K_TIMERS};
    *moved = 0;
    *left = 0;
    call_args a;
    tr_store_args_init(&a, S_MIGRATE);
    tr_store_arg_keys(&a, store, 1, keys);
    tr_store_arg_i64(&a, (int64_t)(count < 1 ? 1 : count));
    redisReply *r = tr_store_run_script(store, &a);
    if (r == NULL)
        return -1;
    int rc = 0;
    if (!tr_store_reply_shape(r, "ii")) {
        rc = tr_store_bad_reply(store, "migrate", r);
    } else {
        *moved = r->element[0]->integer;
        *left = r->element[1]->integer;
    }
    freeReplyObject(r);
    return rc;
}

int tr_store_migrate(tr_store *store, size_t count, int64_t *moved, int64_t *left)
{
    /* Only unsharded data predates the buckets; on more shards every call finds
     * nothing, but asking each keeps the rule simple. */
    *moved = 0;
    *left = 0;
    for (int i = 0; i < shard_count(store); i++) {
        int64_t m = 0, l = 0;
        tr_store_use_shard(store, i);
        if (migrate_shard(store, count, &m, &l) != 0)
            return -1;
        *moved += m;
        *left += l;
    }
    return 0;
}

int tr_store_listpack_value(tr_store *store, int64_t *value)
{
    if (tr_store_connect(store) != 0)
        return -1;
    /* On a cluster: the node of shard 0 (every node should have the same setting). */
    const char *argv[] = {"CONFIG", "GET", "hash-max-listpack-value"};
    tr_store_use_shard(store, 0);
    redisReply *r = tr_store_command(store, store->key[K_DUE], 3, argv, 1);
    if (r == NULL)
        return -1;
    int rc = -1;
    /* An error (CONFIG renamed away, ACL) or no such setting: nothing known. */
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[1]->type == REDIS_REPLY_STRING) {
        char buf[32];
        size_t n = r->element[1]->len < sizeof buf - 1 ? r->element[1]->len : sizeof buf - 1;
        memcpy(buf, r->element[1]->str, n);
        buf[n] = '\0';
        char *end = NULL;
        long long v = strtoll(buf, &end, 10);
        if (end != buf && *end == '\0') {
            *value = v;
            rc = 0;
        }
    }
    if (rc != 0)
        tr_store_set_error(store, TR_RET_INTERNAL, "CONFIG GET hash-max-listpack-value: no answer");
    freeReplyObject(r);
    return rc;
}

int tr_store_fd(const tr_store *store)
{
    return store->ctx != NULL ? store->ctx->fd : -1; /* -1 on a cluster: tr_store_fds */
}

size_t tr_store_fds(const tr_store *store, int *fds, size_t max)
{
    if (tr_store_on_cluster(store))
        return tr_store_cl_fds(store, fds, max);
    if (store->ctx == NULL)
        return 0;
    if (max > 0)
        fds[0] = store->ctx->fd;
    return 1;
}

int64_t tr_store_recv_in_ms(const tr_store *store)
{
    return tr_store_on_cluster(store) ? tr_store_cl_recv_in_ms(store) : -1;
}

int tr_store_observe(tr_store *store, const char *name,
                     const uint64_t counts[TR_HIST_BUCKETS + 1], int64_t sum_ms,
                     uint64_t count)
{
    char key[KEY_MAX + 16], suffix[64];
    /* Each write goes to the next shard in turn: the sum (tr_store_get_stats) is
     * the same, and no one shard's slot takes every write. */
    tr_store_use_shard(store, store->observe_next);
    store->observe_next = (store->observe_next + 1) % shard_count(store);
    for (int tries = 1; tr_store_cut_on(store) && tries < shard_count(store); tries++) {
        /* Not to a master given up for now (it would fail at once, or block). */
        tr_store_cut_node node;
        if (tr_store_cut_check(store, store->key[K_DUE], strlen(store->key[K_DUE]), &node) ==
            TR_STORE_CUT_CALL)
            break;
        tr_store_use_shard(store, store->observe_next);
        store->observe_next = (store->observe_next + 1) % shard_count(store);
    }
    int kn = snprintf(suffix, sizeof suffix, "hist:%s", name);
    if (kn < 0 || (size_t)kn >= sizeof suffix ||
        tr_store_shard_key(store, suffix, key, sizeof key) != 0) {
        tr_store_set_error(store, TR_RET_INTERNAL, "observe: name too long");
        return -1;
    }
    if (tr_store_connect(store) != 0)
        return -1;
    enum { NCMD = TR_HIST_BUCKETS + 3 };
    char field[NCMD][8], val[NCMD][24];
    const char *argv[NCMD * 4];
    size_t sent = 0;
    for (int i = 0; i < NCMD; i++) {
        uint64_t v;
        if (i <= TR_HIST_BUCKETS) {
            v = counts[i];
            snprintf(field[sent], sizeof field[sent], "b%d", i);
        } else if (i == TR_HIST_BUCKETS + 1) {
            v = (uint64_t)(sum_ms < 0 ? 0 : sum_ms);
            snprintf(field[sent], sizeof field[sent], "sum_ms");
        } else {
            v = count;
            snprintf(field[sent], sizeof field[sent], "count");
        }
        if (v == 0)
            continue;
        snprintf(val[sent], sizeof val[sent], "%" PRIu64, v);
        const char *cmd[] = {"HINCRBY", key, field[sent], val[sent]};
        memcpy(argv + 4 * sent, cmd, sizeof cmd);
        sent++;
    }
    redisReply *replies[NCMD] = {0};
    if (tr_store_on_cluster(store)) {
        if (sent > 0 && tr_store_cl_pipeline(store, key, sent, 4, argv, replies) != 0)
            return -1;
    } else {
        for (size_t i = 0; i < sent; i++)
            if (redisAppendCommandArgv(store->ctx, 4, argv + 4 * i, NULL) != REDIS_OK) {
                tr_store_io_failed(store, "observe");
                return -1;
            }
        for (size_t i = 0; i < sent; i++)
            if ((replies[i] = tr_store_read_reply(store, "observe")) == NULL) {
                for (size_t j = 0; j < i; j++)
                    freeReplyObject(replies[j]);
                return -1;
            }
    }
    int rc = 0;
    for (size_t i = 0; i < sent; i++) {
        if (replies[i]->type != REDIS_REPLY_INTEGER && rc == 0) {
            tr_store_unexpected(store, "observe", replies[i]);
            rc = -1;
        }
        freeReplyObject(replies[i]);
    }
    return rc;
}
