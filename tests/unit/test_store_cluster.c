/* test_store_cluster.c - tr_store on a real Redis Cluster (--cluster, --shards 16; run
 * by tests/cluster/with_cluster.sh: 3 masters, a replica each, a tc.password): timers added
 * to every shard are claimed over all shards and acked; the claim's time over 16
 * shards on 3 masters is printed (what the scheduler's blocking claim costs there);
 * after SCRIPT FLUSH on every master the scripts are loaded again per node; a shard's
 * slot moved to another master by hand (as redis-cli --cluster reshard does) is
 * followed (MOVED) by get, claim and ack; the shard count is kept and checked;
 * --wait-replicas 1 confirms writes, 2 (one replica each) fails them as maybe applied;
 * with the scheduler's cut-off, a stopped master holds back only its own shards.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "tr_cluster.h"
#include "tr_config.h"
#include "tr_shard.h"
#include "tr_store.h"
#include "tr_store_rest.h"
#include "tr_store_sched.h"
#include "tr_test_cluster.h"

#define S 16

static tr_test_cluster tc;
#define raw_cmd(...) tr_test_cluster_cmd(&tc, __VA_ARGS__)
static tr_config cfg;

static int setup(void **state)
{
    (void)state;
    if (tr_test_cluster_env(&tc) != 0)
        return -1;
    tr_config_defaults(&cfg);
    snprintf(cfg.key, sizeof cfg.key, "stc");
    snprintf(cfg.cluster, sizeof cfg.cluster, "127.0.0.1:%d", tc.ports[tc.nnodes - 1]); /* a replica */
    snprintf(cfg.redis_password, sizeof cfg.redis_password, "%s", tc.password);
    cfg.shards = S;
    cfg.redis_timeout_ms = 2000;
    return 0;
}

#define expect_status tr_test_cluster_expect_status

#define REC "{\"u\":\"http://x/\",\"d\":\"hi\"}"

static void add_ok(tr_store *s, const char *id)
{
    int64_t due = 0;
    tr_store_add_result rc = tr_store_add(s, id, REC, strlen(REC), 0, &due);
    if (rc != TR_STORE_ADD_NEW)
        fail_msg("add %s: %d %s", id, (int)rc, tr_store_error(s));
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Claims until `want` timers came (a few rounds: a claim of 16 shards asks each for
 * its share of the limit), acks them all; returns how many were acked APPLIED. */
static size_t claim_ack(tr_store *s, size_t want, const char *token)
{
    size_t got = 0, applied = 0;
    for (int round = 0; round < 20 && got < want; round++) {
        tr_claim_batch b = {0};
        if (tr_store_claim(s, 1000, 30000, token, &b) != 0)
            fail_msg("claim: %s", tr_store_error(s));
        tr_finish *f = calloc(b.count ? b.count : 1, sizeof *f);
        tr_finish_result *res = calloc(b.count ? b.count : 1, sizeof *res);
        assert_non_null(f);
        assert_non_null(res);
        for (size_t i = 0; i < b.count; i++)
            f[i] = (tr_finish){.kind = TR_FINISH_ACK, .id = b.items[i].id, .token = token,
                               .attempt = b.items[i].attempt};
        if (b.count > 0 && tr_store_finish(s, f, b.count, res) != 0)
            fail_msg("finish: %s", tr_store_error(s));
        for (size_t i = 0; i < b.count; i++)
            applied += res[i] == TR_FINISH_APPLIED;
        got += b.count;
        free(f);
        free(res);
        tr_claim_batch_clear(&b);
    }
    assert_int_equal(got, want);
    return applied;
}

/* 160 timers over the 16 shards: claimed from every master, acked, counted. */
static void test_add_claim_ack(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg);
    assert_non_null(s);
    if (tr_store_connect(s) != 0)
        fail_msg("connect: %s", tr_store_error(s));
    assert_int_equal(tr_store_ping(s), 0);
    int per[S] = {0};
    char id[32];
    for (int i = 0; i < 160; i++) {
        snprintf(id, sizeof id, "t-%03d", i);
        add_ok(s, id);
        per[tr_shard_of(&cfg, id)]++;
    }
    for (int k = 0; k < S; k++)
        assert_true(per[k] > 0);
    assert_int_equal(claim_ack(s, 160, "test/1/1"), 160);
    tr_store_stats st;
    assert_int_equal(tr_store_get_stats(s, 0, &st), 0);
    assert_int_equal(st.pending, 0);

    /* What one claim over 16 shards costs when nothing is due (the scheduler's idle
     * claim; a claim with work is the same calls, larger answers). */
    enum { N = 200 };
    static double t[N];
    for (int i = 0; i < N; i++) {
        tr_claim_batch b = {0};
        double t0 = now_ms();
        assert_int_equal(tr_store_claim(s, 100, 30000, "test/1/2", &b), 0);
        t[i] = now_ms() - t0;
        assert_int_equal(b.count, 0);
        tr_claim_batch_clear(&b);
    }
    for (int i = 1; i < N; i++) /* insertion sort: N is small */
        for (int j = i; j > 0 && t[j - 1] > t[j]; j--) {
            double x = t[j];
            t[j] = t[j - 1];
            t[j - 1] = x;
        }
    printf("claim over %d shards on %d masters (nothing due): median %.2f ms, p90 %.2f ms, "
           "max %.2f ms (%d claims; a loaded 2-core machine)\n",
           S, tc.nmasters, t[N / 2], t[N * 9 / 10], t[N - 1], N);
    tr_store_free(s);
}

/* SCRIPT FLUSH everywhere: each node loads each script again on its NOSCRIPT. */
static void test_noscript_per_node(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg);
    assert_int_equal(tr_store_connect(s), 0);
    add_ok(s, "warm");
    for (int n = 0; n < tc.nmasters; n++)
        expect_status(raw_cmd(tc.ports[n], "SCRIPT FLUSH"));
    char id[32];
    for (int i = 0; i < 48; i++) {
        snprintf(id, sizeof id, "ns-%02d", i);
        add_ok(s, id);
    }
    assert_int_equal(claim_ack(s, 49, "test/2/1"), 49);
    tr_store_free(s);
}

/* A shard's slot moved to another master: its keys migrated, every master told.
 * The store follows the MOVED answers (map reload) for get, claim and ack. */
static void test_shard_moved(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg);
    assert_int_equal(tr_store_connect(s), 0);
    /* Timers of shard 3 only. */
    char ids[10][32];
    int n = 0;
    for (int i = 0; n < 10; i++) {
        snprintf(ids[n], sizeof ids[n], "mv-%d", i);
        if (tr_shard_of(&cfg, ids[n]) == 3)
            add_ok(s, ids[n++]);
    }
    const char *tag = "{stc:3}";
    unsigned slot = tr_cluster_keyslot(tag, strlen(tag));
    /* Which master holds it now, and another one. */
    char due[64];
    snprintf(due, sizeof due, "%s:due", tag);
    int from = tr_test_cluster_owner(&tc, due), to = 0;
    for (int m = 0; m < tc.nmasters && to == 0; m++)
        if (tc.ports[m] != from)
            to = tc.ports[m];
    size_t keys = tr_test_cluster_move_slot(&tc, slot, from, to);
    printf("moved shard 3 (slot %u, %zu keys) from %d to %d\n", slot, keys, from, to);

    tr_timer_view v = {0};
    assert_int_equal(tr_store_get(s, ids[0], &v), TR_STORE_GET_FOUND);
    assert_string_equal(v.id, ids[0]);
    tr_timer_view_clear(&v);
    add_ok(s, "mv-new-after"); /* any shard */
    size_t want = 11;
    assert_int_equal(claim_ack(s, want, "test/3/1"), want);
    redisReply *r = raw_cmd(to, "ZCARD %s:due", tag);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);
    tr_store_free(s);
}

/* The shard count lives in the cluster: another count is refused. */
static void test_shard_count_kept(void **state)
{
    (void)state;
    tr_config other = cfg;
    other.shards = 8;
    tr_store *s = tr_store_new(&other);
    assert_int_not_equal(tr_store_connect(s), 0);
    assert_int_equal(tr_store_refused(s), 1);
    printf("--shards 8 on the cluster: %s\n", tr_store_error(s));
    assert_non_null(strstr(tr_store_error(s), "16 shards"));
    tr_store_free(s);
}

/* --wait-replicas: with 1 (each master has one replica) a create is confirmed; with 2
 * it is written but not confirmed: it fails as maybe applied, and reads still work. */
static void test_wait_replicas(void **state)
{
    (void)state;
    /* A new cluster's replicas sync first (diskless, after repl-diskless-sync-delay):
     * until then WAIT counts none. */
    tr_test_cluster_replicas_online(&tc);
    tr_config one = cfg, two = cfg;
    one.wait_replicas = 1;
    two.wait_replicas = 2;
    tr_store *s = tr_store_new(&one);
    assert_int_equal(tr_store_connect(s), 0);
    char id[32];
    double t0 = now_ms();
    for (int i = 0; i < 32; i++) {
        snprintf(id, sizeof id, "w1-%02d", i);
        add_ok(s, id);
    }
    printf("--wait-replicas 1: 32 creates (one per call) in %.1f ms\n", now_ms() - t0);
    assert_int_equal(claim_ack(s, 32, "test/5/1"), 32); /* acks wait too */
    tr_store_free(s);

    s = tr_store_new(&two);
    assert_int_equal(tr_store_connect(s), 0);
    int64_t due = 0;
    t0 = now_ms();
    assert_int_equal(tr_store_add(s, "w2-0", REC, strlen(REC), 60000, &due), TR_STORE_ADD_FAILED);
    printf("--wait-replicas 2: %s (after %.0f ms)\n", tr_store_error(s), now_ms() - t0);
    assert_int_equal(tr_store_error_code(s), TR_RET_OUTCOME_UNKNOWN);
    assert_non_null(strstr(tr_store_error(s), "1 of 2 replicas"));
    tr_timer_view v = {0};
    assert_int_equal(tr_store_get(s, "w2-0", &v), TR_STORE_GET_FOUND); /* it was written */
    tr_timer_view_clear(&v);
    int64_t ttl = 0;
    assert_int_not_equal(tr_store_cancel(s, "w2-0", &ttl), 0); /* a write: not confirmed */
    tr_store_free(s);
    s = tr_store_new(&cfg);
    assert_int_equal(tr_store_cancel(s, "w2-0", &ttl), 0);
    tr_store_free(s);
}

/* The cut-off (tr_store_set_cutoff): one timer on every shard, the first master
 * stopped (SIGSTOP, no failover). A claim waits for it once (--redis-timeout-ms),
 * returns the other masters' timers, and the next ones skip it (one probes it at
 * its retry time); a finish
 * applies the other shards' acks and answers UNWRITTEN for the stopped one's. After
 * SIGCONT, the claim sent to it (run when it resumed) is recovered, its timers are
 * claimed once under a new token, and the held ack is then stale. */
static void test_cutoff(void **state)
{
    (void)state;
    tr_config c = cfg;
    snprintf(c.key, sizeof c.key, "stcut");
    c.redis_timeout_ms = 300;
    tr_store *s = tr_store_new(&c);
    assert_non_null(s);
    assert_int_equal(tr_store_set_cutoff(s, 60000), 0);
    assert_int_equal(tr_store_connect(s), 0);
    char ids[S][32] = {{0}};
    int have = 0, victim_shard[S] = {0}, nvictim = 0;
    for (int i = 0; have < S && i < 10000; i++) {
        char id[32];
        snprintf(id, sizeof id, "cut-%d", i);
        int k = tr_shard_of(&c, id);
        if (ids[k][0] != '\0')
            continue; /* one timer per shard */
        snprintf(ids[k], sizeof ids[k], "%s", id);
        add_ok(s, id);
        have++;
    }
    assert_int_equal(have, S);
    nvictim = tr_test_cluster_first_master_shards(&tc, "stcut", S, victim_shard);
    assert_true(nvictim > 0 && nvictim < S);
    tr_test_cluster_node_timeout_all(&tc, 60000);
    assert_int_equal(kill(tc.pids[0], SIGSTOP), 0);

    tr_claim_batch b = {0};
    double t0 = now_ms();
    assert_int_equal(tr_store_claim(s, 1000, 30000, "cut/1/1", &b), 0);
    double first = now_ms() - t0;
    assert_int_equal(b.count, S - nvictim);
    assert_true(b.next_ms >= 0 && b.next_ms <= b.now_ms + 2000); /* claim again then */
    tr_finish f[S];
    tr_finish_result res[S];
    size_t nf = 0;
    for (size_t i = 0; i < b.count; i++)
        f[nf++] = (tr_finish){.kind = TR_FINISH_ACK, .id = b.items[i].id, .token = "cut/1/1",
                              .attempt = 1};
    int vk = 0;
    while (!victim_shard[vk])
        vk++;
    f[nf++] = (tr_finish){.kind = TR_FINISH_ACK, .id = ids[vk], .token = "cut/1/1",
                          .attempt = 1};
    /* Not every claim waits for it: those before its retry time skip it with no I/O,
     * one at the retry time probes it (one try). 20 claims in a row: far less than
     * 20 read timeouts. */
    t0 = now_ms();
    for (int i = 0; i < 20; i++) {
        tr_claim_batch b2 = {0};
        assert_int_equal(tr_store_claim(s, 1000, 30000, "cut/1/2", &b2), 0);
        assert_int_equal(b2.count, 0);
        tr_claim_batch_clear(&b2);
    }
    double twenty = now_ms() - t0;
    t0 = now_ms();
    assert_int_equal(tr_store_finish(s, f, nf, res), 0);
    double fin = now_ms() - t0;
    printf("cut-off: first claim %.0f ms (--redis-timeout-ms 300), then 20 claims %.0f ms "
           "and a finish %.1f ms with %d of %d shards on the stopped master\n",
           first, twenty, fin, nvictim, S);
    assert_true(twenty < 20 * 300 / 2);
    for (size_t i = 0; i + 1 < nf; i++)
        assert_int_equal(res[i], TR_FINISH_APPLIED);
    assert_int_equal(res[nf - 1], TR_FINISH_UNWRITTEN);
    tr_claim_batch_clear(&b);

    assert_int_equal(kill(tc.pids[0], SIGCONT), 0);
    int got = 0;
    for (int round = 0; round < 100 && got < nvictim; round++) {
        tr_claim_batch v = {0};
        assert_int_equal(tr_store_claim(s, 1000, 30000, "cut/1/3", &v), 0);
        for (size_t i = 0; i < v.count; i++) {
            assert_true(victim_shard[tr_shard_of(&c, v.items[i].id)]);
            tr_finish a = {.kind = TR_FINISH_ACK, .id = v.items[i].id, .token = "cut/1/3",
                           .attempt = v.items[i].attempt};
            tr_finish_result ar;
            assert_int_equal(tr_store_finish(s, &a, 1, &ar), 0);
            assert_int_equal(ar, TR_FINISH_APPLIED);
        }
        got += (int)v.count;
        tr_claim_batch_clear(&v);
        if (got < nvictim)
            nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
    }
    assert_int_equal(got, nvictim); /* each once: the lost claim's were given back */
    assert_int_equal(tr_store_finish(s, &f[nf - 1], 1, res), 0);
    assert_int_equal(res[0], TR_FINISH_STALE); /* the held ack: its claim lost the timer */
    tr_store_stats st;
    assert_int_equal(tr_store_get_stats(s, 0, &st), 0);
    assert_int_equal(st.pending, 0);
    tr_test_cluster_node_timeout_all(&tc, 2000);
    tr_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_claim_ack),
        cmocka_unit_test(test_noscript_per_node),
        cmocka_unit_test(test_shard_moved),
        cmocka_unit_test(test_shard_count_kept),
        cmocka_unit_test(test_wait_replicas),
        cmocka_unit_test(test_cutoff),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
