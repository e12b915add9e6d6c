/* test_sched_rest.c - the scheduler's side of REST timers, without I/O: next
 * firings (every_ms, cron, count, until), header merging, histogram buckets,
 * per-timer policy, the failure notice body, and the outcomes queued for a
 * recurring timer (repeat record) and a dead one with a failure_url (notice). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "tr_config.h"
#include "tr_header_rules.h"
#include "tr_headers.h"
#include "tr_hist.h"
#include "tr_outcome.h"
#include "tr_pending.h"
#include "tr_repeat.h"

#define T0 INT64_C(1795705200000) /* 2026-11-26T15:00:00Z, a Thursday */

static void test_every_next(void **state)
{
    (void)state;
    tr_timer_schedule sch = {.every_ms = 1000};
    tr_repeat_next nx;
    /* Delivered on time: the next is one period after the due time, not after now. */
    assert_int_equal(tr_repeat_compute(&sch, T0, T0 + 30, &nx), 0);
    assert_int_equal(nx.at_ms, T0 + 1000);
    assert_int_equal(nx.skipped, 0);
    /* Finished late by 3.5 periods: 3 missed firings are skipped. */
    assert_int_equal(tr_repeat_compute(&sch, T0, T0 + 3500, &nx), 0);
    assert_int_equal(nx.at_ms, T0 + 4000);
    assert_int_equal(nx.skipped, 3);
    /* Exactly on a period boundary: strictly in the future. */
    assert_int_equal(tr_repeat_compute(&sch, T0, T0 + 2000, &nx), 0);
    assert_int_equal(nx.at_ms, T0 + 3000);
    assert_int_equal(nx.skipped, 2);
    /* Now before the due time (clock mapping): still one period on. */
    assert_int_equal(tr_repeat_compute(&sch, T0, T0 - 5, &nx), 0);
    assert_int_equal(nx.at_ms, T0 + 1000);
}

static void test_count_and_until(void **state)
{
    (void)state;
    tr_repeat_next nx;
    tr_timer_schedule sch = {.every_ms = 100, .count = 3, .fired = 1};
    assert_int_equal(tr_repeat_compute(&sch, T0, T0, &nx), 0);
    assert_int_equal(nx.at_ms, T0 + 100); /* firing 2 of 3 done: one more */
    sch.fired = 2;
    assert_int_equal(tr_repeat_compute(&sch, T0, T0, &nx), 0);
    assert_int_equal(nx.at_ms, -1); /* firing 3 of 3 done */
    assert_string_equal(nx.why, "count reached");
    sch.count = 1;
    sch.fired = 0;
    assert_int_equal(tr_repeat_compute(&sch, T0, T0, &nx), 0);
    assert_int_equal(nx.at_ms, -1);

    tr_timer_schedule u = {.every_ms = 100, .until_ms = T0 + 200};
    assert_int_equal(tr_repeat_compute(&u, T0 + 100, T0 + 100, &nx), 0);
    assert_int_equal(nx.at_ms, T0 + 200); /* at until: still fires */
    assert_int_equal(tr_repeat_compute(&u, T0 + 200, T0 + 200, &nx), 0);
    assert_int_equal(nx.at_ms, -1);
    assert_string_equal(nx.why, "until passed");

    tr_timer_schedule none = {0};
    assert_int_equal(tr_repeat_is_recurring(&none), 0);
    assert_int_equal(tr_repeat_compute(&none, T0, T0, &nx), -1);
}

static void test_cron_next(void **state)
{
    (void)state;
    tr_repeat_next nx;
    char cron[] = "*/15 * * * *";
    tr_timer_schedule sch = {.cron = cron};
    assert_true(tr_repeat_is_recurring(&sch));
    /* From the firing's due time, not from now. */
    assert_int_equal(tr_repeat_compute(&sch, T0, T0 + 2000, &nx), 0);
    assert_int_equal(nx.at_ms, T0 + 15 * 60000);
    assert_int_equal(nx.skipped, 0);
    /* Delivered 40 minutes late: 15 and 30 are past, 45 is next. */
    assert_int_equal(tr_repeat_compute(&sch, T0, T0 + 40 * 60000, &nx), 0);
    assert_int_equal(nx.at_ms, T0 + 45 * 60000);
    assert_int_equal(nx.skipped, 2);
    char never[] = "0 0 30 2 *";
    tr_timer_schedule nv = {.cron = never};
    assert_int_equal(tr_repeat_compute(&nv, T0, T0, &nx), 0);
    assert_int_equal(nx.at_ms, -1);
    char bad[] = "61 * * * *";
    tr_timer_schedule bd = {.cron = bad};
    assert_int_equal(tr_repeat_compute(&bd, T0, T0, &nx), -1);
    assert_int_equal(nx.at_ms, -1);
    /* until with cron */
    tr_timer_schedule cu = {.cron = cron, .until_ms = T0 + 20 * 60000};
    assert_int_equal(tr_repeat_compute(&cu, T0 + 15 * 60000, T0 + 15 * 60000, &nx), 0);
    assert_int_equal(nx.at_ms, -1);
}

static void test_headers_merge(void **state)
{
    (void)state;
    struct curl_slist *list = curl_slist_append(NULL, "X-TimeRush-Key: k");
    assert_non_null(list);
    int skipped = -1;
    assert_int_equal(tr_headers_merge(&list,
                                      "{\"Authorization\":\"Bearer abc\",\"X-Trace\":\"1\","
                                      "\"content-type\":\"text/plain\",\"x-timerush-attempt\":\"9\","
                                      "\"Host\":\"evil\",\"Proxy-Authorization\":\"x\","
                                      "\"Bad Name\":\"v\",\"X-Num\":5,\"X-Inj\":\"a\\r\\nB: c\","
                                      "\"X-Empty\":\"\",\"User-Agent\":\"me\"}",
                                      &skipped),
                     0);
    assert_int_equal(skipped, 8);
    const char *want[] = {"X-TimeRush-Key: k", "Authorization: Bearer abc", "X-Trace: 1",
                          "X-Empty;"};
    size_t i = 0;
    for (struct curl_slist *p = list; p != NULL; p = p->next, i++) {
        assert_true(i < sizeof want / sizeof want[0]);
        assert_string_equal(p->data, want[i]);
    }
    assert_int_equal(i, 4);
    /* Nothing to add. */
    assert_int_equal(tr_headers_merge(&list, NULL, &skipped), 0);
    assert_int_equal(tr_headers_merge(&list, "", NULL), 0);
    assert_int_equal(skipped, 0);
    /* Not an object. */
    assert_int_equal(tr_headers_merge(&list, "[1]", &skipped), -1);
    assert_int_equal(tr_headers_merge(&list, "{", &skipped), -1);
    curl_slist_free_all(list);
    assert_true(tr_header_reserved("x-timerush-anything"));
    assert_true(tr_header_reserved("TRANSFER-ENCODING"));
    assert_false(tr_header_reserved("X-Request-Id"));
}

static void test_hist(void **state)
{
    (void)state;
    assert_int_equal(tr_hist_bucket(-5), 0);
    assert_int_equal(tr_hist_bucket(0), 0);
    assert_int_equal(tr_hist_bucket(1), 0);   /* le 0.001 */
    assert_int_equal(tr_hist_bucket(2), 1);   /* le 0.005 */
    assert_int_equal(tr_hist_bucket(5), 1);
    assert_int_equal(tr_hist_bucket(6), 2);
    assert_int_equal(tr_hist_bucket(10000), TR_HIST_BUCKETS - 1);
    assert_int_equal(tr_hist_bucket(10001), TR_HIST_BUCKETS); /* +Inf only */
    tr_hist h = {0};
    tr_hist_add(&h, 3);
    tr_hist_add(&h, 4);
    tr_hist_add(&h, 700);
    tr_hist_add(&h, -2);
    assert_int_equal(h.count, 4);
    assert_int_equal(h.sum_ms, 707);
    assert_int_equal(h.counts[0], 1);
    assert_int_equal(h.counts[1], 2);
    assert_int_equal(h.counts[8], 1); /* 500 < 700 <= 1000 */
    /* Nothing observed: no I/O at all (a NULL store is never touched). */
    tr_hist empty = {0};
    assert_int_equal(tr_hist_write(&empty, NULL, "lateness"), 0);
}

static void test_policy(void **state)
{
    (void)state;
    tr_config cfg;
    tr_config_defaults(&cfg);
    tr_outcome_policy pol;
    tr_outcome_policy_of(&cfg, NULL, &pol);
    assert_int_equal(pol.max_attempts, cfg.max_attempts);
    assert_int_equal(pol.timeout_ms, cfg.timeout_ms);
    tr_timer_spec spec = {.policy = {.max_attempts = 2, .min_backoff_ms = 50,
                                     .timeout_ms = 60000}};
    tr_outcome_policy_of(&cfg, &spec, &pol);
    assert_int_equal(pol.max_attempts, 2);
    assert_int_equal(pol.min_backoff_ms, 50);
    assert_int_equal(pol.max_backoff_ms, cfg.backoff_max_ms);
    assert_int_equal(pol.timeout_ms, 60000);
    /* A timer's minimum above the option's maximum wins. */
    spec.policy.min_backoff_ms = (int64_t)cfg.backoff_max_ms * 2;
    tr_outcome_policy_of(&cfg, &spec, &pol);
    assert_int_equal(pol.max_backoff_ms, pol.min_backoff_ms);
}

static void test_failure_body(void **state)
{
    (void)state;
    char url[] = "http://127.0.0.1:9/cb", data[] = "{\"a\":1}";
    tr_timer_spec spec = {.url = url, .data = data, .data_len = strlen(data)};
    char *body = NULL;
    size_t len = 0;
    assert_int_equal(tr_outcome_failure_body("k1", &spec, 3, 500, "HTTP 500", 1234, &body, &len),
                     0);
    assert_int_equal(strlen(body), len);
    json_object *o = json_tokener_parse(body);
    assert_non_null(o);
    json_object *v;
    assert_true(json_object_object_get_ex(o, "key", &v));
    assert_string_equal(json_object_get_string(v), "k1");
    assert_true(json_object_object_get_ex(o, "url", &v));
    assert_string_equal(json_object_get_string(v), url);
    assert_true(json_object_object_get_ex(o, "data", &v));
    assert_string_equal(json_object_get_string(v), data); /* the body as sent, a string */
    assert_true(json_object_object_get_ex(o, "attempts", &v));
    assert_int_equal(json_object_get_int64(v), 3);
    assert_true(json_object_object_get_ex(o, "last_status", &v));
    assert_int_equal(json_object_get_int64(v), 500);
    assert_true(json_object_object_get_ex(o, "last_error", &v));
    assert_string_equal(json_object_get_string(v), "HTTP 500");
    assert_true(json_object_object_get_ex(o, "due_ms", &v));
    assert_int_equal(json_object_get_int64(v), 1234);
    json_object_put(o);
    free(body);
}

typedef struct notice_seen {
    int n;
    char url[64];
    char body[512];
} notice_seen;

static void on_notice(void *ctx, const tr_finish *f, const char *url, const char *body,
                      size_t len)
{
    notice_seen *ns = ctx;
    (void)f;
    ns->n++;
    strncpy(ns->url, url, sizeof ns->url - 1);
    memcpy(ns->body, body, len < sizeof ns->body - 1 ? len : sizeof ns->body - 1);
}

/* A recurring timer's last attempt failing: DEAD with the next firing's record,
 * and the failure notice carried with it. */
static void test_dead_recurring_with_notice(void **state)
{
    (void)state;
    tr_config cfg;
    tr_config_defaults(&cfg);
    tr_rng rng;
    tr_rng_seed(&rng, 1);
    tr_sched_stats st;
    assert_int_equal(tr_sched_stats_init(&st, 16), 0);
    tr_pending *p = tr_pending_new();
    assert_non_null(p);
    tr_outcome_ctx c = {.cfg = &cfg, .rng = &rng, .pending = p, .st = &st,
                        .redis_now_ms = T0 + 250};
    char url[] = "http://127.0.0.1:9/cb", data[] = "hello", furl[] = "http://127.0.0.1:9/fail";
    tr_timer_spec spec = {.url = url, .data = data, .data_len = 5, .failure_url = furl,
                          .policy = {.max_attempts = 2},
                          .schedule = {.every_ms = 100, .count = 10, .fired = 4}};
    /* Attempt 1 of 2: a retry, with the timer's own attempts. */
    assert_int_equal(tr_outcome_failed(&c, "k", "test/1/1", &spec, 1, T0, 500, "HTTP 500", -1), 0);
    assert_int_equal(tr_pending_item(p, 0)->kind, TR_FINISH_RETRY);
    assert_null(tr_pending_item(p, 0)->repeat_record);
    /* Attempt 2 of 2: dead, and the series goes on at T0 + 300 (now is T0 + 250). */
    assert_int_equal(tr_outcome_failed(&c, "k", "test/1/1", &spec, 2, T0, 500, "HTTP 500", -1), 0);
    const tr_finish *f = tr_pending_item(p, 1);
    assert_int_equal(f->kind, TR_FINISH_DEAD);
    assert_non_null(f->repeat_record);
    assert_int_equal(f->repeat_at_ms, T0 + 300);
    tr_timer_spec back = {0};
    assert_int_equal(tr_timer_record_decode(f->repeat_record, f->repeat_record_len, &back), 0);
    assert_int_equal(back.schedule.fired, 5);
    assert_int_equal(back.schedule.every_ms, 100);
    assert_int_equal(back.schedule.count, 10);
    assert_int_equal(back.policy.max_attempts, 2);
    assert_string_equal(back.failure_url, furl);
    tr_timer_spec_clear(&back);
    assert_int_equal(st.retried, 1);
    assert_int_equal(st.dead, 1);

    /* The notice leaves only once the outcome is applied. */
    notice_seen ns = {0};
    tr_pending_on_notice(p, on_notice, &ns);
    assert_int_equal(ns.n, 0);
    tr_pending_free(p);
    assert_int_equal(ns.n, 0); /* never applied: never sent */
    tr_sched_stats_free(&st);
}

/* Delivered firing of a recurring timer: ACK with repeat; the last one: plain ACK. */
static void test_ack_recurring(void **state)
{
    (void)state;
    tr_config cfg;
    tr_config_defaults(&cfg);
    tr_rng rng;
    tr_rng_seed(&rng, 1);
    tr_sched_stats st;
    assert_int_equal(tr_sched_stats_init(&st, 16), 0);
    tr_pending *p = tr_pending_new();
    tr_outcome_ctx c = {.cfg = &cfg, .rng = &rng, .pending = p, .st = &st,
                        .redis_now_ms = T0 + 10};
    tr_xfer x;
    memset(&x, 0, sizeof x);
    char id[] = "rec", url[] = "http://127.0.0.1:9/cb", data[] = "d", body[] = "{\"ret\":0}";
    char cron[] = "0 * * * *";
    x.id = id;
    x.attempt = 1;
    x.fire_due_ms = T0;
    x.spec.url = url;
    x.spec.data = data;
    x.spec.data_len = 1;
    x.spec.schedule.cron = cron;
    x.status = 200;
    x.body = body;
    x.body_len = strlen(body);
    assert_int_equal(tr_outcome_finished(&c, &x), 0);
    const tr_finish *f = tr_pending_item(p, 0);
    assert_int_equal(f->kind, TR_FINISH_ACK);
    assert_non_null(f->repeat_record);
    assert_int_equal(f->repeat_at_ms, T0 + 3600000);
    /* Last firing (count 3, 2 fired): an ordinary ack ends the timer. */
    x.spec.schedule.count = 3;
    x.spec.schedule.fired = 2;
    assert_int_equal(tr_outcome_finished(&c, &x), 0);
    assert_null(tr_pending_item(p, 1)->repeat_record);
    /* One-shot: no repeat. */
    x.spec.schedule.cron = NULL;
    assert_int_equal(tr_outcome_finished(&c, &x), 0);
    assert_null(tr_pending_item(p, 2)->repeat_record);
    assert_int_equal(st.delivered, 3);
    tr_pending_free(p);
    tr_sched_stats_free(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_next),
        cmocka_unit_test(test_count_and_until),
        cmocka_unit_test(test_cron_next),
        cmocka_unit_test(test_headers_merge),
        cmocka_unit_test(test_hist),
        cmocka_unit_test(test_policy),
        cmocka_unit_test(test_failure_body),
        cmocka_unit_test(test_dead_recurring_with_notice),
        cmocka_unit_test(test_ack_recurring),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
