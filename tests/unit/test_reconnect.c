/* test_reconnect.c - the reconnect back-off the scheduler keeps for its store
 * connection and its wake line: first wait, doubling, cap, reset, retry now. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tr_reconnect.h"

static void test_doubles_then_caps(void **state)
{
    (void)state;
    tr_reconnect r;
    tr_reconnect_init(&r, 100, 2000);
    assert_false(r.down);
    assert_true(tr_reconnect_due(&r, 0)); /* up: always due */
    assert_int_equal(tr_reconnect_failed(&r, 1000), 1); /* the first failure */
    assert_true(r.down);
    assert_int_equal(r.retry_at_ms, 1100);
    assert_false(tr_reconnect_due(&r, 1099));
    assert_true(tr_reconnect_due(&r, 1100));
    const int64_t waits[] = {200, 400, 800, 1600, 2000, 2000};
    int64_t now = 1100;
    for (size_t i = 0; i < sizeof waits / sizeof waits[0]; i++) {
        assert_int_equal(tr_reconnect_failed(&r, now), 0);
        assert_int_equal(r.backoff_ms, waits[i]);
        assert_int_equal(r.retry_at_ms, now + waits[i]);
        now = r.retry_at_ms;
    }
    assert_int_equal(tr_reconnect_ok(&r, now + 5), now + 5 - 1000); /* down that long */
    assert_false(r.down);
    assert_int_equal(tr_reconnect_ok(&r, now + 6), -1); /* not down */
    /* Down again: the first wait again. */
    assert_int_equal(tr_reconnect_failed(&r, 50000), 1);
    assert_int_equal(r.retry_at_ms, 50100);
}

static void test_reset_and_retry_now(void **state)
{
    (void)state;
    tr_reconnect r;
    tr_reconnect_init(&r, 100, 2000);
    (void)tr_reconnect_failed(&r, 0);
    (void)tr_reconnect_failed(&r, 100); /* waits 200 */
    tr_reconnect_retry_now(&r, 150);
    assert_true(tr_reconnect_due(&r, 150));
    assert_int_equal(tr_reconnect_failed(&r, 150), 0);
    assert_int_equal(r.backoff_ms, 400); /* the back-off went on */
    tr_reconnect_reset(&r);
    assert_false(r.down);
    assert_int_equal(tr_reconnect_failed(&r, 1000), 1);
    assert_int_equal(r.backoff_ms, 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doubles_then_caps),
        cmocka_unit_test(test_reset_and_retry_now),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
