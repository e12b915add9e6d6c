/* test_store_redis.c - tr_store and tr_wake against a real redis-server.
 *
 * Run by tests/with_redis.sh, which exports TR_TEST_REDIS_PORT, _SOCKET, _CONF and
 * _PIDFILE. Every test starts from an empty database (FLUSHALL; the script cache
 * survives it, as it would in production). Waits poll a condition with a
 * deadline; nothing sleeps for a fixed time to let something happen.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "tr_clock.h"
#include "tr_config.h"
#include "tr_store.h"
#include "tr_store_rest.h"
#include "tr_store_sched.h"
#include "tr_test_redis.h"
#include "tr_test_store.h"
#include "tr_wake.h"


/* The claim token of the tests' claims (the fence of every outcome). */
#define TOK "test/1/1"
static tr_config cfg_sock; /* over the unix socket */
static tr_config cfg_tcp;  /* over TCP */

/* The test's own Redis calls (tr_test_redis.h), over the unix socket. */
#define raw_connect() tr_test_redis_connect(&cfg_sock)
#define raw(...) tr_test_redis_cmd(&cfg_sock, __VA_ARGS__)
#define raw_int(...) tr_test_redis_int(raw(__VA_ARGS__))
#define key(suffix) tr_test_redis_key(&cfg_sock, suffix)

/* The embedded record_key.lua: the one definition of a record's bucket. */
extern const char tr_lua_record_key[];

/* The bucket key of id's record (shared/lua/prelude.lua, tr_rec_key). */
static const char *rec_key(const char *id)
{
    static char buf[4][TR_CONFIG_STR_MAX + 32];
    static int next;
    char *b = buf[next++ % 4];
    redisReply *r = raw("EVAL %s 1 %s %s", tr_lua_record_key, key("timers"), id);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    snprintf(b, TR_CONFIG_STR_MAX + 32, "%s", r->str);
    freeReplyObject(r);
    return b;
}

/* Writes a record straight into its bucket, as the scripts do. */
static void rec_set(const char *id, const char *rec)
{
    freeReplyObject(raw("HSET %s %s %s", rec_key(id), id, rec));
}

/* The records in all the buckets (not the old single hash). */
static long long rec_count(void)
{
    redisReply *r = raw("EVAL %s 1 %s",
                        "local n = 0 for _, k in ipairs(redis.call('KEYS', KEYS[1] .. ':*')) do "
                        "n = n + redis.call('HLEN', k) end return n",
                        key("timers"));
    assert_int_equal(r->type, REDIS_REPLY_INTEGER);
    long long n = r->integer;
    freeReplyObject(r);
    return n;
}

static int setup(void **state)
{
    (void)state;
    freeReplyObject(raw("FLUSHALL"));
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    const char *port = getenv("TR_TEST_REDIS_PORT");
    const char *sock = getenv("TR_TEST_REDIS_SOCKET");
    if (port == NULL || sock == NULL) {
        fprintf(stderr, "run me through tests/with_redis.sh\n");
        return -1;
    }
    signal(SIGPIPE, SIG_IGN); /* as the programs do: a dead Redis must not kill us */
    tr_config_defaults(&cfg_tcp);
    snprintf(cfg_tcp.key, sizeof cfg_tcp.key, "test");
    cfg_tcp.port = (int)strtol(port, NULL, 10);
    cfg_tcp.redis_timeout_ms = 500;
    cfg_sock = cfg_tcp;
    snprintf(cfg_sock.redis_socket, sizeof cfg_sock.redis_socket, "%s", sock);
    cfg_sock.port = 0;
    return 0;
}

#define REC "{\"u\":\"http://x/\",\"d\":\"hi\"}"

static void add_ok(tr_store *s, const char *id, int64_t delay_ms, int64_t *due)
{
    int64_t d = 0;
    assert_int_equal(tr_store_add(s, id, REC, strlen(REC), delay_ms, &d), TR_STORE_ADD_NEW);
    if (due != NULL)
        *due = d;
}

/* Claims (100 a call) until `want` timers arrived in all or deadline_ms passed;
 * *b holds every timer claimed (now_ms and next_ms from the last claim). */
static void claim_wait_as(tr_store *s, const char *token, size_t want, int64_t lease_ms,
                          int deadline_ms, tr_claim_batch *b)
{
    tr_test_claim_wait(s, token, 100, want, lease_ms, deadline_ms, b);
}

/* claim_wait_as under the tests' own token. */
static void claim_wait(tr_store *s, size_t want, int64_t lease_ms, int deadline_ms,
                       tr_claim_batch *b)
{
    claim_wait_as(s, TOK, want, lease_ms, deadline_ms, b);
}

static void test_add_then_claim_when_due(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg_sock);
    assert_non_null(s);
    int64_t due;
    add_ok(s, "a", 50, &due);
    tr_claim_batch b = {0};
    assert_int_equal(tr_store_claim(s, 10, 1000, TOK, &b), 0);
    assert_int_equal(b.count, 0); /* not due yet, straight after adding */
    assert_int_equal(b.next_ms, due);
    /* due = add's now + 50, rounded up; the claim ran at or after add's now (a slow
     * ASan run can be a few ms later), so from the claim it is at most 51 ms away. */
    assert_true(due - b.now_ms <= 51 && due - b.now_ms > 0);
    tr_claim_batch_clear(&b);

    claim_wait(s, 1, 1000, 2000, &b);
    assert_int_equal(b.count, 1);
    assert_true(b.now_ms >= due);
    assert_string_equal(b.items[0].id, "a");
    assert_int_equal(b.items[0].due_ms, due);
    assert_int_equal(b.items[0].attempt, 1);
    assert_int_equal(b.items[0].record_len, strlen(REC));
    assert_memory_equal(b.items[0].record, REC, strlen(REC) + 1);
    assert_null(b.items[0].meta);
    assert_int_equal(b.next_ms, b.now_ms + 1000); /* its own lease deadline */
    tr_claim_batch_clear(&b);
    assert_int_equal(b.count, 0);
    assert_null(b.items);
    assert_int_equal(raw_int("HGET %s %s", key("stats"), "created"), 1);
    tr_store_free(s);
}

static void test_nothing_due(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg_tcp);
    tr_claim_batch b = {0};
    assert_int_equal(tr_store_claim(s, 10, 1000, TOK, &b), 0);
    assert_int_equal(b.count, 0);
    assert_int_equal(b.next_ms, -1);
    assert_true(b.now_ms > 1600000000000LL);
    tr_claim_batch_clear(&b);

    int64_t due1, due2;
    add_ok(s, "late", 20000, &due1);
    add_ok(s, "early", 10000, &due2);
    assert_int_equal(tr_store_claim(s, 10, 1000, TOK, &b), 0);
    assert_int_equal(b.count, 0);
    assert_int_equal(b.next_ms, due2);
    tr_claim_batch_clear(&b);
    tr_store_free(s);
}

static void test_add_twice(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg_sock);
    int64_t due, due2 = 0;
    add_ok(s, "dup", 0, &due);
    assert_int_equal(tr_store_add(s, "dup", "other", 5, 99999, &due2), TR_STORE_ADD_EXISTS);
    assert_int_equal(due2, due);
    redisReply *r = raw("HGET %s dup", rec_key("dup"));
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_int_equal(r->len, strlen(REC)); /* unchanged */
    freeReplyObject(r);

    tr_claim_batch b = {0};
    claim_wait(s, 1, 5000, 2000, &b);
    assert_int_equal(b.count, 1);
    tr_claim_batch_clear(&b);
    assert_int_equal(tr_store_add(s, "dup", "x", 1, 10, &due2), TR_STORE_ADD_EXISTS);
    assert_int_equal(due2, -1); /* in flight */
    assert_int_equal(raw_int("HGET %s %s", key("stats"), "created"), 1);
    tr_store_free(s);
}

static void test_cancel(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg_sock);
    int64_t ttl = 0;
    add_ok(s, "p", 60000, NULL);
    assert_int_equal(tr_store_cancel(s, "p", &ttl), 0);
    assert_true(ttl > 59000 && ttl <= 60000);
    assert_int_equal(tr_store_cancel(s, "p", &ttl), 0);
    assert_int_equal(ttl, -1); /* gone now */
    assert_int_equal(tr_store_cancel(s, "never", &ttl), 0);
    assert_int_equal(ttl, -1);

    add_ok(s, "f", 0, NULL);
    tr_claim_batch b = {0};
    claim_wait(s, 1, 60000, 2000, &b);
    assert_int_equal(b.count, 1);
    int64_t attempt = b.items[0].attempt;
    tr_claim_batch_clear(&b);
    assert_int_equal(tr_store_cancel(s, "f", &ttl), 0);
    assert_int_equal(ttl, 0); /* in flight */
    assert_int_equal(raw_int("ZSCORE %s %s", key("inflight"), "f"), -1);
    assert_int_equal(raw_int("HEXISTS %s %s", rec_key("f"), "f"), 0);
    assert_int_equal(raw_int("HEXISTS %s %s", key("attempts"), "f"), 0);
    /* The delivery that was under way finishes late: nothing comes back. */
    assert_int_equal(tr_test_finish1(s, (tr_finish){.kind = TR_FINISH_RETRY, .id = "f", .token = TOK,
                                            .attempt = attempt, .delay_ms = 0, .meta = "{}"}),
                     0);
    assert_int_equal(tr_test_finish1(s, (tr_finish){.kind = TR_FINISH_ACK, .id = "f", .token = TOK}), 0);
    assert_int_equal(raw_int("ZCARD %s%s", key("due"), ""), 0);
    assert_int_equal(raw_int("HGET %s %s", key("stats"), "cancelled"), 2);
    tr_store_free(s);
}

static void test_double_claim(void **state)
{
    (void)state;
    enum { N = 300 };
    tr_store *a = tr_store_new(&cfg_tcp), *b = tr_store_new(&cfg_sock);
    for (int i = 0; i < N; i++) {
        char id[16];
        snprintf(id, sizeof id, "t%d", i);
        add_ok(a, id, 0, NULL);
    }
    static char seen[N];
    memset(seen, 0, sizeof seen);
    int total = 0;
    int64_t end = tr_clock_mono_ms() + 5000;
    while (total < N && tr_clock_mono_ms() < end) {
        for (int k = 0; k < 2; k++) {
            tr_claim_batch batch = {0};
            assert_int_equal(tr_store_claim(k ? b : a, 7, 60000, TOK, &batch), 0);
            for (size_t i = 0; i < batch.count; i++) {
                int n = (int)strtol(batch.items[i].id + 1, NULL, 10);
                assert_true(n >= 0 && n < N);
                assert_int_equal(seen[n], 0); /* never handed out twice */
                seen[n] = 1;
                assert_int_equal(batch.items[i].attempt, 1);
                total++;
            }
            tr_claim_batch_clear(&batch);
        }
    }
    assert_int_equal(total, N);
    assert_int_equal(raw_int("ZCARD %s%s", key("inflight"), ""), N);
    tr_store_free(a);
    tr_store_free(b);
}

static void test_lease_expiry(void **state)
{
    (void)state;
    tr_store *a = tr_store_new(&cfg_sock), *b = tr_store_new(&cfg_tcp);
    add_ok(a, "lease", 0, NULL);
    tr_claim_batch batch = {0};
    claim_wait(a, 1, 50, 2000, &batch);
    assert_int_equal(batch.count, 1);
    assert_int_equal(batch.items[0].attempt, 1);
    int64_t deadline = batch.now_ms + 50;
    assert_int_equal(batch.next_ms, deadline);
    tr_claim_batch_clear(&batch);

    claim_wait_as(b, "other/1/1", 1, 60000, 2000, &batch); /* the second scheduler, after the lease */
    assert_int_equal(batch.count, 1);
    assert_true(batch.now_ms >= deadline);
    assert_string_equal(batch.items[0].id, "lease");
    assert_int_equal(batch.items[0].attempt, 2);
    tr_claim_batch_clear(&batch);
    assert_int_equal(raw_int("HGET %s %s", key("stats"), "reaped"), 1);

    /* The first scheduler's late outcome is refused (fencing) ... */
    assert_int_equal(tr_test_finish1(a, (tr_finish){.kind = TR_FINISH_RETRY, .id = "lease", .token = TOK,
                                            .attempt = 1, .delay_ms = 0, .meta = "{}"}),
                     0);
    assert_int_equal(tr_test_finish1(a, (tr_finish){.kind = TR_FINISH_DEAD, .id = "lease", .token = TOK,
                                            .attempt = 1, .meta = "{}"}),
                     0);
    assert_int_equal(tr_test_finish1(a, (tr_finish){.kind = TR_FINISH_RELEASE, .id = "lease", .token = TOK,
                                            .attempt = 1}),
                     0);
    /* ... and the owner's is applied. */
    assert_int_equal(tr_test_finish1(b, (tr_finish){.kind = TR_FINISH_ACK, .id = "lease",
                                            .token = "other/1/1", .attempt = 2}),
                     1);
    tr_store_free(a);
    tr_store_free(b);
}

static void test_ack_chain_idempotent(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg_sock);
    add_ok(s, "c1", 0, NULL);
    tr_claim_batch b = {0};
    claim_wait(s, 1, 60000, 2000, &b);
    assert_int_equal(b.count, 1);
    tr_claim_batch_clear(&b);
    tr_finish f = {.kind = TR_FINISH_ACK, .id = "c1", .token = TOK, .attempt = 1, .chain_id = "c2",
                   .chain_record = REC, .chain_record_len = sizeof REC - 1,
                   .chain_delay_ms = 30000};
    tr_finish twice[2] = {f, f};
    tr_finish_result res[2] = {-1, -1};
    assert_int_equal(tr_store_finish(s, twice, 2, res), 0);
    assert_int_equal(res[0], 1);
    assert_int_equal(res[1], 0);
    assert_int_equal(tr_test_finish1(s, f), 0); /* and a third time, later */

    assert_int_equal(rec_count(), 1);
    assert_int_equal(raw_int("HEXISTS %s %s", rec_key("c2"), "c2"), 1);
    assert_int_equal(raw_int("ZCARD %s%s", key("due"), ""), 1);
    assert_int_equal(raw_int("ZCARD %s%s", key("inflight"), ""), 0);
    assert_int_equal(raw_int("HLEN %s%s", key("attempts"), ""), 0);
    assert_int_equal(raw_int("HGET %s %s", key("stats"), "delivered"), 1);
    assert_int_equal(raw_int("HGET %s %s", key("stats"), "chained"), 1);
    int64_t ttl;
    assert_int_equal(tr_store_cancel(s, "c2", &ttl), 0);
    assert_true(ttl > 29000 && ttl <= 30000);
    tr_store_free(s);
}

/* A chain the destination policy refused: the parent is acked, the chained record
 * goes into dead (never due) with its meta, counted in chain_refused, not chained. */
static void test_ack_chain_refused(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg_sock);
    add_ok(s, "p1", 0, NULL);
    tr_claim_batch b = {0};
    claim_wait(s, 1, 60000, 2000, &b);
    assert_int_equal(b.count, 1);
    tr_claim_batch_clear(&b);
    static const char meta[] = "{\"error\":\"destination refused by policy\"}";
    tr_finish f = {.kind = TR_FINISH_ACK, .id = "p1", .token = TOK, .attempt = 1,
                   .chain_id = "p2", .chain_record = REC, .chain_record_len = sizeof REC - 1,
                   .chain_delay_ms = 1000, .chain_dead_meta = meta};
    assert_int_equal(tr_test_finish1(s, f), 1);
    assert_int_equal(raw_int("HEXISTS %s %s", rec_key("p1"), "p1"), 0);
    assert_int_equal(raw_int("HEXISTS %s %s", rec_key("p2"), "p2"), 1);
    assert_int_equal(raw_int("ZCARD %s%s", key("due"), ""), 0);
    assert_int_equal(raw_int("ZCARD %s%s", key("dead"), ""), 1);
    assert_true(raw_int("ZSCORE %s %s", key("dead"), "p2") > 0);
    assert_int_equal(raw_int("HSTRLEN %s %s", key("meta"), "p2"), (long long)sizeof meta - 1);
    assert_int_equal(raw_int("HGET %s %s", key("stats"), "delivered"), 1);
    assert_int_equal(raw_int("HGET %s %s", key("stats"), "chain_refused"), 1);
    assert_int_equal(raw_int("HEXISTS %s %s", key("stats"), "chained"), 0);
    tr_store_free(s);
}

static void test_retry(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg_sock);
    add_ok(s, "r", 0, NULL);
    tr_claim_batch b = {0};
    claim_wait(s, 1, 60000, 2000, &b);
    assert_int_equal(b.items[0].attempt, 1);
    tr_claim_batch_clear(&b);
    const char *meta = "{\"status\":500,\"error\":\"boom\"}";
    assert_int_equal(tr_test_finish1(s, (tr_finish){.kind = TR_FINISH_RETRY, .id = "r", .token = "test/1/2", .attempt = 2,
                                            .delay_ms = 50, .meta = meta}),
                     0); /* another claim's token: stale */
    assert_int_equal(tr_test_finish1(s, (tr_finish){.kind = TR_FINISH_RETRY, .id = "r", .token = TOK, .attempt = 1,
                                            .delay_ms = 50, .meta = meta}),
                     1);
    assert_int_equal(tr_test_finish1(s, (tr_finish){.kind = TR_FINISH_RETRY, .id = "r", .token = TOK, .attempt = 1,
                                            .delay_ms = 50, .meta = meta}),
                     0); /* applied once only */
    assert_int_equal(tr_store_claim(s, 10, 60000, TOK, &b), 0);
    assert_int_equal(b.count, 0); /* not before its retry time */
    int64_t retry_due = b.next_ms;
    tr_claim_batch_clear(&b);
    claim_wait(s, 1, 60000, 2000, &b);
    assert_int_equal(b.count, 1);
    assert_int_equal(b.items[0].attempt, 2);
    assert_int_equal(b.items[0].due_ms, retry_due);
    assert_non_null(b.items[0].meta);
    assert_string_equal(b.items[0].meta, meta);
    assert_int_equal(b.items[0].meta_len, strlen(meta));
    tr_claim_batch_clear(&b);
    assert_int_equal(raw_int("HGET %s %s", key("stats"), "retried"), 1);
    tr_store_free(s);
}

static void test_dead(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg_sock);
    add_ok(s, "d", 0, NULL);
    tr_claim_batch b = {0};
    claim_wait(s, 1, 60000, 2000, &b);
    tr_claim_batch_clear(&b);
    const char *meta = "{\"error\":\"gave up\"}";
    assert_int_equal(tr_test_finish1(s, (tr_finish){.kind = TR_FINISH_DEAD, .id = "d", .token = TOK, .attempt = 1,
                                            .meta = meta}),
                     1);
    assert_int_equal(tr_test_finish1(s, (tr_finish){.kind = TR_FINISH_DEAD, .id = "d", .token = TOK, .attempt = 1,
                                            .meta = meta}),
                     0);
    assert_true(raw_int("ZSCORE %s %s", key("dead"), "d") > 1600000000000LL);
    assert_int_equal(raw_int("HEXISTS %s %s", rec_key("d"), "d"), 1);
    assert_int_equal(raw_int("HGET %s %s", key("attempts"), "d"), 1);
    redisReply *r = raw("HGET %s d", key("meta"));
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, meta);
    freeReplyObject(r);
    assert_int_equal(raw_int("ZCARD %s%s", key("inflight"), ""), 0);
    assert_int_equal(tr_store_claim(s, 10, 60000, TOK, &b), 0);
    assert_int_equal(b.count, 0);
    assert_int_equal(b.next_ms, -1);
    tr_claim_batch_clear(&b);
    int64_t due;
    assert_int_equal(tr_store_add(s, "d", "x", 1, 0, &due), TR_STORE_ADD_EXISTS);
    assert_int_equal(due, -1);
    int64_t ttl;
    /* A token without admin may not delete a dead timer, one with admin only no
     * other: the script keeps them (ttl -2) and says where they are. */
    tr_timer_state st = TR_STATE_NONE;
    assert_int_equal(tr_store_cancel_scoped(s, "d", TR_CANCEL_LIVE, &ttl, &st), 0);
    assert_int_equal(ttl, -2);
    assert_int_equal(st, TR_STATE_DEAD);
    assert_int_equal(raw_int("ZCARD %s%s", key("dead"), ""), 1);
    add_ok(s, "alive", 60000, NULL);
    assert_int_equal(tr_store_cancel_scoped(s, "alive", TR_CANCEL_DEAD, &ttl, &st), 0);
    assert_int_equal(ttl, -2);
    assert_int_equal(st, TR_STATE_PENDING);
    assert_int_equal(raw_int("ZCARD %s%s", key("due"), ""), 1);
    assert_int_equal(tr_store_cancel_scoped(s, "never", TR_CANCEL_DEAD, &ttl, &st), 0);
    assert_int_equal(ttl, -1);
    assert_int_equal(tr_store_cancel_scoped(s, "alive", TR_CANCEL_LIVE, &ttl, &st), 0);
    assert_true(ttl > 0);
    assert_int_equal(tr_store_cancel_scoped(s, "d", TR_CANCEL_DEAD, &ttl, &st), 0);
    assert_int_equal(ttl, 0);
    assert_int_equal(st, TR_STATE_DEAD);
    assert_int_equal(raw_int("ZCARD %s%s", key("dead"), ""), 0);
    assert_int_equal(tr_store_cancel(s, "d", &ttl), 0);
    assert_int_equal(ttl, -1); /* gone */
    assert_int_equal(raw_int("ZCARD %s%s", key("dead"), ""), 0);
    assert_int_equal(raw_int("HLEN %s%s", key("meta"), ""), 0);
    tr_store_free(s);
}

static void test_release(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg_sock);
    add_ok(s, "rel", 0, NULL);
    tr_claim_batch b = {0};
    claim_wait(s, 1, 60000, 2000, &b);
    assert_int_equal(b.items[0].attempt, 1);
    tr_claim_batch_clear(&b);
    assert_int_equal(tr_test_finish1(s, (tr_finish){.kind = TR_FINISH_RELEASE, .id = "rel", .token = TOK, .attempt = 1}),
                     1);
    assert_int_equal(tr_store_claim(s, 10, 60000, TOK, &b), 0);
    assert_int_equal(b.count, 1); /* due at once */
    assert_int_equal(b.items[0].attempt, 1); /* the released attempt never happened */
    tr_claim_batch_clear(&b);
    assert_int_equal(raw_int("HGET %s %s", key("stats"), "released"), 1);
    tr_store_free(s);
}

/* HOLD: a release with a delay (the destination cannot take it now): due again
 * after the delay, not before; the attempt undone, the first due time kept;
 * counted "held"; stale under another token. */
static void test_hold(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg_sock);
    add_ok(s, "hd", 0, NULL);
    tr_claim_batch b = {0};
    claim_wait(s, 1, 60000, 2000, &b);
    int64_t first_due = b.items[0].due_ms;
    tr_claim_batch_clear(&b);
    assert_int_equal(tr_test_finish1(s, (tr_finish){.kind = TR_FINISH_HOLD, .id = "hd", .token = "other/1/1",
                                            .attempt = 1, .delay_ms = 300}),
                     0); /* not this claim's */
    assert_int_equal(tr_test_finish1(s, (tr_finish){.kind = TR_FINISH_HOLD, .id = "hd", .token = TOK,
                                            .attempt = 1, .delay_ms = 300}),
                     1);
    assert_int_equal(tr_store_claim(s, 10, 60000, TOK, &b), 0);
    assert_int_equal(b.count, 0); /* not due yet */
    int64_t now = b.now_ms;
    assert_true(b.next_ms >= now + 250 && b.next_ms <= now + 301);
    tr_claim_batch_clear(&b);
    claim_wait(s, 1, 60000, 2000, &b);
    assert_int_equal(b.items[0].attempt, 1);          /* no attempt spent */
    assert_int_equal(b.items[0].due_ms, first_due);   /* X-TimeRush-Due-Ms unchanged */
    assert_true(b.now_ms >= now + 250);
    tr_claim_batch_clear(&b);
    assert_int_equal(raw_int("HGET %s %s", key("stats"), "held"), 1);
    assert_true(raw_int("HGET %s %s", key("stats"), "released") <= 0); /* absent */
    tr_store_free(s);
}

static void test_script_flush(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg_sock);
    add_ok(s, "s1", 0, NULL);
    add_ok(s, "s2", 0, NULL);
    freeReplyObject(raw("SCRIPT FLUSH"));
    tr_claim_batch b = {0};
    claim_wait(s, 2, 60000, 2000, &b); /* the claim script is reloaded */
    assert_int_equal(b.count, 2);
    tr_claim_batch_clear(&b);
    freeReplyObject(raw("SCRIPT FLUSH"));
    tr_finish f[2] = {{.kind = TR_FINISH_ACK, .id = "s1", .token = TOK}, {.kind = TR_FINISH_ACK, .id = "s2", .token = TOK}};
    tr_finish_result res[2] = {-1, -1};
    assert_int_equal(tr_store_finish(s, f, 2, res), 0); /* pipelined, reloaded, redone */
    assert_int_equal(res[0], 1);
    assert_int_equal(res[1], 1);
    freeReplyObject(raw("SCRIPT FLUSH"));
    int64_t ttl;
    assert_int_equal(tr_store_cancel(s, "s1", &ttl), 0);
    assert_int_equal(ttl, -1);
    tr_store_free(s);
}

/* Plain acks of a round go in one ack_many call: applied, stale and re-queued
 * ids answered one by one, in the caller's order, next to other kinds. */
static void test_ack_many(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg_sock);
    char ids[300][16];
    for (int i = 0; i < 300; i++) {
        snprintf(ids[i], sizeof ids[i], "m%03d", i);
        add_ok(s, ids[i], 0, NULL);
    }
    add_ok(s, "retry-me", 0, NULL);
    tr_claim_batch b = {0};
    claim_wait(s, 301, 60000, 3000, &b);
    assert_int_equal(b.count, 301);
    tr_claim_batch_clear(&b);
    assert_int_equal(raw_int("ZCARD %s%s", key("inflight"), ""), 301);
    assert_int_equal(raw_int("HGET %s %s", key("attempts"), "m007"), 1);
    /* m001 was cancelled meanwhile; m002 went back to due (a reaped lease); m003
     * sits in dead (replayed and given up by another scheduler): an ack still
     * removes them from wherever they are. */
    int64_t ttl;
    assert_int_equal(tr_store_cancel(s, "m001", &ttl), 0);
    freeReplyObject(raw("ZREM %s m002", key("inflight")));
    freeReplyObject(raw("ZADD %s 1 m002", key("due")));
    freeReplyObject(raw("ZREM %s m003", key("inflight")));
    freeReplyObject(raw("ZADD %s 1 m003", key("dead")));
    freeReplyObject(raw("HSET %s m004 {}", key("meta")));

    tr_finish f[302];
    memset(f, 0, sizeof f);
    for (int i = 0; i < 300; i++)
        f[i] = (tr_finish){.kind = TR_FINISH_ACK, .id = ids[i], .token = TOK, .attempt = 1};
    f[300] = (tr_finish){.kind = TR_FINISH_RETRY, .id = "retry-me", .token = TOK, .attempt = 1,
                         .delay_ms = 60000, .meta = "{\"due\":1}"};
    f[301] = (tr_finish){.kind = TR_FINISH_ACK, .id = "m005", .token = TOK, .attempt = 1}; /* twice */
    tr_finish_result res[302];
    memset(res, 0x55, sizeof res);
    assert_int_equal(tr_store_finish(s, f, 302, res), 0);
    for (int i = 0; i < 300; i++)
        assert_int_equal(res[i], i == 1 ? 0 : 1);
    assert_int_equal(res[300], 1);
    assert_int_equal(res[301], 0); /* the second ack of m005 finds it gone */
    assert_int_equal(raw_int("ZCARD %s%s", key("inflight"), ""), 0);
    assert_int_equal(raw_int("ZCARD %s%s", key("dead"), ""), 0);
    assert_int_equal(raw_int("ZCARD %s%s", key("due"), ""), 1); /* retry-me */
    assert_int_equal(rec_count(), 1);
    assert_int_equal(raw_int("HLEN %s%s", key("attempts"), ""), 1);
    assert_int_equal(raw_int("HLEN %s%s", key("meta"), ""), 1);
    assert_int_equal(raw_int("HGET %s %s", key("stats"), "delivered"), 299);
    assert_int_equal(raw_int("HGET %s %s", key("stats"), "retried"), 1);
    /* Applied twice (a retried finish after a lost connection): all stale. */
    assert_int_equal(tr_store_finish(s, f, 300, res), 0);
    for (int i = 0; i < 300; i++)
        assert_int_equal(res[i], 0);
    assert_int_equal(raw_int("HGET %s %s", key("stats"), "delivered"), 299);
    tr_store_free(s);
}

/* The finish without waiting: sent, other calls refused until its answers are
 * read (read when the socket is readable, then at once with wait), answers as
 * the blocking finish, NOSCRIPT reloaded, malformed answered -1; a lost
 * connection leaves nothing outstanding. */
static void test_finish_send_recv(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg_sock);
    char ids[50][16];
    for (int i = 0; i < 50; i++) {
        snprintf(ids[i], sizeof ids[i], "a%02d", i);
        add_ok(s, ids[i], 0, NULL);
    }
    tr_claim_batch b = {0};
    claim_wait(s, 50, 60000, 3000, &b);
    assert_int_equal(b.count, 50);
    tr_claim_batch_clear(&b);

    tr_finish f[52];
    memset(f, 0, sizeof f);
    for (int i = 0; i < 50; i++)
        f[i] = (tr_finish){.kind = TR_FINISH_ACK, .id = ids[i], .token = TOK, .attempt = 1};
    f[50] = (tr_finish){.kind = TR_FINISH_RETRY, .id = "gone", .token = TOK, .attempt = 1, .delay_ms = 1};
    f[51] = (tr_finish){.kind = (tr_finish_kind)42, .id = "bad", .token = TOK};
    tr_finish_result res[52];
    assert_int_equal(tr_store_finish_outstanding(s), 0);
    /* none outstanding */
    assert_int_equal(tr_store_finish_recv(s, f, res, TR_STORE_RECV_POLL), TR_STORE_RECV_FAILED);
    assert_int_equal(tr_store_finish_send(s, f, 52), 0);
    assert_int_equal(tr_store_finish_outstanding(s), 1);
    assert_int_equal(tr_store_finish_send(s, f, 52), -1); /* one at a time */
    int64_t ttl;
    assert_int_equal(tr_store_cancel(s, "a00", &ttl), -1); /* answers owed first */
    assert_int_equal(tr_store_error_code(s), TR_RET_INTERNAL);
    int fd = tr_store_fd(s);
    assert_true(fd >= 0);
    memset(res, 0x55, sizeof res);
    int rc = 0;
    int64_t end = tr_clock_mono_ms() + 3000;
    while (rc == 0 && tr_clock_mono_ms() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        assert_true(poll(&p, 1, 1000) >= 0);
        if (p.revents & POLLIN)
            rc = tr_store_finish_recv(s, f, res, TR_STORE_RECV_POLL);
    }
    assert_int_equal(rc, 1);
    assert_int_equal(tr_store_finish_outstanding(s), 0);
    for (int i = 0; i < 50; i++)
        assert_int_equal(res[i], 1);
    assert_int_equal(res[50], 0);  /* stale: never claimed */
    assert_int_equal(res[51], -1); /* malformed */
    assert_int_equal(raw_int("HGET %s %s", key("stats"), "delivered"), 50);
    assert_int_equal(tr_store_cancel(s, "a00", &ttl), 0); /* the connection is free */

    /* NOSCRIPT after a send: reloaded and redone when the answers are read. */
    freeReplyObject(raw("SCRIPT FLUSH"));
    assert_int_equal(tr_store_finish_send(s, f, 1), 0);
    assert_int_equal(tr_store_finish_recv(s, f, res, TR_STORE_RECV_BLOCK), TR_STORE_RECV_DONE);
    assert_int_equal(res[0], 0); /* acked above already */

    /* Nothing sendable: done at once. */
    assert_int_equal(tr_store_finish_send(s, f + 51, 1), 0);
    assert_int_equal(tr_store_finish_recv(s, f + 51, res, TR_STORE_RECV_BLOCK), TR_STORE_RECV_DONE);
    assert_int_equal(res[0], -1);

    /* The connection dropped under an outstanding send: -1, nothing outstanding,
     * and the next call reconnects. */
    assert_int_equal(tr_store_finish_send(s, f, 50), 0);
    freeReplyObject(raw("CLIENT KILL TYPE normal SKIPME no"));
    rc = tr_store_finish_recv(s, f, res, TR_STORE_RECV_BLOCK);
    if (rc == 1) { /* the answers won the race with the kill */
        for (int i = 0; i < 50; i++)
            assert_int_equal(res[i], 0);
    } else {
        assert_int_equal(rc, -1);
        assert_int_equal(tr_store_error_code(s), TR_RET_STORE_DOWN);
    }
    assert_int_equal(tr_store_finish_outstanding(s), 0);
    assert_int_equal(tr_store_finish(s, f, 50, res), 0);
    assert_int_equal(res[0], 0);
    tr_store_free(s);
}

/* The claim without waiting: refused calls while owed, the same answer as the
 * blocking claim, NOSCRIPT repeated, and a claim after a finish. */
static void test_claim_send_recv(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg_sock);
    int64_t due = 0;
    for (int i = 0; i < 5; i++) {
        char id[8];
        snprintf(id, sizeof id, "c%d", i);
        add_ok(s, id, 0, &due);
    }
    add_ok(s, "later", 60000, NULL);
    tr_claim_batch b = {0};
    /* none owed */
    assert_int_equal(tr_store_claim_recv(s, &b, TR_STORE_RECV_POLL), TR_STORE_RECV_FAILED);
    tr_claim_batch_clear(&b);
    /* Until the five are due on the Redis clock (due times are rounded up). */
    int64_t end = tr_clock_mono_ms() + 2000;
    for (;;) {
        redisReply *t = raw("TIME");
        assert_int_equal(t->type, REDIS_REPLY_ARRAY);
        int64_t now = strtoll(t->element[0]->str, NULL, 10) * 1000 +
                      strtoll(t->element[1]->str, NULL, 10) / 1000;
        freeReplyObject(t);
        if (now >= due || tr_clock_mono_ms() > end)
            break;
        tr_test_poll_pause();
    }
    assert_int_equal(tr_store_claim_send(s, 3, 60000, TOK), 0);
    assert_int_equal(tr_store_claim_outstanding(s), 1);
    assert_int_equal(tr_store_claim_send(s, 3, 60000, TOK), -1); /* one at a time */
    tr_finish f = {.kind = TR_FINISH_ACK, .id = "c0", .token = TOK};
    assert_int_equal(tr_store_finish_send(s, &f, 1), -1);
    int rc = 0;
    end = tr_clock_mono_ms() + 3000;
    while (rc == 0 && tr_clock_mono_ms() < end) {
        struct pollfd p = {.fd = tr_store_fd(s), .events = POLLIN};
        assert_true(poll(&p, 1, 1000) >= 0);
        if (p.revents & POLLIN)
            rc = tr_store_claim_recv(s, &b, TR_STORE_RECV_POLL);
    }
    assert_int_equal(rc, 1);
    assert_int_equal(tr_store_claim_outstanding(s), 0);
    assert_int_equal(b.count, 3);
    assert_true(b.now_ms > 0);
    assert_true(b.next_ms > 0 && b.next_ms <= b.now_ms); /* two more are due */
    assert_int_equal(b.items[0].attempt, 1);
    tr_claim_batch_clear(&b);

    /* NOSCRIPT: reloaded and claimed again. */
    freeReplyObject(raw("SCRIPT FLUSH"));
    assert_int_equal(tr_store_claim_send(s, 10, 60000, TOK), 0);
    assert_int_equal(tr_store_claim_recv(s, &b, TR_STORE_RECV_BLOCK), TR_STORE_RECV_DONE);
    assert_int_equal(b.count, 2);
    assert_true(b.next_ms > b.now_ms); /* "later" */
    tr_claim_batch_clear(&b);
    assert_int_equal(raw_int("ZCARD %s%s", key("inflight"), ""), 5);

    /* A claim pipelined behind a finish: the finish's answers first. */
    add_ok(s, "c9", 0, &due);
    assert_int_equal(tr_store_finish_send(s, &f, 1), 0);
    assert_int_equal(tr_store_claim_send(s, 10, 60000, TOK), 0);
    assert_int_equal(tr_store_claim_send(s, 10, 60000, TOK), -1); /* one claim at most */
    /* the finish is owed */
    assert_int_equal(tr_store_claim_recv(s, &b, TR_STORE_RECV_BLOCK), TR_STORE_RECV_OWED);
    tr_claim_batch_clear(&b);
    tr_finish_result res = -1;
    assert_int_equal(tr_store_finish_recv(s, &f, &res, TR_STORE_RECV_BLOCK), TR_STORE_RECV_DONE);
    assert_int_equal(res, 1);
    assert_int_equal(tr_store_claim_outstanding(s), 1);
    int64_t ttl;
    assert_int_equal(tr_store_cancel(s, "c1", &ttl), -1); /* the claim is owed */
    assert_int_equal(tr_store_claim_recv(s, &b, TR_STORE_RECV_BLOCK), TR_STORE_RECV_DONE);
    assert_true(b.count <= 1); /* c9, once its due ms has come */
    tr_claim_batch_clear(&b);
    assert_int_equal(tr_store_cancel(s, "c1", &ttl), 0);
    tr_store_free(s); /* nothing owed; freeing with a claim owed is fine too */
    s = tr_store_new(&cfg_sock);
    assert_int_equal(tr_store_claim_send(s, 10, 60000, TOK), 0);
    tr_store_free(s);
}

/* The claim in one pass over a batch: ids without a record are dropped with
 * their leftovers, the others keep due order, attempts count up, meta comes back. */
static void test_claim_batch_orphans(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg_sock);
    freeReplyObject(raw("ZADD %s 1 o1 2 a 3 o2 4 b", key("due")));
    rec_set("a", "ra");
    rec_set("b", "rb");
    freeReplyObject(raw("HSET %s o1 3 b 2", key("attempts")));
    freeReplyObject(raw("HSET %s o2 {} b {\"due\":4}", key("meta")));
    tr_claim_batch b = {0};
    assert_int_equal(tr_store_claim(s, 10, 60000, TOK, &b), 0);
    assert_int_equal(b.count, 2);
    assert_string_equal(b.items[0].id, "a");
    assert_int_equal(b.items[0].due_ms, 2);
    assert_int_equal(b.items[0].attempt, 1);
    assert_string_equal(b.items[0].record, "ra");
    assert_null(b.items[0].meta);
    assert_string_equal(b.items[1].id, "b");
    assert_int_equal(b.items[1].due_ms, 4);
    assert_int_equal(b.items[1].attempt, 3);
    assert_string_equal(b.items[1].meta, "{\"due\":4}");
    assert_int_equal(b.next_ms, b.now_ms + 60000);
    tr_claim_batch_clear(&b);
    assert_int_equal(raw_int("ZCARD %s%s", key("due"), ""), 0);
    assert_int_equal(raw_int("ZCARD %s%s", key("inflight"), ""), 2);
    assert_int_equal(raw_int("HLEN %s%s", key("attempts"), ""), 2);
    assert_int_equal(raw_int("HEXISTS %s %s", key("meta"), "o2"), 0);
    assert_int_equal(raw_int("HGET %s %s", key("attempts"), "b"), 3);
    /* A limit smaller than what is due takes the earliest. */
    freeReplyObject(raw("ZADD %s 9 z 8 y", key("due")));
    rec_set("y", "ry");
    rec_set("z", "rz");
    assert_int_equal(tr_store_claim(s, 1, 60000, TOK, &b), 0);
    assert_int_equal(b.count, 1);
    assert_string_equal(b.items[0].id, "y");
    assert_int_equal(b.next_ms, 9);
    tr_claim_batch_clear(&b);
    tr_store_free(s);
}

static void test_finish_errors(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg_sock);
    tr_finish_result res = 5;
    tr_finish bad = {.kind = (tr_finish_kind)9, .id = "x", .token = TOK};
    /* A malformed item is refused alone (-1), not the whole batch forever. */
    assert_int_equal(tr_store_finish(s, &bad, 1, &res), 0);
    assert_int_equal(res, -1);
    assert_int_equal(tr_store_finish(s, NULL, 0, NULL), 0);
    add_ok(s, "ok1", 0, NULL);
    add_ok(s, "ok2", 0, NULL);
    tr_claim_batch b = {0};
    claim_wait(s, 2, 60000, 2000, &b);
    assert_int_equal(b.count, 2);
    tr_claim_batch_clear(&b);
    tr_finish mixed[4] = {{.kind = TR_FINISH_ACK, .id = "ok1", .token = TOK},
                          {.kind = (tr_finish_kind)7, .id = "bad", .token = TOK},
                          {.kind = TR_FINISH_ACK, .id = NULL, .token = TOK},
                          {.kind = TR_FINISH_ACK, .id = "ok2", .token = TOK, .chain_id = "c"}};
    tr_finish_result mres[4] = {5, 5, 5, 5};
    assert_int_equal(tr_store_finish(s, mixed, 4, mres), 0);
    assert_int_equal(mres[0], 1);
    assert_int_equal(mres[1], -1);
    assert_int_equal(mres[2], -1);
    assert_int_equal(mres[3], -1); /* a chain without its record */
    assert_int_equal(raw_int("HEXISTS %s %s", rec_key("ok1"), "ok1"), 0);
    assert_int_equal(raw_int("HEXISTS %s %s", rec_key("ok2"), "ok2"), 1);
    /* A script error under one item (a wrong type where it writes) refuses that
     * item only; the plain acks in the same round are applied. */
    freeReplyObject(raw("SET %s oops", key("meta")));
    tr_finish two[2] = {{.kind = TR_FINISH_RETRY, .id = "ok2", .token = TOK, .attempt = 1, .meta = "{}"},
                        {.kind = TR_FINISH_ACK, .id = "nothing", .token = TOK}};
    tr_finish_result tres[2] = {5, 5};
    assert_int_equal(tr_store_finish(s, two, 2, tres), 0);
    assert_int_equal(tres[0], -1);
    assert_int_equal(tres[1], 0);
    freeReplyObject(raw("DEL %s", key("meta")));
    /* A wrong type under one of our keys: the script's error reaches the caller. */
    freeReplyObject(raw("SET %s oops", key("due")));
    int64_t due;
    assert_int_equal(tr_store_add(s, "w", "x", 1, 10, &due), TR_STORE_ADD_FAILED);
    assert_int_equal(tr_store_error_code(s), TR_RET_INTERNAL);
    assert_non_null(strstr(tr_store_error(s), "add"));
    freeReplyObject(raw("DEL %s", key("due")));
    assert_int_equal(tr_store_add(s, "w2", "x", 1, 10, &due), TR_STORE_ADD_NEW); /* still usable */
    tr_store_free(s);
}

/* The wake line's one socket on one Redis, or -1 while it holds none. */
static int wake_fd(const tr_wake *w)
{
    int fds[TR_WAKE_FDS_MAX];
    int n = tr_wake_fds(w, fds, TR_WAKE_FDS_MAX);
    assert_true(n <= 1);
    return n == 1 ? fds[0] : -1;
}

/* Drains the one socket as if the poll said it was readable. */
static int wake_drain1(tr_wake *w, int64_t *earliest)
{
    int fd = wake_fd(w), ready = 1;
    return tr_wake_drain(w, &fd, &ready, 1, earliest);
}

/* Waits until the wake socket is readable and drains it; returns the message count. */
static int wake_wait(tr_wake *w, int timeout_ms, int64_t *earliest)
{
    struct pollfd p = {.fd = wake_fd(w), .events = POLLIN};
    int n = poll(&p, 1, timeout_ms);
    assert_true(n >= 0);
    if (n == 0)
        return 0;
    return wake_drain1(w, earliest);
}

static void test_wake(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg_sock);
    tr_wake *w = tr_wake_new(&cfg_tcp);
    assert_non_null(w);
    assert_int_equal(wake_fd(w), -1);
    assert_int_equal(tr_wake_up(w), 0);
    assert_int_equal(tr_wake_connect(w), 0);
    assert_true(wake_fd(w) >= 0);
    assert_int_equal(tr_wake_up(w), 1);
    int64_t earliest = -1;
    assert_int_equal(wake_drain1(w, &earliest), 0); /* nothing yet: EAGAIN is fine */
    assert_int_equal(earliest, -1);

    int64_t due1, due2, due3;
    add_ok(s, "w1", 10000, &due1);
    assert_int_equal(wake_wait(w, 2000, &earliest), 1);
    assert_int_equal(earliest, due1);

    /* A later timer announces nothing. Pub/sub keeps order, so when the next
     * (earlier) timer's message is the only one read, the later one sent none. */
    add_ok(s, "w2", 20000, &due2);
    add_ok(s, "w3", 5000, &due3);
    int got = 0;
    int64_t end = tr_clock_mono_ms() + 2000;
    earliest = -1;
    while (earliest != due3 && tr_clock_mono_ms() < end) {
        int n = wake_wait(w, 100, &earliest);
        assert_true(n >= 0);
        got += n;
    }
    assert_int_equal(earliest, due3);
    assert_int_equal(got, 1);

    /* A retry that becomes the earliest announces itself too. */
    add_ok(s, "w4", 0, NULL);
    (void)wake_wait(w, 2000, &earliest);
    tr_claim_batch b = {0};
    claim_wait(s, 1, 60000, 2000, &b);
    assert_int_equal(b.count, 1);
    tr_claim_batch_clear(&b);
    assert_int_equal(tr_test_finish1(s, (tr_finish){.kind = TR_FINISH_RETRY, .id = "w4", .token = TOK, .attempt = 1,
                                            .delay_ms = 100, .meta = "{}"}),
                     1);
    earliest = -1;
    assert_int_equal(wake_wait(w, 2000, &earliest), 1);
    assert_true(earliest > 0 && earliest < due3);
    tr_wake_free(w);
    tr_store_free(s);
}

static pid_t redis_pid(void)
{
    FILE *f = fopen(getenv("TR_TEST_REDIS_PIDFILE"), "r");
    assert_non_null(f);
    long pid = 0;
    assert_int_equal(fscanf(f, "%ld", &pid), 1);
    fclose(f);
    return (pid_t)pid;
}

static void restart_redis(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execlp("redis-server", "redis-server", getenv("TR_TEST_REDIS_CONF"), "--daemonize", "yes",
               (char *)NULL);
        _exit(127);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid); /* the daemonizing parent */
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static void test_redis_stalled(void **state)
{
    (void)state;
    tr_config cfg = cfg_sock;
    cfg.redis_timeout_ms = 200;
    tr_store *s = tr_store_new(&cfg);
    add_ok(s, "st", 0, NULL);
    pid_t pid = redis_pid();
    assert_int_equal(kill(pid, SIGSTOP), 0);
    int64_t t0 = tr_clock_mono_ms(), ttl;
    int rc = tr_store_cancel(s, "st", &ttl);
    int64_t took = tr_clock_mono_ms() - t0;
    int rc2 = tr_store_cancel(s, "st", &ttl); /* reconnect path while stalled */
    int64_t took2 = tr_clock_mono_ms() - t0 - took;
    assert_int_equal(kill(pid, SIGCONT), 0);
    assert_int_equal(rc, -1);
    assert_int_equal(tr_store_error_code(s), TR_RET_STORE_DOWN);
    assert_true(took < 2 * 200 + 100);
    assert_int_equal(rc2, -1);
    assert_true(took2 < 2 * 200 + 100);
    /* Back: the store recovers by itself. */
    int64_t end = tr_clock_mono_ms() + 3000;
    while (tr_store_cancel(s, "nothing", &ttl) != 0 && tr_clock_mono_ms() < end)
        tr_test_poll_pause();
    assert_int_equal(tr_store_cancel(s, "nothing", &ttl), 0);
    tr_store_free(s);
}

static void test_redis_killed(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg_sock);
    tr_store *t = tr_store_new(&cfg_tcp);
    tr_wake *w = tr_wake_new(&cfg_sock);
    add_ok(s, "k", 60000, NULL);
    add_ok(t, "k2", 60000, NULL);
    assert_int_equal(tr_wake_connect(w), 0);

    pid_t pid = redis_pid();
    assert_int_equal(kill(pid, SIGKILL), 0);
    int64_t end = tr_clock_mono_ms() + 3000;
    while (kill(pid, 0) == 0 && tr_clock_mono_ms() < end)
        tr_test_poll_pause(); /* a zombie of with_redis.sh still answers kill 0: bounded */

    int64_t t0 = tr_clock_mono_ms(), ttl, due;
    assert_int_equal(tr_store_cancel(s, "k", &ttl), -1);
    assert_int_equal(tr_store_error_code(s), TR_RET_STORE_DOWN);
    assert_int_equal(tr_store_add(t, "k3", "x", 1, 10, &due), TR_STORE_ADD_FAILED);
    assert_int_equal(tr_store_error_code(t), TR_RET_STORE_DOWN);
    tr_claim_batch b = {0};
    assert_int_equal(tr_store_claim(s, 10, 1000, TOK, &b), -1);
    tr_claim_batch_clear(&b);
    tr_finish f = {.kind = TR_FINISH_ACK, .id = "k", .token = TOK};
    tr_finish_result res;
    assert_int_equal(tr_store_finish(s, &f, 1, &res), -1);
    assert_int_equal(tr_store_error_code(s), TR_RET_STORE_DOWN);
    assert_true(tr_clock_mono_ms() - t0 < 3000);
    int64_t e = -1;
    struct pollfd p = {.fd = wake_fd(w), .events = POLLIN};
    assert_int_equal(poll(&p, 1, 3000), 1); /* EOF is readable */
    assert_int_equal(wake_drain1(w, &e), -1);
    assert_int_equal(wake_fd(w), -1);
    assert_int_equal(tr_wake_up(w), 0);
    assert_int_equal(tr_wake_connect(w), -1);
    assert_true(strlen(tr_wake_error(w)) > 0);

    restart_redis();
    end = tr_clock_mono_ms() + 10000;
    while (tr_store_add(s, "after", "x", 1, 0, &due) != 0 && tr_clock_mono_ms() < end)
        tr_test_poll_pause();
    assert_int_equal(tr_store_add(s, "after2", "x", 1, 0, &due), TR_STORE_ADD_NEW);
    assert_int_equal(tr_store_add(t, "after3", "x", 1, 0, &due), TR_STORE_ADD_NEW);
    claim_wait(s, 3, 60000, 2000, &b);
    assert_int_equal(b.count, 3);
    tr_claim_batch_clear(&b);
    assert_int_equal(tr_store_finish(s, &f, 1, &res), 0);
    assert_int_equal(res, 0); /* the data went with the killed Redis (no persistence here) */
    assert_int_equal(tr_wake_connect(w), 0);
    tr_wake_free(w);
    tr_store_free(s);
    tr_store_free(t);
}


/* ---- REST API scripts ---- */

#define OTHER "{\"u\":\"http://x/\",\"d\":\"other\"}"

static void test_rest_create_get_list(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg_sock);
    assert_non_null(s);
    char ids[300][16];
    tr_create items[300];
    tr_create_result res[300];
    int64_t due[300], now = 0;
    for (int i = 0; i < 300; i++) {
        snprintf(ids[i], sizeof ids[i], "r%03d", i);
        /* Three distinct due times far ahead: many equal scores to page through. */
        items[i] = (tr_create){ids[i], REC, strlen(REC), 0, 4000000000000LL + i % 3};
    }
    assert_int_equal(tr_store_create(s, items, 300, res, due, &now), 0);
    for (int i = 0; i < 300; i++) {
        assert_int_equal(res[i], TR_CREATE_NEW);
        assert_int_equal(due[i], 4000000000000LL + i % 3);
    }
    assert_true(now > 0);
    /* Same record: SAME; another: CONFLICT; "at" in the past: due now. */
    tr_create again[3] = {{"r000", REC, strlen(REC), 0, -1},
                          {"r001", OTHER, strlen(OTHER), 0, -1},
                          {"past", REC, strlen(REC), 0, 5}};
    assert_int_equal(tr_store_create(s, again, 3, res, due, &now), 0);
    assert_int_equal(res[0], TR_CREATE_SAME);
    assert_int_equal(res[1], TR_CREATE_CONFLICT);
    assert_int_equal(res[2], TR_CREATE_NEW);
    assert_true(due[2] >= now - 1 && due[2] <= now);

    tr_timer_view v;
    assert_int_equal(tr_store_get(s, "r005", &v), TR_STORE_GET_FOUND);
    assert_int_equal(v.state, TR_STATE_PENDING);
    assert_int_equal(v.score_ms, 4000000000002LL);
    assert_string_equal(v.record, REC);
    tr_timer_view_clear(&v);
    assert_int_equal(tr_store_get(s, "nope", &v), TR_STORE_GET_UNKNOWN);

    /* Pages of 7 in (score, id) order: every id once. */
    int seen = 0;
    int64_t last_score = 0;
    char last_id[16] = "";
    int have_cursor = 0;
    for (;;) {
        tr_timer_view *page = NULL;
        size_t n = 0;
        assert_int_equal(tr_store_list(s, 0, last_score, have_cursor ? last_id : NULL, 7, &page,
                                       &n), 0);
        for (size_t i = 0; i < n; i++) {
            if (have_cursor || i > 0)
                assert_true(page[i].score_ms > last_score ||
                            (page[i].score_ms == last_score && strcmp(page[i].id, last_id) > 0));
            last_score = page[i].score_ms;
            snprintf(last_id, sizeof last_id, "%s", page[i].id);
            have_cursor = 1;
            seen++;
            tr_timer_view_clear(&page[i]);
        }
        free(page);
        if (n < 7)
            break;
    }
    assert_int_equal(seen, 301); /* the 300 and "past" */

    int64_t ttl;
    tr_timer_state st;
    assert_int_equal(tr_store_cancel_state(s, "r010", &ttl, &st), 0);
    assert_int_equal(st, TR_STATE_PENDING);
    assert_int_equal(tr_store_cancel_state(s, "r010", &ttl, &st), 0);
    assert_int_equal(ttl, -1);
    assert_int_equal(st, TR_STATE_NONE);
    int64_t d2;
    assert_int_equal(tr_store_reschedule(s, "r011", 1000, -1, &d2), TR_STORE_RESCHEDULE_DONE);
    assert_int_equal(tr_store_reschedule(s, "r010", 1000, -1, &d2), TR_STORE_RESCHEDULE_UNKNOWN);
    tr_store_free(s);
}

static void test_rest_pause_repeat_stats(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg_sock);
    add_ok(s, "p", 0, NULL);
    assert_int_equal(tr_store_set_paused(s, 1), 0);
    tr_claim_batch b;
    assert_int_equal(tr_store_claim(s, 10, 1000, TOK, &b), 0);
    assert_int_equal(b.paused, 1);
    assert_int_equal(b.count, 0);
    assert_int_equal(b.next_ms, -1);
    tr_claim_batch_clear(&b);
    assert_int_equal(tr_store_set_paused(s, 0), 0);
    claim_wait(s, 1, 60000, 2000, &b);
    assert_int_equal(b.paused, 0);
    int64_t attempt = b.items[0].attempt;
    tr_claim_batch_clear(&b);

    /* EXTEND keeps the lease; an ack with repeat_record keeps the id, once. */
    assert_int_equal(tr_test_finish1(s, (tr_finish){.kind = TR_FINISH_EXTEND, .id = "p", .token = TOK,
                                            .attempt = attempt, .delay_ms = 90000}), 1);
    assert_int_equal(tr_test_finish1(s, (tr_finish){.kind = TR_FINISH_EXTEND, .id = "p",
                                            .token = "test/1/2", .attempt = attempt + 1,
                                            .delay_ms = 90000}),
                     0); /* another claim's token: stale */
    const char *rep = "{\"u\":\"http://x/\",\"d\":\"\",\"e\":1000,\"fd\":1}";
    tr_finish ack = {.kind = TR_FINISH_ACK, .id = "p", .token = TOK, .attempt = attempt,
                     .repeat_record = rep, .repeat_record_len = strlen(rep),
                     .repeat_at_ms = 4000000000000LL};
    assert_int_equal(tr_test_finish1(s, ack), 1);
    assert_int_equal(tr_test_finish1(s, ack), 0); /* applied twice: no change */
    tr_timer_view v;
    assert_int_equal(tr_store_get(s, "p", &v), TR_STORE_GET_FOUND);
    assert_int_equal(v.state, TR_STATE_PENDING);
    assert_int_equal(v.score_ms, 4000000000000LL);
    assert_int_equal(v.attempts, 0);
    assert_string_equal(v.record, rep);
    tr_timer_view_clear(&v);

    uint64_t counts[TR_HIST_BUCKETS + 1] = {0};
    counts[0] = 2;
    counts[TR_HIST_BUCKETS] = 1;
    assert_int_equal(tr_store_observe(s, "lateness", counts, 20001, 3), 0);
    tr_store_stats st;
    assert_int_equal(tr_store_get_stats(s, 1, &st), 0);
    assert_int_equal(st.pending, 1);
    assert_int_equal(st.paused, 0);
    assert_int_equal(st.lateness[0], 2);
    assert_int_equal(st.lateness[TR_HIST_BUCKETS], 1);
    assert_int_equal(st.lateness_sum_ms, 20001);
    assert_int_equal(st.lateness_count, 3);
    assert_int_equal(st.totals[7], 1); /* fired */
    assert_int_equal(st.totals[1], 1); /* delivered */
    assert_int_equal(tr_store_ping(s), 0);
    tr_store_free(s);
}

/* Records live in 65,536 bucket hashes {P}:timers:<4 hex digits> (tr_rec_key),
 * small enough to stay listpack-encoded when Redis allows records that long
 * (hash-max-listpack-value); with Redis's default (64 bytes) they are hashtables,
 * which works the same. */
static void test_record_buckets(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg_sock);
    freeReplyObject(raw("CONFIG SET hash-max-listpack-value 1024"));
    add_ok(s, "b1", 0, NULL);
    add_ok(s, "b2", 60000, NULL);
    assert_int_equal(raw_int("EXISTS %s%s", key("timers"), ""), 0); /* no single hash */
    assert_int_equal(rec_count(), 2);
    redisReply *r = raw("HGET %s b1", rec_key("b1"));
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, REC);
    freeReplyObject(r);
    r = raw("OBJECT ENCODING %s", rec_key("b1"));
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_string_equal(r->str, "listpack");
    freeReplyObject(r);
    /* Buckets are 4 hex digits: the key names are {test}:timers:xxxx. */
    assert_int_equal(strlen(rec_key("b1")), strlen(key("timers")) + 5);
    int64_t ttl = 0;
    tr_claim_batch b = {0};
    claim_wait(s, 1, 60000, 2000, &b);
    assert_int_equal(b.count, 1);
    assert_string_equal(b.items[0].record, REC);
    tr_claim_batch_clear(&b);
    tr_finish ack = {.kind = TR_FINISH_ACK, .id = "b1", .token = TOK};
    assert_int_equal(tr_test_finish1(s, ack), 1);
    assert_int_equal(tr_store_cancel(s, "b2", &ttl), 0);
    assert_true(ttl > 0);
    assert_int_equal(rec_count(), 0); /* an emptied bucket is gone (Redis drops empty hashes) */
    freeReplyObject(raw("CONFIG SET hash-max-listpack-value 64"));
    tr_store_free(s);
}

/* The bucket rule (prelude.lua, tr_rec_key): a 16-character key whose first 3
 * characters are of the generated keys' alphabet names its bucket in them (18 bits
 * mod 65,536); any other key: the first 4 hex digits of SHA-1(key). */
static void test_record_bucket_rule(void **state)
{
    (void)state;
    char want[TR_CONFIG_STR_MAX + 32];
    snprintf(want, sizeof want, "%s:0000", key("timers"));
    assert_string_equal(rec_key("AAAbcdefghijklmn"), want);
    snprintf(want, sizeof want, "%s:1000", key("timers")); /* B = 1: 1 * 4096 */
    assert_string_equal(rec_key("BAA_.0123456789a"), want);
    /* '_' 62, '.' 63, 'z' 51, '9' 61: (62 * 4096 + 63 * 64 + 51) mod 65536 */
    snprintf(want, sizeof want, "%s:%04x", key("timers"), (62 * 4096 + 63 * 64 + 51) % 65536);
    assert_string_equal(rec_key("_.zAAAAAAAAAAAAA"), want);
    snprintf(want, sizeof want, "%s:%04x", key("timers"), (61 * 4096 + 52 * 64 + 0) % 65536);
    assert_string_equal(rec_key("90AAAAAAAAAAAAAA"), want);
    /* Not 16 characters, or a '-' / ':' among the first 3: SHA-1. (A client's
     * 16-character key like "order:1234567890" takes the prefix rule: any rule
     * that gives one key one bucket is right; this one spreads generated keys.) */
    const char *other[] = {"AAAbcdefghijklm", "AAAbcdefghijklmno", "A-Abcdefghijklmn",
                           "ab:cdefghijklmno", "2f6a1d3e-9c4b-4f8a-8e2d-1b7c6a5f4e3d"};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        redisReply *r = raw("EVAL %s 1 %s %s",
                            "return KEYS[1] .. ':' .. string.sub(redis.sha1hex(ARGV[1]), 1, 4)",
                            key("timers"), other[i]);
        assert_int_equal(r->type, REDIS_REPLY_STRING);
        assert_string_equal(rec_key(other[i]), r->str);
        freeReplyObject(r);
    }
}

/* Today's exact layout from the version before the buckets: records in the one
 * hash {P}:timers, 36-character UUID ids in due, in flight (attempts, owner) and
 * dead (attempts, meta). */
#define OLD_REC "{\"u\":\"http://127.0.0.1:9/cb\",\"d\":\"old\"}"
#define OLD_P1 "2f6a1d3e-9c4b-4f8a-8e2d-1b7c6a5f4e3d"
#define OLD_P2 "7c1e2d3f-4a5b-4c6d-9e8f-0a1b2c3d4e5f"
#define OLD_F1 "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
#define OLD_D1 "0f1e2d3c-4b5a-4968-a7b6-c5d4e3f2a1b0"
static void write_old_layout(void)
{
    redisReply *r = raw("TIME");
    long long now = strtoll(r->element[0]->str, NULL, 10) * 1000;
    freeReplyObject(r);
    char due_now[32], due_later[32], lease[32];
    snprintf(due_now, sizeof due_now, "%lld", now - 1000);
    snprintf(due_later, sizeof due_later, "%lld", now + 3600000);
    snprintf(lease, sizeof lease, "%lld", now + 3600000);
    freeReplyObject(raw("HSET %s %s %s %s %s %s %s %s %s", key("timers"), OLD_P1, OLD_REC, OLD_P2,
                        OLD_REC, OLD_F1, OLD_REC, OLD_D1, OLD_REC));
    freeReplyObject(raw("ZADD %s %s %s %s %s", key("due"), due_now, OLD_P1, due_later, OLD_P2));
    freeReplyObject(raw("ZADD %s %s %s", key("inflight"), lease, OLD_F1));
    freeReplyObject(raw("HSET %s %s 1 %s 3", key("attempts"), OLD_F1, OLD_D1));
    freeReplyObject(raw("HSET %s %s %s:old/1/1", key("owner"), OLD_F1, due_now));
    freeReplyObject(raw("ZADD %s %s %s", key("dead"), due_now, OLD_D1));
    freeReplyObject(raw("HSET %s %s {\"status\":500}", key("meta"), OLD_D1));
}

/* Data written by the version before the buckets keeps working: read from the old
 * hash while it exists, written to the buckets, deleted from both. */
static void test_old_layout_read(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg_sock);
    redisReply *r;
    write_old_layout();
    tr_timer_view v;
    assert_int_equal(tr_store_get(s, OLD_D1, &v), TR_STORE_GET_FOUND);
    assert_int_equal(v.state, TR_STATE_DEAD);
    assert_string_equal(v.record, OLD_REC);
    assert_int_equal(v.attempts, 3);
    tr_timer_view_clear(&v);
    tr_timer_view *page = NULL;
    size_t n = 0;
    assert_int_equal(tr_store_list(s, 0, 0, NULL, 10, &page, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(page[0].id, OLD_P1);
    assert_string_equal(page[0].record, OLD_REC);
    assert_string_equal(page[1].record, OLD_REC);
    for (size_t i = 0; i < n; i++)
        tr_timer_view_clear(&page[i]);
    free(page);
    /* An existing old id is found by add and create (nothing changes). */
    int64_t due = 0;
    assert_int_equal(tr_store_add(s, OLD_P2, "x", 1, 5, &due), TR_STORE_ADD_EXISTS);
    assert_true(due > 0);
    tr_create c = {.id = OLD_P2, .record = OLD_REC, .record_len = strlen(OLD_REC), .at_ms = -1};
    tr_create_result cres = TR_CREATE_NEW;
    int64_t cdue = 0, cnow = 0;
    assert_int_equal(tr_store_create(s, &c, 1, &cres, &cdue, &cnow), 0);
    assert_int_equal(cres, TR_CREATE_SAME);
    int64_t rdue = 0;
    assert_int_equal(tr_store_reschedule(s, OLD_P2, 7200000, -1, &rdue), TR_STORE_RESCHEDULE_DONE);
    /* The due one is claimed with its record; its ack deletes the old copy. */
    tr_claim_batch b = {0};
    assert_int_equal(tr_store_claim(s, 10, 60000, TOK, &b), 0);
    assert_int_equal(b.count, 1);
    assert_string_equal(b.items[0].id, OLD_P1);
    assert_string_equal(b.items[0].record, OLD_REC);
    tr_claim_batch_clear(&b);
    tr_finish ack = {.kind = TR_FINISH_ACK, .id = OLD_P1, .token = TOK};
    assert_int_equal(tr_test_finish1(s, ack), 1);
    assert_int_equal(raw_int("HEXISTS %s %s", key("timers"), OLD_P1), 0);
    /* The old claim's outcome still applies under its token (ack_many path). */
    tr_finish acks[1] = {{.kind = TR_FINISH_ACK, .id = OLD_F1, .token = "old/1/1"}};
    tr_finish_result res[1] = {-1};
    assert_int_equal(tr_store_finish(s, acks, 1, res), 0);
    assert_int_equal(res[0], TR_FINISH_APPLIED);
    assert_int_equal(raw_int("HEXISTS %s %s", key("timers"), OLD_F1), 0);
    /* Cancelled: gone from the old hash too. */
    int64_t ttl = -5;
    assert_int_equal(tr_store_cancel(s, OLD_P2, &ttl), 0);
    assert_true(ttl > 0);
    assert_int_equal(raw_int("HEXISTS %s %s", key("timers"), OLD_P2), 0);
    /* The dead one replayed and claimed; a next firing rewrites its record, which
     * moves it to its bucket (the old copy deleted). */
    int64_t pdue = 0;
    assert_int_equal(tr_store_replay(s, OLD_D1, &pdue), TR_STORE_REPLAY_DONE);
    assert_int_equal(tr_store_claim(s, 10, 60000, TOK, &b), 0);
    assert_int_equal(b.count, 1);
    assert_string_equal(b.items[0].id, OLD_D1);
    assert_string_equal(b.items[0].record, OLD_REC);
    assert_int_equal(b.items[0].attempt, 1);
    tr_claim_batch_clear(&b);
    tr_finish rep = {.kind = TR_FINISH_ACK, .id = OLD_D1, .token = TOK,
                     .repeat_record = REC, .repeat_record_len = strlen(REC),
                     .repeat_at_ms = pdue + 3600000};
    assert_int_equal(tr_test_finish1(s, rep), 1);
    assert_int_equal(raw_int("EXISTS %s%s", key("timers"), ""), 0); /* emptied: gone */
    assert_int_equal(rec_count(), 1);
    r = raw("HGET %s %s", rec_key(OLD_D1), OLD_D1);
    assert_string_equal(r->str, REC);
    freeReplyObject(r);
    tr_store_free(s);
}

/* The move: chunk by chunk, every record into its bucket, the old hash gone,
 * nothing else touched; a record written since the upgrade is never replaced. */
static void test_old_layout_migrate(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg_sock);
    int64_t moved = -1, left = -1;
    assert_int_equal(tr_store_migrate(s, 2, &moved, &left), 0); /* nothing to move */
    assert_int_equal(moved, 0);
    assert_int_equal(left, 0);
    write_old_layout();
    for (int i = 0; i < 300; i++) {
        char id[32];
        snprintf(id, sizeof id, "old-%d", i);
        freeReplyObject(raw("HSET %s %s %s", key("timers"), id, OLD_REC));
    }
    /* Both copies (cannot happen through the scripts): the bucket's is kept. */
    rec_set(OLD_P2, "newer");
    long long total = raw_int("HLEN %s%s", key("timers"), "");
    assert_int_equal(total, 304);
    int calls = 0;
    int64_t sum = 0;
    do {
        assert_int_equal(tr_store_migrate(s, 100, &moved, &left), 0);
        assert_true(moved <= 100);
        sum += moved;
        calls++;
        assert_int_equal(left, total - sum);
    } while (left > 0);
    assert_int_equal(calls, 4);
    assert_int_equal(raw_int("EXISTS %s%s", key("timers"), ""), 0);
    assert_int_equal(rec_count(), 304);
    redisReply *r = raw("HGET %s %s", rec_key(OLD_P2), OLD_P2);
    assert_string_equal(r->str, "newer");
    freeReplyObject(r);
    tr_timer_view v;
    assert_int_equal(tr_store_get(s, OLD_F1, &v), TR_STORE_GET_FOUND);
    assert_int_equal(v.state, TR_STATE_IN_FLIGHT);
    assert_string_equal(v.record, OLD_REC);
    tr_timer_view_clear(&v);
    assert_int_equal(raw_int("ZCARD %s%s", key("due"), ""), 2);
    assert_int_equal(raw_int("HGET %s %s", key("attempts"), OLD_D1), 3);
    tr_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_add_then_claim_when_due, setup),
        cmocka_unit_test_setup(test_nothing_due, setup),
        cmocka_unit_test_setup(test_add_twice, setup),
        cmocka_unit_test_setup(test_cancel, setup),
        cmocka_unit_test_setup(test_double_claim, setup),
        cmocka_unit_test_setup(test_lease_expiry, setup),
        cmocka_unit_test_setup(test_ack_chain_idempotent, setup),
        cmocka_unit_test_setup(test_ack_chain_refused, setup),
        cmocka_unit_test_setup(test_retry, setup),
        cmocka_unit_test_setup(test_dead, setup),
        cmocka_unit_test_setup(test_release, setup),
        cmocka_unit_test_setup(test_hold, setup),
        cmocka_unit_test_setup(test_script_flush, setup),
        cmocka_unit_test_setup(test_finish_errors, setup),
        cmocka_unit_test_setup(test_ack_many, setup),
        cmocka_unit_test_setup(test_finish_send_recv, setup),
        cmocka_unit_test_setup(test_claim_send_recv, setup),
        cmocka_unit_test_setup(test_claim_batch_orphans, setup),
        cmocka_unit_test_setup(test_wake, setup),
        cmocka_unit_test_setup(test_redis_stalled, setup),
        cmocka_unit_test_setup(test_redis_killed, setup),
        cmocka_unit_test_setup(test_rest_create_get_list, setup),
        cmocka_unit_test_setup(test_rest_pause_repeat_stats, setup),
        cmocka_unit_test_setup(test_record_buckets, setup),
        cmocka_unit_test_setup(test_record_bucket_rule, setup),
        cmocka_unit_test_setup(test_old_layout_read, setup),
        cmocka_unit_test_setup(test_old_layout_migrate, setup),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
