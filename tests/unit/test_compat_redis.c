/* test_compat_redis.c - the compat handlers' success paths against a real Redis.
 *
 * Run by tests/with_redis.sh (TR_TEST_REDIS_SOCKET, else TR_TEST_REDIS_PORT);
 * skipped when neither is set. Each test starts from an empty database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tr_clock.h"
#include "tr_compat.h"
#include "tr_config.h"
#include "tr_http.h"
#include "tr_log.h"
#include "tr_route.h"
#include "tr_store.h"
#include "tr_store_sched.h"
#include "tr_timer.h"

#define REC "{\"u\":\"http://h/\",\"d\":\"\"}"

typedef struct fixture {
    tr_config cfg;
    tr_store *store;
    tr_app app;
    redisContext *raw; /* for looking at what the handlers stored */
} fixture;


/* The claim token of the tests' claims (the fence of every outcome). */
#define TOK "test/1/1"
static int setup(void **state)
{
    const char *sock = getenv("TR_TEST_REDIS_SOCKET");
    const char *port = getenv("TR_TEST_REDIS_PORT");
    if ((sock == NULL || sock[0] == '\0') && (port == NULL || port[0] == '\0'))
        return 0; /* each test skips */
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    tr_config_defaults(&f->cfg);
    snprintf(f->cfg.key, sizeof f->cfg.key, "compat_test");
    f->cfg.max_body_bytes = 4096;
    struct timeval tv = {2, 0};
    if (sock != NULL && sock[0] != '\0') {
        snprintf(f->cfg.redis_socket, sizeof f->cfg.redis_socket, "%s", sock);
        f->cfg.port = 0;
        f->raw = redisConnectUnixWithTimeout(sock, tv);
    } else {
        char *end = NULL;
        long p = strtol(port, &end, 10);
        if (end == port || *end != '\0' || p <= 0 || p > 65535)
            return -1;
        f->cfg.port = (int)p;
        f->raw = redisConnectWithTimeout("127.0.0.1", (int)p, tv);
    }
    if (f->raw == NULL || f->raw->err != 0)
        return -1;
    redisReply *r = redisCommand(f->raw, "FLUSHALL");
    if (r == NULL)
        return -1;
    freeReplyObject(r);
    f->store = tr_store_new(&f->cfg);
    if (f->store == NULL)
        return -1;
    f->app.cfg = &f->cfg;
    f->app.store = f->store;
    tr_log_open("test_compat_redis", TR_LOG_ERROR, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f == NULL)
        return 0;
    tr_store_free(f->store);
    if (f->raw != NULL)
        redisFree(f->raw);
    free(f);
    return 0;
}

static fixture *get(void **state)
{
    if (*state == NULL)
        skip();
    return *state;
}

/* Posts body to path and returns the response body's JSON (caller puts it). */
static json_object *call(fixture *f, const char *path, const char *body)
{
    tr_http_request r;
    memset(&r, 0, sizeof r);
    r.method = "POST";
    r.path = path;
    r.body = body;
    r.body_len = strlen(body);
    r.content_length = (int64_t)r.body_len;
    tr_http_response resp;
    tr_http_response_init(&resp);
    assert_int_equal(tr_route_dispatch(&f->app, &r, &resp), 0);
    assert_int_equal(resp.status, 200);
    json_object *obj = json_tokener_parse(resp.body);
    if (obj == NULL)
        print_error("answer is not JSON: %s\n", resp.body);
    assert_non_null(obj);
    tr_http_response_clear(&resp);
    return obj;
}

static int64_t get_int(json_object *obj, const char *a, const char *b)
{
    json_object *v = NULL;
    assert_true(json_object_object_get_ex(obj, a, &v));
    if (b != NULL)
        assert_true(json_object_object_get_ex(v, b, &v));
    assert_true(json_object_is_type(v, json_type_int));
    return json_object_get_int64(v);
}

/* The embedded record_key.lua: the one definition of a record's bucket
 * (shared/lua/prelude.lua, tr_rec_key). */
extern const char tr_lua_record_key[];

/* The bucket key of key's record (valid until the next call). */
static const char *rec_bucket_of(fixture *f, const char *key)
{
    static char out[256];
    redisReply *r = redisCommand(f->raw, "EVAL %s 1 {compat_test}:timers %s", tr_lua_record_key,
                                 key);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    snprintf(out, sizeof out, "%s", r->str);
    freeReplyObject(r);
    return out;
}

/* The key of a successful register answer, copied into out. */
static void answer_key(json_object *ans, char out[TR_KEY_LEN + 1])
{
    assert_int_equal(get_int(ans, "ret", NULL), 0);
    json_object *data = NULL, *k = NULL;
    assert_true(json_object_object_get_ex(ans, "data", &data));
    assert_true(json_object_object_get_ex(data, "key", &k));
    assert_int_equal(json_object_get_string_len(k), TR_KEY_LEN);
    memcpy(out, json_object_get_string(k), TR_KEY_LEN + 1);
    assert_int_equal(tr_timer_key_check(out), 0);
}

static void test_register_stores_record(void **state)
{
    fixture *f = get(state);
    json_object *ans = call(f, "/register/",
                            "{\"callback_cmd\":\"http://127.0.0.1:9/cb\","
                            "\"callback_data\":\"{\\\"q\\\":\\\"\\u00e9\\\"}\",\"seconds\":100}");
    char key[TR_KEY_LEN + 1];
    answer_key(ans, key);
    json_object_put(ans);

    redisReply *r = redisCommand(f->raw, "HGET %s %s", rec_bucket_of(f, key), key);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    tr_timer_spec spec;
    assert_int_equal(tr_timer_record_decode(r->str, r->len, &spec), 0);
    freeReplyObject(r);
    assert_string_equal(spec.url, "http://127.0.0.1:9/cb");
    assert_string_equal(spec.data, "{\"q\":\"\xc3\xa9\"}");
    tr_timer_spec_clear(&spec);

    r = redisCommand(f->raw, "ZSCORE {compat_test}:due %s", key);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    freeReplyObject(r);
}

static void test_register_object_data_and_no_slash(void **state)
{
    fixture *f = get(state);
    json_object *ans = call(f, "/register",
                            "{\"callback_cmd\":\"https://h.test/x\",\"callback_data\":"
                            "{\"path\":\"a/b\", \"n\": [1, 2]},\"seconds\":\"5\"}");
    char key[TR_KEY_LEN + 1];
    answer_key(ans, key);
    json_object_put(ans);
    redisReply *r = redisCommand(f->raw, "HGET %s %s", rec_bucket_of(f, key), key);
    assert_non_null(r);
    assert_int_equal(r->type, REDIS_REPLY_STRING);
    tr_timer_spec spec;
    assert_int_equal(tr_timer_record_decode(r->str, r->len, &spec), 0);
    freeReplyObject(r);
    assert_string_equal(spec.data, "{\"path\":\"a/b\",\"n\":[1,2]}");
    tr_timer_spec_clear(&spec);
}

static void test_unregister_ttl(void **state)
{
    fixture *f = get(state);
    json_object *ans = call(f, "/register/",
                            "{\"callback_cmd\":\"http://h/\",\"callback_data\":\"\",\"seconds\":100}");
    char key[TR_KEY_LEN + 1];
    answer_key(ans, key);
    json_object_put(ans);

    char body[128];
    snprintf(body, sizeof body, "{\"key\":\"%s\"}", key);
    ans = call(f, "/unregister/", body);
    assert_int_equal(get_int(ans, "ret", NULL), 0);
    /* 100 s less the few ms since: rounded up, still 100. */
    assert_int_equal(get_int(ans, "data", "ttl"), 100);
    json_object_put(ans);

    redisReply *r = redisCommand(f->raw, "HEXISTS %s %s", rec_bucket_of(f, key), key);
    assert_non_null(r);
    assert_int_equal(r->integer, 0);
    freeReplyObject(r);

    /* Again: gone, ttl 0 (the original answered 0 for unknown keys too). */
    ans = call(f, "/unregister", body);
    assert_int_equal(get_int(ans, "ret", NULL), 0);
    assert_int_equal(get_int(ans, "data", "ttl"), 0);
    json_object_put(ans);

    ans = call(f, "/unregister/", "{\"key\":\"never-registered\"}");
    assert_int_equal(get_int(ans, "data", "ttl"), 0);
    json_object_put(ans);
}

static void test_unregister_rounds_up(void **state)
{
    fixture *f = get(state);
    int64_t due = 0;
    assert_int_equal(tr_store_add(f->store, "round-up", REC, strlen(REC), 1500, &due),
                     TR_STORE_ADD_NEW);
    json_object *ans = call(f, "/unregister/", "{\"key\":\"round-up\"}");
    assert_int_equal(get_int(ans, "data", "ttl"), 2); /* ~1.5 s left -> 2 */
    json_object_put(ans);
}

static void test_unregister_in_flight(void **state)
{
    fixture *f = get(state);
    int64_t due = 0;
    assert_int_equal(tr_store_add(f->store, "flying", REC, strlen(REC), 0, &due),
                     TR_STORE_ADD_NEW);
    /* Due "now" is rounded up to the next ms by the store: claim until it is taken. */
    size_t claimed = 0;
    int64_t deadline = tr_clock_mono_ms() + 2000;
    while (claimed == 0 && tr_clock_mono_ms() < deadline) {
        tr_claim_batch batch = {0};
        assert_int_equal(tr_store_claim(f->store, 10, 30000, TOK, &batch), 0);
        claimed = batch.count;
        tr_claim_batch_clear(&batch);
        if (claimed == 0) {
            struct timespec ts = {0, 1000 * 1000}; /* poll interval of the deadline loop */
            nanosleep(&ts, NULL);
        }
    }
    assert_int_equal(claimed, 1);
    json_object *ans = call(f, "/unregister/", "{\"key\":\"flying\"}");
    assert_int_equal(get_int(ans, "ret", NULL), 0);
    assert_int_equal(get_int(ans, "data", "ttl"), 0);
    json_object_put(ans);
}

static void test_many_keys_distinct(void **state)
{
    fixture *f = get(state);
    for (int i = 0; i < 50; i++) {
        json_object *ans = call(
            f, "/register/",
            "{\"callback_cmd\":\"http://h/\",\"callback_data\":\"\",\"seconds\":1000}");
        char key[TR_KEY_LEN + 1];
        answer_key(ans, key);
        json_object_put(ans);
    }
    redisReply *r = redisCommand(f->raw, "ZCARD {compat_test}:due");
    assert_non_null(r);
    assert_int_equal(r->integer, 50);
    freeReplyObject(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_register_stores_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_object_data_and_no_slash, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unregister_ttl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unregister_rounds_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unregister_in_flight, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_keys_distinct, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
