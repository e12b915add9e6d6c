/* tr_test_store_cluster.h - what the unit tests of the store on a real Redis Cluster
 * share (test_store_cluster*.c): the store's configuration for the cluster of
 * tests/cluster/with_cluster.sh, a store holding a given number of timers on every
 * shard, the acks of a claim, a count of what was claimed that fails on a timer
 * claimed twice, and the log in a file whose lines a test counts.
 *
 * Header-only (static inline), like tr_test_cluster.h; include after <cmocka.h> and
 * tr_test_cluster.h. Every failure is a cmocka assertion.
 */
#ifndef TR_TEST_STORE_CLUSTER_H
#define TR_TEST_STORE_CLUSTER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tr_config.h"
#include "tr_log.h"
#include "tr_shard.h"
#include "tr_store.h"
#include "tr_store_rest.h"
#include "tr_store_sched.h"

#define TR_TSC_REC "{\"u\":\"http://x/\",\"d\":\"hi\"}"
#define TR_TSC_ID_MAX 32

/* The process's log into a new temp file (path: a mkstemp template, "...XXXXXX",
 * filled in), so a test can count the store's lines (tr_tsc_log_count). 0 or -1 (a
 * cmocka setup's answer). */
static inline int tr_tsc_log_open(char *path, const char *name)
{
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    return tr_log_open(name, TR_LOG_INFO, path);
}

/* The log closed and its file removed. */
static inline void tr_tsc_log_close(const char *path)
{
    tr_log_close();
    unlink(path);
}

/* How many lines of the log at path hold `what`. */
static inline int tr_tsc_log_count(const char *path, const char *what)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof line, f) != NULL)
        n += strstr(line, what) != NULL;
    fclose(f);
    return n;
}

/* cfg for tc's cluster (its first node as the seed), `shards` shards, a 2 s timeout.
 * 0, or -1 when not run through with_cluster.sh (a cmocka setup's answer). */
static inline int tr_tsc_config(tr_test_cluster *tc, tr_config *cfg, int shards)
{
    if (tr_test_cluster_env(tc) != 0)
        return -1;
    tr_config_defaults(cfg);
    snprintf(cfg->cluster, sizeof cfg->cluster, "127.0.0.1:%d", tc->ports[0]);
    snprintf(cfg->redis_password, sizeof cfg->redis_password, "%s", tc->password);
    cfg->shards = shards;
    cfg->redis_timeout_ms = 2000;
    return 0;
}

static inline double tr_tsc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A new store under key prefix `key` (set in *c) holding `per` timers due now on each
 * of c->shards shards, their ids "PREFIX-i": ids[k * per + j] is shard k's j-th (ids
 * has room for c->shards * per). The caller frees the store. */
static inline tr_store *tr_tsc_store_with_timers(tr_config *c, const char *key,
                                                 const char *prefix, int per,
                                                 char (*ids)[TR_TSC_ID_MAX])
{
    snprintf(c->key, sizeof c->key, "%s", key);
    tr_store *s = tr_store_new(c);
    assert_non_null(s);
    int n = c->shards * per, added = 0;
    int *have = calloc((size_t)c->shards, sizeof *have);
    assert_non_null(have);
    for (int i = 0; added < n && i < 100000; i++) {
        char id[TR_TSC_ID_MAX];
        snprintf(id, sizeof id, "%s-%d", prefix, i);
        int k = tr_shard_of(c, id);
        if (have[k] == per)
            continue;
        snprintf(ids[k * per + have[k]++], TR_TSC_ID_MAX, "%s", id);
        int64_t due = 0;
        if (tr_store_add(s, id, TR_TSC_REC, strlen(TR_TSC_REC), 0, &due) != TR_STORE_ADD_NEW)
            fail_msg("add %s: %s", id, tr_store_error(s));
        added++;
    }
    free(have);
    assert_int_equal(added, n);
    return s;
}

/* Acks of every item of b under token, into f (room for b->count). */
static inline size_t tr_tsc_acks_of(const tr_claim_batch *b, const char *token, tr_finish *f)
{
    for (size_t i = 0; i < b->count; i++)
        f[i] = (tr_finish){.kind = TR_FINISH_ACK, .id = b->items[i].id, .token = token,
                           .attempt = b->items[i].attempt};
    return b->count;
}

/* Marks each item of b claimed in seen[] (indexes into ids[0..n)); each exactly once. */
static inline void tr_tsc_count_claimed(char (*ids)[TR_TSC_ID_MAX], int n, int *seen,
                                        const tr_claim_batch *b)
{
    for (size_t i = 0; i < b->count; i++) {
        int found = 0;
        for (int t = 0; t < n && !found; t++) {
            if (strcmp(ids[t], b->items[i].id) != 0)
                continue;
            if (seen[t]++ != 0)
                fail_msg("%s claimed twice", ids[t]);
            found = 1;
        }
        assert_true(found);
    }
}

/* Acks every timer of b under token (each APPLIED), then asserts the store holds no
 * timer any more, due or in flight. */
static inline void tr_tsc_ack_last(tr_store *s, const tr_claim_batch *b, const char *token)
{
    tr_finish *f = calloc(b->count + 1, sizeof *f);
    tr_finish_result *res = calloc(b->count + 1, sizeof *res);
    assert_true(f != NULL && res != NULL);
    size_t nf = tr_tsc_acks_of(b, token, f);
    assert_int_equal(tr_store_finish(s, f, nf, res), 0);
    for (size_t i = 0; i < nf; i++)
        assert_int_equal(res[i], TR_FINISH_APPLIED);
    free(f);
    free(res);
    tr_store_stats st;
    assert_int_equal(tr_store_get_stats(s, 0, &st), 0);
    assert_int_equal(st.pending + st.in_flight, 0);
}

/* Turns the scheduler's cut-off on in s (store key prefix `key`), marks in victim[]
 * the shards the first master serves (some, not all) and raises every node's
 * cluster-node-timeout so a stopped master is not failed over. Returns how many
 * shards that master serves. */
static inline int tr_tsc_cutoff_on_first(tr_store *s, tr_test_cluster *tc, const char *key,
                                         int shards, int *victim)
{
    assert_int_equal(tr_store_set_cutoff(s, 60000), 0);
    int nvictim = tr_test_cluster_first_master_shards(tc, key, shards, victim);
    assert_true(nvictim > 0 && nvictim < shards);
    tr_test_cluster_node_timeout_all(tc, 60000);
    return nvictim;
}

#endif
