#include "tr_rest_admin.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_log.h"
#include "tr_rest_reply.h"

static int set_paused(tr_store *store, tr_http_response *resp, int paused)
{
    if (tr_store_set_paused(store, paused) != 0)
        return tr_rest_store_failed(resp, store, paused ? "pause" : "resume");
    tr_log_info("deliveries %s", paused ? "paused" : "resumed");
    return tr_rest_json(resp, 200, tr_rest_wrap("paused", json_object_new_boolean(paused)));
}

int tr_rest_pause(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                  tr_http_response *resp)
{
    (void)cfg;
    (void)req;
    return set_paused(store, resp, 1);
}

int tr_rest_resume(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                   tr_http_response *resp)
{
    (void)cfg;
    (void)req;
    return set_paused(store, resp, 0);
}

/* The totals the API shows (a subset of tr_store_stats_names, in this order). */
static const char *const shown_totals[] = {"created", "delivered", "failed",  "retried",
                                           "dead",    "cancelled", "chained", "fired"};

static int64_t total(const tr_store_stats *st, const char *name)
{
    for (int k = 0; k < TR_STATS_COUNT; k++)
        if (strcmp(tr_store_stats_names[k], name) == 0)
            return st->totals[k];
    return 0;
}

int tr_rest_stats(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                  tr_http_response *resp)
{
    (void)cfg;
    (void)req;
    tr_store_stats st;
    if (tr_store_get_stats(store, 0, &st) != 0)
        return tr_rest_store_failed(resp, store, "stats");
    json_object *o = json_object_new_object(), *t = json_object_new_object();
    int bad = tr_rest_add(o, "pending", json_object_new_int64(st.pending)) != 0 ||
              tr_rest_add(o, "in_flight", json_object_new_int64(st.in_flight)) != 0 ||
              tr_rest_add(o, "dead", json_object_new_int64(st.dead)) != 0 ||
              tr_rest_add(o, "paused", json_object_new_boolean(st.paused)) != 0;
    for (size_t i = 0; !bad && i < sizeof shown_totals / sizeof shown_totals[0]; i++)
        bad = tr_rest_add(t, shown_totals[i], json_object_new_int64(total(&st, shown_totals[i]))) != 0;
    if (bad || tr_rest_add(o, "totals", t) != 0) {
        if (bad)
            json_object_put(t);
        json_object_put(o);
        return -1;
    }
    return tr_rest_json(resp, 200, o);
}

int tr_rest_healthz(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                    tr_http_response *resp)
{
    (void)cfg;
    (void)req;
    int up = tr_store_ping(store) == 0;
    if (!up)
        tr_log_warning("healthz: redis unavailable: %s", tr_store_error(store));
    return tr_rest_json(resp, up ? 200 : 503,
                        tr_rest_wrap("status", json_object_new_string(up ? "ok" : "unavailable")));
}

/* A growing text buffer for the metrics page. */
typedef struct text {
    char *buf;
    size_t len, cap;
    int failed;
} text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...)
{
    if (t->failed)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        /* NULL + 0 is undefined (clang's UBSan says so): no buffer yet, only measure. */
        int n = vsnprintf(t->buf ? t->buf + t->len : NULL, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        size_t cap = (t->cap + (size_t)n) * 2;
        char *b = realloc(t->buf, cap);
        if (b == NULL) {
            t->failed = 1;
            return;
        }
        t->buf = b;
        t->cap = cap;
    }
}

static void histogram(text *t, const char *name, const char *help, const uint64_t *b,
                      int64_t sum_ms, uint64_t count)
{
    put(t, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (int i = 0; i < TR_HIST_BUCKETS; i++) {
        cum += b[i];
        int64_t ms = tr_hist_bounds_ms[i];
        put(t, "%s_bucket{le=\"%lld.%03lld\"} %" PRIu64 "\n", name, (long long)(ms / 1000),
            (long long)(ms % 1000), cum);
    }
    cum += b[TR_HIST_BUCKETS];
    /* The count written beside the buckets is authoritative for +Inf. */
    if (count > cum)
        cum = count;
    put(t, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum);
    put(t, "%s_sum %lld.%03lld\n", name, (long long)(sum_ms / 1000), (long long)(sum_ms % 1000));
    put(t, "%s_count %" PRIu64 "\n", name, cum);
}

int tr_rest_metrics(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                    tr_http_response *resp)
{
    (void)cfg;
    (void)req;
    tr_store_stats st;
    if (tr_store_get_stats(store, 1, &st) != 0)
        return tr_rest_store_failed(resp, store, "metrics");
    text t = {0};
    for (int k = 0; k < TR_STATS_COUNT; k++) {
        const char *n = tr_store_stats_names[k];
        put(&t, "# HELP timerush_timers_%s_total Timers %s (all schedulers and handlers).\n", n, n);
        put(&t, "# TYPE timerush_timers_%s_total counter\n", n);
        put(&t, "timerush_timers_%s_total %lld\n", n, (long long)st.totals[k]);
    }
    put(&t, "# HELP timerush_timers_pending Timers waiting for their due time.\n"
            "# TYPE timerush_timers_pending gauge\ntimerush_timers_pending %lld\n",
        (long long)st.pending);
    put(&t, "# HELP timerush_timers_in_flight Timers being delivered.\n"
            "# TYPE timerush_timers_in_flight gauge\ntimerush_timers_in_flight %lld\n",
        (long long)st.in_flight);
    put(&t, "# HELP timerush_timers_dead Timers in the dead-letter set.\n"
            "# TYPE timerush_timers_dead gauge\ntimerush_timers_dead %lld\n",
        (long long)st.dead);
    put(&t, "# HELP timerush_paused 1 while deliveries are paused.\n"
            "# TYPE timerush_paused gauge\ntimerush_paused %d\n",
        st.paused);
    histogram(&t, "timerush_delivery_lateness_seconds",
              "Delivery start minus due time.", st.lateness, st.lateness_sum_ms,
              st.lateness_count);
    histogram(&t, "timerush_delivery_duration_seconds", "Delivery duration.", st.duration,
              st.duration_sum_ms, st.duration_count);
    int rc = -1;
    if (!t.failed)
        rc = tr_http_response_text(resp, 200, "text/plain; version=0.0.4; charset=utf-8", t.buf,
                                   t.len);
    free(t.buf);
    return rc;
}
