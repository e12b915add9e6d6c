/* test_store_cluster_lost.c - on a real Redis Cluster (--cluster, --shards 16; run by
 * tests/cluster/with_cluster.sh: 3 masters, a replica each), what a lost master costs
 * the scheduler's store with the cut-off (docs/CLUSTER.md, "What a lost master still
 * costs"), no failover meanwhile (cluster-node-timeout raised to 60 s):
 *
 * - stopped (SIGSTOP: the kernel still accepts connections, nothing answers): the
 *   claim that finds it waits --redis-timeout-ms once; its probes (every 0.2-2 s)
 *   then make their connection without blocking (connect, AUTH), so no claim over
 *   5 s of them takes more than a fraction of the timeout (each probe waited the
 *   whole timeout for its AUTH before); after SIGCONT a probe takes it back and its
 *   timers are claimed, each once (the lost claim's recovered);
 * - killed (SIGKILL: connections refused): the first claim gives it up at once and
 *   returns the other masters' timers (it spent the client's ~2.3 s of retries
 *   before), the next claims too; a store without the cut-off (the REST API's)
 *   still retries before failing. Last: it leaves the cluster without that master.
 */
#include <errno.h>
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
#define TIMEOUT_MS 1000 /* --redis-timeout-ms: what a probe's AUTH waited before */
/* A claim while a master is given up: skips it, or probes it without blocking. Far
 * above this loaded machine's noise, far below TIMEOUT_MS. */
#define CLAIM_MAX_MS (TIMEOUT_MS / 4)

static tr_test_cluster tc;
static tr_config cfg;
static char log_path[] = "/tmp/tr-test-store-lost-XXXXXX";

static int setup(void **state)
{
    (void)state;
    if (tr_tsc_config(&tc, &cfg, S) != 0)
        return -1;
    cfg.redis_timeout_ms = TIMEOUT_MS;
    /* The cut-off's lines, to count them. */
    return tr_tsc_log_open(log_path, "test_store_cluster_lost");
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

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Claims (token) every 50 ms, a loop's pace, for `ms`: none of the given-up master's
 * timers may come (its shards marked in victim[]), nothing else is due. The slowest
 * claim's ms; *n how many. */
static double claims_for(tr_store *s, const char *token, double ms, int *n)
{
    double slowest = 0, t0 = tr_tsc_now_ms();
    *n = 0;
    while (tr_tsc_now_ms() - t0 < ms) {
        double t1 = tr_tsc_now_ms();
        tr_claim_batch v = {0};
        assert_int_equal(tr_store_claim(s, 1000, 60000, token, &v), 0);
        assert_int_equal(v.count, 0);
        tr_claim_batch_clear(&v);
        double took = tr_tsc_now_ms() - t1;
        slowest = took > slowest ? took : slowest;
        (*n)++;
        pause_ms(50);
    }
    return slowest;
}

/* The first claim with the first master away: the other masters' timers (acked),
 * none of its. Its ms. */
static double first_claim(tr_store *s, const tr_config *c, const int *victim, int nvictim,
                          const char *token)
{
    tr_claim_batch b = {0};
    double t0 = tr_tsc_now_ms();
    assert_int_equal(tr_store_claim(s, 1000, 60000, token, &b), 0);
    double took = tr_tsc_now_ms() - t0;
    assert_int_equal((int)b.count, S - nvictim);
    for (size_t i = 0; i < b.count; i++)
        assert_false(victim[tr_shard_of(c, b.items[i].id)]);
    tr_finish f[S];
    tr_finish_result res[S];
    size_t nf = tr_tsc_acks_of(&b, token, f);
    assert_int_equal(tr_store_finish(s, f, nf, res), 0);
    for (size_t i = 0; i < nf; i++)
        assert_int_equal(res[i], TR_FINISH_APPLIED);
    tr_claim_batch_clear(&b);
    return took;
}

static void test_stopped_master_probes(void **state)
{
    (void)state;
    tr_config c = cfg;
    char ids[S][TR_TSC_ID_MAX];
    tr_store *s = tr_tsc_store_with_timers(&c, "stlost1", "p", 1, ids);
    int victim[S];
    int nvictim = tr_tsc_cutoff_on_first(s, &tc, "stlost1", S, victim);
    assert_int_equal(kill(tc.pids[0], SIGSTOP), 0);

    double found = first_claim(s, &c, victim, nvictim, "l/1/1");
    assert_true(found >= TIMEOUT_MS * 0.9); /* the read timeout that found it */
    assert_int_equal(log_count("given up for now"), 1);

    /* Its probes at 0.2, 0.6, 1.4, 3.0 and 5.0 s: none blocks on the stopped node. */
    int n = 0;
    double slowest = claims_for(s, "l/1/2", 5500, &n);
    printf("stopped master (%d of %d shards, --redis-timeout-ms %d): found in %.0f ms; then "
           "%d claims over 5.5 s (its probes among them), the slowest %.1f ms\n",
           nvictim, S, TIMEOUT_MS, found, n, slowest);
    assert_true(slowest < CLAIM_MAX_MS);
    assert_int_equal(log_count("given up for now"), 1);
    assert_int_equal(log_count("answers again"), 0);

    /* Back: a probe's connection is answered, the master taken back, the claim lost
     * there recovered, its timers claimed once each. */
    assert_int_equal(kill(tc.pids[0], SIGCONT), 0);
    double t0 = tr_tsc_now_ms();
    int seen[S] = {0}, got = 0;
    while (got < nvictim && tr_tsc_now_ms() - t0 < 10000) {
        tr_claim_batch v = {0};
        assert_int_equal(tr_store_claim(s, 1000, 60000, "l/1/3", &v), 0);
        for (size_t i = 0; i < v.count; i++)
            assert_true(victim[tr_shard_of(&c, v.items[i].id)]);
        tr_tsc_count_claimed(ids, S, seen, &v);
        got += (int)v.count;
        tr_finish f[S];
        tr_finish_result res[S];
        size_t nf = tr_tsc_acks_of(&v, "l/1/3", f);
        assert_int_equal(tr_store_finish(s, f, nf, res), 0);
        for (size_t i = 0; i < nf; i++)
            assert_int_equal(res[i], TR_FINISH_APPLIED);
        tr_claim_batch_clear(&v);
        if (got < nvictim)
            pause_ms(50);
    }
    printf("after SIGCONT: its %d timers claimed in %.0f ms\n", got, tr_tsc_now_ms() - t0);
    assert_int_equal(got, nvictim);
    assert_int_equal(log_count("answers again"), 1);
    tr_store_stats st;
    assert_int_equal(tr_store_get_stats(s, 0, &st), 0);
    assert_int_equal(st.pending + st.in_flight, 0);
    tr_test_cluster_node_timeout_all(&tc, 2000);
    tr_store_free(s);
}

/* 1 while something accepts connections on port (127.0.0.1). */
static int port_open(int port)
{
    struct timeval tv = {1, 0};
    redisContext *x = redisConnectWithTimeout("127.0.0.1", port, tv);
    int open = x != NULL && x->err == 0;
    redisFree(x);
    return open;
}

/* Last: the first master killed; it stays dead (no failover for 60 s). */
static void test_killed_master_refused(void **state)
{
    (void)state;
    tr_config c = cfg;
    char ids[S][TR_TSC_ID_MAX];
    tr_store *s = tr_tsc_store_with_timers(&c, "stlost2", "k", 1, ids);
    tr_store *rest = tr_store_new(&c); /* the REST API's: no cut-off */
    assert_non_null(rest);
    int victim[S];
    int nvictim = tr_tsc_cutoff_on_first(s, &tc, "stlost2", S, victim);
    int vk = 0;
    while (!victim[vk])
        vk++;
    tr_timer_view view = {0};
    assert_int_equal(tr_store_get(rest, ids[vk], &view), TR_STORE_GET_FOUND);
    tr_timer_view_clear(&view);
    int before = log_count("given up for now");

    assert_int_equal(kill(tc.pids[0], SIGKILL), 0);
    for (int i = 0; i < 500 && port_open(tc.ports[0]); i++)
        pause_ms(10);
    assert_false(port_open(tc.ports[0]));

    /* The store's connection there is closed (EOF): its reconnect is refused, and
     * that gives the master up at once, not after the client's retries. */
    double found = first_claim(s, &c, victim, nvictim, "l/2/1");
    assert_int_equal(log_count("given up for now") - before, 1);
    assert_true(log_count("Connection refused") >= 1);
    int n = 0;
    double slowest = claims_for(s, "l/2/2", 3000, &n);

    /* The REST API's store keeps the client's retries (~2.3 s of back-off). */
    double t0 = tr_tsc_now_ms();
    assert_int_equal(tr_store_get(rest, ids[vk], &view), TR_STORE_GET_FAILED);
    double rest_ms = tr_tsc_now_ms() - t0;
    printf("killed master (%d of %d shards): the first claim %.1f ms, then %d claims over "
           "3 s, the slowest %.1f ms; a get without the cut-off failed after %.0f ms (%s)\n",
           nvictim, S, found, n, slowest, rest_ms, tr_store_error(rest));
    assert_true(found < CLAIM_MAX_MS);
    assert_true(slowest < CLAIM_MAX_MS);
    assert_true(rest_ms >= 2000);
    tr_store_free(rest);
    tr_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stopped_master_probes),
        cmocka_unit_test(test_killed_master_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
