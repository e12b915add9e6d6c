#include "tr_store_sched.h"
#include "tr_store_int.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The name of the key that revokes `token`: "{P}:revoked:<token>". */
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
    snprintf(k->name, sizeof k->name, "{%s}:revoked:%s", s->cfg->key, token);
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

int tr_store_claim(tr_store *store, size_t limit, int64_t lease_ms, const char *token,
                   tr_claim_batch *out)
{
    memset(out, 0, sizeof *out);
    out->next_ms = -1;
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
    call_args a;
    revoked_key rk;
    if (claim_args(store, limit, lease_ms, token, &rk, &a) != 0 ||
        tr_store_append_script(store, &a, "claim") != 0 ||
        tr_store_write_out(store, "claim") != 0)
        return -1;
    store->ca = (claim_async){.active = 1, .limit = limit, .lease_ms = lease_ms};
    snprintf(store->ca.token, sizeof store->ca.token, "%s", token); /* checked above */
    return 0;
}

int tr_store_claim_outstanding(const tr_store *store)
{
    return store->ca.active;
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
    assert(store->ctx != NULL); /* a lost connection clears ca */
    void *v = NULL;
    int did_read = 0;
    tr_store_recv_result got = tr_store_take_reply(store, mode, &did_read, &v);
    if (got == TR_STORE_RECV_OWED)
        return got;
    if (got == TR_STORE_RECV_FAILED) {
        tr_store_io_failed(store, "claim");
        return TR_STORE_RECV_FAILED;
    }
    claim_async sent = store->ca;
    memset(&store->ca, 0, sizeof store->ca);
    redisReply *r = v;
    if (tr_store_is_noscript(r)) {
        /* tr_store_run_script reloads the scripts and claims again (blocking, rare). */
        freeReplyObject(r);
        return tr_store_claim(store, sent.limit, sent.lease_ms, sent.token, out) == 0
                   ? TR_STORE_RECV_DONE
                   : TR_STORE_RECV_FAILED;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        tr_store_reply_failed(store, "claim", r);
        freeReplyObject(r);
        return TR_STORE_RECV_FAILED;
    }
    int rc = parse_claim(store, r, out);
    freeReplyObject(r);
    return rc == 0 ? TR_STORE_RECV_DONE : TR_STORE_RECV_FAILED;
}

/* Runs recover.lua: `mode` "tokens" (args = the tokens, each revoked) or "prefix"
 * (args = prefix, keep). */
static int recover(tr_store *store, const char *mode, const char *const *args, size_t n,
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

int tr_store_migrate(tr_store *store, size_t count, int64_t *moved, int64_t *left)
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

int tr_store_listpack_value(tr_store *store, int64_t *value)
{
    if (tr_store_connect(store) != 0)
        return -1;
    redisReply *r = redisCommand(store->ctx, "CONFIG GET hash-max-listpack-value");
    if (r == NULL) {
        tr_store_io_failed(store, "CONFIG GET");
        return -1;
    }
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
    return store->ctx != NULL ? store->ctx->fd : -1;
}

int tr_store_observe(tr_store *store, const char *name,
                     const uint64_t counts[TR_HIST_BUCKETS + 1], int64_t sum_ms,
                     uint64_t count)
{
    char key[KEY_MAX + 16];
    int kn = snprintf(key, sizeof key, "{%s}:hist:%s", store->cfg->key, name);
    if (kn < 0 || (size_t)kn >= sizeof key) {
        tr_store_set_error(store, TR_RET_INTERNAL, "observe: name too long");
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
            tr_store_io_failed(store, "observe");
            return -1;
        }
        sent++;
    }
    int rc = 0;
    for (int i = 0; i < sent; i++) {
        redisReply *r = tr_store_read_reply(store, "observe");
        if (r == NULL)
            return -1;
        if (r->type != REDIS_REPLY_INTEGER && rc == 0) {
            tr_store_unexpected(store, "observe", r);
            rc = -1;
        }
        freeReplyObject(r);
    }
    return rc;
}
