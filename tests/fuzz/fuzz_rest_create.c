/* fuzz_rest_create.c - the body of POST /v1/timers: strict JSON (tr_json_parse_object),
 * then tr_rest_parse_create() with every field (key, url, data, delay_ms / seconds /
 * at with RFC 3339 times, headers, retry, timeout_ms, failure_url, every_ms / cron,
 * until, count). A batch item goes through the same function (fuzz_route fuzzes the
 * batch handler itself).
 *
 * Checks, beyond "no crash, no leak": a refused body comes back zeroed with a message;
 * an accepted one keeps every documented bound (docs/API.md), its URLs pass
 * tr_url_check, its cron parses and fires, its headers are all sent by the scheduler
 * (tr_headers_merge skips none), and it survives the Redis record round trip.
 */
#include <string.h>

#include "tr_cron.h"
#include "tr_fuzz.h"
#include "tr_json.h"
#include "tr_rest_parse.h"
#include "tr_timer.h"
#include "tr_url.h"

#define NOW_MS INT64_C(1795705200000)          /* 2026-11-26T15:00:00Z */
#define MAX_DELAY_MS (INT64_C(315360000) * 1000) /* --max-seconds' default */

static void check_accepted(const tr_rest_create *c)
{
    const tr_timer_spec *s = &c->spec;
    char msg[256];
    TR_FUZZ_CHECK(c->key[0] == '\0' || tr_timer_key_check(c->key) == 0, "key '%s'", c->key);
    TR_FUZZ_CHECK(s->url != NULL && tr_url_check_target(s->url, "url", msg, sizeof msg) == 0,
                  "url");
    TR_FUZZ_CHECK(s->data != NULL && s->data[s->data_len] == '\0', "data unterminated");
    TR_FUZZ_CHECK(s->failure_url == NULL ||
                      tr_url_check(s->failure_url, "failure_url", msg, sizeof msg) == 0,
                  "failure_url");
    if (c->when.at_ms < 0) {
        TR_FUZZ_CHECK(c->when.at_ms == -1 && c->when.delay_ms >= 0 &&
                          c->when.delay_ms <= MAX_DELAY_MS,
                      "delay_ms %lld", (long long)c->when.delay_ms);
    } else {
        TR_FUZZ_CHECK(c->when.at_ms <= TR_REST_EPOCH_MS_MAX &&
                          c->when.at_ms - NOW_MS <= MAX_DELAY_MS,
                      "at %lld", (long long)c->when.at_ms);
    }
    const tr_timer_policy *p = &s->policy;
    TR_FUZZ_CHECK(p->max_attempts >= 0 && p->max_attempts <= 1000, "max_attempts %d", p->max_attempts);
    TR_FUZZ_CHECK(p->min_backoff_ms >= 0 && p->min_backoff_ms <= 86400000 &&
                      p->max_backoff_ms >= 0 && p->max_backoff_ms <= 86400000 &&
                      (p->min_backoff_ms == 0 || p->max_backoff_ms == 0 ||
                       p->min_backoff_ms <= p->max_backoff_ms),
                  "backoff %lld..%lld", (long long)p->min_backoff_ms, (long long)p->max_backoff_ms);
    TR_FUZZ_CHECK(p->timeout_ms == 0 || (p->timeout_ms >= 100 && p->timeout_ms <= 3600000),
                  "timeout_ms %lld", (long long)p->timeout_ms);
    const tr_timer_schedule *sc = &s->schedule;
    TR_FUZZ_CHECK(!(sc->every_ms > 0 && sc->cron != NULL), "every_ms and cron");
    TR_FUZZ_CHECK(sc->every_ms == 0 || (sc->every_ms >= 100 && sc->every_ms <= MAX_DELAY_MS),
                  "every_ms %lld", (long long)sc->every_ms);
    int recurring = sc->every_ms > 0 || sc->cron != NULL;
    TR_FUZZ_CHECK(recurring || (sc->until_ms == 0 && sc->count == 0), "until/count on a one-shot");
    TR_FUZZ_CHECK(sc->until_ms >= 0 && sc->until_ms <= TR_REST_EPOCH_MS_MAX && sc->count >= 0 &&
                      sc->fired == 0,
                  "until %lld count %lld", (long long)sc->until_ms, (long long)sc->count);
    if (sc->cron != NULL) {
        tr_cron cron;
        TR_FUZZ_CHECK(strlen(sc->cron) <= TR_CRON_MAX_LEN &&
                          tr_cron_parse(sc->cron, &cron, msg, sizeof msg) == 0,
                      "accepted cron '%s' does not parse", sc->cron);
    }
    tr_fuzz_check_headers_sent(s->headers_json);
    tr_fuzz_check_record_round_trip(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char msg[512];
    json_object *obj = tr_json_parse_object((const char *)data, size, msg, sizeof msg);
    if (obj == NULL) {
        TR_FUZZ_CHECK(msg[0] != '\0', "refused without a reason");
        return 0;
    }
    tr_rest_create c;
    if (tr_rest_parse_create(obj, NOW_MS, MAX_DELAY_MS, &c, msg, sizeof msg) == 0) {
        check_accepted(&c);
        tr_rest_create_clear(&c);
    } else {
        TR_FUZZ_CHECK(msg[0] != '\0', "refused without a reason");
        TR_FUZZ_CHECK(c.spec.url == NULL && c.spec.data == NULL && c.spec.headers_json == NULL &&
                          c.spec.failure_url == NULL && c.spec.schedule.cron == NULL &&
                          c.key[0] == '\0',
                      "refused but not cleared: %s", msg);
    }
    json_object_put(obj);
    return 0;
}
