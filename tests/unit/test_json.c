/* test_json.c - strict reading of outside JSON: tr_json_strict_check() and
 * tr_json_parse_input(), against what json-c 0.16 alone lets through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "tr_json.h"
#include "tr_json_strict.h"

/* Text with its length, so cases may hold NUL and any byte. */
#define T(s) s, sizeof(s) - 1

typedef struct text_case {
    const char *text;
    size_t len;
    const char *why; /* expected in the message; NULL: accepted */
} text_case;

static void run(const text_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char msg[200] = "";
        int rc = tr_json_strict_check(cases[i].text, cases[i].len, msg, sizeof msg);
        if ((cases[i].why == NULL) != (rc == 0) ||
            (cases[i].why != NULL && strstr(msg, cases[i].why) == NULL))
            print_error("case %zu (%.*s): rc %d msg '%s', want %s\n", i, (int)cases[i].len,
                        cases[i].text, rc, msg, cases[i].why ? cases[i].why : "accepted");
        assert_int_equal(rc, cases[i].why == NULL ? 0 : -1);
        if (cases[i].why != NULL)
            assert_non_null(strstr(msg, cases[i].why));
    }
}

static void test_accepted(void **state)
{
    (void)state;
    static const text_case cases[] = {
        {T("{}"), NULL},
        {T(" \t\r\n{\"a\":[1,-2,3.5,-0.0,1e9,1E-3,0,true,false,null,\"\"]} \n"), NULL},
        {T("\"x\""), NULL},
        {T("-9223372036854775808"), NULL},
        {T("9223372036854775807"), NULL},
        {T("1e999"), NULL}, /* a double: json-c keeps its spelling */
        {T("{\"a\":{\"a\":{\"a\":1}},\"b\":{\"a\":2}}"), NULL}, /* same key, other objects */
        {T("[{\"a\":1},{\"a\":1}]"), NULL},
        {T("{\"\\u00e9\":1,\"\xc3\xa9x\":2}"), NULL},
        {T("\"\\ud83d\\ude00 \xf0\x9f\x98\x80 \xe2\x82\xac \xef\xbf\xbf\""), NULL},
        {T("\"\\u0000 \\\" \\\\ \\/ \\b \\f \\n \\r \\t\""), NULL}, /* NUL in a value: data */
        {T("{\"\":1}"), NULL},
    };
    run(cases, sizeof cases / sizeof cases[0]);
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    static const text_case cases[] = {
        {T("{\"a\":1,\"a\":2}"), "duplicate key \"a\" at byte 7"},
        {T("{\"a\":1,\"b\":2,\"c\":3,\"b\":4}"), "duplicate key \"b\" at byte 19"},
        {T("{\"x\":{\"k\":1,\"k\":1}}"), "duplicate key \"k\" at byte 12"},
        {T("[{\"a\":1},{\"b\":1,\"b\":1}]"), "duplicate key \"b\""},
        {T("{\"a\":1,\"\\u0061\":2}"), "duplicate key \"a\""}, /* compared decoded */
        {T("{\"\\ud83d\\ude00\":1,\"\xf0\x9f\x98\x80\":2}"), "duplicate key \"\xf0\x9f\x98\x80\""},
        {T("{\"\":1,\"\":2}"), "duplicate key \"\""},
        {T("{\"a\\\"b\":1,\"a\\\"b\":2}"), "duplicate key \"a?b\""}, /* quote shown as ? */
        {T("{\"a\\nb\":1,\"a\\nb\":2}"), "duplicate key \"a?b\""},   /* no line break */
    };
    run(cases, sizeof cases / sizeof cases[0]);
}

static void test_utf8(void **state)
{
    (void)state;
    static const text_case cases[] = {
        {T("\"\xff\""), "invalid UTF-8 at byte 1"},
        {T("{\"\xfe\":1}"), "invalid UTF-8 at byte 2"},
        {T("\"\xc0\xaf\""), "invalid UTF-8"},             /* overlong '/' */
        {T("\"\xe0\x80\xaf\""), "invalid UTF-8"},         /* overlong, 3 bytes */
        {T("\"\xf0\x80\x80\xaf\""), "invalid UTF-8"},     /* overlong, 4 bytes */
        {T("\"\xed\xa0\x80\""), "invalid UTF-8"},         /* U+D800 encoded */
        {T("\"\xf4\x90\x80\x80\""), "invalid UTF-8"},     /* above U+10FFFF */
        {T("\"\xe2\x82\""), "invalid UTF-8"},             /* cut */
        {T("\"\x80\""), "invalid UTF-8"},                 /* lone continuation */
        {T("\xef\xbb\xbf{}"), "unexpected character at byte 0"}, /* BOM */
        {T("\"\\ud800\""), "lone high surrogate"},
        {T("\"\\ud800\\u0041\""), "lone high surrogate"},
        {T("\"\\udc00\""), "lone low surrogate"},
        {T("{\"a\\u0000b\":1}"), "\\u0000 in a key"},
        {T("\"a\tb\""), "control character"},
        {T("\"a\nb\""), "control character"},
        {T("\"a\0b\""), "control character"},
        {T("\"\\x41\""), "invalid escape"},
        {T("\"\\u12g4\""), "invalid \\u escape"},
    };
    run(cases, sizeof cases / sizeof cases[0]);
}

static void test_syntax(void **state)
{
    (void)state;
    static const text_case cases[] = {
        {T(""), "value expected"},
        {T("   "), "value expected"},
        {T("{'a':1}"), "string expected as a key"},
        {T("{\"a\":'x'}"), "unexpected character"},
        {T("{\"a\":1,}"), "string expected as a key"},
        {T("[1,]"), "unexpected character"},
        {T("[1 2]"), "',' or ']' expected"},
        {T("{\"a\" 1}"), "':' expected"},
        {T("{\"a\":1 \"b\":2}"), "',' or '}' expected"},
        {T("NaN"), "unexpected character"},
        {T("{\"a\":NaN}"), "unexpected character"},
        {T("{\"a\":-Infinity}"), "number expected"},
        {T("{\"a\":Infinity}"), "unexpected character"},
        {T("nul"), "unexpected character"},
        {T("True"), "unexpected character"},
        {T("/*c*/{}"), "unexpected character"},
        {T("{}//c"), "extra data at byte 2"},
        {T("{} {}"), "extra data"},
        {T("\f{}"), "unexpected character"},
        {T("01"), "leading zero"},
        {T("1."), "digit expected after '.'"},
        {T(".5"), "unexpected character"},
        {T("+1"), "unexpected character"},
        {T("1e"), "digit expected in an exponent"},
        {T("0x10"), "extra data"},
        {T("\"abc"), "unterminated string"},
        {T("\"abc\\"), "unterminated string"},
        {T("{\"a\":1"), "',' or '}' expected"},
    };
    run(cases, sizeof cases / sizeof cases[0]);
}

static void test_numbers(void **state)
{
    (void)state;
    static const text_case cases[] = {
        {T("-0"), "-0 (write 0) at byte 0"},
        {T("{\"delay_ms\":-0}"), "-0 (write 0) at byte 12"},
        {T("[-0 ]"), "-0"},
        {T("9223372036854775808"), "integer out of 64-bit range"},
        {T("-9223372036854775809"), "integer out of 64-bit range"},
        {T("99999999999999999999999"), "integer out of 64-bit range"},
        {T("18446744073709551615"), "integer out of 64-bit range"},
    };
    run(cases, sizeof cases / sizeof cases[0]);
}

static void test_depth(void **state)
{
    (void)state;
    char text[2 * (TR_JSON_DEPTH_MAX + 1) + 1];
    char msg[200];
    for (int depth = TR_JSON_DEPTH_MAX; depth <= TR_JSON_DEPTH_MAX + 1; depth++) {
        memset(text, '[', (size_t)depth);
        memset(text + depth, ']', (size_t)depth);
        size_t len = 2 * (size_t)depth;
        int rc = tr_json_strict_check(text, len, msg, sizeof msg);
        /* json-c (through tr_json_parse_input) draws the line at the same depth. */
        json_object *o = tr_json_parse_input(text, len, msg, sizeof msg);
        if (depth == TR_JSON_DEPTH_MAX) {
            assert_int_equal(rc, 0);
            assert_non_null(o);
        } else {
            assert_int_equal(rc, -1);
            assert_null(o);
        }
        json_object_put(o);
    }
}

/* What json-c alone accepts, refused by tr_json_parse_input() and still accepted
 * by tr_json_parse_value() (records TimeRush wrote itself). */
static void test_parse_input(void **state)
{
    (void)state;
    static const char *const lax[] = {"{'a':1}", "{\"a\":NaN}", "{\"a\":1,\"a\":2}",
                                      "{\"a\":-0}", "{\"a\":\"\\ud800\"}", "{\"a\":1.}",
                                      "{\"a\":\"\xc0\xaf\"}", "{\"a\":\"x\ty\"}"};
    char msg[200];
    for (size_t i = 0; i < sizeof lax / sizeof lax[0]; i++) {
        json_object *o = tr_json_parse_value(lax[i], strlen(lax[i]), msg, sizeof msg);
        assert_non_null(o);
        json_object_put(o);
        o = tr_json_parse_input(lax[i], strlen(lax[i]), msg, sizeof msg);
        if (o != NULL)
            print_error("accepted: %s\n", lax[i]);
        assert_null(o);
        assert_non_null(strstr(msg, "body is not valid JSON: "));
        o = tr_json_parse_object(lax[i], strlen(lax[i]), msg, sizeof msg);
        assert_null(o);
    }
    /* Invalid UTF-8 json-c sees itself (JSON_TOKENER_VALIDATE_UTF8). */
    json_object *o = tr_json_parse_input("\"\xff\"", 3, msg, sizeof msg);
    assert_null(o);
    assert_non_null(strstr(msg, "invalid utf-8"));
    const char *good = "{\"a\":[1,{\"b\":\"\xc3\xa9\"}]}";
    o = tr_json_parse_object(good, strlen(good), msg, sizeof msg);
    assert_non_null(o);
    json_object_put(o);
    /* A small message buffer is cut, never overrun. */
    char small[8];
    assert_int_equal(tr_json_strict_check("{\"a\":1,\"a\":2}", 13, small, sizeof small), -1);
    assert_int_equal(strlen(small), sizeof small - 1);
}

/* A long duplicate key is shown cut at 64 bytes, on a character boundary. */
static void test_duplicate_shown(void **state)
{
    (void)state;
    char key[200], text[512], msg[300];
    size_t k = 0;
    key[k++] = 'a';
    while (k + 2 <= 100) { /* 'a' then 2-byte characters: byte 64 is inside one */
        key[k++] = '\xc3';
        key[k++] = '\xa9';
    }
    key[k] = '\0';
    int n = snprintf(text, sizeof text, "{\"%s\":1,\"%s\":2}", key, key);
    assert_true(n > 0 && (size_t)n < sizeof text);
    assert_int_equal(tr_json_strict_check(text, (size_t)n, msg, sizeof msg), -1);
    const char *q = strstr(msg, "duplicate key \"");
    assert_non_null(q);
    q += strlen("duplicate key \"");
    const char *end = strchr(q, '"');
    assert_non_null(end);
    assert_int_equal(end - q, 63); /* 'a' + 31 characters of 2 bytes */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),       cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_utf8),           cmocka_unit_test(test_syntax),
        cmocka_unit_test(test_numbers),        cmocka_unit_test(test_depth),
        cmocka_unit_test(test_parse_input),    cmocka_unit_test(test_duplicate_shown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
