/* tr_store_cluster.c - the store on Redis Cluster (--cluster): its calls go through
 * tr_cluster (shared/tr_cluster.h), which routes each to the master of its shard's
 * slot over one connection per master, follows MOVED/ASK, retries, and loads the
 * scripts per node on NOSCRIPT. Private to shared/tr_store*.c (tr_store_int.h).
 *
 * The store's pipelines (a claim over every shard, a finish's calls) are written as
 * on one Redis, with tr_store_append_script; on a cluster each call is queued here
 * (a copy of its argv) and run, in order, when the pipeline reads its answer: every
 * shard's call is atomic on its node, and the order of one shard's calls is kept.
 * One round trip per call, blocking (each bounded by --redis-timeout-ms and the
 * client's retries): docs/CLUSTER.md says what that costs the scheduler.
 */
#include "tr_store_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_clock.h"
#include "tr_cluster.h"
#include "tr_log.h"

#define COUNTERS_EVERY_MS 1000 /* the client's counters go to Redis at most this often */

const char *const tr_store_cluster_names[TR_CLUSTER_COUNTERS] = {
    "moved", "ask", "retries", "map_loads", "script_loads", "connects"};

/* One queued call: argv[i] points into the same allocation. */
typedef struct cl_call {
    struct cl_call *next;
    int which;          /* S_* */
    int argc;
    const char **argv;
    size_t *len;
} cl_call;

struct tr_store_clq {
    cl_call *head, *tail;
    uint64_t written[TR_CLUSTER_COUNTERS]; /* the client's counters already in Redis */
    int64_t counters_next_mono;            /* local ms: when they may be written next */
};

/* The client's counters in the order of tr_store_cluster_names. */
static void counters_of(const tr_cluster *cl, uint64_t v[TR_CLUSTER_COUNTERS])
{
    tr_cluster_stats st;
    tr_cluster_get_stats(cl, &st);
    const uint64_t in_order[TR_CLUSTER_COUNTERS] = {st.moved,      st.ask,
                                                    st.retries,    st.refreshes,
                                                    st.script_loads, st.connects};
    memcpy(v, in_order, sizeof in_order);
}

int tr_store_cl_connect(tr_store *s)
{
    if (s->cl != NULL)
        return 0;
    tr_cluster_opts o = {.seeds = s->cfg->cluster,
                         .user = s->cfg->redis_user,
                         .password = s->cfg->redis_password,
                         .timeout_ms = s->cfg->redis_timeout_ms};
    tr_ret code = TR_RET_INTERNAL;
    char err[sizeof s->err];
    if (s->clq == NULL && (s->clq = calloc(1, sizeof *s->clq)) == NULL) {
        tr_store_set_error(s, TR_RET_INTERNAL, "redis cluster: out of memory");
        return -1;
    }
    s->cl = tr_cluster_new(&o, &code, err, sizeof err);
    if (s->cl == NULL) {
        tr_store_set_error(s, code, "redis cluster: %s", err);
        return -1;
    }
    return 0;
}

/* The growth of the client's counters since they were last written, added to the
 * stats hash of the shard whose call just answered (route: that call's first key,
 * "{P:i}:..."; its master is up, so the write costs no retries), at most once per
 * COUNTERS_EVERY_MS and only when one grew: HINCRBY {P:i}:stats cluster_<name> n.
 * /v1/stats and /metrics sum the shards, so every process's counts. A failed write
 * is tried again later with the counts kept; the caller's call is not affected. */
static void cl_write_counters(tr_store *s, const char *route, size_t route_len)
{
    struct tr_store_clq *q = s->clq;
    int64_t now = tr_clock_mono_ms();
    if (q == NULL || now < q->counters_next_mono)
        return;
    q->counters_next_mono = now + COUNTERS_EVERY_MS;
    const char *close = memchr(route, '}', route_len);
    char key[KEY_MAX];
    if (route_len == 0 || route[0] != '{' || close == NULL ||
        snprintf(key, sizeof key, "%.*s:stats", (int)(close - route + 1), route) >= (int)sizeof key)
        return;
    uint64_t now_v[TR_CLUSTER_COUNTERS];
    counters_of(s->cl, now_v);
    char field[TR_CLUSTER_COUNTERS][32], delta[TR_CLUSTER_COUNTERS][24];
    uint64_t grew[TR_CLUSTER_COUNTERS];
    const char *argv[TR_CLUSTER_COUNTERS][4];
    tr_cluster_cmd cmds[TR_CLUSTER_COUNTERS];
    int which[TR_CLUSTER_COUNTERS];
    size_t n = 0;
    for (int k = 0; k < TR_CLUSTER_COUNTERS; k++) {
        if (now_v[k] <= q->written[k])
            continue;
        snprintf(field[n], sizeof field[n], "cluster_%s", tr_store_cluster_names[k]);
        grew[n] = now_v[k] - q->written[k];
        snprintf(delta[n], sizeof delta[n], "%" PRIu64, grew[n]);
        argv[n][0] = "HINCRBY";
        argv[n][1] = key;
        argv[n][2] = field[n];
        argv[n][3] = delta[n];
        cmds[n] = (tr_cluster_cmd){.argc = 4, .argv = argv[n]};
        which[n++] = k;
    }
    redisReply *replies[TR_CLUSTER_COUNTERS];
    if (n == 0 || tr_cluster_pipeline(s->cl, key, strlen(key), n, cmds, replies, 0) != 0)
        return;
    for (size_t i = 0; i < n; i++) {
        if (replies[i]->type == REDIS_REPLY_INTEGER)
            q->written[which[i]] += grew[i];
        freeReplyObject(replies[i]);
    }
}

struct tr_cluster *tr_store_cluster(tr_store *s)
{
    if (s->cfg->cluster[0] == '\0' || tr_store_cl_connect(s) != 0)
        return NULL;
    return s->cl;
}

void tr_store_cl_free(tr_store *s)
{
    tr_store_cl_drop(s);
    free(s->clq);
    s->clq = NULL;
    tr_cluster_free(s->cl);
    s->cl = NULL;
}

void tr_store_cl_drop(tr_store *s)
{
    if (s->clq == NULL)
        return;
    while (s->clq->head != NULL) {
        cl_call *c = s->clq->head;
        s->clq->head = c->next;
        free(c);
    }
    s->clq->tail = NULL;
}

int tr_store_cl_pending(const tr_store *s)
{
    return s->clq != NULL && s->clq->head != NULL;
}

/* The cluster client's failure as the store's error. */
static void cl_failed(tr_store *s, const char *what)
{
    tr_ret code = tr_cluster_err(s->cl);
    tr_store_set_error(s, code == TR_RET_OK ? TR_RET_STORE_DOWN : code, "%s: %s", what,
                       tr_cluster_errstr(s->cl));
}

int tr_store_cl_queue(tr_store *s, const call_args *a)
{
    if (s->clq == NULL && (s->clq = calloc(1, sizeof *s->clq)) == NULL)
        goto oom;
    size_t bytes = 0;
    for (size_t i = 0; i < a->argc; i++)
        bytes += a->len[i] + 1;
    cl_call *c = malloc(sizeof *c + a->argc * (sizeof *c->argv + sizeof *c->len) + bytes);
    if (c == NULL)
        goto oom;
    c->next = NULL;
    c->which = a->which;
    c->argc = (int)a->argc;
    c->argv = (const char **)(c + 1);
    c->len = (size_t *)(c->argv + a->argc);
    char *p = (char *)(c->len + a->argc);
    for (size_t i = 0; i < a->argc; i++) {
        memcpy(p, a->argv[i], a->len[i]);
        p[a->len[i]] = '\0';
        c->argv[i] = p;
        c->len[i] = a->len[i];
        p += a->len[i] + 1;
    }
    if (s->clq->tail != NULL)
        s->clq->tail->next = c;
    else
        s->clq->head = c;
    s->clq->tail = c;
    return 0;
oom:
    tr_store_set_error(s, TR_RET_INTERNAL, "%s: out of memory", tr_store_script_name(a->which));
    return -1;
}

/* Writes whose loss on failover loses or repeats what a client was told: every
 * script but the reads and the claim (a claim lost with its master only makes its
 * timers due again: delivered again, within at-least-once). */
static int wait_applies(int which)
{
    return !tr_store_read_only(which) && which != S_CLAIM;
}

/* --wait-replicas N: after a write answered on a master, WAIT N there (the same
 * connection: tr_cluster routes by the same key), up to half --redis-timeout-ms so
 * the read timeout is not reached. Frees r and returns NULL, error
 * TR_RET_OUTCOME_UNKNOWN, when fewer replicas confirmed (the write stands on the
 * master, but may be lost with it). */
static redisReply *cl_wait(tr_store *s, int which, const char *const *argv, const size_t *len,
                           redisReply *r)
{
    int n = s->cfg->wait_replicas;
    if (r == NULL || n <= 0 || r->type == REDIS_REPLY_ERROR || !wait_applies(which))
        return r;
    char want[16], ms[24];
    snprintf(want, sizeof want, "%d", n);
    snprintf(ms, sizeof ms, "%d", s->cfg->redis_timeout_ms / 2);
    const char *wargv[] = {"WAIT", want, ms};
    /* argv[3]: the call's first key, which routed it. */
    redisReply *w = tr_cluster_command(s->cl, argv[3], len[3], 3, wargv, NULL, 0);
    long long got = w != NULL && w->type == REDIS_REPLY_INTEGER ? w->integer : -1;
    if (got >= n) {
        freeReplyObject(w);
        return r;
    }
    if (w == NULL)
        tr_store_set_error(s, TR_RET_OUTCOME_UNKNOWN, "%s: written, then WAIT failed: %s",
                           tr_store_script_name(which), tr_cluster_errstr(s->cl));
    else
        tr_store_set_error(s, TR_RET_OUTCOME_UNKNOWN,
                           "%s: written on the master, but %lld of %d replicas confirmed it "
                           "within %d ms (--wait-replicas): it may be lost on a failover",
                           tr_store_script_name(which), got < 0 ? 0 : got, n,
                           s->cfg->redis_timeout_ms / 2);
    if (w != NULL)
        freeReplyObject(w);
    freeReplyObject(r);
    return NULL;
}

/* One script call on its shard's master, through the cut-off when it is on: a
 * master given up for now is not called (STORE_DOWN, nothing sent), one due for a
 * retry gets one try, and the answer (or its absence) says whether it is back. */
static redisReply *cl_run(tr_store *s, int which, int argc, const char **argv,
                          const size_t *len)
{
    unsigned flags = tr_store_read_only(which) ? TR_CLUSTER_IDEMPOTENT : 0;
    const char *name = tr_store_script_name(which);
    tr_store_cut_node node = {.port = 0};
    if (tr_store_cut_on(s)) {
        /* argv[3]: the call's first key, which routes it. */
        tr_store_cut_verdict v = tr_store_cut_check(s, argv[3], len[3], &node);
        if (v == TR_STORE_CUT_SKIP) {
            tr_store_cut_skipped(s, name, &node);
            return NULL;
        }
        if (v == TR_STORE_CUT_PROBE)
            flags |= TR_CLUSTER_ONE_TRY;
    }
    redisReply *r = tr_cluster_evalsha(s->cl, tr_store_script_source(which), argc, argv, len,
                                       flags);
    if (r == NULL)
        cl_failed(s, name);
    tr_store_cut_result(s, &node, r != NULL ? TR_RET_OK : s->err_code, s->err);
    r = cl_wait(s, which, argv, len, r);
    if (r != NULL)
        cl_write_counters(s, argv[3], len[3]); /* to the node that just answered */
    return r;
}

redisReply *tr_store_cl_next(tr_store *s)
{
    if (!tr_store_cl_pending(s)) {
        tr_store_set_error(s, TR_RET_INTERNAL, "redis cluster: no call owed");
        return NULL;
    }
    cl_call *c = s->clq->head;
    s->clq->head = c->next;
    if (s->clq->head == NULL)
        s->clq->tail = NULL;
    redisReply *r = cl_run(s, c->which, c->argc, c->argv, c->len);
    free(c);
    return r;
}

redisReply *tr_store_cl_script(tr_store *s, const call_args *a)
{
    return cl_run(s, a->which, (int)a->argc, a->argv, a->len);
}

redisReply *tr_store_cl_command(tr_store *s, const char *route, int argc, const char **argv,
                                unsigned idempotent)
{
    redisReply *r = tr_cluster_command(s->cl, route, strlen(route), argc, argv, NULL,
                                       idempotent ? TR_CLUSTER_IDEMPOTENT : 0);
    if (r == NULL)
        cl_failed(s, argv[0]);
    return r;
}

int tr_store_cl_pipeline(tr_store *s, const char *route, size_t n, int argc,
                         const char *const *argv, redisReply **replies)
{
    tr_cluster_cmd cmds[32];
    if (n > sizeof cmds / sizeof cmds[0]) {
        tr_store_set_error(s, TR_RET_INTERNAL, "redis cluster: pipeline too long");
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        cmds[i] = (tr_cluster_cmd){.argc = argc, .argv = (const char **)argv + i * (size_t)argc};
    if (tr_cluster_pipeline(s->cl, route, strlen(route), n, cmds, replies, 0) != 0) {
        cl_failed(s, argv[0]);
        return -1;
    }
    return 0;
}
