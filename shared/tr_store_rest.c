#include "tr_store_rest.h"
#include "tr_store_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_log.h"
#include "tr_mem.h"
#include "tr_shard.h"

const char *const tr_store_stats_names[TR_STATS_COUNT] = {
    "created", "delivered", "failed", "retried", "dead",    "cancelled",
    "chained", "fired",     "reaped", "released", "replayed", "held",   "stale",
    "chain_refused"};

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

/* One create script call for items[0..n), n <= TR_STORE_CREATE_CHUNK. */
static int create_chunk(tr_store *s, const tr_create *items, size_t n,
                        tr_create_result *results, int64_t *due_ms, int64_t *now_ms)
{
    static const int keys[] = {K_TIMERS, K_DUE, K_STATS};
    call_args a;
    if (tr_store_args_init_n(s, &a, S_CREATE, 3 + 1 + 4 * n, 2 * n) != 0)
        return -1;
    tr_store_arg_keys(&a, s, 3, keys);
    tr_store_arg_str(&a, s->key[K_WAKE]);
    for (size_t i = 0; i < n; i++) {
        const tr_create *it = &items[i];
        tr_store_arg_str(&a, it->id);
        tr_store_arg_bin(&a, it->record, it->record_len);
        tr_store_arg_i64(&a, it->delay_ms < 0 ? 0 : it->delay_ms);
        tr_store_arg_i64(&a, it->at_ms < 0 ? -1 : it->at_ms);
    }
    redisReply *r = tr_store_run_script(s, &a);
    tr_store_args_free(&a);
    if (r == NULL)
        return -1;
    int rc = -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 1 + 2 * n ||
        r->element[0]->type != REDIS_REPLY_INTEGER) {
        tr_store_bad_reply(s, "create", r);
        goto done;
    }
    *now_ms = r->element[0]->integer;
    for (size_t i = 0; i < n; i++) {
        const redisReply *c = r->element[1 + 2 * i], *d = r->element[2 + 2 * i];
        if (c->type != REDIS_REPLY_INTEGER || d->type != REDIS_REPLY_INTEGER || c->integer < 0 ||
            c->integer > 2) {
            tr_store_bad_reply(s, "create item", c);
            goto done;
        }
        results[i] = (tr_create_result)c->integer;
        due_ms[i] = d->integer;
    }
    rc = 0;
done:
    freeReplyObject(r);
    return rc;
}

/* create_chunk for items[0..n) on the current shard, in calls of at most
 * TR_STORE_CREATE_CHUNK; *now_ms the latest. */
static int create_on_shard(tr_store *s, const tr_create *items, size_t n,
                           tr_create_result *results, int64_t *due_ms, int64_t *now_ms)
{
    for (size_t off = 0; off < n; off += TR_STORE_CREATE_CHUNK) {
        size_t m = n - off < TR_STORE_CREATE_CHUNK ? n - off : TR_STORE_CREATE_CHUNK;
        int64_t now = 0;
        if (create_chunk(s, items + off, m, results + off, due_ms + off, &now) != 0)
            return -1;
        if (now > *now_ms)
            *now_ms = now;
    }
    return 0;
}

/* With --shards > 1: the items split by shard (a stable counting sort), each
 * shard's part created by its own calls (each call atomic on its shard), the
 * answers put back in the callers' order. */
static int create_sharded(tr_store *s, const tr_create *items, size_t n,
                          tr_create_result *results, int64_t *due_ms, int64_t *now_ms)
{
    int S = s->cfg->shards;
    size_t *start = calloc((size_t)S + 1, sizeof *start);
    size_t *pos = malloc(n * sizeof *pos);
    int *shard = malloc(n * sizeof *shard);
    tr_create *part = malloc(n * sizeof *part);
    tr_create_result *res = malloc(n * sizeof *res);
    int64_t *due = malloc(n * sizeof *due);
    int rc = -1;
    if (start == NULL || pos == NULL || shard == NULL || part == NULL || res == NULL ||
        due == NULL) {
        tr_store_set_error(s, TR_RET_INTERNAL, "create: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        shard[i] = tr_shard_of(s->cfg, items[i].id);
        start[shard[i] + 1]++;
    }
    for (int k = 0; k < S; k++)
        start[k + 1] += start[k];
    for (size_t i = 0; i < n; i++)
        pos[i] = start[shard[i]]++; /* start[k] ends as shard k's end */
    for (size_t i = 0; i < n; i++)
        part[pos[i]] = items[i];
    size_t from = 0;
    for (int k = 0; k < S; k++) {
        size_t to = start[k]; /* shard k's items are part[from..to) */
        if (to > from) {
            tr_store_use_shard(s, k);
            if (create_on_shard(s, part + from, to - from, res + from, due + from, now_ms) != 0)
                goto done;
        }
        from = to;
    }
    for (size_t i = 0; i < n; i++) {
        results[i] = res[pos[i]];
        due_ms[i] = due[pos[i]];
    }
    rc = 0;
done:
    free(start);
    free(pos);
    free(shard);
    free(part);
    free(res);
    free(due);
    return rc;
}

int tr_store_create(tr_store *store, const tr_create *items, size_t n,
                    tr_create_result *results, int64_t *due_ms, int64_t *now_ms)
{
    *now_ms = 0;
    /* A group's own store (never in a group) splits its calls by shard. */
    if (store->cfg->shards > 1 && store->group == NULL)
        return n == 0 ? 0 : create_sharded(store, items, n, results, due_ms, now_ms);
    for (size_t off = 0; off < n; off += TR_STORE_CREATE_CHUNK) {
        size_t m = n - off < TR_STORE_CREATE_CHUNK ? n - off : TR_STORE_CREATE_CHUNK;
        /* In a group: one create call at a time per process, shared by every
         * thread's creates (tr_store_group.h). */
        int rc = store->group != NULL
                     ? tr_store_group_create(store, items + off, m, results + off, due_ms + off,
                                             now_ms)
                     : create_chunk(store, items + off, m, results + off, due_ms + off, now_ms);
        if (rc != 0)
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
    *out = tr_dup_bytes(r->str, r->len);
    if (*out == NULL)
        return -1;
    *len = r->len;
    return 0;
}

/* Runs script `which` whose one argument is the timer's id, on its shard. As
 * tr_store_run_script. */
static redisReply *run_on_id(tr_store *s, int which, int nkeys, const int *keys, const char *id)
{
    tr_store_use_shard(s, tr_shard_of(s->cfg, id));
    call_args a;
    tr_store_args_init(&a, which);
    tr_store_arg_keys(&a, s, nkeys, keys);
    tr_store_arg_str(&a, id);
    return tr_store_run_script(s, &a);
}

int tr_store_cancel_scoped(tr_store *store, const char *id, tr_cancel_scope scope,
                           int64_t *ttl_ms, tr_timer_state *state)
{
    static const int keys[] = {K_TIMERS,   K_DUE,  K_INFLIGHT, K_DEAD,
                               K_ATTEMPTS, K_META, K_STATS,    K_OWNER};
    tr_store_use_shard(store, tr_shard_of(store->cfg, id));
    call_args a;
    tr_store_args_init(&a, S_CANCEL);
    tr_store_arg_keys(&a, store, 8, keys);
    tr_store_arg_str(&a, id);
    if (scope != TR_CANCEL_ANY)
        tr_store_arg_str(&a, scope == TR_CANCEL_LIVE ? "keep-dead" : "only-dead");
    redisReply *r = tr_store_run_script(store, &a);
    if (r == NULL)
        return -1;
    int rc = 0;
    if (!tr_store_reply_shape(r, "ii") || r->element[1]->integer < 0 ||
        r->element[1]->integer > TR_STATE_DEAD || r->element[0]->integer < -2 ||
        (r->element[0]->integer == -2 && scope == TR_CANCEL_ANY)) {
        rc = tr_store_bad_reply(store, "cancel", r);
    } else {
        *ttl_ms = r->element[0]->integer;
        *state = (tr_timer_state)r->element[1]->integer;
    }
    freeReplyObject(r);
    return rc;
}

int tr_store_cancel_state(tr_store *store, const char *id, int64_t *ttl_ms,
                          tr_timer_state *state)
{
    return tr_store_cancel_scoped(store, id, TR_CANCEL_ANY, ttl_ms, state);
}

tr_store_get_result tr_store_get(tr_store *store, const char *id, tr_timer_view *out)
{
    static const int keys[] = {K_TIMERS, K_DUE, K_INFLIGHT, K_DEAD, K_ATTEMPTS, K_META};
    memset(out, 0, sizeof *out);
    redisReply *r = run_on_id(store, S_GET, 6, keys, id);
    if (r == NULL)
        return TR_STORE_GET_FAILED;
    tr_store_get_result rc = TR_STORE_GET_FAILED;
    redisReply **e = r->element;
    if (!tr_store_reply_shape(r, "iSIIIIS")) {
        tr_store_bad_reply(store, "get", r);
        goto done;
    }
    out->now_ms = e[0]->integer;
    if (e[1]->type == REDIS_REPLY_NIL) {
        rc = TR_STORE_GET_UNKNOWN;
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
    out->id = tr_dup_bytes(id, strlen(id));
    if (out->id == NULL || take_str(e[1], &out->record, &out->record_len) != 0 ||
        take_str(e[6], &out->meta, &out->meta_len) != 0) {
        tr_timer_view_clear(out);
        tr_store_set_error(store, TR_RET_INTERNAL, "get: out of memory");
        goto done;
    }
    rc = TR_STORE_GET_FOUND;
done:
    freeReplyObject(r);
    return rc;
}

/* One page of the current shard (tr_store_list's contract). */
static int list_shard(tr_store *store, int dead, int64_t after_score, const char *after_id,
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
    tr_store_args_init(&a, S_LIST);
    tr_store_arg_keys(&a, store, 4, dead ? keys_dead : keys_due);
    tr_store_arg_i64(&a, (int64_t)limit);
    if (after_id != NULL) {
        tr_store_arg_i64(&a, after_score);
        tr_store_arg_str(&a, after_id);
    } else {
        tr_store_arg_str(&a, "");
        tr_store_arg_str(&a, "");
    }
    redisReply *r = tr_store_run_script(store, &a);
    if (r == NULL)
        return -1;
    int rc = -1;
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 || (r->elements - 1) % 5 != 0 ||
        r->element[0]->type != REDIS_REPLY_INTEGER) {
        tr_store_bad_reply(store, "list", r);
        goto done;
    }
    size_t count = (r->elements - 1) / 5;
    tr_timer_view *v = count > 0 ? calloc(count, sizeof *v) : NULL;
    if (count > 0 && v == NULL)
        goto oom;
    for (size_t i = 0; i < count; i++) {
        redisReply **e = r->element + 1 + 5 * i;
        if (!tr_store_elems_shape(e, "sisiS")) {
            *out = v;
            *n = i;
            tr_store_bad_reply(store, "list item", e[0]);
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
    tr_store_set_error(store, TR_RET_INTERNAL, "list: out of memory");
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

/* The list order: score, then the id's bytes (a sorted set's order for equal
 * scores), so the merged page is the order one unsharded set would give. */
static int view_cmp(const void *pa, const void *pb)
{
    const tr_timer_view *a = pa, *b = pb;
    if (a->score_ms != b->score_ms)
        return a->score_ms < b->score_ms ? -1 : 1;
    size_t la = strlen(a->id), lb = strlen(b->id);
    int c = memcmp(a->id, b->id, la < lb ? la : lb);
    return c != 0 ? c : (la > lb) - (la < lb);
}

int tr_store_list(tr_store *store, int dead, int64_t after_score, const char *after_id,
                  size_t limit, tr_timer_view **out, size_t *n)
{
    int S = store->cfg->shards;
    if (S <= 1)
        return list_shard(store, dead, after_score, after_id, limit, out, n);
    /* Every shard's page after the same (score, id), merged, the first `limit`
     * kept: a key lives in one shard, so the cursor (the last score and id) stays
     * what it is unsharded and no timer is missed or repeated across pages. */
    *out = NULL;
    *n = 0;
    tr_timer_view *all = NULL;
    size_t count = 0;
    for (int k = 0; k < S; k++) {
        tr_timer_view *page = NULL;
        size_t got = 0;
        tr_store_use_shard(store, k);
        if (list_shard(store, dead, after_score, after_id, limit, &page, &got) != 0)
            goto fail;
        if (got == 0)
            continue;
        tr_timer_view *grown = realloc(all, (count + got) * sizeof *grown);
        if (grown == NULL) {
            for (size_t i = 0; i < got; i++)
                tr_timer_view_clear(&page[i]);
            free(page);
            tr_store_set_error(store, TR_RET_INTERNAL, "list: out of memory");
            goto fail;
        }
        all = grown;
        memcpy(all + count, page, got * sizeof *page);
        count += got;
        free(page);
    }
    if (count > 1)
        qsort(all, count, sizeof *all, view_cmp);
    size_t keep = limit < 1 ? 1 : limit > 1001 ? 1001 : limit;
    for (size_t i = keep; i < count; i++)
        tr_timer_view_clear(&all[i]);
    *out = all;
    *n = count < keep ? count : keep;
    return 0;
fail:
    for (size_t i = 0; i < count; i++)
        tr_timer_view_clear(&all[i]);
    free(all);
    return -1;
}

tr_store_reschedule_result tr_store_reschedule(tr_store *store, const char *id,
                                               int64_t delay_ms, int64_t at_ms,
                                               int64_t *due_ms)
{
    static const int keys[] = {K_TIMERS, K_DUE, K_INFLIGHT, K_DEAD, K_OWNER};
    tr_store_use_shard(store, tr_shard_of(store->cfg, id));
    call_args a;
    tr_store_args_init(&a, S_RESCHEDULE);
    tr_store_arg_keys(&a, store, 5, keys);
    tr_store_arg_str(&a, id);
    tr_store_arg_i64(&a, delay_ms < 0 ? 0 : delay_ms);
    tr_store_arg_i64(&a, at_ms < 0 ? -1 : at_ms);
    tr_store_arg_str(&a, store->key[K_WAKE]);
    redisReply *r = tr_store_run_script(store, &a);
    if (r == NULL)
        return TR_STORE_RESCHEDULE_FAILED;
    tr_store_reschedule_result rc;
    if (!tr_store_reply_shape(r, "ii") || r->element[0]->integer < TR_STORE_RESCHEDULE_DONE ||
        r->element[0]->integer > TR_STORE_RESCHEDULE_NOT_PENDING) {
        rc = TR_STORE_RESCHEDULE_FAILED;
        tr_store_bad_reply(store, "reschedule", r);
    } else {
        rc = (tr_store_reschedule_result)r->element[0]->integer;
        *due_ms = r->element[1]->integer;
    }
    freeReplyObject(r);
    return rc;
}

tr_store_replay_result tr_store_replay(tr_store *store, const char *id, int64_t *due_ms)
{
    static const int keys[] = {K_DEAD, K_DUE, K_ATTEMPTS, K_STATS};
    tr_store_use_shard(store, tr_shard_of(store->cfg, id));
    call_args a;
    tr_store_args_init(&a, S_REPLAY);
    tr_store_arg_keys(&a, store, 4, keys);
    tr_store_arg_str(&a, id);
    tr_store_arg_str(&a, store->key[K_WAKE]);
    redisReply *r = tr_store_run_script(store, &a);
    if (r == NULL)
        return TR_STORE_REPLAY_FAILED;
    tr_store_replay_result rc;
    if (r->type != REDIS_REPLY_INTEGER) {
        rc = TR_STORE_REPLAY_FAILED;
        tr_store_bad_reply(store, "replay", r);
    } else {
        *due_ms = r->integer;
        rc = r->integer < 0 ? TR_STORE_REPLAY_NOT_DEAD : TR_STORE_REPLAY_DONE;
    }
    freeReplyObject(r);
    return rc;
}

/* pause.lua on the current shard. */
static int set_paused_shard(tr_store *store, int paused)
{
    static const int keys[] = {K_PAUSED, K_DUE};
    call_args a;
    tr_store_args_init(&a, S_PAUSE);
    tr_store_arg_keys(&a, store, 2, keys);
    tr_store_arg_str(&a, paused ? "1" : "0");
    tr_store_arg_str(&a, store->key[K_WAKE]);
    redisReply *r = tr_store_run_script(store, &a);
    if (r == NULL)
        return -1;
    int rc = r->type == REDIS_REPLY_INTEGER ? 0 : tr_store_bad_reply(store, "pause", r);
    freeReplyObject(r);
    return rc;
}

int tr_store_set_paused(tr_store *store, int paused)
{
    /* Every shard: a scheduler claims nothing from a paused one. */
    for (int k = 0; k < (store->cfg->shards > 1 ? store->cfg->shards : 1); k++) {
        tr_store_use_shard(store, k);
        if (set_paused_shard(store, paused) != 0)
            return -1;
    }
    return 0;
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

/* stats.lua on the current shard. */
static int stats_shard(tr_store *store, int with_hist, tr_store_stats *out)
{
    static const int keys[] = {K_DUE,   K_INFLIGHT,      K_DEAD,          K_PAUSED,
                               K_STATS, K_HIST_LATENESS, K_HIST_DURATION};
    memset(out, 0, sizeof *out);
    call_args a;
    tr_store_args_init(&a, S_STATS);
    tr_store_arg_keys(&a, store, 7, keys);
    tr_store_arg_str(&a, with_hist ? "1" : "0");
    redisReply *r = tr_store_run_script(store, &a);
    if (r == NULL)
        return -1;
    int rc = -1;
    redisReply **e = r->element;
    if (!tr_store_reply_shape(r, "iiiiaaa")) {
        tr_store_bad_reply(store, "stats", r);
        goto done;
    }
    out->pending = e[0]->integer;
    out->in_flight = e[1]->integer;
    out->dead = e[2]->integer;
    out->paused = e[3]->integer != 0;
    for (size_t i = 0; i + 1 < e[4]->elements; i += 2) {
        const redisReply *f = e[4]->element[i];
        for (int k = 0; k < TR_STATS_COUNT; k++)
            if (field_is(f, tr_store_stats_names[k]))
                out->totals[k] = reply_i64(e[4]->element[i + 1]);
        if (f->type != REDIS_REPLY_STRING || f->len <= 8 || memcmp(f->str, "cluster_", 8) != 0)
            continue;
        for (int k = 0; k < TR_CLUSTER_COUNTERS; k++)
            if (f->len == 8 + strlen(tr_store_cluster_names[k]) &&
                memcmp(f->str + 8, tr_store_cluster_names[k], f->len - 8) == 0)
                out->cluster[k] = reply_i64(e[4]->element[i + 1]);
    }
    out->on_cluster = tr_store_on_cluster(store);
    read_hist(e[5], out->lateness, &out->lateness_sum_ms, &out->lateness_count);
    read_hist(e[6], out->duration, &out->duration_sum_ms, &out->duration_count);
    rc = 0;
done:
    freeReplyObject(r);
    return rc;
}

/* Adds b's figures to a's. */
static void stats_add(tr_store_stats *a, const tr_store_stats *b)
{
    a->pending += b->pending;
    a->in_flight += b->in_flight;
    a->dead += b->dead;
    a->paused |= b->paused;
    for (int k = 0; k < TR_STATS_COUNT; k++)
        a->totals[k] += b->totals[k];
    a->on_cluster |= b->on_cluster;
    for (int k = 0; k < TR_CLUSTER_COUNTERS; k++)
        a->cluster[k] += b->cluster[k];
    for (int i = 0; i <= TR_HIST_BUCKETS; i++) {
        a->lateness[i] += b->lateness[i];
        a->duration[i] += b->duration[i];
    }
    a->lateness_sum_ms += b->lateness_sum_ms;
    a->duration_sum_ms += b->duration_sum_ms;
    a->lateness_count += b->lateness_count;
    a->duration_count += b->duration_count;
}

int tr_store_get_stats(tr_store *store, int with_hist, tr_store_stats *out)
{
    int S = store->cfg->shards;
    if (S <= 1)
        return stats_shard(store, with_hist, out);
    /* The sum of the shards (one script call each). */
    memset(out, 0, sizeof *out);
    for (int k = 0; k < S; k++) {
        tr_store_stats one;
        tr_store_use_shard(store, k);
        if (stats_shard(store, with_hist, &one) != 0)
            return -1;
        stats_add(out, &one);
    }
    return 0;
}

int tr_store_ping(tr_store *store)
{
    if (tr_store_connect(store) != 0)
        return -1;
    /* On a cluster every shard's master must answer (one PING per shard: a master
     * serving several shards answers several). */
    int S = tr_store_on_cluster(store) && store->cfg->shards > 1 ? store->cfg->shards : 1;
    for (int k = 0; k < S; k++) {
        const char *argv[] = {"PING"};
        tr_store_use_shard(store, k);
        redisReply *r = tr_store_command(store, store->key[K_DUE], 1, argv, 1);
        if (r == NULL)
            return -1;
        int bad = r->type == REDIS_REPLY_ERROR;
        if (bad)
            tr_store_reply_failed(store, "PING", r);
        freeReplyObject(r);
        if (bad)
            return -1;
    }
    return 0;
}
