/* test_store_cluster_behind.c - on a real Redis Cluster (--cluster, --shards 16; run by
 * tests/cluster/with_cluster.sh: 3 masters, a replica each), a claim sent behind a
 * finish (tr_store_finish_send, then tr_store_claim_send), as the scheduler does under
 * a backlog: both are written at once, the claim's calls behind the finish's on the
 * same masters' connections, and their answers come together (the claim has run in
 * Redis before its own answer is asked for). With the scheduler's cut-off and a master
 * stopped, the async finish holds that master's outcomes (TR_FINISH_UNWRITTEN) as the
 * blocking one does, the claim behind it returns the other shards' timers, and after
 * SIGCONT the claim whose answer was lost is recovered by token (before the claim
 * sent behind the next finish), so every timer is claimed exactly once.
 * (test_store_cluster_poll.c takes the same answers without blocking.)
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

#include "tr_config.h"
#include "tr_shard.h"
#include "tr_store.h"
#include "tr_store_rest.h"
#include "tr_store_sched.h"
#include "tr_test_cluster.h"
#include "tr_test_store_cluster.h"

#define S 16
#define PER 2 /* timers per shard */
#define N (S * PER)

static tr_test_cluster tc;
static tr_config cfg;

static int setup(void **state)
{
    (void)state;
    return tr_tsc_config(&tc, &cfg, S);
}

/* PER timers on every shard, due now, under key prefix `key`: ids[k * PER + j] is
 * shard k's j-th. */
static tr_store *store_with_timers(tr_config *c, const char *key, char ids[N][32])
{
    return tr_tsc_store_with_timers(c, key, "b", PER, ids);
}

/* Asserts the timers due and in flight, counted by another store (this one owes
 * answers). */
static void expect_counts(const tr_config *c, int64_t pending, int64_t in_flight)
{
    tr_store *o = tr_store_new(c);
    assert_non_null(o);
    tr_store_stats st;
    if (tr_store_get_stats(o, 0, &st) != 0)
        fail_msg("stats: %s", tr_store_error(o));
    tr_store_free(o);
    assert_int_equal(st.pending, pending);
    assert_int_equal(st.in_flight, in_flight);
}

/* A finish sent, a claim sent behind it: the claim's answer is owed until the
 * finish's is read; reading the finish's answers also brings the claim's; the claim
 * takes the other half, each timer once. */
static void test_claim_behind_finish(void **state)
{
    (void)state;
    tr_config c = cfg;
    char ids[N][32];
    tr_store *s = store_with_timers(&c, "stb", ids);
    int seen[N] = {0};
    tr_claim_batch b = {0};
    assert_int_equal(tr_store_claim(s, S, 30000, "b/1/1", &b), 0);
    assert_int_equal(b.count, S); /* a quota of 1 per shard */
    tr_tsc_count_claimed(ids, N, seen, &b);
    tr_finish f[N];
    tr_finish_result res[N];
    size_t nf = tr_tsc_acks_of(&b, "b/1/1", f);

    assert_int_equal(tr_store_finish_send(s, f, nf), 0);
    assert_int_equal(tr_store_claim_send(s, 1000, 30000, "b/1/2"), 0);
    assert_true(tr_store_finish_outstanding(s) && tr_store_claim_outstanding(s));
    tr_claim_batch b2 = {0};
    assert_int_equal(tr_store_claim_recv(s, &b2, TR_STORE_RECV_BLOCK), TR_STORE_RECV_OWED);
    double t0 = tr_tsc_now_ms();
    assert_int_equal(tr_store_finish_recv(s, f, res, TR_STORE_RECV_BLOCK), TR_STORE_RECV_DONE);
    double batch = tr_tsc_now_ms() - t0;
    for (size_t i = 0; i < nf; i++)
        assert_int_equal(res[i], TR_FINISH_APPLIED);
    /* The claim ran in the same batch: its timers are in flight before its answer
     * is read. */
    expect_counts(&c, 0, S);
    t0 = tr_tsc_now_ms();
    assert_int_equal(tr_store_claim_recv(s, &b2, TR_STORE_RECV_BLOCK), TR_STORE_RECV_DONE);
    double taken = tr_tsc_now_ms() - t0;
    assert_int_equal(b2.count, S);
    tr_tsc_count_claimed(ids, N, seen, &b2);
    for (int t = 0; t < N; t++)
        assert_int_equal(seen[t], 1);
    printf("finish of %zu acks + claim behind it over %d shards on %d masters: %.2f ms for "
           "both, then %.3f ms to take the claim's answer (already run)\n",
           nf, S, tc.nmasters, batch, taken);

    tr_tsc_ack_last(s, &b2, "b/1/2");
    tr_claim_batch_clear(&b);
    tr_claim_batch_clear(&b2);
    tr_store_free(s);
}

/* The cut-off, the first master stopped: a claim finds it gone (its claim calls
 * owed a recovery); a finish with a release for its shard and a claim sent behind:
 * the release UNWRITTEN, the others APPLIED, the claim the other shards' second
 * timers. After SIGCONT, finish (the held release) + claim behind, again until all
 * came: the held release is written (APPLIED when it comes before the lost claim's
 * recovery, STALE after), the lost claim is recovered before the claim behind runs,
 * and each timer is claimed once. */
static void test_behind_cutoff(void **state)
{
    (void)state;
    tr_config c = cfg;
    c.redis_timeout_ms = 300;
    char ids[N][32];
    tr_store *s = store_with_timers(&c, "stbcut", ids);
    int victim[S] = {0};
    int nvictim = tr_tsc_cutoff_on_first(s, &tc, "stbcut", S, victim);
    assert_int_equal(kill(tc.pids[0], SIGSTOP), 0);

    int seen[N] = {0};
    tr_claim_batch b = {0};
    assert_int_equal(tr_store_claim(s, S, 30000, "c/1/1", &b), 0);
    assert_int_equal(b.count, S - nvictim);
    tr_tsc_count_claimed(ids, N, seen, &b);
    tr_finish f[N + 1];
    tr_finish_result res[N + 1];
    size_t nf = tr_tsc_acks_of(&b, "c/1/1", f);
    int vk = 0;
    while (!victim[vk])
        vk++;
    /* The stopped master's: may have been claimed by the call it has not answered.
     * A release: written before or after that claim's recovery, it is due again
     * once (the finish is written at once, the recovery runs at the claim's send). */
    tr_finish held = {.kind = TR_FINISH_RELEASE, .id = ids[vk * PER], .token = "c/1/1",
                      .attempt = 1};
    f[nf++] = held;

    double t0 = tr_tsc_now_ms();
    assert_int_equal(tr_store_finish_send(s, f, nf), 0);
    assert_int_equal(tr_store_claim_send(s, 1000, 30000, "c/1/2"), 0);
    assert_int_equal(tr_store_finish_recv(s, f, res, TR_STORE_RECV_BLOCK), TR_STORE_RECV_DONE);
    for (size_t i = 0; i + 1 < nf; i++)
        assert_int_equal(res[i], TR_FINISH_APPLIED);
    assert_int_equal(res[nf - 1], TR_FINISH_UNWRITTEN);
    tr_claim_batch b2 = {0};
    assert_int_equal(tr_store_claim_recv(s, &b2, TR_STORE_RECV_BLOCK), TR_STORE_RECV_DONE);
    double both = tr_tsc_now_ms() - t0;
    assert_int_equal(b2.count, S - nvictim); /* the others' second timers */
    tr_tsc_count_claimed(ids, N, seen, &b2);
    assert_true(b2.next_ms >= 0 && b2.next_ms <= b2.now_ms + 2000); /* claim again then */
    printf("cut-off: finish + claim behind it %.0f ms with %d of %d shards on the stopped "
           "master (--redis-timeout-ms 300)\n",
           both, nvictim, S);
    nf = tr_tsc_acks_of(&b2, "c/1/2", f);
    assert_int_equal(tr_store_finish(s, f, nf, res), 0);
    tr_claim_batch_clear(&b);
    tr_claim_batch_clear(&b2);

    assert_int_equal(kill(tc.pids[0], SIGCONT), 0);
    int got = 0, held_done = 0;
    tr_finish_result held_res = TR_FINISH_UNWRITTEN;
    for (int round = 0; round < 100 && (got < nvictim * PER || !held_done); round++) {
        /* At the master's retry time (the store's own deadline), so the claim's
         * recovery of the lost call is what probes it, before the batch. */
        int64_t wait = tr_store_cutoff_retry_ms(s);
        if (wait > 0)
            nanosleep(&(struct timespec){wait / 1000, (long)(wait % 1000) * 1000000L}, NULL);
        /* The held ack, then the claim behind it, as the scheduler sends them. */
        if (!held_done)
            assert_int_equal(tr_store_finish_send(s, &held, 1), 0);
        char token[32];
        snprintf(token, sizeof token, "c/1/%d", 3 + round);
        assert_int_equal(tr_store_claim_send(s, 1000, 30000, token), 0);
        if (!held_done) {
            assert_int_equal(tr_store_finish_recv(s, &held, &held_res, TR_STORE_RECV_BLOCK),
                             TR_STORE_RECV_DONE);
            held_done = held_res != TR_FINISH_UNWRITTEN;
        }
        tr_claim_batch v = {0};
        assert_int_equal(tr_store_claim_recv(s, &v, TR_STORE_RECV_BLOCK), TR_STORE_RECV_DONE);
        for (size_t i = 0; i < v.count; i++)
            assert_true(victim[tr_shard_of(&c, v.items[i].id)]);
        tr_tsc_count_claimed(ids, N, seen, &v);
        got += (int)v.count;
        nf = tr_tsc_acks_of(&v, token, f);
        if (nf > 0)
            assert_int_equal(tr_store_finish(s, f, nf, res), 0);
        tr_claim_batch_clear(&v);
    }
    assert_true(held_res == TR_FINISH_APPLIED || held_res == TR_FINISH_STALE);
    assert_int_equal(got, nvictim * PER);
    for (int t = 0; t < N; t++)
        assert_int_equal(seen[t], 1);
    tr_store_stats st;
    assert_int_equal(tr_store_get_stats(s, 0, &st), 0);
    assert_int_equal(st.pending + st.in_flight, 0);
    tr_test_cluster_node_timeout_all(&tc, 2000);
    tr_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_claim_behind_finish),
        cmocka_unit_test(test_behind_cutoff),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
