/* test_jbuf.c - the json-c-free writers agree with json-c byte for byte: tr_jbuf
 * (batch answers) and tr_timer_record_encode's plain {"u","d"} record (the create
 * script compares stored records as text, so a changed escape breaks idempotency). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "tr_jbuf.h"
#include "tr_json.h"
#include "tr_timer.h"

#define FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static char *jsonc_string(const char *s, size_t n)
{
    json_object *o = json_object_new_string_len(s, (int)n);
    assert_non_null(o);
    char *out = strdup(json_object_to_json_string_ext(o, FLAGS));
    json_object_put(o);
    assert_non_null(out);
    return out;
}

static void check_str(const char *s, size_t n)
{
    tr_jbuf b;
    assert_int_equal(tr_jbuf_init(&b, 0), 0);
    tr_jbuf_str(&b, s, n);
    size_t len = 0;
    char *got = tr_jbuf_take(&b, &len);
    char *want = jsonc_string(s, n);
    assert_non_null(got);
    assert_int_equal(len, strlen(want));
    assert_string_equal(got, want);
    free(got);
    free(want);
}

static void test_every_byte(void **state)
{
    (void)state;
    char all[256];
    for (int c = 0; c < 256; c++) {
        char one[3] = {'a', (char)c, 'z'};
        check_str(one, sizeof one);
        all[c] = (char)c;
    }
    check_str(all, sizeof all);
    check_str("", 0);
    check_str("h\xc3\xa9llo / \"q\" \\ \xe2\x82\xac", 17);
}

static void test_integers(void **state)
{
    (void)state;
    const int64_t v[] = {0, 1, -1, 9, 10, 1795705371688LL, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        tr_jbuf b;
        assert_int_equal(tr_jbuf_init(&b, 4), 0);
        tr_jbuf_i64(&b, v[i]);
        json_object *o = json_object_new_int64(v[i]);
        assert_string_equal(b.data, json_object_to_json_string_ext(o, FLAGS));
        json_object_put(o);
        tr_jbuf_free(&b);
    }
}

static void test_mixed(void **state)
{
    (void)state;
    tr_jbuf b;
    assert_int_equal(tr_jbuf_init(&b, 1), 0); /* grows many times */
    tr_jbuf_lit(&b, "{\"a\":[");
    for (int i = 0; i < 1000; i++) {
        if (i > 0)
            tr_jbuf_raw(&b, ",", 1);
        tr_jbuf_i64(&b, i);
    }
    tr_jbuf_lit(&b, "],\"o\":");
    json_object *o = json_object_new_object();
    json_object_object_add(o, "k", json_object_new_string("v/\n"));
    tr_jbuf_json(&b, o);
    json_object_put(o);
    tr_jbuf_lit(&b, "}");
    assert_false(tr_jbuf_failed(&b));
    json_object *back = json_tokener_parse(b.data);
    assert_non_null(back);
    json_object *a = NULL;
    assert_true(json_object_object_get_ex(back, "a", &a));
    assert_int_equal(json_object_array_length(a), 1000);
    json_object_put(back);
    tr_jbuf_free(&b);
}

/* The plain record against the same record built with json-c. */
static void check_record(const char *url, const char *data, size_t data_len)
{
    tr_timer_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.url = (char *)(uintptr_t)url; /* borrowed, never freed here */
    spec.data = (char *)(uintptr_t)data;
    spec.data_len = data_len;
    char *rec = NULL;
    size_t rec_len = 0;
    assert_int_equal(tr_timer_record_encode(&spec, &rec, &rec_len), 0);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "u", json_object_new_string(url));
    json_object_object_add(o, "d", json_object_new_string_len(data, (int)data_len));
    const char *want = json_object_to_json_string_ext(o, FLAGS);
    assert_int_equal(rec_len, strlen(want));
    assert_memory_equal(rec, want, rec_len);
    assert_int_equal(rec[rec_len], '\0');
    json_object_put(o);
    /* It decodes back to the same fields. */
    tr_timer_spec back;
    assert_int_equal(tr_timer_record_decode(rec, rec_len, &back), 0);
    assert_string_equal(back.url, url);
    assert_int_equal(back.data_len, data_len);
    assert_memory_equal(back.data, data, data_len);
    tr_timer_spec_clear(&back);
    free(rec);
}

/* A number that ends the text is whole (fuzz_json found "5" refused, "5 " accepted);
 * a text cut short is still "unexpected end". */
static void test_parse_number_at_end(void **state)
{
    (void)state;
    char msg[128];
    static const char *const whole[] = {"5", "-12.5e-3", "0", " 7", "1e3"};
    for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++) {
        json_object *v = tr_json_parse_value(whole[i], strlen(whole[i]), msg, sizeof msg);
        assert_non_null(v);
        assert_true(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double));
        json_object_put(v);
    }
    assert_null(tr_json_parse_value("[1", 2, msg, sizeof msg));
    assert_string_equal(msg, "body is not valid JSON: unexpected end");
    assert_null(tr_json_parse_value("1-", 2, msg, sizeof msg));
    assert_null(tr_json_parse_object("5", 1, msg, sizeof msg));
    assert_string_equal(msg, "body must be a JSON object");
}

static void test_plain_record(void **state)
{
    (void)state;
    char all[256];
    for (int c = 0; c < 256; c++)
        all[c] = (char)c;
    check_record("http://127.0.0.1:9/cb", "{\"id\":1}", 8);
    check_record("http://h/a/b?x=1&y=\"2\"", "", 0);
    check_record("https://h/\xc3\xa9", all, sizeof all);
    check_record("http://h/", "tab\there\\ and / slash", 22);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_byte),
        cmocka_unit_test(test_integers),
        cmocka_unit_test(test_mixed),
        cmocka_unit_test(test_plain_record),
        cmocka_unit_test(test_parse_number_at_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
