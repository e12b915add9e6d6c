/* fuzz_record.c - timer records read back from Redis (tr_timer_record_decode), and
 * what both sides do with one: the scheduler's header merge (tr_headers_merge) and
 * cron parse, the API's timer object (tr_rest_view_timer, with the failure meta).
 *
 * Redis holds what the scripts wrote, but it is data: a record another version
 * wrote, or one edited by hand, must never crash a reader.
 * Input: 1 byte of state and attempts, 8 of score, then the record, a NUL byte, the
 * meta JSON (optional).
 * Checks: a decoded record has a URL and data and encodes back to a record that
 * decodes the same (tr_fuzz_check_record_round_trip); merged header lines never
 * hold CR or LF; the timer object is made exactly when the record decodes, and is
 * a JSON object naming the key and state.
 */
#include <curl/curl.h>
#include <string.h>

#include "tr_cron.h"
#include "tr_fuzz.h"
#include "tr_headers.h"
#include "tr_json.h"
#include "tr_rest_view.h"
#include "tr_timer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tr_fuzz_in in = {data, size};
    uint8_t b = tr_fuzz_u8(&in);
    int64_t score = (int64_t)(tr_fuzz_u64(&in) >> 14); /* up to about 30000 years of ms */
    size_t rec_len = 0, meta_len = 0;
    const uint8_t *rec_p = tr_fuzz_field(&in, 0, &rec_len);
    const uint8_t *meta_p = tr_fuzz_field(&in, 0, &meta_len);
    char *rec = tr_fuzz_str(rec_p, rec_len);

    tr_timer_spec spec;
    int decoded = tr_timer_record_decode(rec, rec_len, &spec) == 0;
    if (decoded) {
        TR_FUZZ_CHECK(spec.url != NULL && spec.data != NULL && spec.delay_ms == 0,
                      "decoded without url or data");
        tr_fuzz_check_record_round_trip(&spec);
        struct curl_slist *list = NULL;
        int skipped = 0;
        (void)tr_headers_merge(&list, spec.headers_json, &skipped);
        for (struct curl_slist *l = list; l != NULL; l = l->next)
            TR_FUZZ_CHECK(strpbrk(l->data, "\r\n") == NULL, "CR or LF sent: %s", l->data);
        curl_slist_free_all(list);
        if (spec.schedule.cron != NULL) {
            tr_cron c;
            if (tr_cron_parse(spec.schedule.cron, &c, NULL, 0) == 0)
                (void)tr_cron_next(&c, score);
        }
        tr_timer_spec_clear(&spec);
    } else {
        TR_FUZZ_CHECK(spec.url == NULL && spec.data == NULL && spec.headers_json == NULL &&
                          spec.failure_url == NULL && spec.schedule.cron == NULL,
                      "refused record left strings behind");
    }

    /* The API's view of it. */
    char id[] = "fuzz-key";
    tr_timer_view v = {0};
    v.id = id;
    v.state = (tr_timer_state)(1 + b % 3);
    v.now_ms = 1795705200000;
    v.score_ms = score;
    v.attempts = b >> 2;
    v.record = rec;
    v.record_len = rec_len;
    char *meta = meta_len > 0 ? tr_fuzz_str(meta_p, meta_len) : NULL;
    v.meta = meta;
    v.meta_len = meta_len;
    int bad = 0;
    json_object *t = tr_rest_view_timer(&v, &bad);
    TR_FUZZ_CHECK((t != NULL) == decoded && bad == !decoded, "view %p bad %d, decoded %d",
                  (void *)t, bad, decoded);
    if (t != NULL) {
        json_object *k = NULL, *st = NULL;
        TR_FUZZ_CHECK(json_object_is_type(t, json_type_object) &&
                          json_object_object_get_ex(t, "key", &k) &&
                          strcmp(json_object_get_string(k), id) == 0 &&
                          json_object_object_get_ex(t, "state", &st) &&
                          strcmp(json_object_get_string(st), tr_timer_state_name(v.state)) == 0,
                      "timer object without its key or state");
        size_t n = 0;
        TR_FUZZ_CHECK(tr_json_text(t, &n) != NULL && n > 0, "no text");
        json_object_put(t);
    }
    free(meta);
    free(rec);
    return 0;
}
