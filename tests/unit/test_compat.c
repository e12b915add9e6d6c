/* test_compat.c - the compat handlers and the route table, without Redis: every
 * request here is refused before the store is used, or meets a store whose Redis
 * socket cannot exist (the store-down answer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_clock.h"
#include "tr_compat.h"
#include "tr_config.h"
#include "tr_http.h"
#include "tr_log.h"
#include "tr_route.h"
#include "tr_store.h"

typedef struct fixture {
    tr_config cfg;
    tr_store *store;
    tr_app app;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -1;
    tr_config_defaults(&f->cfg);
    /* No Redis can answer here: a socket in a directory that does not exist. */
    snprintf(f->cfg.redis_socket, sizeof f->cfg.redis_socket, "/nonexistent-tr-dir/redis.sock");
    f->cfg.port = 0;
    f->cfg.redis_timeout_ms = 200;
    f->cfg.max_body_bytes = 1024;
    f->cfg.max_delay_s = 3600;
    f->store = tr_store_new(&f->cfg);
    if (f->store == NULL)
        return -1;
    f->app.cfg = &f->cfg;
    f->app.store = f->store;
    tr_log_open("test_compat", TR_LOG_ERROR, NULL); /* keep WARNING lines out of test output */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    tr_store_free(f->store);
    free(f);
    return 0;
}

static tr_http_request post(const char *path, const char *body)
{
    tr_http_request r;
    memset(&r, 0, sizeof r);
    r.method = "POST";
    r.path = path;
    r.body = body;
    r.body_len = body ? strlen(body) : 0;
    r.body_ret = TR_RET_OK;
    r.content_length = (int64_t)r.body_len;
    return r;
}

/* Dispatches req and checks status, the exact body, and returns nothing. */
static void expect(fixture *f, const tr_http_request *req, int status, const char *body)
{
    tr_http_response resp;
    tr_http_response_init(&resp);
    assert_int_equal(tr_route_dispatch(&f->app, req, &resp), 0);
    if (resp.status != status || resp.body == NULL || strcmp(resp.body, body) != 0)
        print_error("%s %s: got %d %s, want %d %s\n", req->method, req->path, resp.status,
                    resp.body ? resp.body : "(null)", status, body);
    assert_int_equal(resp.status, status);
    assert_non_null(resp.body);
    assert_int_equal(resp.body_len, strlen(body));
    assert_string_equal(resp.body, body);
    tr_http_response_clear(&resp);
}

static void test_not_found(void **state)
{
    fixture *f = *state;
    tr_http_request r = post("/nope", "{}");
    expect(f, &r, 404, "{\"ret\":7,\"msg\":\"no such endpoint\"}");
    r = post("/register/x", "{}");
    expect(f, &r, 404, "{\"ret\":7,\"msg\":\"no such endpoint\"}");
    r = post("/", NULL);
    expect(f, &r, 404, "{\"ret\":7,\"msg\":\"no such endpoint\"}");
    /* /v1/ is the REST module's: its own JSON errors. */
    r = post("/v1/nope", "{}");
    expect(f, &r, 404, "{\"error\":{\"code\":\"not_found\",\"message\":\"no such endpoint\"}}");
}

static void test_bad_method(void **state)
{
    fixture *f = *state;
    static const char *const paths[] = {"/register/", "/register", "/unregister/", "/unregister"};
    for (size_t i = 0; i < 4; i++) {
        tr_http_request r = post(paths[i], NULL);
        r.method = "GET";
        tr_http_response resp;
        tr_http_response_init(&resp);
        assert_int_equal(tr_route_dispatch(&f->app, &r, &resp), 0);
        assert_int_equal(resp.status, 405);
        assert_string_equal(resp.headers, "Allow: POST\r\n");
        assert_string_equal(resp.body, "{\"ret\":6,\"msg\":\"method GET not allowed: use POST\"}");
        tr_http_response_clear(&resp);
    }
    tr_http_request r = post("/register/", "{}");
    r.method = "PUT\r\nX: y";
    tr_http_response resp;
    tr_http_response_init(&resp);
    assert_int_equal(tr_route_dispatch(&f->app, &r, &resp), 0);
    assert_int_equal(resp.status, 405);
    assert_null(strchr(resp.body, '\r')); /* control bytes never echoed */
    tr_http_response_clear(&resp);
}

static void test_register_rejects(void **state)
{
    fixture *f = *state;
    struct {
        const char *body;
        const char *answer;
    } cases[] = {
        {NULL, "{\"ret\":1,\"msg\":\"body is empty\"}"},
        {"nope", "{\"ret\":1,\"msg\":\"body is not valid JSON: null expected at byte 1\"}"},
        {"[]", "{\"ret\":1,\"msg\":\"body must be a JSON object\"}"},
        {"{}", "{\"ret\":2,\"msg\":\"callback_cmd: missing\"}"},
        {"{\"callback_cmd\":\"http://h/\",\"callback_data\":1,\"seconds\":1}",
         "{\"ret\":2,\"msg\":\"callback_data: must be a string, object or array\"}"},
        {"{\"callback_cmd\":\"http://h/\",\"callback_data\":\"\",\"seconds\":true}",
         "{\"ret\":2,\"msg\":\"seconds: must be an integer or a string holding one\"}"},
        {"{\"callback_cmd\":\"http://h/\",\"callback_data\":\"\",\"seconds\":-1}",
         "{\"ret\":3,\"msg\":\"seconds: must be greater than 0\"}"},
        {"{\"callback_cmd\":\"http://h/\",\"callback_data\":\"\",\"seconds\":3601}",
         "{\"ret\":3,\"msg\":\"seconds: at most 3600\"}"},
        {"{\"callback_cmd\":\"file:///x\",\"callback_data\":\"\",\"seconds\":1}",
         "{\"ret\":4,\"msg\":\"callback_cmd: scheme must be http or https\"}"},
        {"{\"callback_cmd\":\"http://u:p@h/\",\"callback_data\":\"\",\"seconds\":1}",
         "{\"ret\":4,\"msg\":\"callback_cmd: must not hold user:password@\"}"},
        /* Strict input (tr_json_strict.h): what json-c alone let through. */
        {"{\"callback_cmd\":\"http://h/\",\"callback_data\":\"\",\"seconds\":1,\"seconds\":2}",
         "{\"ret\":1,\"msg\":\"body is not valid JSON: duplicate key \\\"seconds\\\" at byte "
         "59\"}"},
        {"{\"callback_cmd\":\"http://h/\",\"callback_data\":{\"a\":1,\"a\":1},\"seconds\":1}",
         "{\"ret\":1,\"msg\":\"body is not valid JSON: duplicate key \\\"a\\\" at byte 51\"}"},
        {"{\"callback_cmd\":\"http://h/\",\"callback_data\":\"\xff\",\"seconds\":1}",
         "{\"ret\":1,\"msg\":\"body is not valid JSON: invalid utf-8 string at byte 45\"}"},
        {"{\"callback_cmd\":\"http://h/\",\"callback_data\":\"\xc0\xaf\",\"seconds\":1}",
         "{\"ret\":1,\"msg\":\"body is not valid JSON: invalid UTF-8 at byte 45\"}"},
        {"{'callback_cmd':\"http://h/\",\"callback_data\":\"\",\"seconds\":1}",
         "{\"ret\":1,\"msg\":\"body is not valid JSON: string expected as a key at byte 1\"}"},
        {"{\"callback_cmd\":\"http://h:0/\",\"callback_data\":\"\",\"seconds\":1}",
         "{\"ret\":4,\"msg\":\"callback_cmd: port 0\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tr_http_request r = post("/register/", cases[i].body);
        expect(f, &r, 200, cases[i].answer);
    }
}

static void test_content_type(void **state)
{
    fixture *f = *state;
    const char *body = "{\"callback_cmd\":\"file:///x\",\"callback_data\":\"\",\"seconds\":1}";
    const char *parsed = "{\"ret\":4,\"msg\":\"callback_cmd: scheme must be http or https\"}";
    const char *refused = "{\"ret\":1,\"msg\":\"Content-Type: must be application/json, "
                          "application/x-www-form-urlencoded or none\"}";
    /* JSON, form (curl -d) and none reach the parser; anything else is 415. */
    static const char *const read[] = {"application/json", "Application/JSON; charset=utf-8",
                                       "application/x-www-form-urlencoded"};
    for (size_t i = 0; i < sizeof read / sizeof read[0]; i++) {
        tr_http_request r = post("/register/", body);
        r.content_type = read[i];
        expect(f, &r, 200, parsed);
    }
    static const char *const other[] = {"text/plain", "multipart/form-data; boundary=x",
                                         "application/jsonx", "application/xml"};
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
        tr_http_request r = post("/register/", body);
        r.content_type = other[i];
        expect(f, &r, 415, refused);
        r = post("/unregister/", "{\"key\":\"k\"}");
        r.content_type = other[i];
        expect(f, &r, 415, refused);
    }
}

static void test_too_large(void **state)
{
    fixture *f = *state;
    /* Announced over the limit: the body was drained, not kept. */
    tr_http_request r = post("/register/", NULL);
    r.body_ret = TR_RET_TOO_LARGE;
    r.content_length = 5000;
    expect(f, &r, 200, "{\"ret\":5,\"msg\":\"body larger than 1024 bytes\"}");
    r = post("/unregister/", NULL);
    r.body_ret = TR_RET_TOO_LARGE;
    r.content_length = 5000;
    expect(f, &r, 200, "{\"ret\":5,\"msg\":\"body larger than 1024 bytes\"}");
    /* A body over the limit that reached the handler anyway. */
    char *big = malloc(2000);
    assert_non_null(big);
    memset(big, ' ', 1999);
    big[1999] = '\0';
    r = post("/register/", big);
    expect(f, &r, 200, "{\"ret\":5,\"msg\":\"body larger than 1024 bytes\"}");
    free(big);
    r = post("/register/", "{}");
    r.body_ret = TR_RET_BAD_JSON;
    r.content_length = -1;
    expect(f, &r, 200, "{\"ret\":1,\"msg\":\"unreadable Content-Length\"}");
}

static void test_unregister_rejects(void **state)
{
    fixture *f = *state;
    struct {
        const char *body;
        const char *answer;
    } cases[] = {
        {NULL, "{\"ret\":1,\"msg\":\"body is empty\"}"},
        {"{\"key\":\"a\"} x", "{\"ret\":1,\"msg\":\"body is not valid JSON: unexpected character at byte 12\"}"},
        {"\"k\"", "{\"ret\":1,\"msg\":\"body must be a JSON object\"}"},
        {"{}", "{\"ret\":2,\"msg\":\"key: missing\"}"},
        {"{\"key\":5}", "{\"ret\":2,\"msg\":\"key: must be a string\"}"},
        {"{\"key\":null}", "{\"ret\":2,\"msg\":\"key: must be a string\"}"},
        {"{\"key\":\"\"}",
         "{\"ret\":2,\"msg\":\"key: must be 1 to 128 characters of A-Z a-z 0-9 . _ : - (not . or ..)\"}"},
        {"{\"key\":\"a b\"}",
         "{\"ret\":2,\"msg\":\"key: must be 1 to 128 characters of A-Z a-z 0-9 . _ : - (not . or ..)\"}"},
        {"{\"key\":\"a\\u0000b\"}",
         "{\"ret\":2,\"msg\":\"key: must be 1 to 128 characters of A-Z a-z 0-9 . _ : - (not . or ..)\"}"},
        {"{\"key\":\"{x}\"}",
         "{\"ret\":2,\"msg\":\"key: must be 1 to 128 characters of A-Z a-z 0-9 . _ : - (not . or ..)\"}"},
        {"{\"key\":\".\"}",
         "{\"ret\":2,\"msg\":\"key: must be 1 to 128 characters of A-Z a-z 0-9 . _ : - (not . or ..)\"}"},
        {"{\"key\":\"..\"}",
         "{\"ret\":2,\"msg\":\"key: must be 1 to 128 characters of A-Z a-z 0-9 . _ : - (not . or ..)\"}"},
        {"{\"key\":\"a\",\"key\":\"b\"}",
         "{\"ret\":1,\"msg\":\"body is not valid JSON: duplicate key \\\"key\\\" at byte 11\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tr_http_request r = post("/unregister/", cases[i].body);
        expect(f, &r, 200, cases[i].answer);
    }
}

static void test_store_down(void **state)
{
    fixture *f = *state;
    tr_http_request r = post("/register/",
                             "{\"callback_cmd\":\"http://h/\",\"callback_data\":\"x\",\"seconds\":1}");
    tr_http_response resp;
    tr_http_response_init(&resp);
    int64_t t0 = tr_clock_mono_ms();
    assert_int_equal(tr_route_dispatch(&f->app, &r, &resp), 0);
    assert_true(tr_clock_mono_ms() - t0 < 2000);
    assert_int_equal(resp.status, 200);
    assert_non_null(strstr(resp.body, "{\"ret\":10,\"msg\":\"store unavailable: "));
    tr_http_response_clear(&resp);

    r = post("/unregister", "{\"key\":\"abc\"}");
    tr_http_response_init(&resp);
    assert_int_equal(tr_route_dispatch(&f->app, &r, &resp), 0);
    assert_non_null(strstr(resp.body, "{\"ret\":10,\"msg\":\"store unavailable: "));
    tr_http_response_clear(&resp);
}

static void test_response_helpers(void **state)
{
    (void)state;
    tr_http_response resp;
    tr_http_response_init(&resp);
    assert_int_equal(resp.status, 200);
    assert_int_equal(tr_http_response_add_header(&resp, "Allow", "POST"), 0);
    assert_int_equal(tr_http_response_add_header(&resp, "X-Bad", "a\r\nb"), -1);
    assert_int_equal(tr_http_response_add_header(&resp, "X:Bad", "a"), -1);
    char big[400];
    memset(big, 'v', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(tr_http_response_add_header(&resp, "X-Big", big), -1);
    assert_string_equal(resp.headers, "Allow: POST\r\n"); /* lines that fit stay whole */
    assert_int_equal(tr_compat_error(&resp, 400, TR_RET_BAD_JSON, "quote \" and / and \x01"), 0);
    assert_string_equal(resp.body, "{\"ret\":1,\"msg\":\"quote \\\" and / and \\u0001\"}");
    assert_int_equal(resp.status, 400);
    tr_http_response_clear(&resp);
    assert_null(resp.body);
    assert_string_equal(tr_http_reason(405), "Method Not Allowed");
    assert_string_equal(tr_http_reason(299), "Unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_method, setup, teardown),
        cmocka_unit_test_setup_teardown(test_register_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_content_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unregister_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_down, setup, teardown),
        cmocka_unit_test(test_response_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
