/* test_store_cluster_poll.c - on a real Redis Cluster (--cluster, --shards 16; run by
 * tests/cluster/with_cluster.sh: 3 masters, a replica each), the scheduler's claim and
 * finish without blocking: tr_store_finish_send and tr_store_claim_send (behind it)
 * write their calls at once, one pipeline per master; the answers are taken in
 * TR_STORE_RECV_POLL mode when a socket of tr_store_fds() is readable, over several
 * turns of a loop like the scheduler's (poll(), then one _recv). With every master
 * stopped the sends and a POLL _recv return at once (OWED), and resumed one at a time
 * each master's answers are taken while the others' are owed; a shard's slot moved
 * since the map was loaded is answered MOVED and resent; with the cut-off and one
 * master stopped the others' answers are taken as they come (only the stopped
 * master's socket stays owed), the stopped one is given up after
 * --redis-timeout-ms (its acks UNWRITTEN, its claim calls owed a recovery), and
 * after SIGCONT every timer is claimed exactly once.
 */
#include <poll.h>
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
    return tr_tsc_store_with_timers(c, key, "p", PER, ids);
}

static void signal_masters(int sig)
{
    for (int m = 0; m < tc.nmasters; m++)
        assert_int_equal(kill(tc.pids[m], sig), 0);
}


/* Moves shard k's slot (prefix key) to another master, as redis-cli --cluster
 * reshard does: the store's map still names the old master. */
static void move_shard(const char *key, int k)
{
    char tag[64], due[80];
    snprintf(tag, sizeof tag, "{%s:%d}", key, k);
    snprintf(due, sizeof due, "%s:due", tag);
    int from = tr_test_cluster_owner(&tc, due), to = 0;
    for (int m = 0; m < tc.nmasters && to == 0; m++)
        if (tc.ports[m] != from)
            to = tc.ports[m];
    (void)tr_test_cluster_move_slot(&tc, tr_cluster_keyslot(tag, strlen(tag)), from, to);
}

/* What driving the answers took. */
typedef struct drive {
    int turns;          /* poll()s, each followed by one POLL _recv round */
    double max_call_ms; /* the longest _recv round */
    double one_left_ms; /* since t0, when one master's socket alone was owed (-1: never) */
    double finish_ms;   /* since t0, when the finish answered DONE */
    double claim_ms;    /* ... the claim */
} drive;

/* Takes the finish's answers (f, n outcomes) and then the claim's behind it as the
 * scheduler's loop does: poll() on tr_store_fds() up to tr_store_recv_in_ms(), then
 * the finish's _recv in POLL mode and the claim's in BUFFERED (the read is spent). */
static void drive_both(tr_store *s, const tr_finish *f, tr_finish_result *res,
                       tr_claim_batch *b2, double t0, drive *d)
{
    int fin = tr_store_finish_outstanding(s), cl = tr_store_claim_outstanding(s);
    *d = (drive){.one_left_ms = -1};
    while ((fin || cl) && d->turns < 100000) {
        int fds[8];
        size_t n = tr_store_fds(s, fds, 8);
        assert_true(n <= 8);
        if (n == 1 && d->one_left_ms < 0)
            d->one_left_ms = tr_tsc_now_ms() - t0;
        struct pollfd p[8];
        for (size_t i = 0; i < n; i++)
            p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        int64_t in = tr_store_recv_in_ms(s);
        (void)poll(p, n, in < 0 || in > 1000 ? 1000 : (int)in);
        d->turns++;
        double c0 = tr_tsc_now_ms();
        tr_store_recv_mode mode = TR_STORE_RECV_POLL;
        if (fin) {
            tr_store_recv_result rc = tr_store_finish_recv(s, f, res, TR_STORE_RECV_POLL);
            if (rc == TR_STORE_RECV_FAILED)
                fail_msg("finish: %s", tr_store_error(s));
            if (rc == TR_STORE_RECV_DONE) {
                fin = 0;
                d->finish_ms = tr_tsc_now_ms() - t0;
            }
            mode = TR_STORE_RECV_BUFFERED;
        }
        if (!fin && cl) {
            tr_store_recv_result rc = tr_store_claim_recv(s, b2, mode);
            if (rc == TR_STORE_RECV_FAILED)
                fail_msg("claim: %s", tr_store_error(s));
            if (rc == TR_STORE_RECV_DONE) {
                cl = 0;
                d->claim_ms = tr_tsc_now_ms() - t0;
            }
        }
        double dt = tr_tsc_now_ms() - c0;
        if (dt > d->max_call_ms)
            d->max_call_ms = dt;
    }
    assert_false(fin || cl);
}

/* Every master stopped: the finish and the claim behind it are written, a POLL
 * _recv says OWED at once, every master's socket is owed; resumed one at a time,
 * each one's answers are taken (its socket leaves the owed set) over the loop's
 * turns while the finish stays OWED, until the last. Shard 5's slot moved since the map was loaded: its
 * ack and claim call are answered MOVED and resent. Each timer claimed once. */
static void test_poll_behind_finish(void **state)
{
    (void)state;
    tr_config c = cfg;
    char ids[N][32];
    tr_store *s = store_with_timers(&c, "stp", ids);
    int seen[N] = {0};
    tr_claim_batch b = {0};
    assert_int_equal(tr_store_claim(s, S, 30000, "p/1/1", &b), 0);
    assert_int_equal(b.count, S); /* a quota of 1 per shard */
    tr_tsc_count_claimed(ids, N, seen, &b);
    tr_finish f[N];
    tr_finish_result res[N];
    size_t nf = tr_tsc_acks_of(&b, "p/1/1", f);
    tr_cluster_stats before, after;
    tr_cluster_get_stats(tr_store_cluster(s), &before);
    move_shard("stp", 5);

    signal_masters(SIGSTOP);
    double t0 = tr_tsc_now_ms();
    assert_int_equal(tr_store_finish_send(s, f, nf), 0);
    assert_int_equal(tr_store_claim_send(s, 1000, 30000, "p/1/2"), 0);
    double sent = tr_tsc_now_ms() - t0;
    int fds[8];
    assert_int_equal(tr_store_fds(s, fds, 8), (size_t)tc.nmasters); /* each owes answers */
    assert_true(tr_store_recv_in_ms(s) > 0);
    double p0 = tr_tsc_now_ms();
    tr_claim_batch b2 = {0};
    assert_int_equal(tr_store_finish_recv(s, f, res, TR_STORE_RECV_POLL), TR_STORE_RECV_OWED);
    assert_int_equal(tr_store_claim_recv(s, &b2, TR_STORE_RECV_POLL), TR_STORE_RECV_OWED);
    double polled = tr_tsc_now_ms() - p0;
    /* Blocking, these would wait for the stopped masters (--redis-timeout-ms 2000). */
    assert_true(polled < 1000);
    /* Resumed one at a time: each one's answers are taken, over turns of their
     * own, while the others' are still owed. */
    int turns = 0;
    for (int m = 0; m + 1 < tc.nmasters; m++) {
        assert_int_equal(kill(tc.pids[m], SIGCONT), 0);
        while (tr_store_fds(s, fds, 8) > (size_t)(tc.nmasters - 1 - m) && turns < 10000) {
            struct pollfd p[8];
            size_t n = tr_store_fds(s, fds, 8);
            for (size_t i = 0; i < n; i++)
                p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
            (void)poll(p, n, 1000);
            turns++;
            assert_int_equal(tr_store_finish_recv(s, f, res, TR_STORE_RECV_POLL),
                             TR_STORE_RECV_OWED);
        }
    }
    assert_int_equal(tr_store_fds(s, fds, 8), 1); /* the last master's answers alone */
    assert_int_equal(kill(tc.pids[tc.nmasters - 1], SIGCONT), 0);

    drive d;
    drive_both(s, f, res, &b2, t0, &d);
    turns += d.turns;
    for (size_t i = 0; i < nf; i++)
        assert_int_equal(res[i], TR_FINISH_APPLIED);
    assert_int_equal(b2.count, S);
    tr_tsc_count_claimed(ids, N, seen, &b2);
    for (int t = 0; t < N; t++)
        assert_int_equal(seen[t], 1);
    tr_cluster_get_stats(tr_store_cluster(s), &after);
    assert_true(after.moved > before.moved); /* shard 5's calls were resent */
    printf("every master stopped: finish of %zu acks + claim behind sent in %.2f ms, POLL "
           "_recv %.3f ms (OWED); resumed one by one, answered over %d turns, the last "
           "master's longest _recv %.2f ms; MOVED followed %llu\n",
           nf, sent, polled, turns, d.max_call_ms,
           (unsigned long long)(after.moved - before.moved));

    tr_tsc_ack_last(s, &b2, "p/1/2");
    tr_claim_batch_clear(&b);
    tr_claim_batch_clear(&b2);
    tr_store_free(s);
}

/* The cut-off, the first master stopped after a claim: the acks of that claim and a
 * claim behind them, polled: the other masters' answers are taken while the
 * stopped one's socket alone stays owed, no _recv blocks, and the stopped master is
 * given up after --redis-timeout-ms (1000): its acks UNWRITTEN, the claim the other
 * shards' second timers. After SIGCONT the held acks are written again (STALE: the
 * ones it had been sent ran when it resumed) and the lost claim recovered: every
 * timer claimed once. */
static void test_poll_stopped_master(void **state)
{
    (void)state;
    tr_config c = cfg;
    c.redis_timeout_ms = 1000;
    char ids[N][32];
    tr_store *s = store_with_timers(&c, "stps", ids);
    int victim[S] = {0};
    int nvictim = tr_tsc_cutoff_on_first(s, &tc, "stps", S, victim);

    int seen[N] = {0};
    tr_claim_batch b = {0};
    assert_int_equal(tr_store_claim(s, S, 30000, "q/1/1", &b), 0);
    assert_int_equal(b.count, S);
    tr_tsc_count_claimed(ids, N, seen, &b);
    tr_finish f[N];
    tr_finish_result res[N];
    size_t nf = tr_tsc_acks_of(&b, "q/1/1", f);

    assert_int_equal(kill(tc.pids[0], SIGSTOP), 0);
    double t0 = tr_tsc_now_ms();
    assert_int_equal(tr_store_finish_send(s, f, nf), 0);
    assert_int_equal(tr_store_claim_send(s, 1000, 30000, "q/1/2"), 0);
    tr_claim_batch b2 = {0};
    drive d;
    drive_both(s, f, res, &b2, t0, &d);
    printf("one master stopped: the others answered within %.1f ms (its socket alone owed "
           "then), given up after %.0f ms (--redis-timeout-ms 1000); %d turns, the longest "
           "_recv %.2f ms\n",
           d.one_left_ms, d.finish_ms, d.turns, d.max_call_ms);
    assert_true(d.one_left_ms >= 0 && d.one_left_ms < d.finish_ms);
    assert_true(d.finish_ms >= 900);     /* not before the timeout */
    assert_true(d.max_call_ms < 500);    /* no _recv waits for the stopped master */
    tr_finish held[N];
    size_t nheld = 0;
    for (size_t i = 0; i < nf; i++) {
        int k = tr_shard_of(&c, f[i].id);
        assert_int_equal(res[i], victim[k] ? TR_FINISH_UNWRITTEN : TR_FINISH_APPLIED);
        if (victim[k])
            held[nheld++] = f[i];
    }
    assert_int_equal(nheld, (size_t)nvictim);
    assert_int_equal(b2.count, S - nvictim); /* the others' second timers */
    tr_tsc_count_claimed(ids, N, seen, &b2);
    nf = tr_tsc_acks_of(&b2, "q/1/2", f);
    assert_int_equal(tr_store_finish(s, f, nf, res), 0);
    tr_claim_batch_clear(&b2);

    assert_int_equal(kill(tc.pids[0], SIGCONT), 0);
    int got = 0;
    for (int round = 0; round < 100 && (got < nvictim || nheld > 0); round++) {
        int64_t wait = tr_store_cutoff_retry_ms(s);
        if (wait > 0)
            nanosleep(&(struct timespec){wait / 1000, (long)(wait % 1000) * 1000000L}, NULL);
        char token[32];
        snprintf(token, sizeof token, "q/1/%d", 3 + round);
        if (nheld > 0)
            assert_int_equal(tr_store_finish_send(s, held, nheld), 0);
        assert_int_equal(tr_store_claim_send(s, 1000, 30000, token), 0);
        tr_claim_batch v = {0};
        drive_both(s, held, res, &v, tr_tsc_now_ms(), &d);
        size_t keep = 0;
        for (size_t i = 0; i < nheld; i++) {
            /* Sent to it before it was given up, they ran when it resumed: STALE. */
            if (res[i] == TR_FINISH_UNWRITTEN)
                held[keep++] = held[i];
            else
                assert_true(res[i] == TR_FINISH_APPLIED || res[i] == TR_FINISH_STALE);
        }
        nheld = keep;
        for (size_t i = 0; i < v.count; i++)
            assert_true(victim[tr_shard_of(&c, v.items[i].id)]);
        tr_tsc_count_claimed(ids, N, seen, &v);
        got += (int)v.count;
        nf = tr_tsc_acks_of(&v, token, f);
        if (nf > 0)
            assert_int_equal(tr_store_finish(s, f, nf, res), 0);
        tr_claim_batch_clear(&v);
    }
    assert_int_equal(nheld, 0);
    assert_int_equal(got, nvictim);
    for (int t = 0; t < N; t++)
        assert_int_equal(seen[t], 1);
    tr_store_stats st;
    assert_int_equal(tr_store_get_stats(s, 0, &st), 0);
    assert_int_equal(st.pending + st.in_flight, 0);
    tr_test_cluster_node_timeout_all(&tc, 2000);
    tr_claim_batch_clear(&b);
    tr_store_free(s);
}

/* After each test, even a failed one: every master running again. */
static int resume_all(void **state)
{
    (void)state;
    for (int m = 0; m < tc.nmasters; m++)
        (void)kill(tc.pids[m], SIGCONT);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_poll_behind_finish, resume_all),
        cmocka_unit_test_teardown(test_poll_stopped_master, resume_all),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
