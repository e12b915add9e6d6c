/* test_store_group_redis.c - tr_store_group: the creates of several threads, each
 * with its own store, grouped into shared script calls, against a real
 * redis-server (run by tests/with_redis.sh). Every create must keep its own answer;
 * a failed call must fail each create in it on its caller's own store.
 */
#include <pthread.h>
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

#include "tr_config.h"
#include "tr_store.h"
#include "tr_store_group.h"
#include "tr_store_rest.h"
#include "tr_test_redis.h"

#define THREADS 8
#define PER_THREAD 400
#define REC "{\"u\":\"http://x/\",\"d\":\"hi\"}"

static tr_config cfg;

#define raw(...) tr_test_redis_cmd(&cfg, __VA_ARGS__)
#define raw_int(...) tr_test_redis_int(raw(__VA_ARGS__))

static int setup(void **state)
{
    (void)state;
    if (tr_test_redis_config(&cfg, "grp", 500) != 0)
        return -1;
    freeReplyObject(raw("FLUSHALL"));
    return 0;
}

typedef struct worker {
    pthread_t thread;
    int index;
    tr_store_group *group;
    const tr_config *cfg;
    int created, failed, wrong;
    tr_ret last_err;
} worker;

/* PER_THREAD creates: even ones by tr_store_add (compat), odd ones by
 * tr_store_create of one item (REST), each checked against its own answer. */
static void *work(void *arg)
{
    worker *w = arg;
    tr_store *s = tr_store_new(w->cfg);
    if (s == NULL)
        return NULL;
    tr_store_join_group(s, w->group);
    for (int i = 0; i < PER_THREAD; i++) {
        char id[64];
        snprintf(id, sizeof id, "t%d-%d", w->index, i);
        int64_t delay = 1000000 + w->index * 1000 + i;
        int64_t due = -1;
        if (i % 2 == 0) {
            tr_store_add_result r = tr_store_add(s, id, REC, strlen(REC), delay, &due);
            if (r == TR_STORE_ADD_FAILED) {
                w->failed++;
                w->last_err = tr_store_error_code(s);
                continue;
            }
            if (r != TR_STORE_ADD_NEW)
                w->wrong++;
        } else {
            tr_create c = {id, REC, strlen(REC), delay, -1};
            tr_create_result res;
            int64_t now = 0;
            if (tr_store_create(s, &c, 1, &res, &due, &now) != 0) {
                w->failed++;
                w->last_err = tr_store_error_code(s);
                continue;
            }
            if (res != TR_CREATE_NEW || now <= 0 || due < now + delay)
                w->wrong++;
        }
        w->created++;
    }
    tr_store_free(s);
    return NULL;
}

static void run_workers(tr_store_group *g, const tr_config *c, worker *w)
{
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.index = i, .group = g, .cfg = c};
        assert_int_equal(pthread_create(&w[i].thread, NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(w[i].thread, NULL);
}

static void test_every_create_keeps_its_answer(void **state)
{
    (void)state;
    tr_store_group *g = tr_store_group_new(&cfg);
    assert_non_null(g);
    freeReplyObject(raw("CONFIG RESETSTAT"));
    worker w[THREADS];
    run_workers(g, &cfg, w);
    int created = 0;
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(w[i].failed, 0);
        assert_int_equal(w[i].wrong, 0);
        created += w[i].created;
    }
    assert_int_equal(created, THREADS * PER_THREAD);
    assert_int_equal(raw_int("ZCARD %s", "{grp}:due"), THREADS * PER_THREAD);
    assert_int_equal(raw_int("HGET %s created", "{grp}:stats"), THREADS * PER_THREAD);
    /* How many script calls carried them: grouping under contention is likely,
     * not certain (the threads may happen to take turns), so it is printed. */
    redisReply *r = raw("INFO commandstats");
    const char *e = r->type == REDIS_REPLY_STRING ? strstr(r->str, "cmdstat_evalsha:calls=") : NULL;
    printf("%d creates from %d threads in %ld script calls\n", created, THREADS,
           e != NULL ? strtol(e + 22, NULL, 10) : -1L);
    freeReplyObject(r);

    /* An id that exists answers as before, through the group too. */
    tr_store *s = tr_store_new(&cfg);
    assert_non_null(s);
    tr_store_join_group(s, g);
    int64_t due = 0;
    assert_int_equal(tr_store_add(s, "t0-0", REC, strlen(REC), 5, &due), TR_STORE_ADD_EXISTS);
    assert_true(due >= 1000000);
    tr_store_free(s);
    tr_store_group_free(g);
}

static void test_failed_call_fails_each_create_on_its_store(void **state)
{
    (void)state;
    tr_config down = cfg;
    snprintf(down.redis_socket, sizeof down.redis_socket, "/nonexistent-tr-dir/redis.sock");
    tr_store_group *g = tr_store_group_new(&down);
    assert_non_null(g);
    worker w[THREADS];
    run_workers(g, &down, w);
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(w[i].created, 0);
        assert_int_equal(w[i].failed, PER_THREAD);
        assert_int_equal(w[i].last_err, TR_RET_STORE_DOWN);
    }
    tr_store_group_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_every_create_keeps_its_answer, setup),
        cmocka_unit_test_setup(test_failed_call_fails_each_create_on_its_store, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
