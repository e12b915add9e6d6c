/* fuzz_json.c - strict JSON reading (tr_json_parse_value, tr_json_parse_object: every
 * request body, record and answer goes through it), compact writing (tr_json_text),
 * callback data (tr_json_read_data) and the hand-written string escaping
 * (tr_json_escape) that must agree with json-c byte for byte.
 *
 * Checks: an accepted text holds no NUL; its compact text parses again to the same
 * compact text (a fixed point: records are compared as text); callback data of an
 * object or array is that compact text; tr_json_escape of any bytes equals json-c's
 * text of the same string and parses back to the same bytes; a refused text has a
 * message.
 */
#include <string.h>

#include "tr_fuzz.h"
#include "tr_json.h"

static void check_escape(const uint8_t *data, size_t size)
{
    char *buf = malloc(size * 6 + 2);
    TR_FUZZ_CHECK(buf != NULL, "out of memory");
    char *end = tr_json_escape(buf, (const char *)data, size);
    size_t n = (size_t)(end - buf);
    json_object *s = json_object_new_string_len((const char *)data, (int)size);
    size_t jn = 0;
    const char *jt = tr_json_text(s, &jn);
    TR_FUZZ_CHECK(jt != NULL && jn == n && memcmp(jt, buf, n) == 0,
                  "tr_json_escape differs from json-c (%zu vs %zu bytes)", n, jn);
    char msg[256];
    json_object *back = tr_json_parse_value(buf, n, msg, sizeof msg);
    TR_FUZZ_CHECK(back != NULL && json_object_is_type(back, json_type_string), "escaped text refused: %s", msg);
    TR_FUZZ_CHECK((size_t)json_object_get_string_len(back) == size &&
                      memcmp(json_object_get_string(back), data, size) == 0,
                  "escaped string reads back differently");
    json_object_put(back);
    json_object_put(s);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    char msg[256];
    msg[0] = '\0';
    json_object *v = tr_json_parse_value((const char *)data, size, msg, sizeof msg);
    if (v == NULL) {
        TR_FUZZ_CHECK(msg[0] != '\0', "refused without a reason");
        json_object *o = tr_json_parse_object((const char *)data, size, msg, sizeof msg);
        TR_FUZZ_CHECK(o == NULL, "parse_object accepted what parse_value refused");
    } else {
        TR_FUZZ_CHECK(memchr(data, '\0', size) == NULL, "accepted a NUL byte");
        size_t n = 0;
        const char *t = tr_json_text(v, &n);
        TR_FUZZ_CHECK(t != NULL, "no text");
        char *copy = tr_fuzz_str(t, n);
        json_object *again = tr_json_parse_value(copy, n, msg, sizeof msg);
        TR_FUZZ_CHECK(again != NULL, "own text refused: %s: %s", msg, copy);
        size_t n2 = 0;
        const char *t2 = tr_json_text(again, &n2);
        TR_FUZZ_CHECK(t2 != NULL && n2 == n && memcmp(t2, copy, n) == 0,
                      "text not a fixed point: '%s' -> '%.*s'", copy, (int)n2, t2 ? t2 : "");
        char *d = NULL;
        size_t dl = 0;
        tr_json_data_result r = tr_json_read_data(v, &d, &dl);
        if (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
            TR_FUZZ_CHECK(r == TR_JSON_DATA_OK && dl == n && memcmp(d, copy, n) == 0 && d[dl] == '\0',
                          "data of an object or array is not its compact text");
        else if (json_object_is_type(v, json_type_string))
            TR_FUZZ_CHECK(r == TR_JSON_DATA_OK && dl == (size_t)json_object_get_string_len(v) &&
                              memcmp(d, json_object_get_string(v), dl) == 0,
                          "data of a string is not its bytes");
        else
            TR_FUZZ_CHECK(r == TR_JSON_DATA_BAD_TYPE && d == NULL, "data of a %s accepted",
                          json_type_to_name(json_object_get_type(v)));
        free(d);
        json_object_put(again);
        free(copy);
        json_object *o = tr_json_parse_object((const char *)data, size, msg, sizeof msg);
        /* parse_object may be stricter (request bodies), never looser. */
        TR_FUZZ_CHECK(o == NULL || json_object_is_type(v, json_type_object),
                      "parse_object accepted what parse_value reads as no object");
        json_object_put(o);
        json_object_put(v);
    }
    check_escape(data, size);
    return 0;
}
