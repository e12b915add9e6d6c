#include "tr_rest_admin.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_jbuf.h"
#include "tr_json.h"
#include "tr_log.h"
#include "tr_rest_reply.h"
#include "tr_store_rest.h"

static int set_paused(tr_store *store, tr_http_response *resp, int paused)
{
    if (tr_store_set_paused(store, paused) != 0)
        return tr_rest_store_failed(resp, store, paused ? "pause" : "resume");
    tr_log_info("deliveries %s", paused ? "paused" : "resumed");
    return tr_rest_json(resp, 200, tr_json_wrap("paused", json_object_new_boolean(paused)));
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

/* Answers from the stats (with the histograms when `hist`) through render, or
 * the store failure. */
static int with_stats(tr_store *store, tr_http_response *resp, int hist, const char *what,
                      int (*render)(tr_http_response *, const tr_store_stats *))
{
    tr_store_stats st;
    if (tr_store_get_stats(store, hist, &st) != 0)
        return tr_rest_store_failed(resp, store, what);
    return render(resp, &st);
}

static int render_stats(tr_http_response *resp, const tr_store_stats *st)
{
    json_object *o = json_object_new_object(), *t = json_object_new_object();
    int bad = tr_json_add(o, "pending", json_object_new_int64(st->pending)) != 0 ||
              tr_json_add(o, "in_flight", json_object_new_int64(st->in_flight)) != 0 ||
              tr_json_add(o, "dead", json_object_new_int64(st->dead)) != 0 ||
              tr_json_add(o, "paused", json_object_new_boolean(st->paused)) != 0;
    for (size_t i = 0; !bad && i < sizeof shown_totals / sizeof shown_totals[0]; i++)
        bad = tr_json_add(t, shown_totals[i],
                          json_object_new_int64(total(st, shown_totals[i]))) != 0;
    if (bad || tr_json_add(o, "totals", t) != 0) {
        if (bad)
            json_object_put(t);
        json_object_put(o);
        return -1;
    }
    if (st->on_cluster) {
        /* The cluster client's counters, every process's (docs/CLUSTER.md). */
        json_object *c = json_object_new_object();
        for (int k = 0; !bad && k < TR_CLUSTER_COUNTERS; k++)
            bad = tr_json_add(c, tr_store_cluster_names[k],
                              json_object_new_int64(st->cluster[k])) != 0;
        if (bad || tr_json_add(o, "cluster", c) != 0) {
            if (bad)
                json_object_put(c);
            json_object_put(o);
            return -1;
        }
    }
    return tr_rest_json(resp, 200, o);
}

int tr_rest_stats(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                  tr_http_response *resp)
{
    (void)cfg;
    (void)req;
    return with_stats(store, resp, 0, "stats", render_stats);
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
                        tr_json_wrap("status", json_object_new_string(up ? "ok" : "unavailable")));
}

static void histogram(tr_jbuf *t, const char *name, const char *help, const uint64_t *b,
                      int64_t sum_ms, uint64_t count)
{
    tr_jbuf_printf(t, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    uint64_t cum = 0;
    for (int i = 0; i < TR_HIST_BUCKETS; i++) {
        cum += b[i];
        int64_t ms = tr_hist_bounds_ms[i];
        tr_jbuf_printf(t, "%s_bucket{le=\"%lld.%03lld\"} %" PRIu64 "\n", name,
                       (long long)(ms / 1000), (long long)(ms % 1000), cum);
    }
    cum += b[TR_HIST_BUCKETS];
    /* The count written beside the buckets is authoritative for +Inf. */
    if (count > cum)
        cum = count;
    tr_jbuf_printf(t, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, cum);
    tr_jbuf_printf(t, "%s_sum %lld.%03lld\n", name, (long long)(sum_ms / 1000),
                   (long long)(sum_ms % 1000));
    tr_jbuf_printf(t, "%s_count %" PRIu64 "\n", name, cum);
}

static int render_metrics(tr_http_response *resp, const tr_store_stats *st)
{
    tr_jbuf t;
    if (tr_jbuf_init(&t, 8192) != 0)
        return -1;
    for (int k = 0; k < TR_STATS_COUNT; k++) {
        const char *n = tr_store_stats_names[k];
        tr_jbuf_printf(&t,
                       "# HELP timerush_timers_%s_total Timers %s (all schedulers and handlers).\n",
                       n, n);
        tr_jbuf_printf(&t, "# TYPE timerush_timers_%s_total counter\n", n);
        tr_jbuf_printf(&t, "timerush_timers_%s_total %lld\n", n, (long long)st->totals[k]);
    }
    tr_jbuf_printf(&t, "# HELP timerush_timers_pending Timers waiting for their due time.\n"
                   "# TYPE timerush_timers_pending gauge\ntimerush_timers_pending %lld\n",
                   (long long)st->pending);
    tr_jbuf_printf(&t, "# HELP timerush_timers_in_flight Timers being delivered.\n"
                   "# TYPE timerush_timers_in_flight gauge\ntimerush_timers_in_flight %lld\n",
                   (long long)st->in_flight);
    tr_jbuf_printf(&t, "# HELP timerush_timers_dead Timers in the dead-letter set.\n"
                   "# TYPE timerush_timers_dead gauge\ntimerush_timers_dead %lld\n",
                   (long long)st->dead);
    tr_jbuf_printf(&t, "# HELP timerush_paused 1 while deliveries are paused.\n"
                   "# TYPE timerush_paused gauge\ntimerush_paused %d\n",
                   st->paused);
    static const char *const cluster_help[TR_CLUSTER_COUNTERS] = {
        "-MOVED answers followed", "-ASK answers followed",
        "Commands resent after TRYAGAIN, CLUSTERDOWN or a lost connection",
        "Slot map loads (CLUSTER SLOTS)", "Scripts loaded on a node after -NOSCRIPT",
        "Connections made to cluster nodes"};
    for (int k = 0; st->on_cluster && k < TR_CLUSTER_COUNTERS; k++) {
        const char *n = tr_store_cluster_names[k];
        tr_jbuf_printf(&t, "# HELP timerush_redis_cluster_%s_total %s (all processes).\n"
                       "# TYPE timerush_redis_cluster_%s_total counter\n"
                       "timerush_redis_cluster_%s_total %lld\n",
                       n, cluster_help[k], n, n, (long long)st->cluster[k]);
    }
    histogram(&t, "timerush_delivery_lateness_seconds",
              "Delivery start minus due time.", st->lateness, st->lateness_sum_ms,
              st->lateness_count);
    histogram(&t, "timerush_delivery_duration_seconds", "Delivery duration.", st->duration,
              st->duration_sum_ms, st->duration_count);
    size_t len = 0;
    char *text = tr_jbuf_take(&t, &len);
    if (text == NULL)
        return -1;
    int rc = tr_http_response_text(resp, 200, "text/plain; version=0.0.4; charset=utf-8", text,
                                   len);
    free(text);
    return rc;
}

int tr_rest_metrics(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                    tr_http_response *resp)
{
    (void)cfg;
    (void)req;
    return with_stats(store, resp, 1, "metrics", render_metrics);
}
