/* tr_store_cluster.c - the store on Redis Cluster (--cluster): its calls go through
 * tr_cluster (shared/tr_cluster.h), which routes each to the master of its shard's
 * slot over one connection per master, follows MOVED/ASK, retries, and loads the
 * scripts per node on NOSCRIPT. Private to shared/tr_store*.c (tr_store_int.h).
 *
 * The store's pipelines (a claim over every shard, a finish's calls) are written as
 * on one Redis, with tr_store_append_script; on a cluster each call is queued here
 * (a copy of its argv) and run when the pipeline reads its answer: every shard's call
 * is atomic on its node, and the order of one shard's calls is kept.
 * The pipeline's write (tr_store_write_out) sends every call queued, pipelined per
 * master, as one batch of the client's (tr_cluster_append, tr_cluster_flush); the
 * answers are taken as they arrive (tr_store_cl_take: the scheduler polls the
 * masters' sockets, tr_store_fds) or blocking, the rare resends (MOVED, ASK,
 * NOSCRIPT, ...) blocking once every first answer is in. A claim over every shard
 * costs about one round trip; docs/CLUSTER.md says what the scheduler gains.
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

/* What --wait-replicas' WAIT said of a call's write (cl_wait). */
typedef enum cl_wait_verdict {
    CL_WAIT_NONE = 0, /* not asked: no --wait-replicas, not a write, or not answered */
    CL_WAIT_OK,       /* enough replicas confirmed it */
    CL_WAIT_SHORT,    /* fewer did (wait_got) within the WAIT's time */
    CL_WAIT_LOST      /* the WAIT got no answer (err, errstr say why) */
} cl_wait_verdict;

/* One call: queued (argv[i] then points into the same allocation), then sent with
 * the others queued (cl_start, into the client's batch) or run with them
 * (cl_batch), then taken by tr_store_cl_take once answered. */
typedef struct cl_call {
    struct cl_call *next;
    int which;          /* S_* */
    int argc;
    const char **argv;
    size_t *len;
    int sent;           /* in the client's batch, answer owed (cc, ans, node) */
    tr_cluster_call cc;
    tr_cluster_answer ans;
    tr_store_cut_node node; /* its master when sent (cut-off) */
    int ran;            /* reply/err below are its answer */
    redisReply *reply;  /* owned until taken; NULL: failed, err says why */
    tr_ret err;
    char errstr[256];   /* "<script>: <why>", as the store's error */
    int answered;       /* its master answered it (before any WAIT) */
    cl_wait_verdict wait;
    long long wait_got; /* CL_WAIT_SHORT: the replicas that confirmed it */
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
    if (s->cl != NULL)
        tr_cluster_abandon(s->cl); /* the calls it borrows go below */
    if (s->clq == NULL)
        return;
    while (s->clq->head != NULL) {
        cl_call *c = s->clq->head;
        s->clq->head = c->next;
        if (c->reply != NULL)
            freeReplyObject(c->reply); /* run, never taken */
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
    c->sent = 0;
    c->ran = 0;
    c->reply = NULL;
    c->answered = 0;
    c->wait = CL_WAIT_NONE;
    c->wait_got = 0;
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

/* Sets call c's failure: code and "<script>: <why>". */
static void call_failed(cl_call *c, tr_ret code, const char *why)
{
    if (c->reply != NULL)
        freeReplyObject(c->reply);
    c->reply = NULL;
    c->err = code == TR_RET_OK ? TR_RET_STORE_DOWN : code;
    snprintf(c->errstr, sizeof c->errstr, "%s: %.200s", tr_store_script_name(c->which), why);
}

/* The master the map names for call c's shard now (port 0: none). */
static void call_master(const tr_store *s, const cl_call *c, tr_store_cut_node *n)
{
    const char *host = NULL;
    n->host[0] = '\0';
    if (tr_cluster_slot_node(s->cl, tr_cluster_keyslot(c->argv[3], c->len[3]), &host,
                             &n->port) != 0)
        n->port = 0;
    else
        snprintf(n->host, sizeof n->host, "%s", host);
}

static int same_node(const tr_store_cut_node *a, const tr_store_cut_node *b)
{
    return a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* --wait-replicas N: after the writes answered on their masters, one WAIT N on each
 * of those masters (the same connections: tr_cluster routes by a write's key), all
 * masters pipelined, up to half --redis-timeout-ms so the read timeout is not
 * reached. A write whose master confirmed fewer replicas fails with
 * TR_RET_OUTCOME_UNKNOWN (it stands on the master, but may be lost with it). Each
 * write's verdict is kept in calls[i]->wait for the cut-off (cl_cut_results). */
static void cl_wait(tr_store *s, cl_call **calls, size_t n)
{
    int want = s->cfg->wait_replicas;
    if (want <= 0)
        return;
    size_t *group = malloc(n * sizeof *group);
    tr_store_cut_node *node = malloc(n * sizeof *node);
    tr_cluster_call *wc = malloc(n * sizeof *wc);
    tr_cluster_answer *wa = malloc(n * sizeof *wa);
    char nstr[16], ms[24];
    snprintf(nstr, sizeof nstr, "%d", want);
    snprintf(ms, sizeof ms, "%d", s->cfg->redis_timeout_ms / 2);
    const char *wargv[] = {"WAIT", nstr, ms};
    size_t ng = 0;
    if (group == NULL || node == NULL || wc == NULL || wa == NULL) {
        for (size_t i = 0; i < n; i++)
            if (calls[i]->reply != NULL && calls[i]->reply->type != REDIS_REPLY_ERROR &&
                wait_applies(calls[i]->which))
                call_failed(calls[i], TR_RET_OUTCOME_UNKNOWN, "written, then WAIT: out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        cl_call *c = calls[i];
        group[i] = n;
        if (c->reply == NULL || c->reply->type == REDIS_REPLY_ERROR || !wait_applies(c->which))
            continue;
        tr_store_cut_node m;
        call_master(s, c, &m);
        size_t g = 0;
        while (g < ng && (m.port == 0 || !same_node(&node[g], &m)))
            g++;
        if (g == ng) {
            node[ng] = m;
            /* argv[3]: the call's first key, which routed it. */
            wc[ng++] = (tr_cluster_call){.key = c->argv[3], .keylen = c->len[3], .argc = 3,
                                         .argv = wargv};
        }
        group[i] = g;
    }
    if (ng > 0)
        (void)tr_cluster_run(s->cl, ng, wc, wa); /* each answer is checked below */
    for (size_t i = 0; i < n; i++) {
        cl_call *c = calls[i];
        if (group[i] == n)
            continue;
        const tr_cluster_answer *w = &wa[group[i]];
        long long got = w->reply != NULL && w->reply->type == REDIS_REPLY_INTEGER
                            ? w->reply->integer
                            : -1;
        if (got >= want) {
            c->wait = CL_WAIT_OK;
            continue;
        }
        char why[sizeof c->errstr];
        if (w->reply == NULL) {
            snprintf(why, sizeof why, "written, then WAIT failed: %.200s", w->errstr);
            c->wait = CL_WAIT_LOST;
        } else {
            snprintf(why, sizeof why,
                     "written on the master, but %lld of %d replicas confirmed it within "
                     "%d ms (--wait-replicas): it may be lost on a failover",
                     got < 0 ? 0 : got, want, s->cfg->redis_timeout_ms / 2);
            c->wait = CL_WAIT_SHORT; /* an error reply too: the master answers */
            c->wait_got = got < 0 ? 0 : got;
        }
        call_failed(c, TR_RET_OUTCOME_UNKNOWN, why);
    }
    for (size_t g = 0; g < ng; g++)
        if (wa[g].reply != NULL)
            freeReplyObject(wa[g].reply);
done:
    free(group);
    free(node);
    free(wc);
    free(wa);
}

/* Cut-off: tells it, once per master of the batch, what that master did: its
 * writes answered but WAIT confirmed too few replicas (unconfirmed: given up for
 * its replicas), the WAIT lost (not answering), some call answered (OK), or none
 * did (the first failure). After cl_wait, so a shortfall is heard before the OK
 * that would take a silent master back. */
static void cl_cut_results(tr_store *s, cl_call **calls, const tr_store_cut_node *node,
                           const unsigned char *sent, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int seen = 0;
        for (size_t j = 0; j < i && !seen; j++)
            seen = sent[j] && same_node(&node[j], &node[i]);
        if (!sent[i] || seen)
            continue;
        const cl_call *failed = NULL, *ok = NULL, *shortc = NULL, *lost = NULL;
        for (size_t j = i; j < n; j++) {
            const cl_call *c = calls[j];
            if (!sent[j] || !same_node(&node[j], &node[i]))
                continue;
            if (c->wait == CL_WAIT_SHORT && shortc == NULL)
                shortc = c;
            else if (c->wait == CL_WAIT_LOST && lost == NULL)
                lost = c;
            else if (c->answered && ok == NULL)
                ok = c;
            else if (!c->answered && failed == NULL)
                failed = c;
        }
        if (shortc != NULL)
            tr_store_cut_unconfirmed(s, &node[i], shortc->wait_got);
        else if (lost != NULL)
            tr_store_cut_result(s, &node[i], lost->err, lost->errstr);
        else
            tr_store_cut_result(s, &node[i], ok != NULL ? TR_RET_OK : failed->err,
                                ok != NULL ? NULL : failed->errstr);
    }
}

/* Once a batch's calls have their answers (blocking or taken as they came):
 * --wait-replicas waits, the cut-off hears what each master did (WAIT's verdict
 * included: docs/CLUSTER.md "A master short of replicas"), and the counters go to
 * a node that just answered. */
static void cl_after_answers(tr_store *s, cl_call **calls, const tr_store_cut_node *node,
                             const unsigned char *sent, size_t n)
{
    cl_wait(s, calls, n);
    cl_cut_results(s, calls, node, sent, n);
    for (size_t i = 0; i < n; i++) {
        if (calls[i]->reply != NULL) {
            cl_write_counters(s, calls[i]->argv[3], calls[i]->len[3]);
            break;
        }
    }
}

/* Runs calls[0..n) on their shards' masters, pipelined per master (tr_cluster_run),
 * through the cut-off when it is on: a call for a master given up for now is not
 * sent (STORE_DOWN), the calls for one due for a retry are its probe (one try), and
 * the answers (or their absence) say whether each master is back. Each call gets
 * its answer (ran = 1). */
static void cl_batch(tr_store *s, cl_call **calls, size_t n)
{
    tr_cluster_call *cc = malloc(n * sizeof *cc);
    tr_cluster_answer *ans = malloc(n * sizeof *ans);
    tr_store_cut_node *node = malloc(n * sizeof *node);
    unsigned char *sent = malloc(n);
    size_t *idx = malloc(n * sizeof *idx);
    if (cc == NULL || ans == NULL || node == NULL || sent == NULL || idx == NULL) {
        for (size_t i = 0; i < n; i++) {
            call_failed(calls[i], TR_RET_INTERNAL, "out of memory");
            calls[i]->ran = 1;
        }
        goto done;
    }
    tr_store_cut_probe(s); /* masters given up for their replicas, before any call */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        cl_call *c = calls[i];
        unsigned flags = tr_store_read_only(c->which) ? TR_CLUSTER_IDEMPOTENT : 0;
        c->ran = 1;
        c->reply = NULL;
        c->answered = 0;
        c->wait = CL_WAIT_NONE;
        sent[i] = 0;
        node[i].port = 0;
        if (tr_store_cut_on(s)) {
            /* An unreachable master is given up at once, not after the retries. */
            flags |= TR_CLUSTER_FAIL_FAST;
            /* argv[3]: the call's first key, which routes it. */
            tr_store_cut_verdict v = tr_store_cut_check(s, c->argv[3], c->len[3], &node[i]);
            if (v == TR_STORE_CUT_SKIP) {
                tr_store_cut_skipped(s, tr_store_script_name(c->which), &node[i]);
                c->err = s->err_code;
                snprintf(c->errstr, sizeof c->errstr, "%s", s->err);
                continue;
            }
            if (v == TR_STORE_CUT_PROBE)
                flags |= TR_CLUSTER_ONE_TRY;
        }
        sent[i] = 1;
        idx[m] = i;
        cc[m++] = (tr_cluster_call){.key = c->argv[3], .keylen = c->len[3], .argc = c->argc,
                                    .argv = c->argv, .argvlen = c->len,
                                    .script = tr_store_script_source(s, c->which), .flags = flags};
    }
    if (m > 0)
        (void)tr_cluster_run(s->cl, m, cc, ans); /* each answer is taken below */
    for (size_t k = 0; k < m; k++) {
        cl_call *c = calls[idx[k]];
        c->reply = ans[k].reply;
        c->answered = c->reply != NULL;
        if (c->reply == NULL)
            call_failed(c, ans[k].err, ans[k].errstr);
    }
    cl_after_answers(s, calls, node, sent, n);
done:
    free(cc);
    free(ans);
    free(node);
    free(sent);
    free(idx);
}

/* Call c's answer: its reply (the caller's), or NULL with the store's error set. */
static redisReply *cl_take(tr_store *s, cl_call *c)
{
    redisReply *r = c->reply;
    c->reply = NULL;
    if (r == NULL)
        tr_store_set_error(s, c->err, "%s", c->errstr);
    return r;
}

/* The calls of the client's batch are answered (tr_cluster_recv said so, or a
 * blocking call of the client's took them): each gets its answer, then, as
 * cl_batch does, the cut-off hears which masters answered, --wait-replicas waits
 * (blocking, one WAIT per master), and the counters go out. */
static void cl_answered(tr_store *s)
{
    size_t n = 0;
    for (cl_call *q = s->clq->head; q != NULL; q = q->next)
        n += q->sent;
    cl_call **calls = malloc(n * sizeof *calls);
    tr_store_cut_node *node = malloc(n * sizeof *node);
    unsigned char *sent = malloc(n);
    int oom = calls == NULL || node == NULL || sent == NULL;
    n = 0;
    for (cl_call *q = s->clq->head; q != NULL; q = q->next) {
        if (!q->sent)
            continue;
        q->sent = 0;
        q->ran = 1;
        q->reply = q->ans.reply;
        q->answered = q->reply != NULL;
        q->wait = CL_WAIT_NONE;
        if (q->reply == NULL)
            call_failed(q, q->ans.err, q->ans.errstr);
        else if (oom)
            call_failed(q, TR_RET_OUTCOME_UNKNOWN, "answered, then out of memory");
        if (!oom) {
            calls[n] = q;
            node[n] = q->node;
            sent[n++] = 1;
        }
    }
    if (!oom)
        cl_after_answers(s, calls, node, sent, n);
    free(calls);
    free(node);
    free(sent);
}

/* 1 when no call of the store's is owed by the client (all sent ones answered),
 * 0 while some are. mode: as tr_cluster_recv. */
static int cl_settle(tr_store *s, int mode)
{
    int owed = 0;
    for (cl_call *q = s->clq != NULL ? s->clq->head : NULL; q != NULL && !owed; q = q->next)
        owed = q->sent;
    if (!owed)
        return 1;
    if (tr_cluster_owed(s->cl) && tr_cluster_recv(s->cl, mode) == 0)
        return 0;
    cl_answered(s);
    return 1;
}

void tr_store_cl_start(tr_store *s)
{
    int any = 0;
    /* Masters given up for their replicas, before any call (nothing may be in
     * flight for it: a claim sent behind a finish waits for the next send). */
    tr_store_cut_probe(s);
    for (cl_call *c = s->clq != NULL ? s->clq->head : NULL; c != NULL; c = c->next) {
        if (c->ran || c->sent)
            continue;
        unsigned flags = tr_store_read_only(c->which) ? TR_CLUSTER_IDEMPOTENT : 0;
        c->node.port = 0;
        c->node.host[0] = '\0';
        if (tr_store_cut_on(s)) {
            /* An unreachable master is given up at once, not after the retries. */
            flags |= TR_CLUSTER_FAIL_FAST;
            /* argv[3]: the call's first key, which routes it. */
            tr_store_cut_verdict v = tr_store_cut_check(s, c->argv[3], c->len[3], &c->node);
            if (v == TR_STORE_CUT_SKIP) {
                tr_store_cut_skipped(s, tr_store_script_name(c->which), &c->node);
                c->ran = 1;
                c->err = s->err_code;
                snprintf(c->errstr, sizeof c->errstr, "%s", s->err);
                continue;
            }
            if (v == TR_STORE_CUT_PROBE)
                flags |= TR_CLUSTER_ONE_TRY;
        }
        c->cc = (tr_cluster_call){.key = c->argv[3], .keylen = c->len[3], .argc = c->argc,
                                  .argv = c->argv, .argvlen = c->len,
                                  .script = tr_store_script_source(s, c->which), .flags = flags};
        if (tr_cluster_append(s->cl, &c->cc, &c->ans) != 0) {
            c->ran = 1;
            call_failed(c, c->ans.err, c->ans.errstr);
            continue;
        }
        c->sent = 1;
        any = 1;
    }
    if (any)
        tr_cluster_flush(s->cl);
}

tr_store_recv_result tr_store_cl_take(tr_store *s, tr_store_recv_mode mode, redisReply **reply)
{
    *reply = NULL;
    if (!tr_store_cl_pending(s)) {
        tr_store_set_error(s, TR_RET_INTERNAL, "redis cluster: no call owed");
        return TR_STORE_RECV_FAILED;
    }
    cl_call *c = s->clq->head;
    if (!c->ran && !c->sent)
        tr_store_cl_start(s); /* queued, not written out yet */
    if (!c->ran && !cl_settle(s, mode == TR_STORE_RECV_BLOCK ? 1
                                 : mode == TR_STORE_RECV_POLL ? 0 : -1))
        return TR_STORE_RECV_OWED;
    s->clq->head = c->next;
    if (s->clq->head == NULL)
        s->clq->tail = NULL;
    *reply = cl_take(s, c);
    free(c);
    return *reply != NULL ? TR_STORE_RECV_DONE : TR_STORE_RECV_FAILED;
}

size_t tr_store_cl_fds(const tr_store *s, int *fds, size_t max)
{
    return s->cl != NULL ? tr_cluster_fds(s->cl, fds, max) : 0;
}

int64_t tr_store_cl_recv_in_ms(const tr_store *s)
{
    if (!tr_store_cl_pending(s))
        return -1;
    const cl_call *c = s->clq->head;
    if (c->ran || !c->sent || !tr_cluster_owed(s->cl))
        return 0; /* its answer is in (or the take sends it): no read needed */
    int64_t in = tr_cluster_recv_in_ms(s->cl);
    return in < 0 ? 0 : in;
}

redisReply *tr_store_cl_script(tr_store *s, const call_args *a)
{
    /* The client's batch first: its connections carry nothing else meanwhile. */
    (void)cl_settle(s, 1);
    cl_call c = {.which = a->which, .argc = (int)a->argc, .argv = a->argv, .len = a->len};
    cl_call *one = &c;
    cl_batch(s, &one, 1);
    return cl_take(s, &c);
}

redisReply *tr_store_cl_command(tr_store *s, const char *route, int argc, const char **argv,
                                unsigned idempotent)
{
    (void)cl_settle(s, 1);
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
    (void)cl_settle(s, 1);
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
