/* test_cluster.c - tr_cluster against a real Redis Cluster of 3 masters with a replica
 * each (run by tests/cluster/with_cluster.sh, which exports the ports, pids and the
 * password): CRC16 slots against CLUSTER KEYSLOT, routing to every master, a slot
 * moved by hand (ASK while it migrates, MOVED after), NOSCRIPT per node, pipelines,
 * calls over many slots pipelined per master (tr_cluster_run),
 * sharded pub/sub through tr_cluster_connect_for_key, AUTH, and last a master killed
 * with -9 whose replica takes over.
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
#include "tr_test_cluster.h"

static tr_test_cluster tc;
#define raw(port) tr_test_cluster_connect(&tc, port)
#define raw_cmd(...) tr_test_cluster_cmd(&tc, __VA_ARGS__)
static char seeds[512];

static int setup(void **state)
{
    (void)state;
    if (tr_test_cluster_env(&tc) != 0)
        return -1;
    /* One seed is enough; a replica as the first seed shows any node will do. */
    snprintf(seeds, sizeof seeds, "127.0.0.1:%d,127.0.0.1:%d", tc.ports[tc.nnodes - 1], tc.ports[0]);
    return 0;
}

static tr_cluster *open_cluster(int max_attempts, int backoff_max_ms)
{
    tr_cluster_opts o = {.seeds = seeds, .password = tc.password, .timeout_ms = 2000,
                         .max_attempts = max_attempts, .backoff_max_ms = backoff_max_ms};
    tr_ret code = TR_RET_OK;
    char err[256] = "";
    tr_cluster *c = tr_cluster_new(&o, &code, err, sizeof err);
    if (c == NULL)
        fail_msg("tr_cluster_new: %s", err);
    return c;
}

static redisReply *cl_cmd2(tr_cluster *c, const char *a0, const char *a1)
{
    const char *argv[] = {a0, a1};
    return tr_cluster_command(c, a1, strlen(a1), 2, argv, NULL, TR_CLUSTER_IDEMPOTENT);
}

static redisReply *cl_set(tr_cluster *c, const char *k, const char *v)
{
    const char *argv[] = {"SET", k, v};
    return tr_cluster_command(c, k, strlen(k), 3, argv, NULL, 0);
}

static void expect_get(tr_cluster *c, const char *k, const char *v)
{
    redisReply *r = cl_cmd2(c, "GET", k);
    if (r == NULL)
        fail_msg("GET %s: %s", k, tr_cluster_errstr(c));
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, v);
    freeReplyObject(r);
}

static void expect_ok(redisReply *r, tr_cluster *c)
{
    if (r == NULL)
        fail_msg("no reply: %s", tr_cluster_errstr(c));
    if (r->type != REDIS_REPLY_STATUS)
        fail_msg("reply type %d: %s", r->type, r->type == REDIS_REPLY_ERROR ? r->str : "");
    freeReplyObject(r);
}

/* The spec's check value, and thousands of keys against CLUSTER KEYSLOT. */
static void test_keyslot(void **state)
{
    (void)state;
    assert_int_equal(tr_cluster_keyslot("123456789", 9), 0x31C3 & 16383);
    assert_int_equal(tr_cluster_keyslot("{user1000}.following", 20),
                     tr_cluster_keyslot("user1000", 8));
    assert_int_equal(tr_cluster_keyslot("foo{{bar}}zap", 13), tr_cluster_keyslot("{bar", 4));
    assert_int_equal(tr_cluster_keyslot("foo{bar}{zap}", 13), tr_cluster_keyslot("bar", 3));

    enum { N = 4000 };
    static const char *const shapes[] = {"%s", "{%s}", "a{%s}b", "{}%s", "%s{", "}{%s",
                                         "{%s", "x{}{%s}", "{P:%s}:due", "{{%s}}"};
    static char keys[N][48];
    static size_t lens[N];
    unsigned seed = 12345;
    redisContext *rc = raw(tc.ports[0]);
    for (int i = 0; i < N; i++) {
        char word[24];
        size_t wl = (size_t)(rand_r(&seed) % 12);
        for (size_t j = 0; j < wl; j++) {
            /* Mostly printable, with braces and some binary bytes (NUL included). */
            int r = rand_r(&seed) % 40;
            word[j] = r == 0 ? '{' : r == 1 ? '}' : r == 2 ? (char)(rand_r(&seed) % 256)
                                                           : (char)('a' + r % 26);
        }
        const char *shape = shapes[i % (sizeof shapes / sizeof shapes[0])];
        const char *pct = strstr(shape, "%s");
        size_t pre = (size_t)(pct - shape);
        memcpy(keys[i], shape, pre);
        memcpy(keys[i] + pre, word, wl);
        size_t post = strlen(pct + 2);
        memcpy(keys[i] + pre + wl, pct + 2, post);
        lens[i] = pre + wl + post;
        const char *argv[] = {"CLUSTER", "KEYSLOT", keys[i]};
        size_t argvlen[] = {7, 7, lens[i]};
        assert_int_equal(redisAppendCommandArgv(rc, 3, argv, argvlen), REDIS_OK);
    }
    int wrong = 0;
    for (int i = 0; i < N; i++) {
        void *v = NULL;
        assert_int_equal(redisGetReply(rc, &v), REDIS_OK);
        redisReply *r = v;
        assert_int_equal(r->type, REDIS_REPLY_INTEGER);
        if ((unsigned)r->integer != tr_cluster_keyslot(keys[i], lens[i]))
            wrong++;
        freeReplyObject(r);
    }
    redisFree(rc);
    printf("keyslot: %d keys, %d differ from CLUSTER KEYSLOT\n", N, wrong);
    assert_int_equal(wrong, 0);
}

/* Keys over every master, written and read back through the client. */
static void test_set_get_all_nodes(void **state)
{
    (void)state;
    tr_cluster *c = open_cluster(0, 0);
    int per_port[TR_TEST_CLUSTER_NODES_MAX] = {0};
    char k[32], v[32];
    for (int i = 0; i < 600; i++) {
        snprintf(k, sizeof k, "sg:%d", i);
        snprintf(v, sizeof v, "v%d", i);
        expect_ok(cl_set(c, k, v), c);
        const char *host;
        int port;
        assert_int_equal(tr_cluster_slot_node(c, tr_cluster_keyslot(k, strlen(k)), &host, &port),
                         0);
        for (int n = 0; n < tc.nnodes; n++)
            per_port[n] += tc.ports[n] == port;
    }
    int used = 0;
    for (int n = 0; n < tc.nnodes; n++)
        used += per_port[n] > 0;
    assert_int_equal(used, tc.nmasters);
    for (int i = 0; i < 600; i++) {
        snprintf(k, sizeof k, "sg:%d", i);
        snprintf(v, sizeof v, "v%d", i);
        expect_get(c, k, v);
    }
    /* Each key really is on the master the map names. */
    for (int n = 0; n < tc.nnodes; n++) {
        if (per_port[n] == 0)
            continue;
        redisReply *r = raw_cmd(tc.ports[n], "DBSIZE");
        assert_int_equal(r->type, REDIS_REPLY_INTEGER);
        assert_true(r->integer >= per_port[n]);
        freeReplyObject(r);
    }
    tr_cluster_stats st;
    tr_cluster_get_stats(c, &st);
    assert_int_equal(st.moved, 0);
    assert_true(st.connects >= (uint64_t)tc.nmasters);
    tr_cluster_free(c);
}

#define node_id(port, out, len) tr_test_cluster_node_id(&tc, port, out, len)

#define expect_status tr_test_cluster_expect_status

/* A slot moved by hand as redis-cli --cluster reshard does it: the client follows
 * -ASK while the slot migrates and -MOVED once it has, and its map follows. */
static void test_moved_and_ask(void **state)
{
    (void)state;
    tr_cluster *c = open_cluster(0, 0);
    const char *k1 = "{mv}:one", *k2 = "{mv}:two", *k3 = "{mv}:three";
    unsigned slot = tr_cluster_keyslot(k1, strlen(k1));
    expect_ok(cl_set(c, k1, "1"), c);
    expect_ok(cl_set(c, k2, "2"), c);
    const char *host;
    int from;
    assert_int_equal(tr_cluster_slot_node(c, slot, &host, &from), 0);
    int to = 0;
    for (int n = 0; n < tc.nmasters; n++)
        if (tc.ports[n] != from) {
            to = tc.ports[n];
            break;
        }
    assert_true(to != 0);
    char from_id[64], to_id[64];
    node_id(from, from_id, sizeof from_id);
    node_id(to, to_id, sizeof to_id);

    expect_status(raw_cmd(to, "CLUSTER SETSLOT %u IMPORTING %s", slot, from_id));
    expect_status(raw_cmd(from, "CLUSTER SETSLOT %u MIGRATING %s", slot, to_id));
    /* k1 goes now; k2 stays on the source until later. */
    expect_status(raw_cmd(from, "MIGRATE 127.0.0.1 %d %s 0 5000 AUTH %s KEYS %s", to, "", tc.password,
                          k1));

    tr_cluster_stats before, after;
    tr_cluster_get_stats(c, &before);
    expect_get(c, k1, "1"); /* source: -ASK; target: ASKING + GET */
    expect_get(c, k2, "2"); /* still on the source: no redirection */
    expect_ok(cl_set(c, k3, "3"), c); /* a new key of a migrating slot: created on the target */
    tr_cluster_get_stats(c, &after);
    printf("during migration: %llu ASK followed, %llu MOVED\n",
           (unsigned long long)(after.ask - before.ask),
           (unsigned long long)(after.moved - before.moved));
    assert_int_equal(after.ask - before.ask, 2);
    assert_int_equal(after.moved, before.moved);
    assert_int_equal(tr_cluster_slot_node(c, slot, &host, &from), 0); /* ASK leaves the map */
    assert_int_not_equal(from, to);
    /* A pipeline over the migrating slot: k2 answered by the source, k1's -ASK resent
     * alone (source, -ASK, then ASKING + GET on the target), in order. */
    const char *g1[] = {"GET", k1}, *g2[] = {"GET", k2};
    tr_cluster_cmd pcmds[] = {{2, g1, NULL}, {2, g2, NULL}, {2, g1, NULL}};
    redisReply *prep[3];
    uint64_t asks = after.ask;
    assert_int_equal(tr_cluster_pipeline(c, k1, strlen(k1), 3, pcmds, prep, 0), 0);
    assert_string_equal(prep[0]->str, "1");
    assert_string_equal(prep[1]->str, "2");
    assert_string_equal(prep[2]->str, "1");
    for (int i = 0; i < 3; i++)
        freeReplyObject(prep[i]);
    tr_cluster_get_stats(c, &after);
    assert_int_equal(after.ask - asks, 2);
    /* The same through tr_cluster_run: k1's first -ASK, in the batch, counts too (its
     * resend alone meets a second one, as above). */
    tr_cluster_call rcalls[] = {
        {.key = k1, .keylen = strlen(k1), .argc = 2, .argv = g1, .flags = TR_CLUSTER_IDEMPOTENT},
        {.key = k2, .keylen = strlen(k2), .argc = 2, .argv = g2, .flags = TR_CLUSTER_IDEMPOTENT}};
    tr_cluster_answer rans[2];
    asks = after.ask;
    assert_int_equal(tr_cluster_run(c, 2, rcalls, rans), 0);
    assert_string_equal(rans[0].reply->str, "1");
    assert_string_equal(rans[1].reply->str, "2");
    for (int i = 0; i < 2; i++)
        freeReplyObject(rans[i].reply);
    tr_cluster_get_stats(c, &after);
    assert_int_equal(after.ask - asks, 2);
    /* One key on each side: the source answers -TRYAGAIN; retried, then a clear failure. */
    const char *mget[] = {"MGET", k1, k2};
    uint64_t retries = after.retries;
    assert_null(tr_cluster_command(c, k1, strlen(k1), 3, mget, NULL, TR_CLUSTER_IDEMPOTENT));
    printf("MGET across a migrating slot: %s\n", tr_cluster_errstr(c));
    assert_int_equal(tr_cluster_err(c), TR_RET_STORE_DOWN);
    assert_non_null(strstr(tr_cluster_errstr(c), "TRYAGAIN"));
    tr_cluster_get_stats(c, &after);
    assert_int_equal(after.retries - retries, 7); /* 8 attempts, a pause between each */

    expect_status(raw_cmd(from, "MIGRATE 127.0.0.1 %d %s 0 5000 AUTH %s KEYS %s", to, "", tc.password,
                          k2));
    for (int n = 0; n < tc.nmasters; n++)
        expect_status(raw_cmd(tc.ports[n], "CLUSTER SETSLOT %u NODE %s", slot, to_id));

    tr_cluster_get_stats(c, &before);
    expect_get(c, k2, "2"); /* source: -MOVED; map updated */
    tr_cluster_get_stats(c, &after);
    assert_int_equal(after.moved - before.moved, 1);
    int now;
    assert_int_equal(tr_cluster_slot_node(c, slot, &host, &now), 0);
    assert_int_equal(now, to);
    expect_get(c, k1, "1");
    expect_get(c, k3, "3");
    redisReply *r = tr_cluster_command(c, k1, strlen(k1), 3, mget, NULL, TR_CLUSTER_IDEMPOTENT);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_string_equal(r->element[1]->str, "2");
    freeReplyObject(r);
    tr_cluster_get_stats(c, &before);
    assert_int_equal(before.moved, after.moved); /* no second redirection */
    printf("after the move: slot %u served by %d, %llu map loads\n", slot, now,
           (unsigned long long)before.refreshes);
    tr_cluster_free(c);
}

/* script's SHA1 (from a node's SCRIPT LOAD) into sha, then SCRIPT FLUSH on every
 * node: no node knows it. */
static void sha_then_flush(const char *script, char *sha, size_t len)
{
    redisReply *r = raw_cmd(tc.ports[0], "SCRIPT LOAD %s", script);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    snprintf(sha, len, "%s", r->str);
    freeReplyObject(r);
    for (int n = 0; n < tc.nnodes; n++)
        expect_status(raw_cmd(tc.ports[n], "SCRIPT FLUSH"));
}

/* EVALSHA on nodes that never saw the script: loaded per node, once. */
static void test_noscript_per_node(void **state)
{
    (void)state;
    static const char script[] = "return redis.call('INCR', KEYS[1])";
    char sha[64];
    sha_then_flush(script, sha, sizeof sha);

    tr_cluster *c = open_cluster(0, 0);
    char keys[3][16];
    int masters_hit[TR_TEST_CLUSTER_NODES_MAX] = {0};
    int distinct = 0;
    /* A key on each master. */
    for (int i = 0, found = 0; found < tc.nmasters && i < 1000; i++) {
        char k[16];
        snprintf(k, sizeof k, "ns:%d", i);
        const char *host;
        int port;
        assert_int_equal(tr_cluster_slot_node(c, tr_cluster_keyslot(k, strlen(k)), &host, &port),
                         0);
        int n = 0;
        while (n < tc.nnodes && tc.ports[n] != port)
            n++;
        assert_true(n < tc.nnodes);
        if (masters_hit[n])
            continue;
        masters_hit[n] = 1;
        snprintf(keys[found++], sizeof keys[0], "%s", k);
        distinct++;
    }
    assert_int_equal(distinct, tc.nmasters);
    for (int round = 1; round <= 2; round++) {
        for (int i = 0; i < tc.nmasters; i++) {
            const char *argv[] = {"EVALSHA", sha, "1", keys[i]};
            redisReply *r = tr_cluster_evalsha(c, script, 4, argv, NULL, 0);
            if (r == NULL)
                fail_msg("EVALSHA: %s", tr_cluster_errstr(c));
            assert_int_equal(r->type, REDIS_REPLY_INTEGER);
            assert_int_equal(r->integer, round);
            freeReplyObject(r);
        }
    }
    tr_cluster_stats st;
    tr_cluster_get_stats(c, &st);
    printf("EVALSHA on %d masters twice: %llu SCRIPT LOADs\n", tc.nmasters,
           (unsigned long long)st.script_loads);
    assert_int_equal(st.script_loads, (uint64_t)tc.nmasters);
    /* The wrong script for the hash is refused, not run. */
    for (int n = 0; n < tc.nnodes; n++)
        expect_status(raw_cmd(tc.ports[n], "SCRIPT FLUSH"));
    const char *argv[] = {"EVALSHA", sha, "1", keys[0]};
    assert_null(tr_cluster_evalsha(c, "return 1", 4, argv, NULL, 0));
    assert_int_equal(tr_cluster_err(c), TR_RET_INTERNAL);
    assert_non_null(strstr(tr_cluster_errstr(c), "SCRIPT LOAD"));
    const char *nokey[] = {"EVALSHA", sha, "0"};
    assert_null(tr_cluster_evalsha(c, script, 3, nokey, NULL, 0));
    tr_cluster_free(c);
}

/* A pipeline in one slot: every reply in order. */
static void test_pipeline(void **state)
{
    (void)state;
    tr_cluster *c = open_cluster(0, 0);
    enum { N = 200 };
    static char k[N][32], v[N][32];
    static const char *argv[N][3];
    tr_cluster_cmd cmds[N];
    redisReply *replies[N];
    for (int i = 0; i < N; i++) {
        snprintf(k[i], sizeof k[i], "{P:7}:pipe:%d", i);
        snprintf(v[i], sizeof v[i], "val%d", i);
        argv[i][0] = "SET";
        argv[i][1] = k[i];
        argv[i][2] = v[i];
        cmds[i] = (tr_cluster_cmd){3, argv[i], NULL};
    }
    assert_int_equal(tr_cluster_pipeline(c, "{P:7}", 5, N, cmds, replies, 0), 0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(replies[i]->type, REDIS_REPLY_STATUS);
        freeReplyObject(replies[i]);
        argv[i][0] = "GET";
        cmds[i].argc = 2;
    }
    assert_int_equal(tr_cluster_pipeline(c, "{P:7}", 5, N, cmds, replies, TR_CLUSTER_IDEMPOTENT),
                     0);
    for (int i = 0; i < N; i++) {
        assert_int_equal(replies[i]->type, REDIS_REPLY_STRING);
        assert_string_equal(replies[i]->str, v[i]);
        freeReplyObject(replies[i]);
    }
    tr_cluster_free(c);
}

/* tr_cluster_run's calls of the tests: up to RUN_MAX, each "CMD key [arg]" (argv
 * pointing into the struct). */
enum { RUN_TAGS = 16, RUN_MAX = 4 * RUN_TAGS };
typedef struct run_batch {
    size_t n;
    char key[RUN_MAX][32];
    const char *argv[RUN_MAX][5];
    tr_cluster_call calls[RUN_MAX];
    tr_cluster_answer ans[RUN_MAX];
} run_batch;

/* Adds argv[0..argc) on key (argv[1] is set to it; argc 2 to 5). */
static void run_add(run_batch *b, const char *key, int argc, const char *const *argv,
                    const char *script)
{
    assert_true(b->n < RUN_MAX);
    size_t i = b->n++;
    snprintf(b->key[i], sizeof b->key[i], "%s", key);
    for (int a = 0; a < argc; a++)
        b->argv[i][a] = argv[a];
    b->argv[i][script != NULL ? 3 : 1] = b->key[i];
    b->calls[i] = (tr_cluster_call){.key = b->key[i], .keylen = strlen(b->key[i]),
                                    .argc = argc, .argv = b->argv[i], .script = script};
}

static void run_free(run_batch *b)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->ans[i].reply != NULL)
            freeReplyObject(b->ans[i].reply);
    b->n = 0;
}

/* Round 0 SETs "a" on key t of RUN_TAGS tags, rounds 1 and 2 APPEND "b" and "c":
 * each key's three calls in order, the tags interleaved, over every master. */
static void run_abc(run_batch *b, const char *prefix)
{
    static const char *const set[] = {"SET", "", "a"}, *const app_b[] = {"APPEND", "", "b"},
                             *const app_c[] = {"APPEND", "", "c"};
    for (int round = 0; round < 3; round++) {
        for (int t = 0; t < RUN_TAGS; t++) {
            char k[32];
            snprintf(k, sizeof k, "{%s:%d}:v", prefix, t);
            run_add(b, k, 3, round == 0 ? set : round == 1 ? app_b : app_c, NULL);
        }
    }
}

static double mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* tr_cluster_run: calls over 16 slots on every master pipelined per master, replies
 * in call order; NOSCRIPT on every master (one SCRIPT LOAD each); a slot moved away
 * (its calls answered -MOVED, run again alone in order); a stopped master (its calls
 * fail as maybe run after one read timeout, the others' stand). */
static void test_run(void **state)
{
    (void)state;
    static run_batch b;
    static const char script[] = "return redis.call('APPEND', KEYS[1], ARGV[1])";
    char sha[64];
    sha_then_flush(script, sha, sizeof sha);

    tr_cluster *c = open_cluster(0, 0);
    run_abc(&b, "run");
    const char *ev[] = {"EVALSHA", sha, "1", "", "d"};
    for (int t = 0; t < RUN_TAGS; t++) {
        char k[32];
        snprintf(k, sizeof k, "{run:%d}:v", t);
        run_add(&b, k, 5, ev, script);
    }
    int on_master[TR_TEST_CLUSTER_NODES_MAX] = {0};
    for (size_t i = 0; i < b.n; i++) {
        const char *host;
        int port;
        assert_int_equal(tr_cluster_slot_node(c, tr_cluster_keyslot(b.key[i], strlen(b.key[i])),
                                              &host, &port), 0);
        for (int n = 0; n < tc.nmasters; n++)
            on_master[n] += tc.ports[n] == port;
    }
    for (int n = 0; n < tc.nmasters; n++)
        assert_true(on_master[n] > 0); /* every master has calls in the batch */
    if (tr_cluster_run(c, b.n, b.calls, b.ans) != 0)
        fail_msg("tr_cluster_run: %s", tr_cluster_errstr(c));
    for (size_t i = 0; i < b.n; i++) {
        redisReply *a = b.ans[i].reply;
        assert_non_null(a);
        assert_int_equal(b.ans[i].err, TR_RET_OK);
        if (i < RUN_TAGS) {
            assert_int_equal(a->type, REDIS_REPLY_STATUS);
        } else {
            assert_int_equal(a->type, REDIS_REPLY_INTEGER);
            assert_int_equal(a->integer, (long long)(i / RUN_TAGS) + 1); /* "ab", "abc", "abcd" */
        }
    }
    run_free(&b);
    for (int t = 0; t < RUN_TAGS; t++) {
        char k[32];
        snprintf(k, sizeof k, "{run:%d}:v", t);
        expect_get(c, k, "abcd");
    }
    tr_cluster_stats st;
    tr_cluster_get_stats(c, &st);
    printf("tr_cluster_run: %d calls over %d slots on %d masters: %llu connections, %llu "
           "SCRIPT LOADs\n", 4 * RUN_TAGS, RUN_TAGS, tc.nmasters,
           (unsigned long long)st.connects, (unsigned long long)st.script_loads);
    assert_int_equal(st.script_loads, (uint64_t)tc.nmasters); /* one per node, not per call */
    /* One per master, and the seed (a replica) the map came from. */
    assert_int_equal(st.connects, (uint64_t)tc.nmasters + 1);

    /* Tag 5's slot moved to another master: its three calls are answered -MOVED and
     * run again alone, in order ("abc", not "bca"); the others' stand. */
    const char *mk = "{mvrun:5}:v";
    unsigned slot = tr_cluster_keyslot(mk, strlen(mk));
    const char *host;
    int from, to = 0;
    assert_int_equal(tr_cluster_slot_node(c, slot, &host, &from), 0);
    for (int n = 0; n < tc.nmasters && to == 0; n++)
        to = tc.ports[n] != from ? tc.ports[n] : 0;
    char to_id[64];
    node_id(to, to_id, sizeof to_id);
    for (int n = 0; n < tc.nmasters; n++) /* the slot is empty: no MIGRATE */
        expect_status(raw_cmd(tc.ports[n], "CLUSTER SETSLOT %u NODE %s", slot, to_id));
    /* Until the replicas (the seed the map reloads from) have heard of it, by gossip. */
    tr_cluster *probe = open_cluster(0, 0);
    int seen = 0;
    for (double until = mono_ms() + 10000; mono_ms() < until;) {
        assert_int_equal(tr_cluster_refresh(probe), 0);
        if (tr_cluster_slot_node(probe, slot, &host, &seen) == 0 && seen == to)
            break;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    tr_cluster_free(probe);
    assert_int_equal(seen, to);
    run_abc(&b, "mvrun");
    uint64_t moved = st.moved;
    if (tr_cluster_run(c, b.n, b.calls, b.ans) != 0)
        fail_msg("tr_cluster_run after a move: %s", tr_cluster_errstr(c));
    run_free(&b);
    tr_cluster_get_stats(c, &st);
    printf("a slot moved: %llu MOVED followed\n", (unsigned long long)(st.moved - moved));
    assert_int_equal(st.moved - moved, 3); /* the first pass's; the map then had it */
    for (int t = 0; t < RUN_TAGS; t++) {
        char k[32];
        snprintf(k, sizeof k, "{mvrun:%d}:v", t);
        expect_get(c, k, "abc");
    }
    int now;
    assert_int_equal(tr_cluster_slot_node(c, slot, &host, &now), 0);
    assert_int_equal(now, to);
    tr_cluster_free(c);

    /* The first master stopped (no failover): one read timeout for the whole run. */
    tr_cluster_opts o = {.seeds = seeds, .password = tc.password, .timeout_ms = 500};
    tr_ret code;
    char err[256];
    c = tr_cluster_new(&o, &code, err, sizeof err);
    assert_non_null(c);
    run_abc(&b, "stop");
    assert_int_equal(tr_cluster_run(c, b.n, b.calls, b.ans), 0); /* connected everywhere */
    run_free(&b);
    for (int n = 0; n < tc.nnodes; n++)
        expect_status(raw_cmd(tc.ports[n], "CONFIG SET cluster-node-timeout 60000"));
    assert_int_equal(kill(tc.pids[0], SIGSTOP), 0);
    run_abc(&b, "stop");
    double t0 = mono_ms();
    int rc = tr_cluster_run(c, b.n, b.calls, b.ans);
    double took = mono_ms() - t0;
    assert_int_equal(kill(tc.pids[0], SIGCONT), 0);
    size_t lost = 0;
    for (size_t i = 0; i < b.n; i++) {
        int port;
        assert_int_equal(tr_cluster_slot_node(c, tr_cluster_keyslot(b.key[i], strlen(b.key[i])),
                                              &host, &port), 0);
        if (port == tc.ports[0]) {
            assert_null(b.ans[i].reply);
            assert_int_equal(b.ans[i].err, TR_RET_OUTCOME_UNKNOWN);
            lost++;
        } else if (b.ans[i].reply == NULL) {
            fail_msg("call %zu on port %d: %s", i, port, b.ans[i].errstr);
        }
    }
    run_free(&b);
    printf("a master stopped: %zu of %d calls maybe run (its), the others answered, in %.0f ms "
           "(--redis-timeout-ms 500)\n", lost, 3 * RUN_TAGS, took);
    assert_int_equal(rc, -1);
    assert_true(lost > 0 && lost < 3 * RUN_TAGS);
    assert_true(took < 2000); /* one timeout, not one per call */
    for (int n = 0; n < tc.nnodes; n++)
        expect_status(raw_cmd(tc.ports[n], "CONFIG SET cluster-node-timeout 2000"));
    tr_cluster_free(c);
}

/* SSUBSCRIBE on the shard channel's master; SPUBLISH routed by the channel. */
static void test_sharded_pubsub(void **state)
{
    (void)state;
    tr_cluster *c = open_cluster(0, 0);
    const char *chan = "{P:3}:wake";
    redisContext *sub = tr_cluster_connect_for_key(c, chan, strlen(chan));
    if (sub == NULL)
        fail_msg("connect_for_key: %s", tr_cluster_errstr(c));
    redisReply *r = redisCommand(sub, "SSUBSCRIBE %s", chan);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    freeReplyObject(r);
    const char *argv[] = {"SPUBLISH", chan, "hello"};
    r = tr_cluster_command(c, chan, strlen(chan), 3, argv, NULL, 0);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    void *v = NULL;
    assert_int_equal(redisGetReply(sub, &v), REDIS_OK);
    r = v;
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 3);
    assert_string_equal(r->element[0]->str, "smessage");
    assert_string_equal(r->element[2]->str, "hello");
    freeReplyObject(r);
    redisFree(sub);
    tr_cluster_free(c);
}

/* No password, a wrong one, an ACL user: clear refusals, and the user works. */
static void test_auth(void **state)
{
    (void)state;
    tr_ret code = TR_RET_OK;
    char err[256] = "";
    tr_cluster_opts o = {.seeds = seeds, .timeout_ms = 2000};
    assert_null(tr_cluster_new(&o, &code, err, sizeof err));
    printf("no password: %s\n", err);
    assert_int_equal(code, TR_RET_STORE_DOWN);
    assert_non_null(strstr(err, "NOAUTH"));

    o.password = "wrong";
    assert_null(tr_cluster_new(&o, &code, err, sizeof err));
    printf("wrong password: %s\n", err);
    assert_non_null(strstr(err, "AUTH refused"));
    assert_null(strstr(err, "wrong"));

    char upw[128];
    snprintf(upw, sizeof upw, "%s-u", tc.password);
    o.user = "truser";
    o.password = upw;
    tr_cluster *c = tr_cluster_new(&o, &code, err, sizeof err);
    if (c == NULL)
        fail_msg("ACL user: %s", err);
    expect_ok(cl_set(c, "auth:k", "x"), c);
    expect_get(c, "auth:k", "x");
    tr_cluster_free(c);

    /* The seed list is checked. */
    o.seeds = "127.0.0.1";
    assert_null(tr_cluster_new(&o, &code, err, sizeof err));
    assert_non_null(strstr(err, "HOST:PORT"));
}

/* Redirection text as Redis writes it, and what is not one. */
static void test_parse_redirect(void **state)
{
    (void)state;
    tr_cluster_redirect r;
    const char *m = "MOVED 3999 127.0.0.1:6381";
    assert_int_equal(tr_cluster_parse_redirect(m, strlen(m), &r), TR_CLUSTER_REDIRECT_MOVED);
    assert_int_equal(r.slot, 3999);
    assert_string_equal(r.host, "127.0.0.1");
    assert_int_equal(r.port, 6381);
    m = "ASK 16383 ::1:7000";
    assert_int_equal(tr_cluster_parse_redirect(m, strlen(m), &r), TR_CLUSTER_REDIRECT_ASK);
    assert_string_equal(r.host, "::1");
    m = "MOVED 12 :7000"; /* unknown endpoint: the node that answered */
    assert_int_equal(tr_cluster_parse_redirect(m, strlen(m), &r), TR_CLUSTER_REDIRECT_MOVED);
    assert_string_equal(r.host, "");
    static const char *const bad[] = {"MOVED 16384 h:1", "MOVED 1 h:0", "MOVED 1 h:65536",
                                      "MOVED 1 h", "MOVED  1 h:1", "MOVED 1 h:1 x", "ASK 1h:1",
                                      "MOVEDX 1 h:1", "ERR MOVED 1 h:1", "MOVED -1 h:1",
                                      "MOVED 1 h:1x", "ASK 000001 h:1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (tr_cluster_parse_redirect(bad[i], strlen(bad[i]), &r) != TR_CLUSTER_REDIRECT_NONE)
            fail_msg("accepted '%s'", bad[i]);
        assert_int_equal(r.kind, TR_CLUSTER_REDIRECT_NONE);
    }
}

/* Redis 7's unknown endpoint (null in CLUSTER SLOTS, ":port" in -MOVED) is the node
 * that answered; and -MOVED is followed to the node it names even when the caller's
 * routing key is not the command's key (the client must not loop on its own map). */
static void test_unknown_endpoint_and_moved_target(void **state)
{
    (void)state;
    for (int n = 0; n < tc.nnodes; n++)
        expect_status(raw_cmd(tc.ports[n], "CONFIG SET cluster-preferred-endpoint-type %s",
                              "unknown-endpoint"));
    redisReply *r = raw_cmd(tc.ports[0], "CLUSTER SLOTS");
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->element[0]->element[2]->element[0]->type, REDIS_REPLY_NIL);
    freeReplyObject(r);

    tr_cluster *c = open_cluster(0, 0);
    expect_ok(cl_set(c, "ue:a", "A"), c);
    expect_get(c, "ue:a", "A");
    /* A routing key on another master than the command's key. */
    const char *route_key = NULL;
    char buf[16];
    const char *host;
    int pa, pb;
    assert_int_equal(tr_cluster_slot_node(c, tr_cluster_keyslot("ue:a", 4), &host, &pa), 0);
    for (int i = 0; i < 100 && route_key == NULL; i++) {
        snprintf(buf, sizeof buf, "ue:r%d", i);
        assert_int_equal(tr_cluster_slot_node(c, tr_cluster_keyslot(buf, strlen(buf)), &host, &pb),
                         0);
        if (pb != pa)
            route_key = buf;
    }
    assert_non_null(route_key);
    tr_cluster_stats before, after;
    tr_cluster_get_stats(c, &before);
    const char *argv[] = {"GET", "ue:a"};
    r = tr_cluster_command(c, route_key, strlen(route_key), 2, argv, NULL, 0);
    if (r == NULL)
        fail_msg("GET through a wrong routing key: %s", tr_cluster_errstr(c));
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, "A");
    freeReplyObject(r);
    tr_cluster_get_stats(c, &after);
    assert_int_equal(after.moved - before.moved, 1);
    tr_cluster_free(c);
    for (int n = 0; n < tc.nnodes; n++)
        expect_status(raw_cmd(tc.ports[n], "CONFIG SET cluster-preferred-endpoint-type %s", "ip"));
}

/* A master stopped (SIGSTOP: its kernel accepts connections, nothing answers), the
 * first seed: once a call there found no answer, a map reload asks it last (it
 * would wait --redis-timeout-ms for its AUTH first), and a probe (ONE_TRY) makes
 * its new connection without blocking, failing in a few ms while it is stopped;
 * after SIGCONT the probe's connection is answered and the call goes through. */
static void test_stopped_node_skipped(void **state)
{
    (void)state;
    char first[128];
    snprintf(first, sizeof first, "127.0.0.1:%d,127.0.0.1:%d", tc.ports[0], tc.ports[1]);
    tr_cluster_opts o = {.seeds = first, .password = tc.password, .timeout_ms = 500};
    tr_ret code = TR_RET_OK;
    char err[256] = "";
    tr_cluster *c = tr_cluster_new(&o, &code, err, sizeof err);
    if (c == NULL)
        fail_msg("tr_cluster_new: %s", err);
    char k[32] = "";
    for (int i = 0; i < 1000 && k[0] == '\0'; i++) {
        const char *host;
        int port;
        snprintf(k, sizeof k, "{stop%d}:k", i);
        if (tr_cluster_slot_node(c, tr_cluster_keyslot(k, strlen(k)), &host, &port) != 0 ||
            port != tc.ports[0])
            k[0] = '\0';
    }
    assert_true(k[0] != '\0');
    expect_ok(cl_set(c, k, "v"), c); /* connected there */
    for (int n = 0; n < tc.nnodes; n++)
        expect_status(raw_cmd(tc.ports[n], "CONFIG SET cluster-node-timeout 60000"));
    assert_int_equal(kill(tc.pids[0], SIGSTOP), 0);

    const char *get[] = {"GET", k};
    const unsigned probe = TR_CLUSTER_ONE_TRY | TR_CLUSTER_IDEMPOTENT;
    double t0 = mono_ms();
    assert_null(tr_cluster_command(c, k, strlen(k), 2, get, NULL, probe));
    double found = mono_ms() - t0; /* its read timeout */
    t0 = mono_ms();
    assert_int_equal(tr_cluster_refresh(c), 0);
    double reload = mono_ms() - t0;
    t0 = mono_ms();
    assert_null(tr_cluster_command(c, k, strlen(k), 2, get, NULL, probe));
    double probed = mono_ms() - t0;
    printf("the first seed stopped (timeout 500 ms): found in %.0f ms; then a map reload "
           "%.1f ms, a probe %.1f ms (%s)\n", found, reload, probed, tr_cluster_errstr(c));
    assert_true(found >= 450);
    assert_true(reload < 250);
    assert_true(probed < 250);
    assert_non_null(strstr(tr_cluster_errstr(c), "connecting"));

    assert_int_equal(kill(tc.pids[0], SIGCONT), 0);
    redisReply *r = NULL;
    for (int i = 0; i < 100 && r == NULL; i++) {
        r = tr_cluster_command(c, k, strlen(k), 2, get, NULL, probe);
        if (r == NULL)
            nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    }
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, "v");
    freeReplyObject(r);
    for (int n = 0; n < tc.nnodes; n++)
        expect_status(raw_cmd(tc.ports[n], "CONFIG SET cluster-node-timeout 2000"));
    tr_cluster_free(c);
}

/* Last, it changes the cluster: kill -9 a master; its replica is promoted and the
 * client gets there by retrying (refused connections) and reloading. */
static void test_master_killed(void **state)
{
    (void)state;
    if (tc.nnodes <= tc.nmasters) {
        printf("no replicas: skipped\n");
        skip();
    }
    tr_cluster *c = open_cluster(60, 500); /* up to ~30 s: node timeout 2 s + election */
    const char *k = "{kill}:k";
    expect_ok(cl_set(c, k, "before"), c);
    const char *host;
    int port;
    assert_int_equal(tr_cluster_slot_node(c, tr_cluster_keyslot(k, strlen(k)), &host, &port), 0);
    int n = 0;
    while (n < tc.nnodes && tc.ports[n] != port)
        n++;
    assert_true(n < tc.nnodes);
    /* The replica must hold the key before the kill, or it is lost by design. */
    redisReply *r = raw_cmd(port, "WAIT 1 5000");
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    assert_int_equal(r->integer, 1);
    freeReplyObject(r);
    assert_int_equal(kill(tc.pids[n], SIGKILL), 0);

    expect_get(c, k, "before");
    expect_ok(cl_set(c, k, "after"), c);
    expect_get(c, k, "after");
    int now;
    assert_int_equal(tr_cluster_slot_node(c, tr_cluster_keyslot(k, strlen(k)), &host, &now), 0);
    assert_int_not_equal(now, port);
    tr_cluster_stats st;
    tr_cluster_get_stats(c, &st);
    printf("master %d killed: served by %d after %llu retries, %llu map loads\n", port, now,
           (unsigned long long)st.retries, (unsigned long long)st.refreshes);
    assert_true(st.retries > 0);
    tr_cluster_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_redirect),
        cmocka_unit_test(test_keyslot),
        cmocka_unit_test(test_set_get_all_nodes),
        cmocka_unit_test(test_moved_and_ask),
        cmocka_unit_test(test_noscript_per_node),
        cmocka_unit_test(test_pipeline),
        cmocka_unit_test(test_run),
        cmocka_unit_test(test_sharded_pubsub),
        cmocka_unit_test(test_auth),
        cmocka_unit_test(test_unknown_endpoint_and_moved_target),
        cmocka_unit_test(test_stopped_node_skipped),
        cmocka_unit_test(test_master_killed),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
