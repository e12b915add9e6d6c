/* tr_store_cutoff.c - the scheduler's cut-off on Redis Cluster (tr_store_set_cutoff):
 * the masters given up for now, and the claim tokens owed a recovery on shards whose
 * claim call may have run unanswered. Private to shared/tr_store*.c (tr_store_int.h).
 *
 * A script call of the scheduler's (claim, finish, recover) that fails because its
 * master did not answer gives that master up: its shards' calls fail at once (no
 * I/O) until a retry time, 200 ms after the failure and doubling to 2 s; the first
 * call at or after that time is the probe (TR_CLUSTER_ONE_TRY: one send, then a map
 * reload). A master is known by the host:port the slot map named when the call
 * went out, so a replica promoted in its place is a new master, not given up. Only
 * the scheduler turns this on: the REST API's calls wait for the client's retries.
 *
 * With --wait-replicas N, a master that answers but whose WAIT confirmed fewer than
 * N replicas (a promoted replica before its old master rejoins) is given up the same
 * way, so its WAIT timeouts do not hold up the other masters' batches; its calls are
 * never its probe (each would wait the WAIT out again): tr_store_cut_probe asks its
 * replicas on the same retry schedule and takes it back once N are in sync.
 */
#include "tr_store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_clock.h"
#include "tr_cluster.h"
#include "tr_log.h"
#include "tr_redis_info.h"

#define CUT_MASTERS_MAX 64    /* masters given up at once; more are not given up */
#define CUT_OWED_MAX 256      /* (shard, token) recoveries owed; older ones are
                               * forgotten (their timers return after their lease) */
#define CUT_BACKOFF_MIN_MS 200
#define CUT_BACKOFF_MAX_MS 2000

/* Why a master is given up. */
typedef enum cut_why {
    CUT_SILENT,      /* it did not answer: the first call at its retry time probes it */
    CUT_UNCONFIRMED  /* it answers, but fewer replicas than --wait-replicas confirm its
                      * writes: no call goes there; tr_store_cut_probe asks its replicas */
} cut_why;

typedef struct cut_master {
    tr_store_cut_node node;
    cut_why why;
    int64_t since_ms;     /* local monotonic ms: given up then */
    int64_t retry_at_ms;  /* local monotonic ms: the next call is a probe from then */
    int backoff_ms;
} cut_master;

typedef struct cut_owed {
    int shard;
    char token[TR_CLAIM_TOKEN_MAX];
} cut_owed;

struct tr_store_cut {
    int64_t revoke_ms;    /* how long a recovered token stays revoked */
    cut_master down[CUT_MASTERS_MAX];
    size_t ndown;
    cut_owed owed[CUT_OWED_MAX];
    size_t nowed;
};

int tr_store_set_cutoff(tr_store *s, int64_t revoke_ms)
{
    if (revoke_ms <= 0) {
        free(s->cut);
        s->cut = NULL;
        return 0;
    }
    if (!tr_store_on_cluster(s) || s->cut != NULL)
        return 0; /* one Redis: nothing to cut off, the path stays as it is */
    if ((s->cut = calloc(1, sizeof *s->cut)) == NULL) {
        tr_store_set_error(s, TR_RET_INTERNAL, "cut-off: out of memory");
        return -1;
    }
    s->cut->revoke_ms = revoke_ms;
    return 0;
}

int tr_store_cut_on(const tr_store *s)
{
    return s->cut != NULL;
}

/* The master the map names for route's slot now; port 0 when none. */
static void master_of(const tr_store *s, const char *route, size_t len, tr_store_cut_node *n)
{
    const char *host = NULL;
    n->port = 0;
    n->host[0] = '\0';
    if (s->cl == NULL ||
        tr_cluster_slot_node(s->cl, tr_cluster_keyslot(route, len), &host, &n->port) != 0) {
        n->port = 0;
        return;
    }
    snprintf(n->host, sizeof n->host, "%s", host);
}

static cut_master *find(tr_store *s, const tr_store_cut_node *n)
{
    for (size_t i = 0; s->cut != NULL && n->port != 0 && i < s->cut->ndown; i++)
        if (s->cut->down[i].node.port == n->port && strcmp(s->cut->down[i].node.host, n->host) == 0)
            return &s->cut->down[i];
    return NULL;
}

static void forget(tr_store *s, cut_master *m)
{
    size_t i = (size_t)(m - s->cut->down);
    memmove(m, m + 1, (s->cut->ndown - i - 1) * sizeof *m);
    s->cut->ndown--;
}

/* m failed again (or is still short of replicas): its next try, later. */
static void back_off(cut_master *m, int64_t now)
{
    m->backoff_ms = m->backoff_ms * 2 > CUT_BACKOFF_MAX_MS ? CUT_BACKOFF_MAX_MS : m->backoff_ms * 2;
    m->retry_at_ms = now + m->backoff_ms;
}

/* Gives node up now (why); NULL when the list is full (then it is not given up). */
static cut_master *give_up(tr_store *s, const tr_store_cut_node *node, cut_why why, int64_t now)
{
    if (s->cut->ndown == CUT_MASTERS_MAX)
        return NULL;
    cut_master *m = &s->cut->down[s->cut->ndown++];
    *m = (cut_master){.node = *node, .why = why, .since_ms = now,
                      .retry_at_ms = now + CUT_BACKOFF_MIN_MS, .backoff_ms = CUT_BACKOFF_MIN_MS};
    return m;
}

tr_store_cut_verdict tr_store_cut_check(tr_store *s, const char *route, size_t len,
                                        tr_store_cut_node *node)
{
    master_of(s, route, len, node);
    cut_master *m = find(s, node);
    if (m == NULL)
        return TR_STORE_CUT_CALL;
    if (m->why == CUT_UNCONFIRMED)
        return TR_STORE_CUT_SKIP; /* tr_store_cut_probe takes it back, never a call */
    return tr_clock_mono_ms() >= m->retry_at_ms ? TR_STORE_CUT_PROBE : TR_STORE_CUT_SKIP;
}

void tr_store_cut_skipped(tr_store *s, const char *what, const tr_store_cut_node *node)
{
    cut_master *m = find(s, node);
    long long in = m != NULL ? (long long)(m->retry_at_ms - tr_clock_mono_ms()) : 0;
    if (m != NULL && m->why == CUT_UNCONFIRMED)
        tr_store_set_error(s, TR_RET_STORE_DOWN,
                           "%s: redis cluster master %s:%d given up for now: fewer than %d "
                           "replicas confirm its writes (--wait-replicas; checked again in "
                           "%lld ms)",
                           what, node->host, node->port, s->cfg->wait_replicas, in < 0 ? 0 : in);
    else
        tr_store_set_error(s, TR_RET_STORE_DOWN,
                           "%s: redis cluster master %s:%d given up for now (tried again in "
                           "%lld ms)",
                           what, node->host, node->port, in < 0 ? 0 : in);
}

void tr_store_cut_result(tr_store *s, const tr_store_cut_node *node, tr_ret code,
                         const char *why)
{
    if (s->cut == NULL || node->port == 0)
        return;
    cut_master *m = find(s, node);
    int64_t now = tr_clock_mono_ms();
    if (code == TR_RET_OK) {
        /* An answer says nothing of its replicas: an unconfirmed master is taken
         * back by its probe only (else: back, given up at the next WAIT, ...). */
        if (m != NULL && m->why == CUT_SILENT) {
            tr_log_info("redis cluster: master %s:%d answers again after %lld ms: its shards "
                        "are claimed and written again",
                        node->host, node->port, (long long)(now - m->since_ms));
            forget(s, m);
        }
        return;
    }
    if (code != TR_RET_STORE_DOWN && code != TR_RET_OUTCOME_UNKNOWN)
        return; /* the call's own fault (out of memory, a bug): not the node's */
    if (m != NULL) {
        back_off(m, now);
        return; /* said once, when it was given up */
    }
    if (give_up(s, node, CUT_SILENT, now) == NULL)
        return;
    tr_log_warning("redis cluster: master %s:%d given up for now (%s): the shards it serves "
                   "are skipped, the others' timers go on; tried again from %d to %d ms apart",
                   node->host, node->port, why, CUT_BACKOFF_MIN_MS, CUT_BACKOFF_MAX_MS);
}

void tr_store_cut_unconfirmed(tr_store *s, const tr_store_cut_node *node, long long got)
{
    if (s->cut == NULL || node->port == 0)
        return;
    cut_master *m = find(s, node);
    int64_t now = tr_clock_mono_ms();
    int want = s->cfg->wait_replicas, wait_ms = s->cfg->redis_timeout_ms / 2;
    if (m != NULL && m->why == CUT_UNCONFIRMED) {
        back_off(m, now);
        return; /* said once, when it was given up */
    }
    if (m != NULL) {
        /* A silent master's probe answered, its WAIT did not: given up still, now
         * for its replicas (one line, not "answers again" then "given up"). */
        m->why = CUT_UNCONFIRMED;
        back_off(m, now);
        tr_log_warning("redis cluster: master %s:%d answers again after %lld ms, but %lld of %d "
                       "replicas confirmed its writes within %d ms (--wait-replicas): still "
                       "given up until they do, its replicas checked from %d to %d ms apart",
                       node->host, node->port, (long long)(now - m->since_ms), got, want,
                       wait_ms, CUT_BACKOFF_MIN_MS, CUT_BACKOFF_MAX_MS);
        return;
    }
    if (give_up(s, node, CUT_UNCONFIRMED, now) == NULL)
        return;
    tr_log_warning("redis cluster: master %s:%d given up for now: %lld of %d replicas confirmed "
                   "its writes within %d ms (--wait-replicas): the shards it serves are skipped "
                   "(their outcomes held, their timers not claimed), the others' timers go on; "
                   "its replicas checked from %d to %d ms apart",
                   node->host, node->port, got, want, wait_ms, CUT_BACKOFF_MIN_MS,
                   CUT_BACKOFF_MAX_MS);
}

/* A shard whose master is m's per the map now, or -1 when none is. s keeps its
 * current shard's names. */
static int served_shard(tr_store *s, const cut_master *m)
{
    int S = s->cfg->shards > 1 ? s->cfg->shards : 1, found = -1, keep = s->shard;
    for (int k = 0; k < S && found < 0; k++) {
        tr_store_cut_node n;
        tr_store_use_shard(s, k);
        master_of(s, s->key[K_DUE], strlen(s->key[K_DUE]), &n);
        if (n.port == m->node.port && strcmp(n.host, m->node.host) == 0)
            found = k;
    }
    tr_store_use_shard(s, keep);
    return found;
}

static void served_none(tr_store *s, cut_master *m)
{
    tr_log_info("redis cluster: master %s:%d serves none of the shards any more after "
                "%lld ms (a replica took over): its shards are claimed and written there",
                m->node.host, m->node.port, (long long)(tr_clock_mono_ms() - m->since_ms));
    forget(s, m);
}

void tr_store_cut_sweep(tr_store *s)
{
    if (s->cut == NULL || s->cut->ndown == 0)
        return;
    for (size_t i = 0; i < s->cut->ndown;) {
        if (served_shard(s, &s->cut->down[i]) >= 0)
            i++;
        else
            served_none(s, &s->cut->down[i]);
    }
}

/* How many replicas of shard's master are in sync: INFO replication's online
 * ones, and when there are enough, WAIT's count on the store's own connection
 * there (the replicas that acknowledged this connection's writes: a replica still
 * listed online but hung acknowledges none). Both answer at once when enough are
 * in sync (WAIT's 1 ms otherwise waits for the server's next tick, ~100 ms); with
 * none online, WAIT is not sent. -1 when the master did not answer (or answered
 * an error: a node demoted to replica refuses WAIT). */
static long long replicas_in_sync(tr_store *s, int shard, int want)
{
    int keep = s->shard;
    char route[KEY_MAX], nstr[16];
    tr_store_use_shard(s, shard);
    snprintf(route, sizeof route, "%s", s->key[K_DUE]);
    tr_store_use_shard(s, keep);
    const unsigned flags = TR_CLUSTER_IDEMPOTENT | TR_CLUSTER_ONE_TRY;
    const char *info[] = {"INFO", "replication"};
    redisReply *r = tr_cluster_command(s->cl, route, strlen(route), 2, info, NULL, flags);
    if (r == NULL || r->type != REDIS_REPLY_STRING) {
        if (r != NULL)
            freeReplyObject(r);
        return -1;
    }
    long long online = tr_redis_info_online_replicas(r->str, r->len);
    freeReplyObject(r);
    if (online < want)
        return online;
    snprintf(nstr, sizeof nstr, "%d", want);
    const char *wait[] = {"WAIT", nstr, "1"};
    r = tr_cluster_command(s->cl, route, strlen(route), 3, wait, NULL, flags);
    long long got = r != NULL && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r != NULL)
        freeReplyObject(r);
    return got;
}

void tr_store_cut_probe(tr_store *s)
{
    if (s->cut == NULL || s->cut->ndown == 0 || s->cl == NULL || tr_cluster_owed(s->cl))
        return; /* a batch in flight: its answers would be taken first, blocking */
    int64_t now = tr_clock_mono_ms();
    int want = s->cfg->wait_replicas;
    for (size_t i = 0; i < s->cut->ndown;) {
        cut_master *m = &s->cut->down[i];
        if (m->why != CUT_UNCONFIRMED || now < m->retry_at_ms) {
            i++;
            continue;
        }
        int shard = served_shard(s, m);
        if (shard < 0) {
            served_none(s, m);
            continue;
        }
        long long got = replicas_in_sync(s, shard, want);
        now = tr_clock_mono_ms();
        if (got >= want) {
            tr_log_info("redis cluster: master %s:%d has %lld of %d replicas in sync again "
                        "after %lld ms: its shards are claimed and written again",
                        m->node.host, m->node.port, got, want, (long long)(now - m->since_ms));
            forget(s, m);
            continue;
        }
        back_off(m, now);
        i++;
    }
}

int tr_store_cut_silent(const tr_store *s, const char *host, int port)
{
    for (size_t i = 0; s->cut != NULL && i < s->cut->ndown; i++) {
        const cut_master *m = &s->cut->down[i];
        if (m->why == CUT_SILENT && m->node.port == port && strcmp(m->node.host, host) == 0)
            return 1;
    }
    return 0;
}
int64_t tr_store_cutoff_retry_ms(const tr_store *s)
{
    if (s->cut == NULL || s->cut->ndown == 0)
        return -1;
    int64_t now = tr_clock_mono_ms(), best = -1;
    for (size_t i = 0; i < s->cut->ndown; i++) {
        int64_t in = s->cut->down[i].retry_at_ms - now;
        if (best < 0 || in < best)
            best = in < 0 ? 0 : in;
    }
    return best;
}

void tr_store_cut_owe(tr_store *s, int shard, const char *token)
{
    if (s->cut == NULL)
        return;
    for (size_t i = 0; i < s->cut->nowed; i++)
        if (s->cut->owed[i].shard == shard && strcmp(s->cut->owed[i].token, token) == 0)
            return;
    if (s->cut->nowed == CUT_OWED_MAX) {
        tr_log_warning("shard %d: claim token %s forgotten (more than %d recoveries owed): "
                       "what it holds returns after its lease",
                       s->cut->owed[0].shard, s->cut->owed[0].token, CUT_OWED_MAX);
        memmove(s->cut->owed, s->cut->owed + 1, (CUT_OWED_MAX - 1) * sizeof s->cut->owed[0]);
        s->cut->nowed--;
    }
    cut_owed *o = &s->cut->owed[s->cut->nowed++];
    o->shard = shard;
    snprintf(o->token, sizeof o->token, "%s", token); /* < TR_CLAIM_TOKEN_MAX: checked */
}

size_t tr_store_cut_owed(const tr_store *s, int shard, const char **tokens, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; s->cut != NULL && i < s->cut->nowed && n < max; i++)
        if (s->cut->owed[i].shard == shard)
            tokens[n++] = s->cut->owed[i].token;
    return n;
}

void tr_store_cut_paid(tr_store *s, int shard, size_t n)
{
    size_t out = 0;
    for (size_t i = 0; s->cut != NULL && i < s->cut->nowed; i++) {
        if (s->cut->owed[i].shard == shard && n > 0) {
            n--; /* the first n of this shard: the ones tr_store_cut_owed listed */
            continue;
        }
        if (out != i)
            s->cut->owed[out] = s->cut->owed[i];
        out++;
    }
    if (s->cut != NULL)
        s->cut->nowed = out;
}

int tr_store_cut_any_owed(const tr_store *s)
{
    return s->cut != NULL && s->cut->nowed > 0;
}

int64_t tr_store_cut_revoke_ms(const tr_store *s)
{
    return s->cut != NULL ? s->cut->revoke_ms : 1;
}
