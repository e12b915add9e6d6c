/* ctl_top.c - top: a view of the service refreshed every --interval seconds.
 *
 * Each sample is GET /v1/stats (gauges and counters) and GET /metrics (the lateness
 * histogram). Rates are the counters' differences between two samples over the time
 * between them (a monotonic clock); lateness p50/p99 come from the difference of the
 * two histograms, i.e. the deliveries of that interval, and beside them since the
 * stats began. The screen is cleared (ANSI) only when stdout is a terminal; in a pipe
 * each sample is a block of plain lines, or with --json one JSON object a line.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl_api.h"
#include "ctl_args.h"
#include "ctl_cmd.h"
#include "ctl_hist.h"
#include "ctl_out.h"
#include "tr_json.h"

#define LATENESS "timerush_delivery_lateness_seconds"

/* The counters whose rates are shown, from /v1/stats "totals". */
static const char *const rate_names[] = {"created", "delivered", "failed", "retried", "dead"};
#define RATES (sizeof rate_names / sizeof rate_names[0])

typedef struct sample {
    struct timespec at; /* CLOCK_MONOTONIC */
    int64_t pending, in_flight, dead;
    int paused;
    int64_t totals[RATES];
    ctl_hist lateness;
    int has_lateness; /* /metrics had the histogram */
} sample;

static int take_sample(ctl_ctx *ctx, sample *s)
{
    memset(s, 0, sizeof *s);
    json_object *st;
    int rc = ctl_api_call(ctx, "GET", "/v1/stats", NULL, &st, NULL);
    if (rc != CTL_EXIT_OK)
        return rc;
    if (clock_gettime(CLOCK_MONOTONIC, &s->at) != 0) {
        json_object_put(st);
        fprintf(stderr, "%s: clock_gettime failed\n", ctx->prog);
        return CTL_EXIT_SERVER;
    }
    json_object *totals = ctl_api_get(st, "totals", json_type_object);
    json_object *paused = ctl_api_get(st, "paused", json_type_boolean);
    int bad = totals == NULL || paused == NULL || ctl_api_int(st, "pending", &s->pending) ||
              ctl_api_int(st, "in_flight", &s->in_flight) || ctl_api_int(st, "dead", &s->dead);
    for (size_t i = 0; i < RATES && !bad; i++)
        bad = ctl_api_int(totals, rate_names[i], &s->totals[i]) != 0;
    if (!bad)
        s->paused = json_object_get_boolean(paused);
    json_object_put(st);
    if (bad) {
        fprintf(stderr, "%s: /v1/stats lacks a field top shows\n", ctx->prog);
        return CTL_EXIT_SERVER;
    }
    char *text;
    rc = ctl_api_text(ctx, "/metrics", &text);
    if (rc != CTL_EXIT_OK)
        return rc;
    s->has_lateness = ctl_hist_parse(text, LATENESS, &s->lateness) == 0;
    free(text);
    return CTL_EXIT_OK;
}

static double seconds_between(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* The computed view of one refresh. NAN: not known (first sample, no deliveries). */
typedef struct view {
    double dt_s;
    double rate[RATES];
    double p50_ms, p99_ms, n_interval; /* the interval's deliveries */
    double all_p50_ms, all_p99_ms, n_all;
} view;

static void quantiles(const ctl_hist *h, double *p50, double *p99)
{
    double v;
    int beyond;
    *p50 = ctl_hist_quantile(h, 0.5, &v, &beyond) == 0 ? v * 1000 : NAN;
    *p99 = ctl_hist_quantile(h, 0.99, &v, &beyond) == 0 ? v * 1000 : NAN;
}

static void compute(const sample *prev, const sample *cur, view *v)
{
    v->dt_s = prev != NULL ? seconds_between(&prev->at, &cur->at) : NAN;
    for (size_t i = 0; i < RATES; i++)
        v->rate[i] = prev != NULL && v->dt_s > 0
                         ? (double)(cur->totals[i] - prev->totals[i]) / v->dt_s
                         : NAN;
    v->p50_ms = v->p99_ms = v->n_interval = NAN;
    v->all_p50_ms = v->all_p99_ms = v->n_all = NAN;
    if (!cur->has_lateness)
        return;
    quantiles(&cur->lateness, &v->all_p50_ms, &v->all_p99_ms);
    v->n_all = cur->lateness.count;
    ctl_hist d;
    if (prev != NULL && prev->has_lateness &&
        ctl_hist_delta(&cur->lateness, &prev->lateness, &d) == 0) {
        quantiles(&d, &v->p50_ms, &v->p99_ms);
        v->n_interval = d.count;
    }
}

/* name: x with three decimals (written as such, not as the nearest double's 17
 * digits), or null for NAN. */
static int add_num(json_object *o, const char *name, double x)
{
    if (isnan(x))
        return tr_json_add_null(o, name);
    char text[64];
    snprintf(text, sizeof text, "%.3f", x);
    return tr_json_add(o, name, json_object_new_double_s(x, text));
}

/* name: a count, or null for NAN. */
static int add_count(json_object *o, const char *name, double x)
{
    return isnan(x) ? tr_json_add_null(o, name)
                    : tr_json_add(o, name, json_object_new_int64((int64_t)llround(x)));
}

static int print_json(const sample *s, const view *v)
{
    json_object *o = json_object_new_object();
    int bad = o == NULL;
    bad = bad || tr_json_add(o, "time_ms", json_object_new_int64(ctl_out_now_ms())) != 0;
    bad = bad || add_num(o, "interval_s", v->dt_s) != 0;
    bad = bad || tr_json_add(o, "pending", json_object_new_int64(s->pending)) != 0;
    bad = bad || tr_json_add(o, "in_flight", json_object_new_int64(s->in_flight)) != 0;
    bad = bad || tr_json_add(o, "dead", json_object_new_int64(s->dead)) != 0;
    bad = bad || tr_json_add(o, "paused", json_object_new_boolean(s->paused)) != 0;
    for (size_t i = 0; i < RATES && !bad; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s_per_s", rate_names[i]);
        bad = add_num(o, name, v->rate[i]) != 0;
    }
    bad = bad || add_num(o, "lateness_p50_ms", v->p50_ms) != 0;
    bad = bad || add_num(o, "lateness_p99_ms", v->p99_ms) != 0;
    bad = bad || add_count(o, "lateness_deliveries", v->n_interval) != 0;
    bad = bad || add_num(o, "lateness_all_p50_ms", v->all_p50_ms) != 0;
    bad = bad || add_num(o, "lateness_all_p99_ms", v->all_p99_ms) != 0;
    bad = bad || add_count(o, "lateness_all_deliveries", v->n_all) != 0;
    size_t text_len;
    const char *text = bad ? NULL : tr_json_text(o, &text_len);
    if (text != NULL)
        printf("%s\n", text);
    json_object_put(o);
    return text != NULL ? 0 : -1;
}

static void fmt(double x, const char *unit, char *buf, size_t len)
{
    if (isnan(x))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%.1f%s", x, unit);
}

static void print_text(ctl_ctx *ctx, const sample *s, const view *v, double interval_s)
{
    char now[64], a[32], b[32], c[32], d[32], e[32];
    ctl_out_time(ctl_out_now_ms(), now, sizeof now);
    if (ctx->stdout_tty)
        fputs("\033[H\033[2J", stdout);
    printf("TimeRush %s  %s  every %gs%s\n", ctx->url, now, interval_s,
           s->paused ? "  PAUSED" : "");
    printf("pending %-10lld in flight %-8lld dead %lld\n", (long long)s->pending,
           (long long)s->in_flight, (long long)s->dead);
    fmt(v->rate[0], "", a, sizeof a);
    fmt(v->rate[1], "", b, sizeof b);
    fmt(v->rate[2], "", c, sizeof c);
    fmt(v->rate[3], "", d, sizeof d);
    fmt(v->rate[4], "", e, sizeof e);
    printf("created/s %-8s delivered/s %-8s failed/s %-8s retried/s %-8s dead/s %s\n", a, b,
           c, d, e);
    fmt(v->p50_ms, " ms", a, sizeof a);
    fmt(v->p99_ms, " ms", b, sizeof b);
    if (isnan(v->n_interval))
        snprintf(c, sizeof c, "-");
    else
        snprintf(c, sizeof c, "%.0f", v->n_interval);
    printf("lateness  p50 %-10s p99 %-10s (this interval, %s deliveries)\n", a, b, c);
    fmt(v->all_p50_ms, " ms", a, sizeof a);
    fmt(v->all_p99_ms, " ms", b, sizeof b);
    printf("lateness  p50 %-10s p99 %-10s (since the stats began, %.0f deliveries)\n", a, b,
           isnan(v->n_all) ? 0.0 : v->n_all);
    if (!ctx->stdout_tty)
        printf("\n");
}

/* Moves *next one interval on: the refreshes keep their pace whatever a sample
 * costs; far behind (a slow server), the pace starts afresh from now. */
static void advance(struct timespec *next, double interval_s)
{
    long long ns = (long long)(interval_s * 1e9);
    next->tv_sec += (time_t)(ns / 1000000000);
    next->tv_nsec += (long)(ns % 1000000000);
    if (next->tv_nsec >= 1000000000) {
        next->tv_sec++;
        next->tv_nsec -= 1000000000;
    }
    struct timespec now;
    if (clock_gettime(CLOCK_MONOTONIC, &now) == 0 && seconds_between(next, &now) > interval_s)
        *next = now;
}

int ctl_cmd_top(ctl_ctx *ctx, int argc, char **argv)
{
    const char *interval_text = NULL, *iterations_text = NULL;
    const ctl_opt opts[] = {
        {"interval", CTL_OPT_STR, &interval_text},
        {"iterations", CTL_OPT_STR, &iterations_text},
        {NULL, CTL_OPT_FLAG, NULL},
    };
    const char *pos[1];
    int npos;
    char err[256];
    double interval_s = 1;
    int64_t iterations = 0;
    if (ctl_args_parse(argc - 1, argv + 1, opts, pos, 0, &npos, err, sizeof err) != 0 ||
        (interval_text != NULL &&
         ctl_args_seconds("interval", interval_text, 0.05, 86400, &interval_s, err,
                          sizeof err) != 0) ||
        (iterations_text != NULL &&
         ctl_args_int("iterations", iterations_text, 1, INT64_MAX, &iterations, err,
                      sizeof err) != 0))
        return ctl_usage_error(ctx, "top", err);

    sample s[2];
    int have_prev = 0, cur = 0;
    struct timespec next;
    if (clock_gettime(CLOCK_MONOTONIC, &next) != 0) {
        fprintf(stderr, "%s: clock_gettime failed\n", ctx->prog);
        return CTL_EXIT_SERVER;
    }
    for (int64_t i = 0; iterations == 0 || i < iterations; i++) {
        /* The refresh period itself, not a wait for some state: nothing to poll. */
        if (i > 0)
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) == EINTR) {
            }
        advance(&next, interval_s);
        int rc = take_sample(ctx, &s[cur]);
        if (rc != CTL_EXIT_OK)
            return rc;
        view v;
        compute(have_prev ? &s[1 - cur] : NULL, &s[cur], &v);
        if (ctx->json) {
            if (print_json(&s[cur], &v) != 0) {
                fprintf(stderr, "%s: out of memory\n", ctx->prog);
                return CTL_EXIT_SERVER;
            }
        } else {
            print_text(ctx, &s[cur], &v, interval_s);
        }
        if (fflush(stdout) != 0)
            return CTL_EXIT_SERVER; /* the reader went away */
        have_prev = 1;
        cur = 1 - cur;
    }
    return CTL_EXIT_OK;
}
