/* fuzz_retry.c - a timer's retry policy: the API's "retry" and "timeout_ms" fields
 * (tr_rest_parse_create), the policy the scheduler makes of them with its options
 * (tr_outcome_policy_of), and the backoff it then waits (tr_backoff_*).
 *
 * Input: 8 bytes of jitter, then JSON text: the "retry" value of an otherwise valid
 * create body.
 * Checks: the API accepts exactly an object with only max_attempts 1..1000,
 * min_backoff_ms and max_backoff_ms 1..86400000 (integers), max >= min when both; the
 * policy survives the record; the scheduler's policy has 1 <= min <= max and the
 * retry delays of attempts 1..64 lie in [base/2, base] with base never shrinking.
 */
#include <string.h>

#include "tr_backoff.h"
#include "tr_config.h"
#include "tr_fuzz.h"
#include "tr_json.h"
#include "tr_outcome.h"
#include "tr_rest_parse.h"

static int int_in(json_object *v, int64_t lo, int64_t hi)
{
    if (!json_object_is_type(v, json_type_int))
        return 0;
    int64_t x = json_object_get_int64(v);
    return x >= lo && x <= hi && x != INT64_MAX && x != INT64_MIN;
}

static int should_accept(json_object *r)
{
    if (!json_object_is_type(r, json_type_object))
        return 0;
    int64_t lo = 0, hi = 0;
    json_object_object_foreach(r, name, val)
    {
        if (strcmp(name, "max_attempts") == 0) {
            if (!int_in(val, 1, 1000))
                return 0;
        } else if (strcmp(name, "min_backoff_ms") == 0) {
            if (!int_in(val, 1, 86400000))
                return 0;
            lo = json_object_get_int64(val);
        } else if (strcmp(name, "max_backoff_ms") == 0) {
            if (!int_in(val, 1, 86400000))
                return 0;
            hi = json_object_get_int64(val);
        } else {
            return 0;
        }
    }
    return lo == 0 || hi == 0 || hi >= lo;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static tr_config cfg;
    static int ready;
    if (!ready) {
        tr_config_defaults(&cfg);
        ready = 1;
    }
    tr_fuzz_in in = {data, size};
    uint64_t rnd = tr_fuzz_u64(&in);
    char msg[512];
    json_object *r = tr_json_parse_value((const char *)in.p, in.left, msg, sizeof msg);
    if (r == NULL)
        return 0;
    int want = should_accept(r);
    tr_rest_create c;
    int got = tr_fuzz_parse_create_with("retry", r, &c, msg, sizeof msg);
    TR_FUZZ_CHECK(got == want, "API %s a retry policy it should %s: %s",
                  got ? "accepted" : "refused", want ? "accept" : "refuse", got ? "" : msg);
    if (got) {
        tr_fuzz_check_record_round_trip(&c.spec);
        tr_outcome_policy pol;
        tr_outcome_policy_of(&cfg, &c.spec, &pol);
        TR_FUZZ_CHECK(pol.max_attempts >= 1 && pol.min_backoff_ms >= 1 &&
                          pol.min_backoff_ms <= pol.max_backoff_ms,
                      "policy %lld %lld..%lld", (long long)pol.max_attempts, (long long)pol.min_backoff_ms,
                      (long long)pol.max_backoff_ms);
        int64_t prev = 0;
        for (int64_t a = 1; a <= 64; a++) {
            int64_t base = tr_backoff_base_ms(pol.min_backoff_ms, pol.max_backoff_ms, a);
            int64_t d = tr_backoff_delay_ms(pol.min_backoff_ms, pol.max_backoff_ms, a, rnd);
            TR_FUZZ_CHECK(base >= prev && base <= pol.max_backoff_ms && d >= base / 2 && d <= base,
                          "attempt %lld: base %lld delay %lld (min %lld max %lld)", (long long)a,
                          (long long)base, (long long)d, (long long)pol.min_backoff_ms,
                          (long long)pol.max_backoff_ms);
            prev = base;
            rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
        }
        tr_rest_create_clear(&c);
    }
    json_object_put(r);
    return 0;
}
