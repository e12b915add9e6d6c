/* test_sched_stats.c - lateness percentiles and the status line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "tr_backoff.h"
#include "tr_sched_stats.h"

static void test_percentile_nearest_rank(void **state)
{
    (void)state;
    int64_t v[100];
    for (int i = 0; i < 100; i++)
        v[i] = 100 - i; /* unsorted on purpose: 100..1 */
    assert_int_equal(tr_sched_percentile(v, 100, 50), 50);
    assert_int_equal(tr_sched_percentile(v, 100, 99), 99);
    assert_int_equal(tr_sched_percentile(v, 100, 100), 100);
    assert_int_equal(tr_sched_percentile(v, 100, 1), 1);
    assert_int_equal(tr_sched_percentile(v, 100, 0.1), 1);

    int64_t one[1] = {7};
    assert_int_equal(tr_sched_percentile(one, 1, 50), 7);
    assert_int_equal(tr_sched_percentile(one, 1, 99), 7);
    assert_int_equal(tr_sched_percentile(NULL, 0, 50), 0);

    int64_t three[3] = {-3, 10, 2}; /* early wake-ups show as negative lateness */
    assert_int_equal(tr_sched_percentile(three, 3, 50), 2);
    assert_int_equal(tr_sched_percentile(three, 3, 99), 10);
    assert_int_equal(tr_sched_percentile(three, 3, 10), -3);
}

static void test_line_and_reset(void **state)
{
    (void)state;
    tr_sched_stats st;
    assert_int_equal(tr_sched_stats_init(&st, 16), 0);
    st.claimed = 5;
    st.delivered = 3;
    st.retried = 1;
    st.dead = 1;
    st.chained = 2;
    for (int i = 1; i <= 10; i++)
        tr_sched_stats_late(&st, i, 0);
    char line[512];
    tr_sched_stats_line(&st, 4, 2, line, sizeof line);
    assert_non_null(strstr(line, "inflight=4 pending=2 claimed=5 delivered=3 failed=2 retried=1 "
                                 "dead=1 chained=2"));
    assert_non_null(strstr(line, "late_p50_ms=5 late_p99_ms=10 late_max_ms=10"));
    /* A new interval: everything zero, the sample kept allocated. */
    tr_sched_stats_line(&st, 0, 0, line, sizeof line);
    assert_non_null(strstr(line, "claimed=0 delivered=0 failed=0"));
    assert_non_null(strstr(line, "late_p50_ms=0 late_p99_ms=0 late_max_ms=0"));
    assert_non_null(st.late_ms);
    tr_sched_stats_free(&st);
    tr_sched_stats_free(&st); /* safe twice: zeroed */
}

/* Past the cap the sample stays bounded, the max stays exact and the percentiles
 * stay close to the truth (reservoir sampling). */
static void test_reservoir(void **state)
{
    (void)state;
    tr_sched_stats st;
    assert_int_equal(tr_sched_stats_init(&st, 1000), 0);
    tr_rng rng;
    tr_rng_seed(&rng, 11);
    for (int64_t i = 1; i <= 100000; i++)
        tr_sched_stats_late(&st, i % 1000, tr_rng_next(&rng)); /* uniform 0..999 */
    tr_sched_stats_late(&st, 123456, tr_rng_next(&rng));
    assert_int_equal(st.late_n, 1000);
    assert_int_equal(st.late_max_ms, 123456);
    int64_t p50 = tr_sched_percentile(st.late_ms, st.late_n, 50);
    int64_t p99 = tr_sched_percentile(st.late_ms, st.late_n, 99);
    assert_true(p50 > 400 && p50 < 600);
    assert_true(p99 > 950);
    tr_sched_stats_free(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_percentile_nearest_rank),
        cmocka_unit_test(test_line_and_reset),
        cmocka_unit_test(test_reservoir),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
