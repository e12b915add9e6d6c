/* test_timer.c - tr_timer: keys, the compatible register object, records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tr_timer.h"
#include "tr_url.h"

#define MAX_S 315360000LL

/* Parses a NUL-terminated body; returns the ret code, fills *spec and msg. */
static tr_ret parse(const char *body, tr_timer_spec *spec, char *msg, size_t msglen)
{
    return tr_timer_spec_parse_compat(body, strlen(body), MAX_S, spec, msg, msglen);
}

/* Asserts that body is rejected with `want` and that msg mentions `field`. */
static void expect_reject(const char *body, tr_ret want, const char *field)
{
    tr_timer_spec spec;
    char msg[256];
    tr_ret got = parse(body, &spec, msg, sizeof msg);
    if (got != want || strstr(msg, field) == NULL)
        print_error("body %s: got ret %d msg '%s', want ret %d mentioning '%s'\n", body,
                    (int)got, msg, (int)want, field);
    assert_int_equal(got, want);
    assert_non_null(strstr(msg, field));
    assert_null(spec.url);
    assert_null(spec.data);
}

static void expect_seconds(const char *secs_json, int64_t want_ms)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"callback_cmd\":\"http://127.0.0.1/x\",\"callback_data\":\"d\",\"seconds\":%s}",
             secs_json);
    tr_timer_spec spec;
    char msg[256];
    tr_ret got = parse(body, &spec, msg, sizeof msg);
    if (got != TR_RET_OK)
        print_error("seconds %s: ret %d %s\n", secs_json, (int)got, msg);
    assert_int_equal(got, TR_RET_OK);
    assert_int_equal(spec.delay_ms, want_ms);
    tr_timer_spec_clear(&spec);
}

static void expect_seconds_reject(const char *secs_json, tr_ret want)
{
    char body[512];
    snprintf(body, sizeof body,
             "{\"callback_cmd\":\"http://127.0.0.1/x\",\"callback_data\":\"d\",\"seconds\":%s}",
             secs_json);
    expect_reject(body, want, want == TR_RET_BAD_JSON ? "not valid JSON" : "seconds");
}

static void test_key_format(void **state)
{
    (void)state;
    char a[TR_KEY_LEN + 1], b[TR_KEY_LEN + 1];
    assert_int_equal(tr_timer_new_key(a), 0);
    assert_int_equal(tr_timer_new_key(b), 0);
    static const char sym[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.";
    assert_int_equal(strlen(a), 16);
    assert_string_not_equal(a, b);
    assert_int_equal(tr_timer_key_check(a), 0);
    /* Every position carries 6 random bits: over 200 keys each of the 64 symbols
     * shows up (a given one is missing with probability (63/64)^3200, ~1e-22). */
    int seen[64] = {0};
    for (int k = 0; k < 200; k++) {
        assert_int_equal(tr_timer_new_key(a), 0);
        assert_int_equal(strlen(a), 16);
        for (int i = 0; i < 16; i++) {
            const char *p = strchr(sym, a[i]);
            assert_true(p != NULL && a[i] != '\0');
            seen[p - sym] = 1;
        }
    }
    for (int i = 0; i < 64; i++)
        assert_int_equal(seen[i], 1);
}

/* Keys come in runs of 32 sharing their first 3 characters (the record's bucket,
 * shared/lua/prelude.lua), all distinct; a forked child never repeats its
 * parent's keys (the per-thread random pool is dropped in the child). */
static void test_key_runs_and_fork(void **state)
{
    (void)state;
    enum { N = 100 };
    char keys[N][TR_KEY_LEN + 1];
    int changes = 0;
    for (int i = 0; i < N; i++) {
        assert_int_equal(tr_timer_new_key(keys[i]), 0);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(keys[i], keys[j]);
        if (i > 0 && memcmp(keys[i], keys[i - 1], 3) != 0)
            changes++;
    }
    /* 100 keys cross 3 run boundaries (runs of 32), or 4 when the first run was
     * partly used before. */
    assert_true(changes == 3 || changes == 4);

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char k[TR_KEY_LEN + 1];
        int ok = tr_timer_new_key(k) == 0 && write(fds[1], k, TR_KEY_LEN) == TR_KEY_LEN;
        _exit(ok ? 0 : 1);
    }
    char mine[TR_KEY_LEN + 1], child[TR_KEY_LEN + 1] = "";
    assert_int_equal(tr_timer_new_key(mine), 0);
    assert_int_equal(read(fds[0], child, TR_KEY_LEN), TR_KEY_LEN);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(fds[0]);
    close(fds[1]);
    assert_memory_not_equal(mine + 3, child + 3, TR_KEY_LEN - 3);
}

static void test_key_check(void **state)
{
    (void)state;
    char long_key[TR_KEY_MAX + 2];
    memset(long_key, 'a', sizeof long_key);
    long_key[TR_KEY_MAX] = '\0';
    assert_int_equal(tr_timer_key_check(long_key), 0);
    long_key[TR_KEY_MAX] = 'a';
    long_key[TR_KEY_MAX + 1] = '\0';
    assert_int_equal(tr_timer_key_check(long_key), -1);
    assert_int_equal(tr_timer_key_check("A-z_0.9:x"), 0);
    assert_int_equal(tr_timer_key_check(""), -1);
    assert_int_equal(tr_timer_key_check(NULL), -1);
    assert_int_equal(tr_timer_key_check("a b"), -1);
    assert_int_equal(tr_timer_key_check("a/b"), -1);
    assert_int_equal(tr_timer_key_check("{x}"), -1);
    assert_int_equal(tr_timer_key_check("caf\xc3\xa9"), -1);
}

static void test_accept_string_data(void **state)
{
    (void)state;
    tr_timer_spec spec;
    char msg[256];
    const char *body = "  {\"callback_cmd\": \"https://example.test:8443/cb?a=1\","
                       " \"callback_data\": \"{\\\"a\\\": 1}\", \"seconds\": 5}\n";
    assert_int_equal(parse(body, &spec, msg, sizeof msg), TR_RET_OK);
    assert_string_equal(spec.url, "https://example.test:8443/cb?a=1");
    assert_int_equal(spec.data_len, strlen("{\"a\": 1}"));
    assert_memory_equal(spec.data, "{\"a\": 1}", spec.data_len);
    assert_int_equal(spec.delay_ms, 5000);
    tr_timer_spec_clear(&spec);
    assert_null(spec.url);
    tr_timer_spec_clear(&spec); /* twice is safe */
}

static void test_accept_object_and_array_data(void **state)
{
    (void)state;
    tr_timer_spec spec;
    char msg[256];
    const char *body = "{\"callback_cmd\":\"http://h/\",\"callback_data\": { \"u\" : \"a/b\","
                       " \"n\" : [1, 2.50, null] , \"t\":true},\"seconds\":1}";
    assert_int_equal(parse(body, &spec, msg, sizeof msg), TR_RET_OK);
    const char *want = "{\"u\":\"a/b\",\"n\":[1,2.50,null],\"t\":true}";
    assert_int_equal(spec.data_len, strlen(want));
    assert_memory_equal(spec.data, want, spec.data_len);
    tr_timer_spec_clear(&spec);

    body = "{\"callback_cmd\":\"http://h/\",\"callback_data\":[],\"seconds\":1}";
    assert_int_equal(parse(body, &spec, msg, sizeof msg), TR_RET_OK);
    assert_int_equal(spec.data_len, 2);
    assert_memory_equal(spec.data, "[]", 2);
    tr_timer_spec_clear(&spec);
}

static void test_data_with_nul_and_unicode(void **state)
{
    (void)state;
    tr_timer_spec spec;
    char msg[256];
    const char *body = "{\"callback_cmd\":\"http://h/\",\"callback_data\":\"a\\u0000b\\u00e9\\ud83d\\ude00\\\"\","
                       "\"seconds\":1}";
    assert_int_equal(parse(body, &spec, msg, sizeof msg), TR_RET_OK);
    const char want[] = "a\0b\xc3\xa9\xf0\x9f\x98\x80\"";
    assert_int_equal(spec.data_len, sizeof want - 1);
    assert_memory_equal(spec.data, want, sizeof want - 1);
    assert_int_equal(spec.data[spec.data_len], '\0');
    tr_timer_spec_clear(&spec);
}

static void test_seconds_accepted(void **state)
{
    (void)state;
    expect_seconds("1", 1000);
    expect_seconds("\"7\"", 7000);
    expect_seconds("\" 42 \"", 42000);
    expect_seconds("\"\\t+3\\n\"", 3000);
    expect_seconds("5.0", 5000);
    expect_seconds("1e3", 1000000);
    expect_seconds("315360000", MAX_S * 1000);
    expect_seconds("\"315360000\"", MAX_S * 1000);
}

static void test_seconds_rejected(void **state)
{
    (void)state;
    expect_seconds_reject("0", TR_RET_BAD_SECONDS);
    expect_seconds_reject("-1", TR_RET_BAD_SECONDS);
    expect_seconds_reject("1.5", TR_RET_BAD_SECONDS);
    expect_seconds_reject("0.0", TR_RET_BAD_SECONDS);
    expect_seconds_reject("315360001", TR_RET_BAD_SECONDS);
    expect_seconds_reject("99999999999999999999", TR_RET_BAD_JSON); /* strict input: no value at all */
    expect_seconds_reject("-99999999999999999999", TR_RET_BAD_JSON); /* strict input: no value at all */
    expect_seconds_reject("1e300", TR_RET_BAD_SECONDS);
    expect_seconds_reject("1e400", TR_RET_BAD_SECONDS);
    expect_seconds_reject("-1e400", TR_RET_BAD_SECONDS);
    expect_seconds_reject("-0", TR_RET_BAD_JSON);
    expect_seconds_reject("-0.0", TR_RET_BAD_SECONDS);
    expect_seconds_reject("NaN", TR_RET_BAD_JSON); /* strict input: no value at all */
    expect_seconds_reject("\"\"", TR_RET_BAD_SECONDS);
    expect_seconds_reject("\"  \"", TR_RET_BAD_SECONDS);
    expect_seconds_reject("\"0\"", TR_RET_BAD_SECONDS);
    expect_seconds_reject("\"-5\"", TR_RET_BAD_SECONDS);
    expect_seconds_reject("\"5s\"", TR_RET_BAD_SECONDS);
    expect_seconds_reject("\"1.5\"", TR_RET_BAD_SECONDS);
    expect_seconds_reject("\"0x10\"", TR_RET_BAD_SECONDS);
    expect_seconds_reject("\"1 2\"", TR_RET_BAD_SECONDS);
    expect_seconds_reject("\"1_000\"", TR_RET_BAD_SECONDS);
    expect_seconds_reject("\"999999999999999999999999\"", TR_RET_BAD_SECONDS);
    expect_seconds_reject("true", TR_RET_BAD_FIELD);
    expect_seconds_reject("false", TR_RET_BAD_FIELD);
    expect_seconds_reject("null", TR_RET_BAD_FIELD);
    expect_seconds_reject("{}", TR_RET_BAD_FIELD);
    expect_seconds_reject("[1]", TR_RET_BAD_FIELD);
}

static void test_max_delay_from_caller(void **state)
{
    (void)state;
    tr_timer_spec spec;
    char msg[256];
    const char *body = "{\"callback_cmd\":\"http://h/\",\"callback_data\":\"\",\"seconds\":61}";
    assert_int_equal(tr_timer_spec_parse_compat(body, strlen(body), 60, &spec, msg, sizeof msg),
                     TR_RET_BAD_SECONDS);
    assert_non_null(strstr(msg, "at most 60"));
    assert_int_equal(tr_timer_spec_parse_compat(body, strlen(body), 61, &spec, msg, sizeof msg),
                     TR_RET_OK);
    assert_int_equal(spec.data_len, 0);
    assert_non_null(spec.data);
    tr_timer_spec_clear(&spec);
}

static void test_bad_json(void **state)
{
    (void)state;
    static const char *const bodies[] = {
        "", "   ", "not json", "{", "{\"callback_cmd\":", "[1,2]", "\"str\"", "42", "null",
        "{\"a\":1} x", "{\"a\":1}{\"b\":2}", "{\"a\":1,}", "{/*c*/\"a\":1}", "{\"a\":01}",
        "{\"a\":TRUE}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++)
        expect_reject(bodies[i], TR_RET_BAD_JSON, "body");
}

static void test_nul_in_body(void **state)
{
    (void)state;
    const char body[] = "{\"callback_cmd\":\"http://h/\",\"callback_data\":\"x\",\"seconds\":1}";
    char buf[sizeof body + 1];
    memcpy(buf, body, sizeof body); /* includes the NUL: one trailing NUL byte */
    tr_timer_spec spec;
    char msg[256];
    assert_int_equal(tr_timer_spec_parse_compat(buf, sizeof body, MAX_S, &spec, msg, sizeof msg),
                     TR_RET_BAD_JSON);
    assert_non_null(strstr(msg, "NUL"));
    /* Without the NUL, the same bytes parse; the input need not be NUL-terminated. */
    buf[sizeof body - 1] = 'Z';
    assert_int_equal(
        tr_timer_spec_parse_compat(buf, sizeof body - 1, MAX_S, &spec, msg, sizeof msg),
        TR_RET_OK);
    tr_timer_spec_clear(&spec);
}

static void test_missing_and_wrong_fields(void **state)
{
    (void)state;
    expect_reject("{}", TR_RET_BAD_FIELD, "callback_cmd");
    expect_reject("{\"callback_data\":\"\",\"seconds\":1}", TR_RET_BAD_FIELD, "callback_cmd");
    expect_reject("{\"callback_cmd\":\"http://h/\",\"seconds\":1}", TR_RET_BAD_FIELD,
                  "callback_data");
    expect_reject("{\"callback_cmd\":\"http://h/\",\"callback_data\":\"\"}", TR_RET_BAD_FIELD,
                  "seconds");
    expect_reject("{\"callback_cmd\":5,\"callback_data\":\"\",\"seconds\":1}", TR_RET_BAD_FIELD,
                  "callback_cmd");
    expect_reject("{\"callback_cmd\":null,\"callback_data\":\"\",\"seconds\":1}",
                  TR_RET_BAD_FIELD, "callback_cmd");
    static const char *const bad_data[] = {"1", "1.5", "true", "null"};
    for (size_t i = 0; i < 4; i++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"callback_cmd\":\"http://h/\",\"callback_data\":%s,\"seconds\":1}",
                 bad_data[i]);
        tr_timer_spec spec;
        char msg[256];
        assert_int_equal(parse(body, &spec, msg, sizeof msg), TR_RET_BAD_FIELD);
        assert_string_equal(msg, "callback_data: must be a string, object or array");
    }
}

static void test_bad_urls(void **state)
{
    (void)state;
    static const char *const urls[] = {
        "ftp://h/x", "file:///etc/passwd", "/relative", "h/x", "http://", "http:///x",
        "http://user:pass@h/", "http://user@h/", "http://h/a b", "gopher://h/", "",
        "javascript:alert(1)", "http://h/\\u0000x",
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        char body[256];
        snprintf(body, sizeof body,
                 "{\"callback_cmd\":\"%s\",\"callback_data\":\"\",\"seconds\":1}", urls[i]);
        expect_reject(body, TR_RET_BAD_URL, "callback_cmd");
    }
}

static void test_url_too_long(void **state)
{
    (void)state;
    size_t n = TR_URL_MAX + 100;
    char *body = malloc(n + 100);
    assert_non_null(body);
    char *url = malloc(n);
    assert_non_null(url);
    /* exactly TR_URL_MAX: accepted */
    memset(url, 'a', TR_URL_MAX);
    memcpy(url, "http://h/", 9);
    url[TR_URL_MAX] = '\0';
    snprintf(body, n + 100, "{\"callback_cmd\":\"%s\",\"callback_data\":\"\",\"seconds\":1}", url);
    tr_timer_spec spec;
    char msg[256];
    assert_int_equal(parse(body, &spec, msg, sizeof msg), TR_RET_OK);
    tr_timer_spec_clear(&spec);
    /* one more: too large */
    url[TR_URL_MAX] = 'a';
    url[TR_URL_MAX + 1] = '\0';
    snprintf(body, n + 100, "{\"callback_cmd\":\"%s\",\"callback_data\":\"\",\"seconds\":1}", url);
    expect_reject(body, TR_RET_TOO_LARGE, "callback_cmd");
    free(url);
    free(body);
}

static void test_from_compat_not_object(void **state)
{
    (void)state;
    json_object *arr = json_object_new_array();
    tr_timer_spec spec;
    char msg[128];
    assert_int_equal(tr_timer_spec_from_compat(arr, MAX_S, &spec, msg, sizeof msg),
                     TR_RET_BAD_JSON);
    json_object_put(arr);
}

static void test_record_round_trip(void **state)
{
    (void)state;
    const char data[] = "he said \"hi\"\\ \0 caf\xc3\xa9 \xf0\x9f\x98\x80 \n\t/</script>";
    tr_timer_spec spec = {0};
    spec.url = strdup("https://h.example/cb?x=\"1\"&y=/");
    assert_non_null(spec.url);
    spec.data = malloc(sizeof data);
    assert_non_null(spec.data);
    memcpy(spec.data, data, sizeof data);
    spec.data_len = sizeof data - 1;
    spec.delay_ms = 1234;

    char *rec = NULL;
    size_t rec_len = 0;
    assert_int_equal(tr_timer_record_encode(&spec, &rec, &rec_len), 0);
    assert_int_equal(strlen(rec), rec_len); /* NULs are escaped */
    assert_int_equal(strncmp(rec, "{\"u\":\"https://h.example/cb?x=\\\"1\\\"&y=/\",\"d\":\"", 44),
                     0);

    tr_timer_spec back;
    assert_int_equal(tr_timer_record_decode(rec, rec_len, &back), 0);
    assert_string_equal(back.url, spec.url);
    assert_int_equal(back.data_len, spec.data_len);
    assert_memory_equal(back.data, spec.data, spec.data_len);
    assert_int_equal(back.delay_ms, 0);
    tr_timer_spec_clear(&back);
    free(rec);
    tr_timer_spec_clear(&spec);
}

static void test_record_decode_rejects(void **state)
{
    (void)state;
    static const char *const recs[] = {
        "", "x", "[]", "{}", "{\"u\":\"http://h/\"}", "{\"d\":\"\"}", "{\"u\":1,\"d\":\"\"}",
        "{\"u\":\"http://h/\",\"d\":{}}", "{\"u\":\"http://h/\",\"d\":\"\"} junk",
    };
    for (size_t i = 0; i < sizeof recs / sizeof recs[0]; i++) {
        tr_timer_spec out;
        assert_int_equal(tr_timer_record_decode(recs[i], strlen(recs[i]), &out), -1);
        assert_null(out.url);
        assert_null(out.data);
    }
    /* unknown keys are ignored (later fields) */
    const char *ok = "{\"u\":\"http://h/\",\"d\":\"x\",\"h\":{\"a\":\"b\"},\"zz\":3}";
    tr_timer_spec out;
    assert_int_equal(tr_timer_record_decode(ok, strlen(ok), &out), 0);
    assert_string_equal(out.data, "x");
    tr_timer_spec_clear(&out);
}

/* chain_limit: optional on register (an integer or a decimal string, 0..1000),
 * kept in the record as "cl" (before "fd"), absent when not given. */
static void test_chain_limit(void **state)
{
    (void)state;
    char msg[160];
    tr_timer_spec spec;
    const char *given = "{\"callback_cmd\":\"http://h/\",\"callback_data\":\"x\","
                        "\"seconds\":5,\"chain_limit\":\"3\"}";
    assert_int_equal(parse(given, &spec, msg, sizeof msg), TR_RET_OK);
    assert_int_equal(spec.has_chain_limit, 1);
    assert_int_equal(spec.chain_limit, 3);
    assert_int_equal(tr_timer_spec_plain(&spec), 0);
    char *rec = NULL;
    size_t rec_len = 0;
    assert_int_equal(tr_timer_record_encode(&spec, &rec, &rec_len), 0);
    assert_non_null(strstr(rec, "\"cl\":3"));
    tr_timer_spec back;
    assert_int_equal(tr_timer_record_decode(rec, rec_len, &back), 0);
    assert_int_equal(back.has_chain_limit, 1);
    assert_int_equal(back.chain_limit, 3);
    tr_timer_spec_clear(&back);
    free(rec);
    tr_timer_spec_clear(&spec);

    const char *zero = "{\"callback_cmd\":\"http://h/\",\"callback_data\":\"x\","
                       "\"seconds\":5,\"chain_limit\":0}";
    assert_int_equal(parse(zero, &spec, msg, sizeof msg), TR_RET_OK);
    assert_int_equal(spec.has_chain_limit, 1);
    assert_int_equal(spec.chain_limit, 0);
    tr_timer_spec_clear(&spec);

    const char *none = "{\"callback_cmd\":\"http://h/\",\"callback_data\":\"x\",\"seconds\":5}";
    assert_int_equal(parse(none, &spec, msg, sizeof msg), TR_RET_OK);
    assert_int_equal(spec.has_chain_limit, 0);
    assert_int_equal(tr_timer_spec_plain(&spec), 1);
    tr_timer_spec_clear(&spec);

    static const char *const bad[] = {"-1", "1001", "1.5", "\"x\"", "\" 2\"", "null", "[]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char body[160];
        snprintf(body, sizeof body,
                 "{\"callback_cmd\":\"http://h/\",\"callback_data\":\"x\",\"seconds\":5,"
                 "\"chain_limit\":%s}", bad[i]);
        expect_reject(body, TR_RET_BAD_FIELD, "chain_limit");
    }
    static const char *const bad_recs[] = {
        "{\"u\":\"http://h/\",\"d\":\"\",\"cl\":-1}", "{\"u\":\"http://h/\",\"d\":\"\",\"cl\":1001}",
        "{\"u\":\"http://h/\",\"d\":\"\",\"cl\":\"1\"}"};
    for (size_t i = 0; i < sizeof bad_recs / sizeof bad_recs[0]; i++) {
        tr_timer_spec out;
        assert_int_equal(tr_timer_record_decode(bad_recs[i], strlen(bad_recs[i]), &out), -1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_format),
        cmocka_unit_test(test_key_runs_and_fork),
        cmocka_unit_test(test_key_check),
        cmocka_unit_test(test_accept_string_data),
        cmocka_unit_test(test_accept_object_and_array_data),
        cmocka_unit_test(test_data_with_nul_and_unicode),
        cmocka_unit_test(test_seconds_accepted),
        cmocka_unit_test(test_seconds_rejected),
        cmocka_unit_test(test_max_delay_from_caller),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_nul_in_body),
        cmocka_unit_test(test_missing_and_wrong_fields),
        cmocka_unit_test(test_bad_urls),
        cmocka_unit_test(test_url_too_long),
        cmocka_unit_test(test_from_compat_not_object),
        cmocka_unit_test(test_record_round_trip),
        cmocka_unit_test(test_record_decode_rejects),
        cmocka_unit_test(test_chain_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
