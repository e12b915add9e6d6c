/* test_sched_pending_redis.c - tr_pending's send/receive in two steps against a
 * real redis-server (run by tests/with_redis.sh): outcomes added while a send is
 * outstanding wait for the next one, answers retire only the sent ones (notices
 * once applied), a failed send or a lost connection keeps them all, and the
 * blocking flush waits for an outstanding send first. An outcome the store
 * refused (malformed, or a script error) is not counted as stale.
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <hiredis/hiredis.h>

#include "tr_clock.h"
#include "tr_config.h"
#include "tr_pending.h"
#include "tr_sched_stats.h"
#include "tr_store_sched.h"


/* The claim token of the tests' claims (the fence of every outcome). */
#define TOK "test/1/1"
static tr_config cfg;

static int group_setup(void **state)
{
    (void)state;
    const char *sock = getenv("TR_TEST_REDIS_SOCKET");
    if (sock == NULL) {
        fprintf(stderr, "run me through tests/with_redis.sh\n");
        return -1;
    }
    tr_config_defaults(&cfg);
    snprintf(cfg.key, sizeof cfg.key, "ptest");
    snprintf(cfg.redis_socket, sizeof cfg.redis_socket, "%s", sock);
    cfg.port = 0;
    cfg.redis_timeout_ms = 500;
    return 0;
}

#define REC "{\"u\":\"http://x/\",\"d\":\"hi\"}"

static int notices;

static void on_notice(void *ctx, const tr_finish *f, const char *url, const char *body,
                      size_t body_len)
{
    (void)ctx;
    (void)body;
    assert_string_equal(url, "http://f/");
    assert_int_equal(body_len, 2);
    assert_string_equal(f->id, "p2");
    notices++;
}

/* Claims every timer added (they are due at once). */
static void claim_all(tr_store *s, size_t want)
{
    size_t got = 0;
    int64_t end = tr_clock_mono_ms() + 3000;
    while (got < want && tr_clock_mono_ms() < end) {
        tr_claim_batch b = {0};
        assert_int_equal(tr_store_claim(s, 100, 60000, TOK, &b), 0);
        got += b.count;
        tr_claim_batch_clear(&b);
    }
    assert_int_equal(got, want);
}

static void test_send_recv(void **state)
{
    (void)state;
    tr_store *s = tr_store_new(&cfg);
    tr_pending *p = tr_pending_new();
    tr_sched_stats st;
    assert_int_equal(tr_sched_stats_init(&st, 16), 0);
    tr_pending_on_notice(p, on_notice, NULL);
    const char *ids[] = {"p0", "p1", "p2", "p3"};
    for (int i = 0; i < 4; i++) {
        int64_t due;
        assert_int_equal(tr_store_add(s, ids[i], REC, strlen(REC), 0, &due), TR_STORE_ADD_NEW);
    }
    claim_all(s, 4);

    tr_finish a0 = {.kind = TR_FINISH_ACK, .id = "p0", .token = TOK, .attempt = 1};
    tr_finish a1 = {.kind = TR_FINISH_ACK, .id = "p1", .token = TOK, .attempt = 1};
    tr_finish d2 = {.kind = TR_FINISH_DEAD, .id = "p2", .token = TOK, .attempt = 1, .meta = "{}"};
    tr_finish a3 = {.kind = TR_FINISH_ACK, .id = "p3", .token = TOK, .attempt = 1};
    assert_int_equal(tr_pending_send(p, s), 0); /* empty: nothing to do */
    assert_int_equal(tr_pending_recv(p, s, &st, TR_STORE_RECV_POLL), TR_STORE_RECV_DONE);
    assert_int_equal(tr_pending_add(p, &a0), 0);
    assert_int_equal(tr_pending_add_notice(p, &d2, "http://f/", "{}", 2), 0);
    assert_int_equal(tr_pending_send(p, s), 0);
    assert_int_equal(tr_pending_sent(p), 2);
    assert_int_equal(tr_pending_send(p, s), -1); /* one outstanding at most */
    /* Added meanwhile (the array may move): waits for the next send. */
    for (int i = 0; i < 100; i++)
        assert_int_equal(tr_pending_add(p, &a1), 0);
    assert_int_equal(tr_pending_count(p), 102);
    int rc = 0;
    int64_t end = tr_clock_mono_ms() + 3000;
    while (rc == 0 && tr_clock_mono_ms() < end) {
        struct pollfd pf = {.fd = tr_store_fd(s), .events = POLLIN};
        assert_true(poll(&pf, 1, 1000) >= 0);
        if (pf.revents & POLLIN)
            rc = tr_pending_recv(p, s, &st, TR_STORE_RECV_POLL);
    }
    assert_int_equal(rc, 1);
    assert_int_equal(notices, 1); /* the DEAD was applied */
    assert_int_equal(tr_pending_sent(p), 0);
    assert_int_equal(tr_pending_count(p), 100);
    assert_string_equal(tr_pending_item(p, 0)->id, "p1");
    assert_int_equal(st.stale, 0);

    /* The next send: the first ack of p1 applies, the 99 others are stale. */
    assert_int_equal(tr_pending_send(p, s), 0);
    assert_int_equal(tr_pending_add(p, &a3), 0);
    /* The blocking flush waits for the outstanding send, then writes the rest. */
    assert_int_equal(tr_pending_flush(p, s, &st), 0);
    assert_int_equal(tr_pending_count(p), 0);
    assert_int_equal(st.stale, 99);

    /* A lost connection under an outstanding send keeps every outcome. */
    assert_int_equal(tr_pending_add(p, &a0), 0);
    assert_int_equal(tr_pending_send(p, s), 0);
    redisContext *c = redisConnectUnix(cfg.redis_socket);
    assert_non_null(c);
    redisReply *r = redisCommand(c, "CLIENT KILL TYPE normal SKIPME yes");
    assert_non_null(r);
    freeReplyObject(r);
    redisFree(c);
    rc = tr_pending_recv(p, s, &st, TR_STORE_RECV_BLOCK);
    if (rc < 0) {
        assert_int_equal(tr_pending_count(p), 1); /* kept, to be sent again */
        assert_int_equal(tr_pending_sent(p), 0);
        assert_int_equal(tr_pending_flush(p, s, &st), 0); /* reconnects */
    } else {
        assert_int_equal(rc, 1); /* the answer won the race with the kill */
    }
    assert_int_equal(tr_pending_count(p), 0);
    assert_int_equal(notices, 1);

    tr_sched_stats_free(&st);
    tr_pending_free(p);
    tr_store_free(s);
}

/* Refused is not stale: an outcome the store refused (a malformed item, or a
 * script error such as a wrong type under a key) is counted apart from one that
 * was stale (the timer gone or claimed again). */
static void test_refused_not_stale(void **state)
{
    (void)state;
    tr_config c2 = cfg;
    snprintf(c2.key, sizeof c2.key, "ptest_refused");
    tr_store *s = tr_store_new(&c2);
    tr_pending *p = tr_pending_new();
    tr_sched_stats st;
    assert_int_equal(tr_sched_stats_init(&st, 16), 0);
    int64_t due;
    assert_int_equal(tr_store_add(s, "r1", REC, strlen(REC), 0, &due), TR_STORE_ADD_NEW);
    claim_all(s, 1);

    /* Malformed (unknown kind): refused by the store before sending. */
    tr_finish bad = {.kind = (tr_finish_kind)7, .id = "r0", .token = TOK, .attempt = 1};
    assert_int_equal(tr_pending_add(p, &bad), 0);
    assert_int_equal(tr_pending_flush(p, s, &st), 0);
    assert_int_equal(tr_pending_count(p), 0);
    assert_int_equal(st.stale, 0);
    assert_int_equal(st.refused, 1);

    /* A script error (WRONGTYPE under {P}:meta): refused by Redis. */
    redisContext *rc = redisConnectUnix(c2.redis_socket);
    assert_non_null(rc);
    redisReply *r = redisCommand(rc, "SET {ptest_refused}:meta x");
    assert_non_null(r);
    freeReplyObject(r);
    tr_finish ack = {.kind = TR_FINISH_ACK, .id = "r1", .token = TOK, .attempt = 1};
    assert_int_equal(tr_pending_add(p, &ack), 0);
    assert_int_equal(tr_pending_flush(p, s, &st), 0);
    assert_int_equal(tr_pending_count(p), 0);
    assert_int_equal(st.stale, 0);
    assert_int_equal(st.refused, 2);

    /* A stale one (unknown timer) is still stale. */
    tr_finish gone = {.kind = TR_FINISH_RETRY, .id = "nope", .token = TOK, .attempt = 1, .meta = "{}"};
    assert_int_equal(tr_pending_add(p, &gone), 0);
    assert_int_equal(tr_pending_flush(p, s, &st), 0);
    assert_int_equal(st.stale, 1);
    assert_int_equal(st.refused, 2);

    r = redisCommand(rc, "DEL {ptest_refused}:meta");
    freeReplyObject(r);
    redisFree(rc);
    tr_sched_stats_free(&st);
    tr_pending_free(p);
    tr_store_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_send_recv),
        cmocka_unit_test(test_refused_not_stale),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
