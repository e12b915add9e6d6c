/* test_store_cluster_wait.c - on a real Redis Cluster (--cluster, --shards 16; run by
 * tests/cluster/with_cluster.sh: 3 masters, a replica each), the scheduler's store
 * with --wait-replicas 1 and the cut-off when one master's replica stops confirming
 * (SIGSTOP: the master still lists it online, as after a failover it lists none).
 *
 * The first finish that acks timers there waits for its WAIT once (half
 * --redis-timeout-ms) and answers those acks UNWRITTEN; the master is then given up
 * for its replicas: the next rounds of claim and finish (the other masters' timers,
 * the held acks written again each time) wait for no WAIT, and claim none of its
 * timers; its probes (INFO replication, then WAIT 1 1) keep it given up while the
 * replica is stopped. After SIGCONT a probe takes it back: the held acks are written
 * (STALE: they ran on the master; only the WAIT fell short), its timers are claimed,
 * each timer exactly once. The log says "given up" once and "in sync again" once.
 * Before the cut-off heard WAIT's shortfall, every round waited a whole WAIT (the
 * ten rounds' bound below fails).
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
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "tr_config.h"
#include "tr_log.h"
#include "tr_shard.h"
#include "tr_store.h"
#include "tr_store_rest.h"
#include "tr_store_sched.h"
#include "tr_test_cluster.h"
#include "tr_test_store_cluster.h"

#define S 16
#define WAIT_MS 1000 /* half --redis-timeout-ms: what one WAIT waits at most */
#define ROUNDS 10

static tr_test_cluster tc;
static tr_config cfg;
static char log_path[] = "/tmp/tr-test-store-wait-XXXXXX";

#define raw_cmd(...) tr_test_cluster_cmd(&tc, __VA_ARGS__)

static int setup(void **state)
{
    (void)state;
    if (tr_tsc_config(&tc, &cfg, S) != 0)
        return -1;
    /* The cut-off's lines, to count them. */
    return tr_tsc_log_open(log_path, "test_store_cluster_wait");
}

static int teardown(void **state)
{
    (void)state;
    tr_tsc_log_close(log_path);
    return 0;
}

/* Lines of the log holding `what`. */
static int log_count(const char *what)
{
    return tr_tsc_log_count(log_path, what);
}

/* The pid of the first master's replica (INFO replication names its port). */
static int first_replica_pid(void)
{
    redisReply *r = raw_cmd(tc.ports[0], "INFO replication");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    const char *p = strstr(r->str, "slave0:ip=");
    assert_non_null(p);
    p = strstr(p, ",port=");
    assert_non_null(p);
    int port = (int)strtol(p + 6, NULL, 10);
    freeReplyObject(r);
    for (int i = tc.nmasters; i < tc.nnodes; i++)
        if (tc.ports[i] == port)
            return tc.pids[i];
    fail_msg("no replica on port %d", port);
    return -1;
}

/* One timer due now on each shard, ids "PREFIX-i" into ids[shard], through `add`
 * (a store without --wait-replicas: the adds are not the subject). */
static void one_per_shard(tr_store *add, const char *prefix, char ids[S][TR_TSC_ID_MAX])
{
    int have = 0;
    memset(ids, 0, S * TR_TSC_ID_MAX);
    for (int i = 0; have < S && i < 100000; i++) {
        char id[TR_TSC_ID_MAX];
        snprintf(id, sizeof id, "%s-%d", prefix, i);
        int k = tr_shard_of(&cfg, id);
        if (ids[k][0] != '\0')
            continue;
        snprintf(ids[k], TR_TSC_ID_MAX, "%s", id);
        int64_t due = 0;
        if (tr_store_add(add, id, TR_TSC_REC, strlen(TR_TSC_REC), 0, &due) != TR_STORE_ADD_NEW)
            fail_msg("add %s: %s", id, tr_store_error(add));
        have++;
    }
    assert_int_equal(have, S);
}

static void test_unconfirmed_master(void **state)
{
    (void)state;
    tr_test_cluster_replicas_online(&tc);
    tr_config c = cfg, plain = cfg;
    snprintf(c.key, sizeof c.key, "stwait");
    snprintf(plain.key, sizeof plain.key, "stwait");
    c.wait_replicas = 1;
    c.redis_timeout_ms = 2 * WAIT_MS;
    tr_store *s = tr_store_new(&c), *add = tr_store_new(&plain);
    assert_true(s != NULL && add != NULL);
    assert_int_equal(tr_store_set_cutoff(s, 60000), 0);
    int victim[S];
    int nvictim = tr_test_cluster_first_master_shards(&tc, "stwait", S, victim);
    assert_true(nvictim > 0 && nvictim < S);
    char first[S][TR_TSC_ID_MAX], later[S][TR_TSC_ID_MAX];
    one_per_shard(add, "a", first);
    int replica = first_replica_pid();
    tr_test_cluster_node_timeout_all(&tc, 60000); /* nothing is failed over meanwhile */
    assert_int_equal(kill(replica, SIGSTOP), 0);

    /* Claimed everywhere (a claim waits for no replica), acked: the first master's
     * WAIT falls short once, its acks held. */
    tr_claim_batch b = {0};
    assert_int_equal(tr_store_claim(s, 1000, 60000, "w/1/1", &b), 0);
    assert_int_equal(b.count, S);
    tr_finish held[S], f[2 * S];
    tr_finish_result res[2 * S];
    size_t nheld = 0, nf = tr_tsc_acks_of(&b, "w/1/1", f);
    double t0 = tr_tsc_now_ms();
    assert_int_equal(tr_store_finish(s, f, nf, res), 0);
    double found = tr_tsc_now_ms() - t0;
    for (size_t i = 0; i < nf; i++) {
        int k = tr_shard_of(&c, f[i].id);
        assert_int_equal(res[i], victim[k] ? TR_FINISH_UNWRITTEN : TR_FINISH_APPLIED);
        if (victim[k])
            held[nheld++] = f[i];
    }
    assert_int_equal((int)nheld, nvictim);
    assert_true(found >= WAIT_MS * 0.9); /* the one WAIT that found it short */
    assert_true(tr_store_cutoff_retry_ms(s) >= 0); /* given up */
    assert_int_equal(log_count("given up for now: 0 of 1 replicas confirmed"), 1);

    /* The other masters' work waits for no WAIT: ROUNDS of claim and finish (their
     * new timers, the held acks written again each time) in less than one WAIT
     * (each would wait one before); none of the first master's timers claimed. */
    one_per_shard(add, "b", later);
    int seen[S] = {0};
    double slowest = 0;
    t0 = tr_tsc_now_ms();
    for (int r = 0; r < ROUNDS; r++) {
        double t1 = tr_tsc_now_ms();
        tr_claim_batch v = {0};
        assert_int_equal(tr_store_claim(s, 1000, 60000, "w/1/2", &v), 0);
        nf = 0;
        for (size_t i = 0; i < nheld; i++)
            f[nf++] = held[i];
        for (size_t i = 0; i < v.count; i++) {
            int k = tr_shard_of(&c, v.items[i].id);
            assert_false(victim[k]);
            assert_string_equal(v.items[i].id, later[k]);
            assert_int_equal(seen[k]++, 0);
            f[nf++] = (tr_finish){.kind = TR_FINISH_ACK, .id = later[k], .token = "w/1/2",
                                  .attempt = v.items[i].attempt};
        }
        assert_int_equal(tr_store_finish(s, f, nf, res), 0);
        for (size_t i = 0; i < nf; i++)
            assert_int_equal(res[i], i < nheld ? TR_FINISH_UNWRITTEN : TR_FINISH_APPLIED);
        tr_claim_batch_clear(&v);
        double took = tr_tsc_now_ms() - t1;
        slowest = took > slowest ? took : slowest;
    }
    double rounds = tr_tsc_now_ms() - t0;
    for (int k = 0; k < S; k++)
        assert_int_equal(seen[k], victim[k] ? 0 : 1);

    /* Probed while the replica stays stopped (INFO still lists it online; WAIT 1 1
     * on the store's connection counts none): still given up, each claim quick. */
    double probes = 0;
    int nclaims = 0;
    t0 = tr_tsc_now_ms();
    while (tr_tsc_now_ms() - t0 < 2.5 * 2000) { /* past the longest retry interval */
        double t1 = tr_tsc_now_ms();
        tr_claim_batch v = {0};
        assert_int_equal(tr_store_claim(s, 1000, 60000, "w/1/3", &v), 0);
        assert_int_equal(v.count, 0);
        tr_claim_batch_clear(&v);
        double took = tr_tsc_now_ms() - t1;
        probes = took > probes ? took : probes;
        nclaims++;
        nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL); /* a loop's pace */
    }
    printf("--wait-replicas 1, the first master's replica stopped (%d of %d shards): the "
           "finish that found it short %.0f ms (WAIT %d ms); then %d rounds of claim and "
           "finish %.0f ms (slowest %.1f ms); %d claims over %.1f s of probes, slowest "
           "%.1f ms\n",
           nvictim, S, found, WAIT_MS, ROUNDS, rounds, slowest, nclaims, 2.5 * 2, probes);
    assert_true(rounds < WAIT_MS);
    assert_true(probes < WAIT_MS);
    assert_int_equal(log_count("replicas in sync again"), 0);

    /* The replica back: a probe takes the master back, the held acks are written
     * (STALE: they ran there) and its timers claimed, each once. */
    assert_int_equal(kill(replica, SIGCONT), 0);
    t0 = tr_tsc_now_ms();
    int acked = 0, got = 0;
    for (int r = 0; r < 200 && (acked < nvictim || got < nvictim); r++) {
        if (acked < nvictim) {
            assert_int_equal(tr_store_finish(s, held, nheld, res), 0);
            acked = 0;
            for (size_t i = 0; i < nheld; i++) {
                assert_true(res[i] == TR_FINISH_UNWRITTEN || res[i] == TR_FINISH_STALE);
                acked += res[i] == TR_FINISH_STALE;
            }
        }
        tr_claim_batch v = {0};
        assert_int_equal(tr_store_claim(s, 1000, 60000, "w/1/4", &v), 0);
        for (size_t i = 0; i < v.count; i++) {
            int k = tr_shard_of(&c, v.items[i].id);
            assert_true(victim[k]);
            assert_string_equal(v.items[i].id, later[k]);
            assert_int_equal(seen[k]++, 0);
            tr_finish a = {.kind = TR_FINISH_ACK, .id = later[k], .token = "w/1/4",
                           .attempt = v.items[i].attempt};
            tr_finish_result ar;
            assert_int_equal(tr_store_finish(s, &a, 1, &ar), 0);
            assert_int_equal(ar, TR_FINISH_APPLIED); /* confirmed by the replica */
            got++;
        }
        tr_claim_batch_clear(&v);
        if (acked < nvictim || got < nvictim)
            nanosleep(&(struct timespec){0, 50 * 1000 * 1000}, NULL);
    }
    printf("after SIGCONT: taken back, held acks written and its %d timers claimed in %.0f "
           "ms\n", got, tr_tsc_now_ms() - t0);
    assert_int_equal(acked, nvictim);
    assert_int_equal(got, nvictim);
    assert_int_equal(tr_store_cutoff_retry_ms(s), -1);
    assert_int_equal(log_count("given up for now"), 1); /* no flapping */
    assert_int_equal(log_count("has 1 of 1 replicas in sync again"), 1);
    tr_store_stats st;
    assert_int_equal(tr_store_get_stats(add, 0, &st), 0);
    assert_int_equal(st.pending + st.in_flight, 0);
    tr_test_cluster_node_timeout_all(&tc, 2000);
    tr_claim_batch_clear(&b); /* held[] pointed into it */
    tr_store_free(s);
    tr_store_free(add);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unconfirmed_master),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
