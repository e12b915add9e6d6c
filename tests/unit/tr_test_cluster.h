/* tr_test_cluster.h - what the unit tests on a real Redis Cluster share: the cluster
 * tests/cluster/with_cluster.sh started (its nodes' ports and pids, how many are
 * masters, the password: read once from its TR_TEST_CLUSTER_* environment), and a
 * command on a fresh authenticated connection to one node, for the test's own checks.
 *
 * Header-only (static inline): each unit test is one .c file and one executable.
 * Every failure is a cmocka assertion. A reply or connection is the caller's to free.
 * Include after <cmocka.h>. A test names its handle once:
 *   static tr_test_cluster tc;
 *   #define raw_cmd(...) tr_test_cluster_cmd(&tc, __VA_ARGS__)
 */
#ifndef TR_TEST_CLUSTER_H
#define TR_TEST_CLUSTER_H

#include <hiredis/hiredis.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TR_TEST_CLUSTER_NODES_MAX 16

typedef struct tr_test_cluster {
    int ports[TR_TEST_CLUSTER_NODES_MAX]; /* node order: the first nmasters are masters */
    int pids[TR_TEST_CLUSTER_NODES_MAX];
    int nnodes, nmasters;
    const char *password;                 /* from the environment (not copied) */
} tr_test_cluster;

/* "p1,p2,..." of positive integers into out; how many, or -1. */
static inline int tr_test_cluster_list(const char *s, int *out)
{
    int n = 0;
    while (s != NULL && *s != '\0' && n < TR_TEST_CLUSTER_NODES_MAX) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s || v <= 0)
            return -1;
        out[n++] = (int)v;
        s = *end == ',' ? end + 1 : end;
    }
    return n;
}

/* Reads the cluster from the environment; SIGPIPE ignored (a node killed mid-test).
 * 0, or -1 (said on stderr) when not run through with_cluster.sh. */
static inline int tr_test_cluster_env(tr_test_cluster *tc)
{
    tc->password = getenv("TR_TEST_CLUSTER_PASSWORD");
    const char *m = getenv("TR_TEST_CLUSTER_MASTERS");
    tc->nnodes = tr_test_cluster_list(getenv("TR_TEST_CLUSTER_PORTS"), tc->ports);
    if (tc->password == NULL || m == NULL || tc->nnodes <= 0 ||
        tr_test_cluster_list(getenv("TR_TEST_CLUSTER_PIDS"), tc->pids) != tc->nnodes) {
        fprintf(stderr, "run me through tests/cluster/with_cluster.sh\n");
        return -1;
    }
    tc->nmasters = (int)strtol(m, NULL, 10);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* An authenticated connection to the node on port (5 s timeout); the caller
 * redisFree()s it. */
static inline redisContext *tr_test_cluster_connect(const tr_test_cluster *tc, int port)
{
    struct timeval tv = {5, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    assert_non_null(c);
    assert_int_equal(c->err, 0);
    redisReply *r = redisCommand(c, "AUTH %s", tc->password);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STATUS);
    freeReplyObject(r);
    return c;
}

/* fmt (hiredis's format) and its arguments on a fresh connection to the node on port. */
static inline redisReply *tr_test_cluster_cmd(const tr_test_cluster *tc, int port,
                                              const char *fmt, ...)
{
    redisContext *c = tr_test_cluster_connect(tc, port);
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(c, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    redisFree(c);
    return r;
}

/* Fails the test unless r is a status reply (OK); frees r. */
static inline void tr_test_cluster_expect_status(redisReply *r)
{
    if (r->type != REDIS_REPLY_STATUS)
        fail_msg("expected a status reply, got type %d: %s", r->type,
                 r->type == REDIS_REPLY_ERROR ? r->str : "");
    freeReplyObject(r);
}

/* The cluster node id of the node on port (CLUSTER MYID) into out. */
static inline void tr_test_cluster_node_id(const tr_test_cluster *tc, int port, char *out,
                                           size_t len)
{
    redisReply *r = tr_test_cluster_cmd(tc, port, "CLUSTER MYID");
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    snprintf(out, len, "%s", r->str);
    freeReplyObject(r);
}

/* The port of the master serving key's slot: it answers EXISTS key, the others
 * -MOVED. */
static inline int tr_test_cluster_owner(const tr_test_cluster *tc, const char *key)
{
    int owner = 0;
    for (int m = 0; m < tc->nmasters; m++) {
        redisReply *r = tr_test_cluster_cmd(tc, tc->ports[m], "EXISTS %s", key);
        if (r->type == REDIS_REPLY_INTEGER)
            owner = tc->ports[m];
        freeReplyObject(r);
    }
    assert_true(owner != 0);
    return owner;
}

/* Moves slot and its keys (up to 1,000) from master `from` to master `to` the way
 * redis-cli --cluster reshard does: SETSLOT IMPORTING on the target, MIGRATING on the
 * source, MIGRATE of each key, then SETSLOT NODE on every master. A client's map
 * still names the source: its next call there is answered -MOVED. How many keys moved. */
static inline size_t tr_test_cluster_move_slot(const tr_test_cluster *tc, unsigned slot,
                                               int from, int to)
{
    char from_id[64], to_id[64];
    tr_test_cluster_node_id(tc, from, from_id, sizeof from_id);
    tr_test_cluster_node_id(tc, to, to_id, sizeof to_id);
    tr_test_cluster_expect_status(
        tr_test_cluster_cmd(tc, to, "CLUSTER SETSLOT %u IMPORTING %s", slot, from_id));
    tr_test_cluster_expect_status(
        tr_test_cluster_cmd(tc, from, "CLUSTER SETSLOT %u MIGRATING %s", slot, to_id));
    redisReply *r = tr_test_cluster_cmd(tc, from, "CLUSTER GETKEYSINSLOT %u 1000", slot);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    size_t moved = r->elements;
    for (size_t i = 0; i < r->elements; i++)
        tr_test_cluster_expect_status(tr_test_cluster_cmd(
            tc, from, "MIGRATE 127.0.0.1 %d %s 0 5000 AUTH %s", to, r->element[i]->str, tc->password));
    freeReplyObject(r);
    for (int m = 0; m < tc->nmasters; m++)
        tr_test_cluster_expect_status(
            tr_test_cluster_cmd(tc, tc->ports[m], "CLUSTER SETSLOT %u NODE %s", slot, to_id));
    return moved;
}

/* Waits (up to 30 s each, else fails) until every master has a replica online: a
 * new cluster's replicas sync first, and until then WAIT counts none. */
static inline void tr_test_cluster_replicas_online(const tr_test_cluster *tc)
{
    for (int m = 0; m < tc->nmasters; m++) {
        int online = 0;
        for (int tries = 0; tries < 300 && !online; tries++) {
            redisReply *r = tr_test_cluster_cmd(tc, tc->ports[m], "INFO replication");
            online = r->type == REDIS_REPLY_STRING && strstr(r->str, "state=online") != NULL;
            freeReplyObject(r);
            if (!online)
                nanosleep(&(struct timespec){0, 100 * 1000 * 1000}, NULL);
        }
        assert_true(online);
    }
}

/* CONFIG SET cluster-node-timeout ms on every node (a master stopped for longer than
 * the test needs is then not failed over). */
static inline void tr_test_cluster_node_timeout_all(const tr_test_cluster *tc, int ms)
{
    for (int i = 0; i < tc->nnodes; i++) {
        redisReply *r = tr_test_cluster_cmd(tc, tc->ports[i], "CONFIG SET cluster-node-timeout %d", ms);
        assert_int_equal(r->type, REDIS_REPLY_STATUS);
        freeReplyObject(r);
    }
}

/* on[k] = 1 for each of the nshards shards of key prefix `key` whose slot the first
 * master serves (it answers ZCARD {key:k}:due, the others MOVED), else 0. How many. */
static inline int tr_test_cluster_first_master_shards(const tr_test_cluster *tc, const char *key,
                                                      int nshards, int *on)
{
    int n = 0;
    for (int k = 0; k < nshards; k++) {
        redisReply *r = tr_test_cluster_cmd(tc, tc->ports[0], "ZCARD {%s:%d}:due", key, k);
        on[k] = r->type == REDIS_REPLY_INTEGER;
        n += on[k];
        freeReplyObject(r);
    }
    return n;
}

#endif
