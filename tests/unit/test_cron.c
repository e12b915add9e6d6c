/* test_cron.c - cron parsing and next times: known values, the day rule, bad input,
 * and a brute-force cross-check against libc's gmtime_r. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tr_cron.h"

#define MIN_MS INT64_C(60000)
#define T_2026_11_26_1500 INT64_C(1795705200000) /* a Thursday */

static int64_t next_of(const char *expr, int64_t after)
{
    tr_cron c;
    char err[128];
    if (tr_cron_parse(expr, &c, err, sizeof err) != 0)
        fail_msg("'%s' did not parse: %s", expr, err);
    return tr_cron_next(&c, after);
}

static void test_every_minute(void **state)
{
    (void)state;
    assert_int_equal(next_of("* * * * *", T_2026_11_26_1500), T_2026_11_26_1500 + MIN_MS);
    /* Strictly after, and whole minutes. */
    assert_int_equal(next_of("* * * * *", T_2026_11_26_1500 - 1), T_2026_11_26_1500);
    assert_int_equal(next_of("* * * * *", T_2026_11_26_1500 + 59999),
                     T_2026_11_26_1500 + MIN_MS);
    /* Before the epoch. */
    assert_int_equal(next_of("* * * * *", -60001), -60000);
    assert_int_equal(next_of("* * * * *", -1), 0);
    assert_int_equal(next_of("\t*  *\t* * *  ", 0), MIN_MS);
}

static void test_hourly_and_steps(void **state)
{
    (void)state;
    assert_int_equal(next_of("0 * * * *", T_2026_11_26_1500), T_2026_11_26_1500 + 60 * MIN_MS);
    assert_int_equal(next_of("0 * * * *", T_2026_11_26_1500 - 1), T_2026_11_26_1500);
    assert_int_equal(next_of("*/15 * * * *", T_2026_11_26_1500 + 1),
                     T_2026_11_26_1500 + 15 * MIN_MS);
    assert_int_equal(next_of("5/20 * * * *", T_2026_11_26_1500 + 30 * MIN_MS),
                     T_2026_11_26_1500 + 45 * MIN_MS);
    assert_int_equal(next_of("10-20/5 * * * *", T_2026_11_26_1500 + 16 * MIN_MS),
                     T_2026_11_26_1500 + 20 * MIN_MS);
    assert_int_equal(next_of("10-20/5 * * * *", T_2026_11_26_1500 + 20 * MIN_MS),
                     T_2026_11_26_1500 + 70 * MIN_MS);
    assert_int_equal(next_of("1,2,59 3 * * *", T_2026_11_26_1500),
                     INT64_C(1795705200000) + (12 * 60 + 1) * MIN_MS);
}

static void test_leap_day(void **state)
{
    (void)state;
    assert_int_equal(next_of("0 0 29 2 *", T_2026_11_26_1500), INT64_C(1835395200000));
    assert_int_equal(next_of("0 0 29 feb *", INT64_C(1709164800000) - 1),
                     INT64_C(1709164800000));
    assert_int_equal(next_of("0 0 29 2 *", INT64_C(1709164800000)), INT64_C(1835395200000));
    /* 2100 is not a leap year: 2096 -> 2104. */
    assert_int_equal(next_of("0 0 29 2 *", INT64_C(3981312000000)), INT64_C(4233686400000));
    /* Never: Feb 30, Apr 31. */
    assert_int_equal(next_of("0 0 30 2 *", 0), -1);
    assert_int_equal(next_of("0 0 31 4 *", 0), -1);
    /* The last minute of February 2027, then the next is 2028-02-28 23:59. */
    assert_int_equal(next_of("59 23 28 2 *", INT64_C(1803859140000) - 1),
                     INT64_C(1803859140000));
}

static void test_business_hours(void **state)
{
    (void)state;
    const char *e = "*/15 9-17 * * MON-FRI";
    /* Thu 15:00 -> 15:15 */
    assert_int_equal(next_of(e, T_2026_11_26_1500), T_2026_11_26_1500 + 15 * MIN_MS);
    /* Thu 17:45 -> Fri 09:00 */
    assert_int_equal(next_of(e, T_2026_11_26_1500 + 165 * MIN_MS), INT64_C(1795770000000));
    /* Fri 17:45 -> Mon 09:00 */
    assert_int_equal(next_of(e, INT64_C(1795801500000)), INT64_C(1796029200000));
    /* Lower-case names, ranges of names, lists. */
    assert_int_equal(next_of("*/15 9-17 * * mon-Fri", INT64_C(1795801500000)),
                     INT64_C(1796029200000));
    assert_int_equal(next_of("0 9 * * 1,2,3,4,5", INT64_C(1795801500000)),
                     INT64_C(1796029200000));
}

static void test_sunday_and_day_rule(void **state)
{
    (void)state;
    /* Thu 2026-11-26: next Sunday is 11-29. */
    assert_int_equal(next_of("0 0 * * 7", T_2026_11_26_1500), INT64_C(1795910400000));
    assert_int_equal(next_of("0 0 * * 0", T_2026_11_26_1500), INT64_C(1795910400000));
    assert_int_equal(next_of("0 0 * * SUN", T_2026_11_26_1500), INT64_C(1795910400000));
    assert_int_equal(next_of("0 0 * * 6-7", T_2026_11_26_1500), INT64_C(1795824000000));
    /* Both restricted: the 1st OR a Saturday -> Sat 11-28 first. */
    assert_int_equal(next_of("0 0 1 * 6", T_2026_11_26_1500), INT64_C(1795824000000));
    /* ... then Sun 11-29 is neither, the 1st of December (a Tuesday) is. */
    assert_int_equal(next_of("0 0 1 * 6", INT64_C(1795824000000)), INT64_C(1796083200000));
    /* Day-of-month '*': AND, so only Saturdays. */
    assert_int_equal(next_of("0 0 * * 6", INT64_C(1795824000000)),
                     INT64_C(1795824000000) + 7 * 24 * 60 * MIN_MS);
    /* Day-of-week '*' with a step still counts as '*' (AND): the 1st only. */
    assert_int_equal(next_of("0 0 1 * */1", T_2026_11_26_1500), INT64_C(1796083200000));
    /* The 13th OR a Sunday: Sun 11-29 comes before Dec 13. */
    assert_int_equal(next_of("0 0 13 * sun", T_2026_11_26_1500), INT64_C(1795910400000));
    /* The 13th AND in December: */
    assert_int_equal(next_of("0 0 13 DEC *", T_2026_11_26_1500), INT64_C(1797120000000));
}

static void expect_bad(const char *expr, const char *needle)
{
    tr_cron c;
    char err[128];
    memset(&c, 0xff, sizeof c);
    if (tr_cron_parse(expr, &c, err, sizeof err) == 0)
        fail_msg("'%s' parsed but should not", expr);
    if (strstr(err, needle) == NULL)
        fail_msg("'%s': error '%s' does not mention '%s'", expr, err, needle);
    assert_int_equal(c.minutes, 0); /* zeroed on failure */
}

static void test_bad_inputs(void **state)
{
    (void)state;
    expect_bad("", "expected 5 fields");
    expect_bad("   ", "got 0");
    expect_bad("* * * *", "got 4");
    expect_bad("* * * * * *", "got 6");
    expect_bad("0 0 * * * extra", "got 6");
    expect_bad("60 * * * *", "minute: out of range 0-59");
    expect_bad("* 24 * * *", "hour");
    expect_bad("* * 0 * *", "day-of-month");
    expect_bad("* * 32 * *", "day-of-month");
    expect_bad("* * * 13 *", "month");
    expect_bad("* * * 0 *", "month");
    expect_bad("* * * * 8", "day-of-week");
    expect_bad("a-b * * * *", "minute");
    expect_bad("1-b * * * *", "range end");
    expect_bad("5x * * * *", "unexpected");
    expect_bad("*/0 * * * *", "step");
    expect_bad("*/ * * * *", "step");
    expect_bad("*/61 * * * *", "step");
    expect_bad("30-10 * * * *", "start after");
    expect_bad("1,,2 * * * *", "empty");
    expect_bad("1, * * * *", "empty");
    expect_bad("* * * * MONDAY", "unexpected");
    expect_bad("* * * JAN-FOO *", "range end");
    expect_bad("* * * * JAN", "day-of-week");
    expect_bad("* * * MON *", "month");
    expect_bad("-1 * * * *", "minute");
    expect_bad("99999999999999999999 * * * *", "minute");
    expect_bad("@daily", "expected 5 fields");
    char longexpr[TR_CRON_MAX_LEN + 10];
    memset(longexpr, ' ', sizeof longexpr - 1);
    longexpr[sizeof longexpr - 1] = '\0';
    expect_bad(longexpr, "too long");
    /* NULL err buffer is allowed. */
    tr_cron c;
    assert_int_equal(tr_cron_parse("x", &c, NULL, 0), -1);
    assert_int_equal(tr_cron_parse(NULL, &c, NULL, 0), -1);
}

static void test_limits(void **state)
{
    (void)state;
    assert_int_equal(next_of("* * * * *", INT64_MAX), -1);
    assert_int_equal(next_of("* * * * *", INT64_MIN), -1);
    /* The last minute of 9999 has no successor inside the range. */
    assert_int_equal(next_of("* * * * *", INT64_C(253402300740000)), -1);
}

/* Independent reference: walk minute by minute with gmtime_r. */
static int ref_match(int star_dom, int star_dow, const tr_cron *c, int64_t t_ms)
{
    time_t t = (time_t)(t_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    if (!((c->minutes >> tm.tm_min) & 1) || !((c->hours >> tm.tm_hour) & 1) ||
        !((c->months >> (tm.tm_mon + 1)) & 1))
        return 0;
    int dom = (c->mdays >> tm.tm_mday) & 1, dow = (c->wdays >> tm.tm_wday) & 1;
    return (!star_dom && !star_dow) ? (dom || dow) : (dom && dow);
}

static void test_brute_force(void **state)
{
    (void)state;
    static const char *const exprs[] = {
        "*/7 */5 * * *",      "0 12 1,15 * 1",      "30 2 * 2,3 SAT",
        "0 0 31 * *",         "15 6 29 2 *",        "0-5,50-59 23 28-31 * 0,3",
        "0 0 * JAN-MAR MON",  "1 1 1 1 *",
    };
    for (size_t e = 0; e < sizeof exprs / sizeof exprs[0]; e++) {
        tr_cron c;
        char err[128];
        assert_int_equal(tr_cron_parse(exprs[e], &c, err, sizeof err), 0);
        /* Start mid-minute on 2027-12-25 and follow 40 firings; check every
         * minute between them is a non-match in the reference. */
        int64_t t = INT64_C(1829736000000) + 12345;
        for (int k = 0; k < 40; k++) {
            int64_t nx = tr_cron_next(&c, t);
            assert_true(nx > t);
            assert_true(ref_match(c.mday_star, c.wday_star, &c, nx));
            assert_true(tr_cron_matches(&c, nx));
            int64_t steps = 0;
            for (int64_t m = (t / MIN_MS + 1) * MIN_MS; m < nx && steps < 600000;
                 m += MIN_MS, steps++)
                if (ref_match(c.mday_star, c.wday_star, &c, m))
                    fail_msg("'%s': %lld matches but next(%lld) gave %lld", exprs[e],
                             (long long)m, (long long)t, (long long)nx);
            t = nx;
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_minute),       cmocka_unit_test(test_hourly_and_steps),
        cmocka_unit_test(test_leap_day),           cmocka_unit_test(test_business_hours),
        cmocka_unit_test(test_sunday_and_day_rule), cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_limits),             cmocka_unit_test(test_brute_force),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
