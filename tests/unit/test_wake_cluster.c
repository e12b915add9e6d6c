/* test_wake_cluster.c - the scheduler's wake line on a real Redis Cluster (run by
 * tests/cluster/with_cluster.sh: 3 masters, a replica each, a password), --shards 16:
 * one connection per master, each SSUBSCRIBEd to exactly the shard channels whose
 * slots that master serves (PUBSUB SHARDCHANNELS there; no classic channel of ours
 * anywhere); a timer added to each shard (the store's cluster scripts SPUBLISH)
 * is heard; a shard's slot moved to another master drops its channel there
 * ("sunsubscribe"), and the line subscribes it again on the new owner, still one
 * connection per master; a connection killed by its master costs only that
 * master's channels until the line connects again; a master the scheduler's store
 * has given up (stopped) is left alone by a connect instead of waited for.
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

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "tr_clock.h"
#include "tr_cluster.h"
#include "tr_config.h"
#include "tr_shard.h"
#include "tr_store.h"
#include "tr_test_cluster.h"
#include "tr_test_store_cluster.h"
#include "tr_wake.h"

#define S 16

static tr_test_cluster tc;
#define raw_cmd(...) tr_test_cluster_cmd(&tc, __VA_ARGS__)
static tr_config cfg;

static int setup(void **state)
{
    (void)state;
    if (tr_tsc_config(&tc, &cfg, S) != 0)
        return -1;
    snprintf(cfg.key, sizeof cfg.key, "wkc");
    return 0;
}

/* The master port serving shard k's slot (it answers EXISTS, the others MOVED). */
static int shard_owner(int k)
{
    char due[32];
    snprintf(due, sizeof due, "{wkc:%d}:due", k);
    return tr_test_cluster_owner(&tc, due);
}

/* How many subscribers master `port` has on shard k's wake channel (SSUBSCRIBE). */
static long long shard_subs(int port, int k)
{
    redisReply *r = raw_cmd(port, "PUBSUB SHARDNUMSUB {wkc:%d}:wake", k);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 2);
    long long n = r->element[1]->integer;
    freeReplyObject(r);
    return n;
}

/* Each master lists exactly the wake channels of the shards it serves, sharded;
 * none of ours as a classic channel. */
static void check_channels_per_master(void)
{
    int owner[S];
    for (int k = 0; k < S; k++)
        owner[k] = shard_owner(k);
    for (int m = 0; m < tc.nmasters; m++) {
        int p = tc.ports[m], want = 0;
        for (int k = 0; k < S; k++) {
            want += owner[k] == p;
            assert_int_equal(shard_subs(p, k), owner[k] == p ? 1 : 0);
        }
        redisReply *r = raw_cmd(p, "PUBSUB SHARDCHANNELS {wkc*");
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        if ((int)r->elements != want)
            fail_msg("master %d lists %zu shard channels, serves %d shards", p, r->elements, want);
        freeReplyObject(r);
        r = raw_cmd(p, "PUBSUB CHANNELS {wkc*");
        assert_int_equal(r->type, REDIS_REPLY_ARRAY);
        assert_int_equal(r->elements, 0);
        freeReplyObject(r);
    }
}

static int distinct_owners(void)
{
    int seen[TR_TEST_CLUSTER_NODES_MAX] = {0}, n = 0;
    for (int k = 0; k < S; k++) {
        int o = shard_owner(k);
        for (int m = 0; m < tc.nmasters; m++)
            if (tc.ports[m] == o && !seen[m]++)
                n++;
    }
    return n;
}

/* Polls the line's sockets until `want` messages came or a channel was lost, or
 * timeout_ms passed. The messages read; *lost set when tr_wake_drain said -1;
 * *earliest lowered to the earliest due time announced (-1: none yet). */
static int wait_messages(tr_wake *w, int want, int timeout_ms, int *lost, int64_t *earliest)
{
    int got = 0;
    int64_t end = tr_clock_mono_ms() + timeout_ms;
    *lost = 0;
    while (got < want && !*lost && tr_clock_mono_ms() < end) {
        int fds[TR_WAKE_FDS_MAX], ready[TR_WAKE_FDS_MAX];
        struct pollfd p[TR_WAKE_FDS_MAX];
        int n = tr_wake_fds(w, fds, TR_WAKE_FDS_MAX);
        for (int i = 0; i < n; i++)
            p[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
        int rc = poll(p, (nfds_t)n, 100);
        assert_true(rc >= 0);
        for (int i = 0; i < n; i++)
            ready[i] = (p[i].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
        int64_t e = -1;
        int m = tr_wake_drain(w, fds, ready, n, &e);
        if (e >= 0 && (*earliest < 0 || e < *earliest))
            *earliest = e;
        if (m < 0)
            *lost = 1;
        else
            got += m;
    }
    return got;
}

/* An id whose shard is k. */
static void id_on_shard(int k, const char *prefix, char *id, size_t len)
{
    for (int i = 0;; i++) {
        snprintf(id, len, "%s-%d", prefix, i);
        if (tr_shard_of(&cfg, id) == k)
            return;
    }
}

#define REC "{\"u\":\"http://x/\",\"d\":\"hi\"}"

static int64_t add_on_shard(tr_store *s, int k, const char *prefix, int64_t delay_ms)
{
    char id[64];
    id_on_shard(k, prefix, id, sizeof id);
    int64_t due = 0;
    if (tr_store_add(s, id, REC, strlen(REC), delay_ms, &due) != TR_STORE_ADD_NEW)
        fail_msg("add %s: %s", id, tr_store_error(s));
    return due;
}

static void test_per_master(void **state)
{
    (void)state;
    tr_wake *w = tr_wake_new(&cfg);
    assert_non_null(w);
    assert_int_equal(tr_wake_up(w), 0);
    if (tr_wake_connect(w) != 0)
        fail_msg("connect: %s", tr_wake_error(w));
    assert_int_equal(tr_wake_up(w), 1);
    int fds[TR_WAKE_FDS_MAX];
    int owners = distinct_owners();
    assert_int_equal(tr_wake_fds(w, fds, TR_WAKE_FDS_MAX), owners); /* one per master */
    check_channels_per_master();

    /* One timer per shard, each the earliest of its due set: one SPUBLISH each. */
    tr_store *s = tr_store_new(&cfg);
    int64_t first = INT64_MAX;
    for (int k = 0; k < S; k++) {
        int64_t due = add_on_shard(s, k, "pm", 60000 + 1000 * k);
        if (due < first)
            first = due;
    }
    int lost;
    int64_t earliest = -1;
    assert_int_equal(wait_messages(w, S, 5000, &lost, &earliest), S);
    assert_int_equal(lost, 0);
    assert_int_equal(earliest, first);
    tr_store_free(s);
    tr_wake_free(w);
}

/* Moves shard k's slot (and its keys) to the next master, as redis-cli --cluster
 * reshard does. The new owner's port. */
static int move_shard(int k)
{
    char tag[32];
    snprintf(tag, sizeof tag, "{wkc:%d}", k);
    unsigned slot = tr_cluster_keyslot(tag, strlen(tag));
    int from = shard_owner(k), to = 0;
    for (int m = 0; m < tc.nmasters; m++)
        if (tc.ports[m] == from)
            to = tc.ports[(m + 1) % tc.nmasters];
    (void)tr_test_cluster_move_slot(&tc, slot, from, to);
    printf("shard %d (slot %u) moved from %d to %d\n", k, slot, from, to);
    return to;
}

static void test_slot_moved(void **state)
{
    (void)state;
    tr_wake *w = tr_wake_new(&cfg);
    assert_non_null(w);
    if (tr_wake_connect(w) != 0)
        fail_msg("connect: %s", tr_wake_error(w));
    const int k = 5;
    int from = shard_owner(k);
    int to = move_shard(k);
    assert_int_equal(shard_subs(from, k), 0);
    /* The old owner drops the channel: the line hears "sunsubscribe". */
    int lost;
    int64_t earliest = -1;
    (void)wait_messages(w, 1000, 5000, &lost, &earliest);
    assert_int_equal(lost, 1);
    assert_non_null(strstr(tr_wake_error(w), "{wkc:5}:wake"));
    assert_int_equal(tr_wake_up(w), 0);
    if (tr_wake_connect(w) != 0)
        fail_msg("connect again: %s", tr_wake_error(w));
    assert_int_equal(tr_wake_up(w), 1);
    assert_int_equal(shard_subs(to, k), 1);
    int fds[TR_WAKE_FDS_MAX];
    assert_int_equal(tr_wake_fds(w, fds, TR_WAKE_FDS_MAX), distinct_owners());
    check_channels_per_master();

    /* A timer on the moved shard wakes the line on its new master. */
    tr_store *s = tr_store_new(&cfg);
    int64_t due = add_on_shard(s, k, "mv", 1000);
    earliest = -1;
    assert_int_equal(wait_messages(w, 1, 5000, &lost, &earliest), 1);
    assert_int_equal(lost, 0);
    assert_int_equal(earliest, due);
    tr_store_free(s);
    tr_wake_free(w);
}

/* A master that closes the line's connection: only its channels are lost, the
 * other masters' connections stay; connecting again restores them. */
static void test_connection_killed(void **state)
{
    (void)state;
    tr_wake *w = tr_wake_new(&cfg);
    assert_non_null(w);
    if (tr_wake_connect(w) != 0)
        fail_msg("connect: %s", tr_wake_error(w));
    int fds[TR_WAKE_FDS_MAX];
    int n = tr_wake_fds(w, fds, TR_WAKE_FDS_MAX);
    int victim = shard_owner(0);
    redisReply *r = raw_cmd(victim, "CLIENT KILL TYPE pubsub");
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_true(r->integer >= 1);
    freeReplyObject(r);
    int lost;
    int64_t earliest = -1;
    (void)wait_messages(w, 1000, 5000, &lost, &earliest);
    assert_int_equal(lost, 1);
    assert_int_equal(tr_wake_up(w), 0);
    assert_int_equal(tr_wake_fds(w, fds, TR_WAKE_FDS_MAX), n - 1);

    /* The others still hear their shards. */
    tr_store *s = tr_store_new(&cfg);
    int other = -1;
    for (int k = 0; k < S && other < 0; k++)
        if (k != 5 && shard_owner(k) != victim) /* 5: test_slot_moved's */
            other = k;
    assert_true(other >= 0);
    int64_t due = add_on_shard(s, other, "ck", 500);
    earliest = -1;
    assert_int_equal(wait_messages(w, 1, 5000, &lost, &earliest), 1);
    assert_int_equal(earliest, due);

    if (tr_wake_connect(w) != 0)
        fail_msg("connect again: %s", tr_wake_error(w));
    assert_int_equal(tr_wake_fds(w, fds, TR_WAKE_FDS_MAX), n);
    check_channels_per_master();
    tr_store_free(s);
    tr_wake_free(w);
}

/* The master tr_wake_set_gone names (test_gone_master_skipped); 0: none. */
static int gone_port;

static int gone_fn(void *arg, const char *host, int port)
{
    (void)arg;
    return port == gone_port && strcmp(host, "127.0.0.1") == 0;
}

/* A master the scheduler's store has given up (stopped here: it accepts
 * connections, answers nothing) is left alone: the connect loads its map from
 * another seed (the stopped one is the first), subscribes the other masters'
 * channels and returns without waiting for it, the line not up; a line that is
 * not told waits --redis-timeout-ms for it twice (the map load, then its
 * connection's AUTH). Once it answers and is no longer given up, a connect
 * subscribes its channels. */
static void test_gone_master_skipped(void **state)
{
    (void)state;
    tr_config c = cfg;
    c.redis_timeout_ms = 1000;
    snprintf(c.cluster, sizeof c.cluster, "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", tc.ports[0],
             tc.ports[1], tc.ports[2]);
    int owner[S];
    for (int k = 0; k < S; k++)
        owner[k] = shard_owner(k); /* asked before the stop: every master answers */
    int owners = distinct_owners();
    tr_test_cluster_node_timeout_all(&tc, 60000); /* no failover while it is stopped */
    assert_int_equal(kill(tc.pids[0], SIGSTOP), 0);
    gone_port = tc.ports[0];

    tr_wake *w = tr_wake_new(&c);
    assert_non_null(w);
    tr_wake_set_gone(w, gone_fn, NULL);
    double t0 = tr_tsc_now_ms();
    assert_int_equal(tr_wake_connect(w), -1);
    double skipped = tr_tsc_now_ms() - t0;
    assert_int_equal(tr_wake_up(w), 0);
    assert_non_null(strstr(tr_wake_error(w), "given up for now"));
    int fds[TR_WAKE_FDS_MAX];
    assert_int_equal(tr_wake_fds(w, fds, TR_WAKE_FDS_MAX), owners - 1);
    for (int k = 0; k < S; k++)
        if (owner[k] != tc.ports[0])
            assert_int_equal(shard_subs(owner[k], k), 1);

    tr_wake *blind = tr_wake_new(&c);
    assert_non_null(blind);
    t0 = tr_tsc_now_ms();
    assert_int_equal(tr_wake_connect(blind), -1);
    double waited = tr_tsc_now_ms() - t0;
    tr_wake_free(blind);
    printf("a stopped master (--redis-timeout-ms %d): a connect that leaves it alone %.1f ms, "
           "one that does not %.0f ms\n", c.redis_timeout_ms, skipped, waited);
    assert_true(skipped < c.redis_timeout_ms / 4);
    assert_true(waited >= c.redis_timeout_ms * 0.9);

    assert_int_equal(kill(tc.pids[0], SIGCONT), 0);
    gone_port = 0;
    if (tr_wake_connect(w) != 0)
        fail_msg("connect after SIGCONT: %s", tr_wake_error(w));
    assert_int_equal(tr_wake_fds(w, fds, TR_WAKE_FDS_MAX), owners);
    for (int k = 0; k < S; k++)
        if (owner[k] == tc.ports[0])
            assert_int_equal(shard_subs(owner[k], k), 1);
    tr_wake_free(w);
    tr_test_cluster_node_timeout_all(&tc, 2000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_per_master),
        cmocka_unit_test(test_connection_killed),
        cmocka_unit_test(test_slot_moved),
        cmocka_unit_test(test_gone_master_skipped),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
