/* test_num.c - tr_num_parse: the one bounded parser for numbers in request text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tr_num.h"

static tr_num_result parse(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    return tr_num_parse(s, strlen(s), lo, hi, out);
}

static void test_accepted(void **state)
{
    (void)state;
    int64_t v = -1;
    assert_int_equal(parse("0", 0, 10, &v), TR_NUM_OK);
    assert_int_equal(v, 0);
    assert_int_equal(parse("007", 0, 10, &v), TR_NUM_OK);
    assert_int_equal(v, 7);
    assert_int_equal(parse("9223372036854775807", 0, INT64_MAX, &v), TR_NUM_OK);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(parse("-9223372036854775808", INT64_MIN, 0, &v), TR_NUM_OK);
    assert_int_equal(v, INT64_MIN);
    assert_int_equal(parse("-5", -10, 10, &v), TR_NUM_OK);
    assert_int_equal(v, -5);
    /* Not NUL-terminated: only len bytes count. */
    assert_int_equal(tr_num_parse("12:abc", 2, 0, 100, &v), TR_NUM_OK);
    assert_int_equal(v, 12);
}

static void test_refused(void **state)
{
    (void)state;
    static const char *const syntax[] = {"", "+5", " 5", "5 ", "5x", "0x10", "1e3", "-",
                                         "-0", "-00", "--1", "1.0", "\xd9\xa3"};
    int64_t v = 42;
    for (size_t i = 0; i < sizeof syntax / sizeof syntax[0]; i++)
        if (parse(syntax[i], -100, 100, &v) != TR_NUM_SYNTAX)
            fail_msg("'%s': not refused as syntax", syntax[i]);
    assert_int_equal(parse("-5", 0, 100, &v), TR_NUM_SYNTAX); /* no sign unless lo < 0 */
    static const char *const range[] = {"9223372036854775808", "9999999999999999999",
                                        "99999999999999999999", "101",
                                        "000000000000000000000000000101"};
    for (size_t i = 0; i < sizeof range / sizeof range[0]; i++)
        if (parse(range[i], 0, 100, &v) != TR_NUM_RANGE)
            fail_msg("'%s': not refused as out of range", range[i]);
    assert_int_equal(parse("-9223372036854775809", INT64_MIN, 0, &v), TR_NUM_RANGE);
    assert_int_equal(parse("-101", -100, 0, &v), TR_NUM_RANGE);
    assert_int_equal(v, 42); /* untouched on failure */
    assert_int_equal(tr_num_parse("12", 0, 0, 100, &v), TR_NUM_SYNTAX);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepted),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
