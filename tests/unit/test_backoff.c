/* test_backoff.c - retry delays: bounds, growth, cap, Retry-After forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tr_backoff.h"

static void test_base_doubles_then_caps(void **state)
{
    (void)state;
    assert_int_equal(tr_backoff_base_ms(200, 5000, 1), 200);
    assert_int_equal(tr_backoff_base_ms(200, 5000, 2), 400);
    assert_int_equal(tr_backoff_base_ms(200, 5000, 3), 800);
    assert_int_equal(tr_backoff_base_ms(200, 5000, 5), 3200);
    assert_int_equal(tr_backoff_base_ms(200, 5000, 6), 5000);
    assert_int_equal(tr_backoff_base_ms(200, 5000, 1000000), 5000);
    assert_int_equal(tr_backoff_base_ms(200, 5000, 0), 200);  /* < 1 counts as 1 */
    assert_int_equal(tr_backoff_base_ms(200, 5000, -7), 200);
    /* Huge values do not overflow. */
    assert_int_equal(tr_backoff_base_ms(86400000, 86400000, 100), 86400000);
    assert_int_equal(tr_backoff_base_ms(1, INT64_MAX / 2 + 5, 200), INT64_MAX / 2 + 5);
}

static void test_delay_bounds(void **state)
{
    (void)state;
    tr_rng rng;
    tr_rng_seed(&rng, 42);
    for (int64_t attempt = 1; attempt <= 12; attempt++) {
        int64_t base = tr_backoff_base_ms(1000, 600000, attempt);
        int64_t lo = INT64_MAX, hi = 0;
        for (int i = 0; i < 20000; i++) {
            int64_t d = tr_backoff_delay_ms(1000, 600000, attempt, tr_rng_next(&rng));
            assert_true(d >= base / 2);
            assert_true(d <= base);
            lo = d < lo ? d : lo;
            hi = d > hi ? d : hi;
        }
        /* The whole window is used: jitter, not a constant. */
        assert_true(lo < base / 2 + base / 50);
        assert_true(hi > base - base / 50);
    }
    /* The random input's extremes map to the window's ends. */
    assert_int_equal(tr_backoff_delay_ms(200, 5000, 1, 0), 100);
    assert_int_equal(tr_backoff_delay_ms(200, 5000, 1, 100), 200);
    assert_int_equal(tr_backoff_delay_ms(1, 1, 1, UINT64_MAX), 1); /* window [0, 1] */
}

/* The documented property the integration test relies on: gaps never shrink. */
static void test_delays_grow(void **state)
{
    (void)state;
    tr_rng rng;
    tr_rng_seed(&rng, 7);
    for (int round = 0; round < 1000; round++) {
        int64_t prev = 0;
        for (int64_t attempt = 1; attempt <= 15; attempt++) {
            int64_t d = tr_backoff_delay_ms(200, 5000, attempt, tr_rng_next(&rng));
            if (tr_backoff_base_ms(200, 5000, attempt) < 5000)
                assert_true(d >= prev);
            assert_true(d <= 5000);
            prev = d;
        }
    }
}

static void test_retry_after_seconds(void **state)
{
    (void)state;
    int64_t ms = -1;
    assert_int_equal(tr_backoff_parse_retry_after("2", 0, &ms), 0);
    assert_int_equal(ms, 2000);
    assert_int_equal(tr_backoff_parse_retry_after("  120 \r\n", 0, &ms), 0);
    assert_int_equal(ms, 120000);
    assert_int_equal(tr_backoff_parse_retry_after("0", 0, &ms), 0);
    assert_int_equal(ms, 0);
    /* Absurdly large: capped far from overflow. */
    assert_int_equal(tr_backoff_parse_retry_after("99999999999999999999999", 0, &ms), 0);
    assert_true(ms > 0 && ms <= 946080000LL * 1000);
    assert_int_equal(tr_backoff_parse_retry_after("", 0, &ms), -1);
    assert_int_equal(tr_backoff_parse_retry_after("   ", 0, &ms), -1);
    assert_int_equal(tr_backoff_parse_retry_after("-5", 0, &ms), -1);
    assert_int_equal(tr_backoff_parse_retry_after("5s", 0, &ms), -1);
    assert_int_equal(tr_backoff_parse_retry_after("1.5", 0, &ms), -1);
    assert_int_equal(tr_backoff_parse_retry_after("soon", 0, &ms), -1);
    assert_int_equal(tr_backoff_parse_retry_after(NULL, 0, &ms), -1);
}

static void test_retry_after_http_date(void **state)
{
    (void)state;
    /* 1994-11-06T08:49:37Z = 784111777 s: the RFC 7231 example, in its three forms. */
    const int64_t t = 784111777LL * 1000;
    int64_t ms = -1;
    assert_int_equal(tr_backoff_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t - 30000, &ms), 0);
    assert_int_equal(ms, 30000);
    assert_int_equal(tr_backoff_parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", t - 1500, &ms), 0);
    assert_int_equal(ms, 1500);
    assert_int_equal(tr_backoff_parse_retry_after("Sun Nov  6 08:49:37 1994", t - 4000, &ms), 0);
    assert_int_equal(ms, 4000);
    /* A date in the past: retry at once (0), not a negative delay. */
    assert_int_equal(tr_backoff_parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", t + 60000, &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(tr_backoff_parse_retry_after("Sun, 99 Foo 1994 GMT", t, &ms), -1);
    /* A year curl reads but no int64 of ms holds (fuzz_retry_after found the
     * overflow): capped at about 30 years, no overflow. */
    assert_int_equal(tr_backoff_parse_retry_after("Oct 1 07:00 845215531", t, &ms), 0);
    assert_int_equal(ms, 946080000LL * 1000);
}

static void test_retry_delay_honours_and_caps(void **state)
{
    (void)state;
    tr_rng rng;
    tr_rng_seed(&rng, 3);
    for (int i = 0; i < 1000; i++) {
        /* Retry-After above the jitter: taken as it is. */
        int64_t d = tr_backoff_retry_delay_ms(200, 5000, 1, tr_rng_next(&rng), 2000);
        assert_int_equal(d, 2000);
        /* Retry-After beyond the cap: the cap. */
        d = tr_backoff_retry_delay_ms(200, 5000, 1, tr_rng_next(&rng), 3600000);
        assert_int_equal(d, 5000);
        /* Retry-After below the jitter: the jitter wins (never sooner than either). */
        d = tr_backoff_retry_delay_ms(200, 5000, 4, tr_rng_next(&rng), 10);
        assert_true(d >= 800 && d <= 1600);
        /* None: plain jitter. */
        d = tr_backoff_retry_delay_ms(200, 5000, 2, tr_rng_next(&rng), -1);
        assert_true(d >= 200 && d <= 400);
    }
}

static void test_rng_seed_zero(void **state)
{
    (void)state;
    tr_rng a, b;
    tr_rng_seed(&a, 0);
    tr_rng_seed(&b, 0);
    assert_true(a.state != 0);
    uint64_t x = tr_rng_next(&a);
    assert_true(x == tr_rng_next(&b));
    assert_true(x != tr_rng_next(&a));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_base_doubles_then_caps),
        cmocka_unit_test(test_delay_bounds),
        cmocka_unit_test(test_delays_grow),
        cmocka_unit_test(test_retry_after_seconds),
        cmocka_unit_test(test_retry_after_http_date),
        cmocka_unit_test(test_retry_delay_honours_and_caps),
        cmocka_unit_test(test_rng_seed_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
