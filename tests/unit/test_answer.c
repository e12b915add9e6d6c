/* test_answer.c - tr_answer_parse: every rule of tr_answer.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "tr_answer.h"

#define MAX_S 315360000LL

/* Parses (status, body) and checks the kind and that `why` contains want_why
 * ("" means why must be empty). */
static void expect(long status, const char *body, tr_answer_kind want, const char *want_why)
{
    tr_timer_spec chain;
    char why[256] = "unset";
    tr_answer_kind got = tr_answer_parse(status, body, body ? strlen(body) : 0, MAX_S, &chain,
                                         why, sizeof why);
    int why_ok = want_why[0] == '\0' ? why[0] == '\0' : strstr(why, want_why) != NULL;
    if (got != want || !why_ok)
        print_error("HTTP %ld body %s: got %d why '%s', want %d why '%s'\n", status,
                    body ? body : "(null)", (int)got, why, (int)want, want_why);
    assert_int_equal(got, want);
    assert_true(why_ok);
    if (got != TR_ANSWER_CHAIN) {
        assert_null(chain.url);
        assert_null(chain.data);
    }
    tr_timer_spec_clear(&chain);
}

static void test_http_status(void **state)
{
    (void)state;
    expect(500, "{\"ret\":0}", TR_ANSWER_RETRY, "HTTP 500");
    expect(404, "", TR_ANSWER_RETRY, "HTTP 404");
    expect(301, "{\"ret\":0}", TR_ANSWER_RETRY, "HTTP 301");
    expect(199, "{\"ret\":0}", TR_ANSWER_RETRY, "HTTP 199");
    expect(0, NULL, TR_ANSWER_RETRY, "HTTP 0");
    expect(200, "{\"ret\":0}", TR_ANSWER_DONE, "");
    expect(201, "{\"ret\":0}", TR_ANSWER_DONE, "");
    expect(204, "", TR_ANSWER_DONE, "");
    expect(299, "{\"ret\":0}", TR_ANSWER_DONE, "");
}

static void test_ret_values(void **state)
{
    (void)state;
    expect(200, "{\"ret\":1}", TR_ANSWER_RETRY, "ret=1");
    expect(200, "{\"ret\":-3,\"msg\":\"busy\"}", TR_ANSWER_RETRY, "ret=-3");
    expect(200, "{\"ret\":\"0\"}", TR_ANSWER_RETRY, "ret=\"0\"");
    expect(200, "{\"ret\":null}", TR_ANSWER_RETRY, "ret=null");
    expect(200, "{\"ret\":true}", TR_ANSWER_RETRY, "ret=true");
    expect(200, "{\"ret\":0.5}", TR_ANSWER_RETRY, "ret=");
    expect(200, "{\"ret\":0.0}", TR_ANSWER_DONE, "");
    expect(200, " {\"ret\" : 0 }\r\n", TR_ANSWER_DONE, "");
}

static void test_other_2xx_done(void **state)
{
    (void)state;
    expect(200, "", TR_ANSWER_DONE, "");
    expect(200, NULL, TR_ANSWER_DONE, "");
    expect(200, "OK", TR_ANSWER_DONE, "");
    expect(200, "<html>ret 1</html>", TR_ANSWER_DONE, "");
    expect(200, "{\"status\":\"ok\"}", TR_ANSWER_DONE, "");
    expect(200, "[{\"ret\":1}]", TR_ANSWER_DONE, "");
    /* Meant as a JSON object but unreadable: done, and why says so (logged). */
    expect(200, "{\"ret\":1", TR_ANSWER_DONE, "answer ignored: body is not valid JSON"); /* cut */
    expect(200, "{\"ret\":1} trailing", TR_ANSWER_DONE, "answer ignored"); /* two values */
    expect(200, "{\"ret\":1,\"ret\":0}", TR_ANSWER_DONE, "duplicate key \"ret\"");
    expect(200, "{\"ret\":0,\"data\":{\"callback_cmd\":\"http://h/\",\"callback_data\":\"\xff\","
                "\"seconds\":5}}", TR_ANSWER_DONE, "answer ignored");  /* not UTF-8 */
    expect(200, "{'ret':1}", TR_ANSWER_DONE, "answer ignored");
    expect(200, "1", TR_ANSWER_DONE, "");
}

static void test_nul_in_answer(void **state)
{
    (void)state;
    const char body[] = "{\"ret\":1}\0";
    tr_timer_spec chain;
    char why[64];
    /* A NUL makes it "not JSON": done, as any other 2xx that is not JSON. */
    assert_int_equal(tr_answer_parse(200, body, sizeof body - 1, MAX_S, &chain, why, sizeof why),
                     TR_ANSWER_DONE);
    /* Not NUL-terminated input is read by length only. */
    const char cut[] = "{\"ret\":7}XXXX";
    assert_int_equal(tr_answer_parse(200, cut, 9, MAX_S, &chain, why, sizeof why),
                     TR_ANSWER_RETRY);
    assert_string_equal(why, "ret=7");
}

static void test_chain(void **state)
{
    (void)state;
    const char *body = "{\"ret\":0,\"data\":{\"callback_cmd\":\"http://127.0.0.1:9/next\","
                       "\"callback_data\":{\"n\":2},\"seconds\":30}}";
    tr_timer_spec chain;
    char why[256];
    assert_int_equal(tr_answer_parse(200, body, strlen(body), MAX_S, &chain, why, sizeof why),
                     TR_ANSWER_CHAIN);
    assert_string_equal(why, "");
    assert_string_equal(chain.url, "http://127.0.0.1:9/next");
    assert_int_equal(chain.data_len, 7);
    assert_memory_equal(chain.data, "{\"n\":2}", 7);
    assert_int_equal(chain.delay_ms, 30000);
    tr_timer_spec_clear(&chain);
}

static void test_chain_string_seconds(void **state)
{
    (void)state;
    const char *body = "{\"ret\":0,\"data\":{\"callback_cmd\":\"https://h/x\","
                       "\"callback_data\":\"raw\",\"seconds\":\" 12 \"}}";
    tr_timer_spec chain;
    char why[256];
    assert_int_equal(tr_answer_parse(200, body, strlen(body), MAX_S, &chain, why, sizeof why),
                     TR_ANSWER_CHAIN);
    assert_int_equal(chain.delay_ms, 12000);
    assert_string_equal(chain.data, "raw");
    tr_timer_spec_clear(&chain);
}

static void test_no_chain(void **state)
{
    (void)state;
    const char *cb = "\"callback_cmd\":\"http://h/\",\"callback_data\":\"x\"";
    char body[256];
    static const char *const zero[] = {"0", "0.0", "\"0\"", "\" 00 \"", "null", "\"-0\""};
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++) {
        snprintf(body, sizeof body, "{\"ret\":0,\"data\":{%s,\"seconds\":%s}}", cb, zero[i]);
        expect(200, body, TR_ANSWER_DONE, "");
    }
    snprintf(body, sizeof body, "{\"ret\":0,\"data\":{%s}}", cb); /* seconds absent */
    expect(200, body, TR_ANSWER_DONE, "");
    expect(200, "{\"ret\":0,\"data\":{}}", TR_ANSWER_DONE, "");
    expect(200, "{\"ret\":0,\"data\":null}", TR_ANSWER_DONE, "");
    expect(200, "{\"ret\":0,\"data\":\"text\"}", TR_ANSWER_DONE, "chain ignored");
    expect(200, "{\"ret\":0,\"data\":[1]}", TR_ANSWER_DONE, "chain ignored");
}

static void test_chain_rejected(void **state)
{
    (void)state;
    expect(200,
           "{\"ret\":0,\"data\":{\"callback_cmd\":\"ftp://h/\",\"callback_data\":\"x\","
           "\"seconds\":5}}",
           TR_ANSWER_DONE, "chain rejected: callback_cmd: scheme must be http or https");
    expect(200, "{\"ret\":0,\"data\":{\"callback_data\":\"x\",\"seconds\":5}}", TR_ANSWER_DONE,
           "chain rejected: callback_cmd: missing");
    expect(200,
           "{\"ret\":0,\"data\":{\"callback_cmd\":\"http://h/\",\"callback_data\":\"x\","
           "\"seconds\":-5}}",
           TR_ANSWER_DONE, "chain rejected: seconds");
    expect(200,
           "{\"ret\":0,\"data\":{\"callback_cmd\":\"http://h/\",\"callback_data\":\"x\","
           "\"seconds\":1.5}}",
           TR_ANSWER_DONE, "chain rejected: seconds");
    expect(200,
           "{\"ret\":0,\"data\":{\"callback_cmd\":\"http://h/\",\"callback_data\":5,"
           "\"seconds\":5}}",
           TR_ANSWER_DONE, "chain rejected: callback_data");
    expect(200,
           "{\"ret\":0,\"data\":{\"callback_cmd\":\"http://h/\",\"callback_data\":\"x\","
           "\"seconds\":999999999999}}",
           TR_ANSWER_DONE, "chain rejected: seconds: at most");
    expect(200,
           "{\"ret\":0,\"data\":{\"callback_cmd\":\"http://h/\",\"callback_data\":\"x\","
           "\"seconds\":true}}",
           TR_ANSWER_DONE, "chain rejected: seconds");
}

static void test_retry_wins_over_chain(void **state)
{
    (void)state;
    expect(200,
           "{\"ret\":2,\"data\":{\"callback_cmd\":\"http://h/\",\"callback_data\":\"x\","
           "\"seconds\":5}}",
           TR_ANSWER_RETRY, "ret=2");
    expect(503,
           "{\"ret\":0,\"data\":{\"callback_cmd\":\"http://h/\",\"callback_data\":\"x\","
           "\"seconds\":5}}",
           TR_ANSWER_RETRY, "HTTP 503");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_status),
        cmocka_unit_test(test_ret_values),
        cmocka_unit_test(test_other_2xx_done),
        cmocka_unit_test(test_nul_in_answer),
        cmocka_unit_test(test_chain),
        cmocka_unit_test(test_chain_string_seconds),
        cmocka_unit_test(test_no_chain),
        cmocka_unit_test(test_chain_rejected),
        cmocka_unit_test(test_retry_wins_over_chain),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
