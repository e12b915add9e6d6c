#include "tr_rest_parse.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tr_cron.h"
#include "tr_header_rules.h"
#include "tr_json.h"
#include "tr_num.h"
#include "tr_rfc3339.h"
#include "tr_url.h"

#include "tr_assert.h"

void tr_rest_create_clear(tr_rest_create *c)
{
    if (c == NULL)
        return;
    tr_timer_spec_clear(&c->spec);
    memset(c, 0, sizeof *c);
    c->when.at_ms = -1;
}

int tr_rest_header_allowed(const char *name)
{
    return tr_header_name_is_token(name) && !tr_header_reserved(name) ? 0 : -1;
}

#define FAIL(...)                                                                          \
    do {                                                                                   \
        snprintf(msg, msglen, __VA_ARGS__);                                                \
        return -1;                                                                         \
    } while (0)

/* An integer field in [lo, hi]. json-c reads integers beyond int64 as INT64_MAX or
 * INT64_MIN, so the bounds exclude those: an overflow is out of range, never a
 * value. -0 is 0. 0 or -1 with msg. */
static int get_int(json_object *v, const char *name, int64_t lo, int64_t hi, int64_t *out,
                   char *msg, size_t msglen)
{
    assert(lo > INT64_MIN && hi < INT64_MAX && lo <= hi);
    if (!json_object_is_type(v, json_type_int))
        FAIL("%s: must be an integer", name);
    int64_t x = json_object_get_int64(v);
    if (x < lo || x > hi)
        FAIL("%s: must be between %lld and %lld", name, (long long)lo, (long long)hi);
    *out = x;
    return 0;
}

/* An epoch ms integer (0..TR_REST_EPOCH_MS_MAX) or an RFC 3339 string. */
static int get_time(json_object *v, const char *name, int64_t *out, char *msg, size_t msglen)
{
    if (json_object_is_type(v, json_type_string)) {
        if (tr_rfc3339_parse(json_object_get_string(v), out) != 0)
            FAIL("%s: not an RFC 3339 date-time (e.g. 2026-11-26T15:00:00Z)", name);
        if (*out < 0)
            FAIL("%s: before 1970", name);
        if (*out > TR_REST_EPOCH_MS_MAX)
            FAIL("%s: after 9999-12-31T23:59:59.999Z", name);
        return 0;
    }
    if (!json_object_is_type(v, json_type_int))
        FAIL("%s: must be epoch milliseconds (integer) or an RFC 3339 string", name);
    return get_int(v, name, 0, TR_REST_EPOCH_MS_MAX, out, msg, msglen);
}

/* delay_ms / seconds / at (pointers NULL when absent): exactly one, or none when
 * optional. *given says whether one was. */
static int read_when(json_object *delay, json_object *secs, json_object *at, int optional,
                     int64_t now_ms, int64_t max_delay_ms, tr_rest_when *out, int *given,
                     char *msg, size_t msglen)
{
    out->delay_ms = 0;
    out->at_ms = -1;
    int n = (delay != NULL) + (secs != NULL) + (at != NULL);
    *given = n > 0;
    if (n > 1)
        FAIL("give only one of delay_ms, seconds, at");
    if (n == 0) {
        if (optional)
            return 0;
        FAIL("delay_ms, seconds or at: one is required");
    }
    if (delay != NULL)
        return get_int(delay, "delay_ms", 0, max_delay_ms, &out->delay_ms, msg, msglen);
    if (secs != NULL) {
        if (!json_object_is_type(secs, json_type_int) &&
            !json_object_is_type(secs, json_type_double))
            FAIL("seconds: must be a number");
        double d = json_object_get_double(secs);
        if (isnan(d) || d < 0 || signbit(d))
            FAIL("seconds: must be a number >= 0 (not -0.0)");
        if (d * 1000.0 > (double)max_delay_ms)
            FAIL("seconds: at most %lld", (long long)(max_delay_ms / 1000));
        out->delay_ms = (int64_t)llround(d * 1000.0);
        return 0;
    }
    if (get_time(at, "at", &out->at_ms, msg, msglen) != 0)
        return -1;
    if (out->at_ms > now_ms && out->at_ms - now_ms > max_delay_ms)
        FAIL("at: more than %lld s ahead", (long long)(max_delay_ms / 1000));
    return 0;
}

/* A copy of a string field's value; -1 with msg when not a string (or OOM). */
static int dup_string(json_object *v, const char *name, char **out, char *msg, size_t msglen)
{
    if (!json_object_is_type(v, json_type_string))
        FAIL("%s: must be a string", name);
    const char *s = json_object_get_string(v);
    size_t n = (size_t)json_object_get_string_len(v);
    if (strlen(s) != n)
        FAIL("%s: holds a NUL character", name);
    *out = malloc(n + 1);
    if (*out == NULL)
        FAIL("out of memory");
    memcpy(*out, s, n + 1);
    return 0;
}

/* target: 1 for a delivery target (http(s) or tcp, tr_url_check_target), 0 for an
 * http(s) URL only (failure_url: its notice is an HTTP POST). */
static int read_url(json_object *v, const char *name, int target, char **out, char *msg,
                    size_t msglen)
{
    if (dup_string(v, name, out, msg, msglen) != 0)
        return -1;
    if ((target ? tr_url_check_target(*out, name, msg, msglen)
                : tr_url_check(*out, name, msg, msglen)) != 0) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return 0;
}

static int read_data(json_object *v, tr_timer_spec *spec, char *msg, size_t msglen)
{
    switch (tr_json_read_data(v, &spec->data, &spec->data_len)) {
    case TR_JSON_DATA_OK:
        return 0;
    case TR_JSON_DATA_BAD_TYPE:
        FAIL("data: must be a string, object or array");
    case TR_JSON_DATA_NO_MEMORY:
    default:
        FAIL("out of memory");
    }
}

static int read_headers(json_object *v, tr_timer_spec *spec, char *msg, size_t msglen)
{
    if (!json_object_is_type(v, json_type_object))
        FAIL("headers: must be an object of strings");
    size_t count = 0, bytes = 0;
    json_object_object_foreach(v, name, val)
    {
        if (++count > TR_REST_HEADERS_MAX)
            FAIL("headers: at most %d", TR_REST_HEADERS_MAX);
        if (!tr_header_name_is_token(name))
            FAIL("headers: '%.64s' is not an HTTP token", name);
        /* Names are case-insensitive: "X-A" and "x-a" would both be sent and read
         * as one header "1, 2". At most TR_REST_HEADERS_MAX names: the scan is short. */
        json_object_object_foreach(v, other, oval)
        {
            (void)oval;
            if (other == name)
                break;
            if (strcasecmp(other, name) == 0)
                FAIL("headers: '%.64s' given twice (names are case-insensitive)", name);
        }
        if (tr_header_reserved(name))
            FAIL("headers: '%.64s' may not be set: TimeRush or libcurl sets it (docs/API.md)",
                 name);
        if (!json_object_is_type(val, json_type_string))
            FAIL("headers: value of '%.64s' must be a string", name);
        const char *s = json_object_get_string(val);
        size_t n = (size_t)json_object_get_string_len(val);
        if (!tr_header_value_ok(s, n))
            FAIL("headers: value of '%.64s' holds a control character or starts or ends "
                 "with whitespace (it would not be sent as given)",
                 name);
        bytes += strlen(name) + n;
        if (bytes > TR_REST_HEADERS_BYTES)
            FAIL("headers: more than %d bytes in all", TR_REST_HEADERS_BYTES);
    }
    size_t n = 0;
    const char *s = tr_json_text(v, &n);
    if (s == NULL || (spec->headers_json = malloc(n + 1)) == NULL)
        FAIL("out of memory");
    memcpy(spec->headers_json, s, n + 1);
    return 0;
}

static int read_retry(json_object *v, tr_timer_policy *p, char *msg, size_t msglen)
{
    if (!json_object_is_type(v, json_type_object))
        FAIL("retry: must be an object");
    json_object_object_foreach(v, name, val)
    {
        int64_t x;
        if (strcmp(name, "max_attempts") == 0) {
            if (get_int(val, "retry.max_attempts", 1, 1000, &x, msg, msglen) != 0)
                return -1;
            p->max_attempts = (int)x;
        } else if (strcmp(name, "min_backoff_ms") == 0) {
            if (get_int(val, "retry.min_backoff_ms", 1, 86400000, &x, msg, msglen) != 0)
                return -1;
            p->min_backoff_ms = x;
        } else if (strcmp(name, "max_backoff_ms") == 0) {
            if (get_int(val, "retry.max_backoff_ms", 1, 86400000, &x, msg, msglen) != 0)
                return -1;
            p->max_backoff_ms = x;
        } else {
            FAIL("retry.%.64s: unknown field", name);
        }
    }
    if (p->min_backoff_ms > 0 && p->max_backoff_ms > 0 && p->max_backoff_ms < p->min_backoff_ms)
        FAIL("retry.max_backoff_ms: must be >= retry.min_backoff_ms");
    return 0;
}

enum {
    F_KEY, F_URL, F_DATA, F_DELAY, F_SECONDS, F_AT, F_HEADERS, F_RETRY, F_TIMEOUT, F_FAILURE,
    F_EVERY, F_CRON, F_UNTIL, F_COUNT, F_CHAIN_LIMIT, F_N
};
static const char *const field_names[F_N] = {
    "key",     "url",   "data",       "delay_ms", "seconds", "at",    "headers",
    "retry",   "timeout_ms", "failure_url", "every_ms", "cron", "until", "count",
    "chain_limit"};

/* Sorts obj's fields into f[] (NULL when absent); -1 on an unknown field. */
static int collect(json_object *obj, json_object **f, int allowed_max, char *msg, size_t msglen)
{
    for (int i = 0; i < F_N; i++)
        f[i] = NULL;
    json_object_object_foreach(obj, name, val)
    {
        int k = 0;
        while (k < F_N && strcmp(name, field_names[k]) != 0)
            k++;
        if (k == F_N || (allowed_max >= 0 && (k < F_DELAY || k > F_AT)))
            FAIL("%.64s: unknown field", name);
        f[k] = val;
    }
    return 0;
}

static int parse_create(json_object *obj, int64_t now_ms, int64_t max_delay_ms,
                        tr_rest_create *out, char *msg, size_t msglen)
{
    json_object *f[F_N];
    if (collect(obj, f, -1, msg, msglen) != 0)
        return -1;
    tr_timer_spec *spec = &out->spec;
    if (f[F_KEY] != NULL) {
        if (!json_object_is_type(f[F_KEY], json_type_string))
            FAIL("key: must be a string");
        const char *k = json_object_get_string(f[F_KEY]);
        if ((size_t)json_object_get_string_len(f[F_KEY]) != strlen(k) ||
            tr_timer_key_check(k) != 0)
            FAIL("key: must be 1 to 128 characters of A-Z a-z 0-9 . _ : - (not . or ..)");
        assert(strlen(k) <= TR_KEY_MAX); /* tr_timer_key_check() bounds it */
        memcpy(out->key, k, strlen(k) + 1);
    }
    if (f[F_URL] == NULL)
        FAIL("url: missing");
    if (read_url(f[F_URL], "url", 1, &spec->url, msg, msglen) != 0)
        return -1;
    if (f[F_DATA] == NULL)
        FAIL("data: missing");
    if (read_data(f[F_DATA], spec, msg, msglen) != 0)
        return -1;
    int given = 0;
    if (read_when(f[F_DELAY], f[F_SECONDS], f[F_AT], 1, now_ms, max_delay_ms, &out->when,
                  &given, msg, msglen) != 0)
        return -1;
    if (f[F_HEADERS] != NULL && read_headers(f[F_HEADERS], spec, msg, msglen) != 0)
        return -1;
    if (f[F_RETRY] != NULL && read_retry(f[F_RETRY], &spec->policy, msg, msglen) != 0)
        return -1;
    if (f[F_TIMEOUT] != NULL &&
        get_int(f[F_TIMEOUT], "timeout_ms", 100, 3600000, &spec->policy.timeout_ms, msg,
                msglen) != 0)
        return -1;
    if (f[F_FAILURE] != NULL && read_url(f[F_FAILURE], "failure_url", 0, &spec->failure_url, msg,
                                         msglen) != 0)
        return -1;
    if (f[F_CHAIN_LIMIT] != NULL) {
        if (get_int(f[F_CHAIN_LIMIT], "chain_limit", 0, TR_CHAIN_LIMIT_MAX, &spec->chain_limit,
                    msg, msglen) != 0)
            return -1;
        spec->has_chain_limit = 1;
    }
    tr_timer_schedule *sc = &spec->schedule;
    /* A period is a delay between firings (the first one too): the same bound. */
    if (f[F_EVERY] != NULL && f[F_CRON] != NULL)
        FAIL("give only one of every_ms, cron");
    if (f[F_EVERY] != NULL &&
        get_int(f[F_EVERY], "every_ms", 100, max_delay_ms, &sc->every_ms, msg, msglen) != 0)
        return -1;
    tr_cron cron;
    if (f[F_CRON] != NULL) {
        if (dup_string(f[F_CRON], "cron", &sc->cron, msg, msglen) != 0)
            return -1;
        char why[160];
        if (strlen(sc->cron) > TR_CRON_MAX_LEN ||
            tr_cron_parse(sc->cron, &cron, why, sizeof why) != 0)
            FAIL("cron: %s", strlen(sc->cron) > TR_CRON_MAX_LEN ? "too long" : why);
    }
    int recurring = f[F_EVERY] != NULL || f[F_CRON] != NULL;
    if (!recurring && (f[F_UNTIL] != NULL || f[F_COUNT] != NULL))
        FAIL("%s: only with every_ms or cron", f[F_UNTIL] != NULL ? "until" : "count");
    if (f[F_UNTIL] != NULL && get_time(f[F_UNTIL], "until", &sc->until_ms, msg, msglen) != 0)
        return -1;
    if (f[F_COUNT] != NULL &&
        get_int(f[F_COUNT], "count", 1, INT64_MAX / 4, &sc->count, msg, msglen) != 0)
        return -1;
    if (!given && recurring) {
        /* The schedule's first time after now. */
        if (sc->every_ms > 0) {
            out->when.delay_ms = sc->every_ms;
        } else {
            out->when.at_ms = tr_cron_next(&cron, now_ms);
            if (out->when.at_ms < 0)
                FAIL("cron: never fires");
        }
    } else if (!given) {
        FAIL("delay_ms, seconds or at: one is required");
    }
    return 0;
}

int tr_rest_parse_create(json_object *obj, int64_t now_ms, int64_t max_delay_ms,
                         tr_rest_create *out, char *msg, size_t msglen)
{
    memset(out, 0, sizeof *out);
    out->when.at_ms = -1;
    if (msglen > 0)
        msg[0] = '\0';
    if (!json_object_is_type(obj, json_type_object))
        FAIL("a timer must be a JSON object");
    if (parse_create(obj, now_ms, max_delay_ms, out, msg, msglen) != 0) {
        tr_rest_create_clear(out);
        return -1;
    }
    return 0;
}

int tr_rest_parse_when(json_object *obj, int64_t now_ms, int64_t max_delay_ms,
                       tr_rest_when *out, char *msg, size_t msglen)
{
    json_object *f[F_N];
    int given = 0;
    if (!json_object_is_type(obj, json_type_object))
        FAIL("body must be a JSON object");
    if (collect(obj, f, 1, msg, msglen) != 0)
        return -1;
    return read_when(f[F_DELAY], f[F_SECONDS], f[F_AT], 0, now_ms, max_delay_ms, out, &given,
                     msg, msglen);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes src[0..len) into dst (dstlen with the NUL): "%XX" is two hex
 * digits (not %00), '+' a space. 0 or -1. */
static int url_decode(const char *src, size_t len, char *dst, size_t dstlen)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = src[i];
        if (c == '%') {
            int hi = i + 2 < len ? hex_digit(src[i + 1]) : -1;
            int lo = hi >= 0 ? hex_digit(src[i + 2]) : -1;
            if (lo < 0 || (hi == 0 && lo == 0))
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        } else if (c == '+') {
            c = ' ';
        }
        if (o + 1 >= dstlen)
            return -1;
        dst[o++] = c;
    }
    dst[o] = '\0';
    return 0;
}

/* Cursor text: "<score>:<key>" (opaque to clients), score 0..INT64_MAX. 0, or -1
 * with msg. */
static int cursor_parse(const char *text, int64_t *score, char *key, size_t keylen, char *msg,
                        size_t msglen)
{
    const char *colon = strchr(text, ':');
    if (colon == NULL)
        FAIL("cursor: not a cursor we gave");
    switch (tr_num_parse(text, (size_t)(colon - text), 0, INT64_MAX, score)) {
    case TR_NUM_OK:
        break;
    case TR_NUM_RANGE:
        FAIL("cursor: position out of range (not a cursor we gave)");
    case TR_NUM_SYNTAX:
    default:
        FAIL("cursor: not a cursor we gave");
    }
    size_t kl = strlen(colon + 1);
    if (kl + 1 > keylen || tr_timer_key_check(colon + 1) != 0)
        FAIL("cursor: not a cursor we gave");
    memcpy(key, colon + 1, kl + 1);
    return 0;
}

int tr_rest_parse_list_query(const char *query, tr_rest_list_query *out, char *msg,
                             size_t msglen)
{
    memset(out, 0, sizeof *out);
    out->limit = TR_REST_LIST_DEFAULT;
    const char *q = query;
    while (*q != '\0') {
        size_t len = strcspn(q, "&");
        const char *eq = memchr(q, '=', len);
        size_t nlen = eq != NULL ? (size_t)(eq - q) : len;
        char val[2 * TR_KEY_MAX + 64];
        if (eq == NULL || url_decode(eq + 1, len - nlen - 1, val, sizeof val) != 0)
            FAIL("query: '%.*s' is not name=value", (int)(len > 64 ? 64 : len), q);
        if (nlen == 5 && memcmp(q, "state", 5) == 0) {
            if (strcmp(val, "pending") == 0)
                out->dead = 0;
            else if (strcmp(val, "dead") == 0)
                out->dead = 1;
            else
                FAIL("state: must be pending or dead");
        } else if (nlen == 5 && memcmp(q, "limit", 5) == 0) {
            int64_t limit = 0;
            if (tr_num_parse(val, strlen(val), 1, TR_REST_LIST_MAX, &limit) != TR_NUM_OK)
                FAIL("limit: must be a whole number from 1 to %d", TR_REST_LIST_MAX);
            out->limit = (size_t)limit;
        } else if (nlen == 6 && memcmp(q, "cursor", 6) == 0) {
            if (val[0] != '\0') {
                if (cursor_parse(val, &out->after_score, out->after_key, sizeof out->after_key,
                                 msg, msglen) != 0)
                    return -1;
                out->has_cursor = 1;
            }
        } else {
            FAIL("query: unknown parameter '%.*s'", (int)(nlen > 64 ? 64 : nlen), q);
        }
        q += len;
        if (*q == '&')
            q++;
    }
    return 0;
}
