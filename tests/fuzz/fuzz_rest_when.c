/* fuzz_rest_when.c - the body of POST /v1/timers/{key}/reschedule: strict JSON, then
 * tr_rest_parse_when() (exactly one of delay_ms, seconds, at, nothing else).
 *
 * Input: 8 bytes picking "now" (epoch ms 0 .. 9999-12-31), then the body.
 * Checks: accepted means exactly one of the three fields and nothing else, a delay
 * in 0..max, or an at in 0..9999-12-31 at most max ahead of now; refused means a
 * message.
 */
#include <string.h>

#include "tr_fuzz.h"
#include "tr_json.h"
#include "tr_rest_parse.h"

#define MAX_DELAY_MS (INT64_C(315360000) * 1000)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tr_fuzz_in in = {data, size};
    int64_t now = (int64_t)(tr_fuzz_u64(&in) % (uint64_t)(TR_REST_EPOCH_MS_MAX + 1));
    char msg[512];
    json_object *obj = tr_json_parse_object((const char *)in.p, in.left, msg, sizeof msg);
    if (obj == NULL)
        return 0;
    tr_rest_when w;
    msg[0] = '\0';
    if (tr_rest_parse_when(obj, now, MAX_DELAY_MS, &w, msg, sizeof msg) == 0) {
        int n = 0;
        json_object_object_foreach(obj, name, val)
        {
            (void)val;
            TR_FUZZ_CHECK(strcmp(name, "delay_ms") == 0 || strcmp(name, "seconds") == 0 ||
                              strcmp(name, "at") == 0,
                          "accepted with field '%s'", name);
            n++;
        }
        TR_FUZZ_CHECK(n == 1, "accepted with %d fields", n);
        if (w.at_ms == -1)
            TR_FUZZ_CHECK(w.delay_ms >= 0 && w.delay_ms <= MAX_DELAY_MS, "delay %lld",
                          (long long)w.delay_ms);
        else
            TR_FUZZ_CHECK(w.at_ms >= 0 && w.at_ms <= TR_REST_EPOCH_MS_MAX &&
                              w.at_ms - now <= MAX_DELAY_MS && w.delay_ms == 0,
                          "at %lld now %lld", (long long)w.at_ms, (long long)now);
    } else {
        TR_FUZZ_CHECK(msg[0] != '\0', "refused without a reason");
    }
    json_object_put(obj);
    return 0;
}
