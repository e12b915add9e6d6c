/* tr_answer.c - reads a callback's answer into done / chain / retry (rules in
 * tr_answer.h; docs/PROTOCOL.md has them with examples).
 *
 * Choices where the rules leave room, following the original's `data['ret'] == 0`:
 *  - "ret" counts as zero only when it is a JSON number equal to 0; a string "0",
 *    true/false or null is non-zero, so the delivery is retried.
 *  - "data" absent or null: done. "data" of another non-object type: done, and
 *    `why` says the chain was ignored.
 *  - "seconds" absent, null, 0, 0.0 or a string holding 0: done, no chain.
 *  - A body that is not valid JSON, or JSON that is not an object: done. "Valid"
 *    is what a request must be (tr_json_parse_input()): a key twice in one object
 *    makes the answer unreadable, not "the last one wins".
 */
#include "tr_answer.h"

#include <stdio.h>
#include <string.h>

#include "tr_json.h"

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* One JSON object from body, read as strictly as a request (tr_json_parse_input()),
 * or NULL when the body is anything else. An answer that starts with '{' but is
 * refused (a key twice, invalid UTF-8, cut at --max-response) gets the reason in
 * why, so it is logged: it was meant as JSON. */
static json_object *parse_object(const char *body, size_t len, char *why, size_t whylen)
{
    char msg[200];
    size_t i = 0;
    while (i < len && is_space(body[i]))
        i++;
    if (i == len)
        return NULL;
    json_object *obj = tr_json_parse_object(body, len, msg, sizeof msg);
    if (obj == NULL && body[i] == '{')
        snprintf(why, whylen, "answer ignored: %s", msg);
    return obj;
}

/* Nonzero when `ret` is a JSON number equal to 0. */
static int ret_is_zero(json_object *ret)
{
    if (json_object_is_type(ret, json_type_int))
        return json_object_get_int64(ret) == 0;
    if (json_object_is_type(ret, json_type_double))
        return json_object_get_double(ret) == 0.0;
    return 0;
}

/* Nonzero when `seconds` says "no chain": null, 0, 0.0 or a string of zeros
 * (surrounding whitespace and a sign allowed, as Python's int()). */
static int seconds_is_zero(json_object *secs)
{
    if (secs == NULL)
        return 1; /* JSON null */
    if (json_object_is_type(secs, json_type_int) || json_object_is_type(secs, json_type_double))
        return ret_is_zero(secs);
    if (json_object_is_type(secs, json_type_string)) {
        const char *s = json_object_get_string(secs);
        int n = json_object_get_string_len(secs);
        int i = 0, digits = 0;
        if (s == NULL || n < 0)
            return 0;
        while (i < n && is_space(s[i]))
            i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        for (; i < n && s[i] == '0'; i++)
            digits++;
        while (i < n && is_space(s[i]))
            i++;
        return digits > 0 && i == n;
    }
    return 0;
}

tr_answer_kind tr_answer_parse(long http_status, const char *body, size_t len,
                               int64_t max_delay_s, tr_timer_spec *chain, char *why,
                               size_t whylen)
{
    tr_answer_kind kind = TR_ANSWER_DONE;
    json_object *obj = NULL, *ret = NULL, *data = NULL, *secs = NULL;
    memset(chain, 0, sizeof *chain);
    if (whylen > 0)
        why[0] = '\0';

    if (http_status < 200 || http_status > 299) {
        snprintf(why, whylen, "HTTP %ld", http_status);
        return TR_ANSWER_RETRY;
    }
    obj = parse_object(body, len, why, whylen);
    if (obj == NULL || !json_object_object_get_ex(obj, "ret", &ret))
        goto done; /* empty, not JSON, or no "ret": delivered */
    if (!ret_is_zero(ret)) {
        if (json_object_is_type(ret, json_type_int))
            snprintf(why, whylen, "ret=%lld", (long long)json_object_get_int64(ret));
        else
            snprintf(why, whylen, "ret=%.32s", json_object_to_json_string_ext(
                                                   ret, JSON_C_TO_STRING_PLAIN));
        kind = TR_ANSWER_RETRY;
        goto done;
    }
    if (!json_object_object_get_ex(obj, "data", &data) || data == NULL)
        goto done;
    if (!json_object_is_type(data, json_type_object)) {
        snprintf(why, whylen, "chain ignored: data is not an object");
        goto done;
    }
    if (!json_object_object_get_ex(data, "seconds", &secs) || seconds_is_zero(secs))
        goto done;
    char msg[200];
    tr_ret r = tr_timer_spec_from_compat(data, max_delay_s, chain, msg, sizeof msg);
    if (r != TR_RET_OK) {
        snprintf(why, whylen, "chain rejected: %s", msg);
        goto done;
    }
    kind = TR_ANSWER_CHAIN;
done:
    json_object_put(obj);
    return kind;
}
