/* test_stream_redis.c - the stream part of the ack (shared/lua/ack.lua, a
 * tr_finish with .stream: the stream notifier's delivery) against a real
 * redis-server: the entry and its fields, the fence (a stale ack adds nothing),
 * MAXLEN ~, a key holding another type (dead-lettered, nothing half-applied), and a
 * recurring timer's firing.
 *
 * Run by tests/with_redis.sh (TR_TEST_REDIS_PORT, _SOCKET). Every test starts from
 * an empty database.
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

#include "tr_clock.h"
#include "tr_config.h"
#include "tr_store.h"
#include "tr_store_sched.h"
#include "tr_test_redis.h"
#include "tr_test_store.h"

#define TOK "test/1/1"
#define REC "{\"u\":\"redis-stream://orders\",\"d\":\"hi\"}"
static tr_config cfg;

#define raw(...) tr_test_redis_cmd(&cfg, __VA_ARGS__)
#define raw_int(...) tr_test_redis_int(raw(__VA_ARGS__))
#define key(suffix) tr_test_redis_key(&cfg, suffix)

static int setup(void **state)
{
    (void)state;
    freeReplyObject(raw("FLUSHALL"));
    return 0;
}

static int group_setup(void **state)
{
    (void)state;
    if (tr_test_redis_config(&cfg, "test", 2000) != 0)
        return -1;
    return 0;
}

/* Adds ids[0..n) due now and claims them all under token. */
static void add_claim(tr_store *s, const char *const *ids, size_t n, const char *token)
{
    for (size_t i = 0; i < n; i++) {
        int64_t due = 0;
        assert_int_equal(tr_store_add(s, ids[i], REC, strlen(REC), 0, &due), TR_STORE_ADD_NEW);
    }
    tr_claim_batch b;
    tr_test_claim_wait(s, token, 1000, n, 60000, 5000, &b);
    assert_int_equal(b.count, n);
    tr_claim_batch_clear(&b);
}

static tr_finish stream_ack(const char *id, const char *token, const char *stream,
                            const char *data, size_t data_len)
{
    return (tr_finish){.kind = TR_FINISH_ACK, .id = id, .token = token, .attempt = 1,
                       .stream = stream, .stream_data = data, .stream_data_len = data_len,
                       .stream_due_ms = 1234567};
}

/* The entry: one XADD with the four fields, in order; the timer left every set. */
static void test_stream_entry(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg);
    const char *ids[] = {"s1"};
    add_claim(s, ids, 1, TOK);
    static const char data[] = "a\0b{\"x\":1}";
    assert_int_equal(tr_test_finish1(s, stream_ack("s1", TOK, "orders", data, sizeof data - 1)),
                     TR_FINISH_APPLIED);
    assert_int_equal(raw_int("XLEN %s%s", key("stream:orders"), ""), 1);
    redisReply *r = raw("XRANGE %s - +", key("stream:orders"));
    assert_int_equal(r->type, REDIS_REPLY_ARRAY);
    assert_int_equal(r->elements, 1);
    redisReply *f = r->element[0]->element[1];
    assert_int_equal(f->elements, 8);
    assert_string_equal(f->element[0]->str, "key");
    assert_string_equal(f->element[1]->str, "s1");
    assert_string_equal(f->element[2]->str, "attempt");
    assert_string_equal(f->element[3]->str, "1");
    assert_string_equal(f->element[4]->str, "due_ms");
    assert_string_equal(f->element[5]->str, "1234567");
    assert_string_equal(f->element[6]->str, "data");
    assert_int_equal(f->element[7]->len, sizeof data - 1);
    assert_memory_equal(f->element[7]->str, data, sizeof data - 1);
    freeReplyObject(r);
    assert_int_equal(raw_int("ZCARD %s%s", key("inflight"), ""), 0);
    assert_int_equal(raw_int("ZCARD %s%s", key("due"), ""), 0);
    assert_int_equal(raw_int("HLEN %s%s", key("owner"), ""), 0);
    assert_int_equal(raw_int("HGET %s %s", key("stats"), "delivered"), 1);
    tr_store_free(s);
}

/* The fence: a stale ack (other token, applied twice, cancelled while delivering)
 * adds no entry. */
static void test_stream_stale(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg);
    const char *ids[] = {"a1", "a2"};
    add_claim(s, ids, 2, TOK);
    assert_int_equal(tr_test_finish1(s, stream_ack("a1", "other/1/1", "st", "x", 1)), TR_FINISH_STALE);
    assert_int_equal(raw_int("EXISTS %s%s", key("stream:st"), ""), 0);
    assert_int_equal(raw_int("ZCARD %s%s", key("inflight"), ""), 2);
    tr_finish twice[2] = {stream_ack("a1", TOK, "st", "x", 1), stream_ack("a1", TOK, "st", "x", 1)};
    tr_finish_result res[2] = {-9, -9};
    assert_int_equal(tr_store_finish(s, twice, 2, res), 0);
    assert_int_equal(res[0], TR_FINISH_APPLIED);
    assert_int_equal(res[1], TR_FINISH_STALE);
    assert_int_equal(raw_int("XLEN %s%s", key("stream:st"), ""), 1);
    int64_t ttl = 0;
    assert_int_equal(tr_store_cancel(s, "a2", &ttl), 0);
    assert_int_equal(tr_test_finish1(s, stream_ack("a2", TOK, "st", "x", 1)), TR_FINISH_STALE);
    assert_int_equal(raw_int("XLEN %s%s", key("stream:st"), ""), 1);
    tr_store_free(s);
}

/* A key holding a string: nothing written to it, the timer dead-lettered with the
 * reason; the value is untouched. */
static void test_stream_wrong_type(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg);
    freeReplyObject(raw("SET %s keep", key("stream:bad")));
    const char *ids[] = {"w1"};
    add_claim(s, ids, 1, TOK);
    assert_int_equal(tr_test_finish1(s, stream_ack("w1", TOK, "bad", "x", 1)), TR_FINISH_APPLIED);
    redisReply *r = raw("GET %s", key("stream:bad"));
    assert_string_equal(r->str, "keep");
    freeReplyObject(r);
    assert_true(raw_int("ZSCORE %s %s", key("dead"), "w1") > 0);
    r = raw("HGET %s w1", key("meta"));
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    assert_non_null(strstr(r->str, "\"error\":\"stream key holds a string\""));
    assert_non_null(strstr(r->str, "\"due\":1234567"));
    freeReplyObject(r);
    assert_int_equal(raw_int("ZCARD %s%s", key("inflight"), ""), 0);
    assert_int_equal(raw_int("HGET %s %s", key("stats"), "dead"), 1);
    assert_int_equal(raw_int("HEXISTS %s %s", key("stats"), "delivered"), 0);
    tr_store_free(s);
}

/* MAXLEN ~: 1,000 entries into a stream bounded at 100 keep about 100 (whole
 * nodes are trimmed: at least 100, less than 100 + a node of 100). */
static void test_stream_maxlen(void **state)
{
    (void)state;
    tr_config c = cfg;
    c.stream_maxlen = 100;
    tr_store *s = tr_store_new(&c);
    enum { N = 1000 };
    static char names[N][16];
    const char *ids[N];
    tr_finish f[N];
    tr_finish_result res[N];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "m%d", i);
        ids[i] = names[i];
        f[i] = stream_ack(ids[i], TOK, "bounded", "d", 1);
    }
    add_claim(s, ids, N, TOK);
    assert_int_equal(tr_store_finish(s, f, N, res), 0);
    for (int i = 0; i < N; i++)
        assert_int_equal(res[i], TR_FINISH_APPLIED);
    long long len = raw_int("XLEN %s%s", key("stream:bounded"), "");
    assert_true(len >= 100 && len < 200);
    tr_store_free(s);
    /* 0: unbounded. */
    c.stream_maxlen = 0;
    s = tr_store_new(&c);
    for (int i = 0; i < N; i++)
        f[i].stream = "unbounded";
    add_claim(s, ids, N, TOK);
    assert_int_equal(tr_store_finish(s, f, N, res), 0);
    assert_int_equal(raw_int("XLEN %s%s", key("stream:unbounded"), ""), N);
    tr_store_free(s);
}

/* A recurring timer's firing: an entry, and the timer due again. */
static void test_stream_repeat(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg);
    const char *ids[] = {"r1"};
    add_claim(s, ids, 1, TOK);
    tr_finish f = stream_ack("r1", TOK, "rep", "x", 1);
    f.repeat_record = REC;
    f.repeat_record_len = sizeof REC - 1;
    f.repeat_at_ms = 9999999999999LL;
    assert_int_equal(tr_test_finish1(s, f), TR_FINISH_APPLIED);
    assert_int_equal(raw_int("XLEN %s%s", key("stream:rep"), ""), 1);
    assert_int_equal(raw_int("ZSCORE %s %s", key("due"), "r1"), 9999999999999LL);
    assert_int_equal(raw_int("ZCARD %s%s", key("inflight"), ""), 0);
    tr_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_stream_entry, setup),
        cmocka_unit_test_setup(test_stream_stale, setup),
        cmocka_unit_test_setup(test_stream_wrong_type, setup),
        cmocka_unit_test_setup(test_stream_maxlen, setup),
        cmocka_unit_test_setup(test_stream_repeat, setup),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
