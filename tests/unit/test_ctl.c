/* test_ctl.c - timerushctl's pure parts: option tables (globals anywhere, values,
 * unknown options), bounded numbers, the /metrics histogram and its quantiles, and the
 * times and durations people read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "ctl_args.h"
#include "ctl_hist.h"
#include "ctl_out.h"

/* argv words are mutable in main(): compound literals give such arrays here. */

static void test_take_globals_anywhere(void **state)
{
    (void)state;
    const char *url = NULL;
    int json = 0;
    const ctl_opt g[] = {{"url", CTL_OPT_STR, &url}, {"json", CTL_OPT_FLAG, &json},
                         {NULL, CTL_OPT_FLAG, NULL}};
    char *argv[] = {(char[]){"--url"}, (char[]){"http://a"}, (char[]){"stats"},
                    (char[]){"--json"}, (char[]){"--x"}, (char[]){"--"}, (char[]){"--json"}};
    char *rest[8];
    int n;
    char err[128];
    assert_int_equal(ctl_args_take(7, argv, g, rest, &n, err, sizeof err), 0);
    assert_string_equal(url, "http://a");
    assert_int_equal(json, 1);
    /* Unknown options stay for the subcommand; after "--" nothing is taken. */
    assert_int_equal(n, 4);
    assert_string_equal(rest[0], "stats");
    assert_string_equal(rest[1], "--x");
    assert_string_equal(rest[2], "--");
    assert_string_equal(rest[3], "--json");

    char *missing[] = {(char[]){"stats"}, (char[]){"--url"}};
    assert_int_equal(ctl_args_take(2, missing, g, rest, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "--url needs a value"));
    char *flag_value[] = {(char[]){"--json=yes"}};
    assert_int_equal(ctl_args_take(1, flag_value, g, rest, &n, err, sizeof err), -1);
}

static void test_parse_subcommand(void **state)
{
    (void)state;
    const char *key = NULL;
    ctl_strlist h = {0};
    const ctl_opt o[] = {{"key", CTL_OPT_STR, &key}, {"header", CTL_OPT_LIST, &h},
                         {NULL, CTL_OPT_FLAG, NULL}};
    char *argv[] = {(char[]){"http://cb"}, (char[]){"--key=k1"}, (char[]){"--header"},
                    (char[]){"A: 1"}, (char[]){"--header"}, (char[]){"B: 2"}};
    const char *pos[2];
    int n;
    char err[128];
    assert_int_equal(ctl_args_parse(6, argv, o, pos, 1, &n, err, sizeof err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(pos[0], "http://cb");
    assert_string_equal(key, "k1");
    assert_int_equal(h.n, 2);
    assert_string_equal(h.v[1], "B: 2");

    char *unknown[] = {(char[]){"--nope"}};
    assert_int_equal(ctl_args_parse(1, unknown, o, pos, 1, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "unknown option '--nope'"));
    char *two[] = {(char[]){"a"}, (char[]){"b"}};
    assert_int_equal(ctl_args_parse(2, two, o, pos, 1, &n, err, sizeof err), -1);
    char *dashdash[] = {(char[]){"--"}, (char[]){"--key"}};
    assert_int_equal(ctl_args_parse(2, dashdash, o, pos, 1, &n, err, sizeof err), 0);
    assert_string_equal(pos[0], "--key");
}

static void test_numbers(void **state)
{
    (void)state;
    int64_t v;
    double d;
    char err[128];
    assert_int_equal(ctl_args_int("limit", "1000", 1, 1000, &v, err, sizeof err), 0);
    assert_int_equal(v, 1000);
    assert_int_equal(ctl_args_int("limit", "1001", 1, 1000, &v, err, sizeof err), -1);
    assert_non_null(strstr(err, "outside 1..1000"));
    assert_int_equal(ctl_args_int("limit", " 5", 1, 1000, &v, err, sizeof err), -1);
    assert_int_equal(ctl_args_int("limit", "+5", 1, 1000, &v, err, sizeof err), -1);
    assert_int_equal(ctl_args_seconds("interval", "0.5", 0.05, 10, &d, err, sizeof err), 0);
    assert_true(d == 0.5);
    assert_int_equal(ctl_args_seconds("interval", "2", 0.05, 10, &d, err, sizeof err), 0);
    const char *bad[] = {"", ".", "-1", "1e3", "inf", "nan", "0x10", "1.2.3", " 1", "1 "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(ctl_args_seconds("interval", bad[i], 0, 1e9, &d, err, sizeof err), -1);
    assert_int_equal(ctl_args_seconds("interval", "0.01", 0.05, 10, &d, err, sizeof err), -1);
}

static void test_time(void **state)
{
    (void)state;
    int64_t ms;
    char err[128];
    assert_int_equal(ctl_args_time("at", "1796164230522", &ms, err, sizeof err), 0);
    assert_int_equal(ms, 1796164230522);
    assert_int_equal(ctl_args_time("at", "2026-12-01T22:30:30.522Z", &ms, err, sizeof err), 0);
    assert_int_equal(ms, 1796164230522);
    assert_int_equal(ctl_args_time("at", "2026-12-01T23:30:30.5+01:00", &ms, err, sizeof err), 0);
    assert_int_equal(ms, 1796164230500);
    assert_int_equal(ctl_args_time("at", "2026-12-01T20:30:30-02:00", &ms, err, sizeof err), 0);
    assert_int_equal(ms, 1796164230000);
    assert_int_equal(ctl_args_time("at", "1970-01-01T00:00:00Z", &ms, err, sizeof err), 0);
    assert_int_equal(ms, 0);
    const char *bad[] = {"", "2026-12-01", "2026-12-01T22:30:30", "2026-13-01T00:00:00Z",
                         "2026-12-01T22:30:30.Z", "2026-12-01T22:30:30Zx", "-5",
                         "2026-12-01T22:30:30+1:00", "2026-12-01 22:30:30Z",
                         "2026-02-30T00:00:00Z" /* was read as March 2 */};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (ctl_args_time("at", bad[i], &ms, err, sizeof err) != -1)
            print_error("'%s' accepted\n", bad[i]);
        assert_int_equal(ctl_args_time("at", bad[i], &ms, err, sizeof err), -1);
    }
}

static const char *metrics_a =
    "# TYPE timerush_delivery_lateness_seconds histogram\n"
    "timerush_delivery_lateness_seconds_bucket{le=\"0.001\"} 50\n"
    "timerush_delivery_lateness_seconds_bucket{le=\"0.005\"} 90\n"
    "timerush_delivery_lateness_seconds_bucket{le=\"0.010\"} 100\n"
    "timerush_delivery_lateness_seconds_bucket{le=\"+Inf\"} 100\n"
    "timerush_delivery_lateness_seconds_sum 0.200\n"
    "timerush_delivery_duration_seconds_bucket{le=\"0.001\"} 7\n";

static void test_hist(void **state)
{
    (void)state;
    ctl_hist h, later, d;
    assert_int_equal(ctl_hist_parse(metrics_a, "timerush_delivery_lateness_seconds", &h), 0);
    assert_int_equal(h.n, 3);
    assert_true(h.count == 100);
    double q;
    int beyond;
    /* Rank 50 is the end of the first bucket; 99 is 9/10 into the third. */
    assert_int_equal(ctl_hist_quantile(&h, 0.5, &q, &beyond), 0);
    assert_true(fabs(q - 0.001) < 1e-9 && !beyond);
    assert_int_equal(ctl_hist_quantile(&h, 0.99, &q, &beyond), 0);
    assert_true(fabs(q - 0.0095) < 1e-9);
    assert_int_equal(ctl_hist_quantile(&h, 0.7, &q, &beyond), 0);
    assert_true(fabs(q - 0.003) < 1e-9); /* rank 70: half-way through 0.001..0.005 */

    /* 20 more, all beyond the last finite bound: the interval's p50 is "more than". */
    const char *metrics_b =
        "timerush_delivery_lateness_seconds_bucket{le=\"0.001\"} 50\n"
        "timerush_delivery_lateness_seconds_bucket{le=\"0.005\"} 90\n"
        "timerush_delivery_lateness_seconds_bucket{le=\"0.010\"} 100\n"
        "timerush_delivery_lateness_seconds_bucket{le=\"+Inf\"} 120\n";
    assert_int_equal(ctl_hist_parse(metrics_b, "timerush_delivery_lateness_seconds", &later), 0);
    assert_int_equal(ctl_hist_delta(&later, &h, &d), 0);
    assert_true(d.count == 20);
    assert_int_equal(ctl_hist_quantile(&d, 0.5, &q, &beyond), 0);
    assert_true(beyond && q == 0.010);
    /* Counters that went down (the stats were reset) give no difference. */
    assert_int_equal(ctl_hist_delta(&h, &later, &d), -1);
    /* An empty interval has no quantile. */
    assert_int_equal(ctl_hist_delta(&h, &h, &d), 0);
    assert_int_equal(ctl_hist_quantile(&d, 0.5, &q, &beyond), -1);

    assert_int_equal(ctl_hist_parse("", "timerush_delivery_lateness_seconds", &h), -1);
    assert_int_equal(ctl_hist_parse("timerush_delivery_lateness_seconds_bucket{le=\"x\"} 1\n",
                                    "timerush_delivery_lateness_seconds", &h),
                     -1);
    assert_int_equal(ctl_hist_parse("timerush_delivery_lateness_seconds_bucket{le=\"0.1\"} 1\n"
                                    "timerush_delivery_lateness_seconds_bucket{le=\"0.05\"} 2\n",
                                    "timerush_delivery_lateness_seconds", &h),
                     -1); /* bounds must ascend */
}

static void test_out(void **state)
{
    (void)state;
    char b[64];
    ctl_out_time(1796164230522, b, sizeof b);
    assert_string_equal(b, "2026-12-01T22:30:30.522Z");
    ctl_out_duration(850, b, sizeof b);
    assert_string_equal(b, "850ms");
    ctl_out_duration(4250, b, sizeof b);
    assert_string_equal(b, "4.2s");
    ctl_out_duration(65000, b, sizeof b);
    assert_string_equal(b, "1m05s");
    ctl_out_duration(2 * 3600000 + 3 * 60000, b, sizeof b);
    assert_string_equal(b, "2h03m");
    ctl_out_duration(INT64_MIN, b, sizeof b);
    ctl_out_relative(60000, b, sizeof b);
    assert_string_equal(b, "in 1m00s");
    ctl_out_relative(-3000, b, sizeof b);
    assert_string_equal(b, "3.0s ago");
    ctl_out_relative(200, b, sizeof b);
    assert_string_equal(b, "now");
    ctl_out_safe("a\033]0;x\007b\n", b, sizeof b);
    assert_string_equal(b, "a?]0;x?b?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_take_globals_anywhere),
        cmocka_unit_test(test_parse_subcommand),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_hist),
        cmocka_unit_test(test_out),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
