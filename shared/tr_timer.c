/* tr_timer.c - timer keys, the compatible register object, and the stored record.
 *
 * Parsing rules (docs/PROTOCOL.md has the table):
 *  - the body is one JSON object (tr_json_parse_input(): json-c's strict tokener
 *    and tr_json_strict.h's rules), only whitespace
 *    after it, no NUL byte in the text;
 *  - a field of the wrong JSON type is TR_RET_BAD_FIELD; a `seconds` of the right
 *    type whose value is not a whole number in 1..max is TR_RET_BAD_SECONDS;
 *  - callback_cmd longer than TR_URL_MAX is TR_RET_TOO_LARGE, any other URL
 *    problem TR_RET_BAD_URL.
 */
#include "tr_timer.h"

#include <limits.h>
#include <math.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_json.h"
#include "tr_mem.h"
#include "tr_num.h"
#include "tr_url.h"

#include "tr_assert.h"

/* Generated keys run in groups of KEY_RUN sharing their first 3 characters, which
 * name the record's bucket in the store (shared/lua/prelude.lua): a batch's (or a
 * busy thread's) timers then share a few buckets, written and read with one call
 * each. Buckets are drawn at random per run, so 1 M pending timers fill 65,536
 * buckets evenly enough to stay small (a bucket turns into a hashtable only past
 * 128 records, about 4 runs; at 1 M timers about 9 buckets do). */
#define KEY_RUN 32
/* Random bytes taken from OpenSSL at a time: RAND_bytes checks for a fork
 * (getpid) and takes locks per call, which showed in profiles at one call a key. */
#define KEY_POOL (64 * 9)

/* Per thread: the pool of random bytes, the run's prefix and what is left of it.
 * A forked child starts with none (key_pool_reset), or it would repeat the
 * parent's keys. */
static _Thread_local struct {
    unsigned char pool[KEY_POOL];
    size_t pool_left;
    char prefix[3];
    int run_left;
} key_state;

static pthread_once_t key_atfork_once = PTHREAD_ONCE_INIT;

static void key_pool_reset(void)
{
    key_state.pool_left = 0;
    key_state.run_left = 0;
}

static void key_atfork(void)
{
    (void)pthread_atfork(NULL, NULL, key_pool_reset);
}

/* n (<= KEY_POOL) random bytes from the pool. 0, or -1 when OpenSSL failed. */
static int key_random(unsigned char *out, size_t n)
{
    if (key_state.pool_left < n) {
        if (RAND_bytes(key_state.pool, (int)sizeof key_state.pool) != 1)
            return -1;
        key_state.pool_left = sizeof key_state.pool;
    }
    key_state.pool_left -= n;
    memcpy(out, key_state.pool + key_state.pool_left, n);
    /* Taken bytes are not left behind in the pool. */
    memset(key_state.pool + key_state.pool_left, 0, n);
    return 0;
}

/* Writes 4 symbols per 3 bytes of b (n a multiple of 3) to out. */
static void key_symbols(const unsigned char *b, size_t n, char *out)
{
    /* Base64's 64 symbols inside the client-key alphabet, with '_' and '.' last:
     * never a '-', so a key never starts like a command-line option. */
    static const char sym[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
        for (int k = 18; k >= 0; k -= 6)
            *out++ = sym[(v >> k) & 0x3f];
    }
}

int tr_timer_new_key(char out[TR_KEY_LEN + 1])
{
    /* 16 characters: a 3-character prefix (18 random bits, shared by a run of
     * KEY_RUN keys) and 13 of their own (78 random bits: collisions within a prefix
     * stay negligible, about 1e-12 among 1e9 keys). A key is stored twice per timer
     * (docs/DATA_MODEL.md): 16 characters instead of a UUID's 36 is most of what
     * the store saves per timer. */
    (void)pthread_once(&key_atfork_once, key_atfork);
    unsigned char b[12];
    if (key_state.run_left == 0) {
        if (key_random(b, 3) != 0)
            return -1;
        char four[4];
        key_symbols(b, 3, four);
        memcpy(key_state.prefix, four + 1, 3); /* the low 18 bits */
        key_state.run_left = KEY_RUN;
    }
    key_state.run_left--;
    if (key_random(b, 12) != 0)
        return -1;
    char sym[16];
    key_symbols(b, 12, sym);
    memcpy(out, key_state.prefix, 3);
    memcpy(out + 3, sym + 3, 13); /* 78 of the 96 bits */
    assert(TR_KEY_LEN == 16);
    out[TR_KEY_LEN] = '\0';
    return 0;
}

static int key_char_ok(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == ':' || c == '-';
}

int tr_timer_key_check(const char *key)
{
    if (key == NULL)
        return -1;
    size_t n = 0;
    for (; key[n] != '\0'; n++) {
        if (n >= TR_KEY_MAX || !key_char_ok((unsigned char)key[n]))
            return -1;
    }
    /* "." and ".." would read as path segments in /v1/timers/{key} URLs. */
    if (n == 0 || strcmp(key, ".") == 0 || strcmp(key, "..") == 0)
        return -1;
    return 0;
}

void tr_timer_spec_clear(tr_timer_spec *spec)
{
    if (spec == NULL)
        return;
    free(spec->url);
    free(spec->data);
    free(spec->headers_json);
    free(spec->failure_url);
    free(spec->schedule.cron);
    memset(spec, 0, sizeof *spec);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* Python's int() on a str: optional surrounding whitespace, optional sign, ASCII
 * digits. Returns 0 with *out (saturated at INT64_MAX/-INT64_MAX: out of range
 * either way), -1 when the text is not an integer at all. */
static int parse_int_text(const char *s, size_t len, int64_t *out)
{
    size_t i = 0, end = len;
    while (i < end && is_space(s[i]))
        i++;
    while (end > i && is_space(s[end - 1]))
        end--;
    int neg = 0;
    if (i < end && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    int64_t v = 0;
    tr_num_result r = tr_num_parse(s + i, end - i, 0, INT64_MAX, &v);
    if (r == TR_NUM_SYNTAX)
        return -1;
    if (r == TR_NUM_RANGE)
        v = INT64_MAX;
    *out = neg ? -v : v;
    return 0;
}

/* Reads `seconds` into *out (any integer value; the caller checks the range).
 * Returns TR_RET_OK, TR_RET_BAD_FIELD (wrong type) or TR_RET_BAD_SECONDS (right
 * type, not a whole number), with msg set on failure. */
static tr_ret read_seconds(json_object *v, int64_t *out, char *msg, size_t msglen)
{
    switch (json_object_get_type(v)) {
    case json_type_int:
        /* json-c saturates integers beyond int64 to INT64_MAX/MIN: still out of range. */
        *out = json_object_get_int64(v);
        return TR_RET_OK;
    case json_type_double: {
        double d = json_object_get_double(v);
        /* 5.0 and 1e3 are whole numbers (Python's int() takes them); 1.5 is not. */
        if (isinf(d)) {
            *out = d > 0 ? INT64_MAX : INT64_MIN; /* 1e400: range check below */
            return TR_RET_OK;
        }
        if (isnan(d) || trunc(d) != d) {
            snprintf(msg, msglen, "seconds: must be a whole number");
            return TR_RET_BAD_SECONDS;
        }
        if (d >= 9.2e18 || d <= -9.2e18)
            *out = d > 0 ? INT64_MAX : INT64_MIN;
        else
            *out = (int64_t)d;
        return TR_RET_OK;
    }
    case json_type_string: {
        const char *s = json_object_get_string(v);
        int len = json_object_get_string_len(v);
        if (s == NULL || len < 0 || parse_int_text(s, (size_t)len, out) != 0) {
            snprintf(msg, msglen, "seconds: string is not a whole number");
            return TR_RET_BAD_SECONDS;
        }
        return TR_RET_OK;
    }
    default:
        snprintf(msg, msglen, "seconds: must be an integer or a string holding one");
        return TR_RET_BAD_FIELD;
    }
}

/* callback_data (tr_json_read_data()) into *data and *len. */
static tr_ret read_data(json_object *v, char **data, size_t *len, char *msg, size_t msglen)
{
    switch (tr_json_read_data(v, data, len)) {
    case TR_JSON_DATA_OK:
        return TR_RET_OK;
    case TR_JSON_DATA_BAD_TYPE:
        snprintf(msg, msglen, "callback_data: must be a string, object or array");
        return TR_RET_BAD_FIELD;
    case TR_JSON_DATA_NO_MEMORY:
    default:
        snprintf(msg, msglen, "out of memory");
        return TR_RET_INTERNAL;
    }
}

/* The optional chain_limit: 0..TR_CHAIN_LIMIT_MAX, a JSON integer or (form
 * fields are text) a string holding one. TR_RET_OK or TR_RET_BAD_FIELD with msg. */
static tr_ret read_chain_limit(json_object *v, int64_t *out, char *msg, size_t msglen)
{
    int64_t n = -1;
    if (json_object_is_type(v, json_type_int)) {
        n = json_object_get_int64(v);
    } else if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        int len = json_object_get_string_len(v);
        if (s == NULL || len < 0 ||
            tr_num_parse(s, (size_t)len, 0, TR_CHAIN_LIMIT_MAX, &n) != TR_NUM_OK)
            n = -1;
    }
    if (n < 0 || n > TR_CHAIN_LIMIT_MAX) {
        snprintf(msg, msglen, "chain_limit: must be an integer from 0 to %d", TR_CHAIN_LIMIT_MAX);
        return TR_RET_BAD_FIELD;
    }
    *out = n;
    return TR_RET_OK;
}

tr_ret tr_timer_spec_from_compat(json_object *obj, int64_t max_delay_s, tr_timer_spec *out,
                                 char *msg, size_t msglen)
{
    tr_timer_spec spec = {0};
    static const char *const names[3] = {"callback_cmd", "callback_data", "seconds"};
    json_object *f[3] = {NULL, NULL, NULL};
    tr_ret ret = TR_RET_OK;
    memset(out, 0, sizeof *out);
    if (msglen > 0)
        msg[0] = '\0';

    if (!json_object_is_type(obj, json_type_object)) {
        snprintf(msg, msglen, "body must be a JSON object");
        return TR_RET_BAD_JSON;
    }
    for (size_t i = 0; i < 3; i++) {
        if (!json_object_object_get_ex(obj, names[i], &f[i])) {
            snprintf(msg, msglen, "%s: missing", names[i]);
            return TR_RET_BAD_FIELD;
        }
    }
    json_object *cmd = f[0], *data = f[1], *secs = f[2];

    /* callback_cmd */
    if (!json_object_is_type(cmd, json_type_string)) {
        snprintf(msg, msglen, "callback_cmd: must be a string");
        return TR_RET_BAD_FIELD;
    }
    const char *url = json_object_get_string(cmd);
    int url_len = json_object_get_string_len(cmd);
    if (url == NULL || url_len < 0) {
        snprintf(msg, msglen, "callback_cmd: must be a string");
        return TR_RET_BAD_FIELD;
    }
    if ((size_t)url_len > TR_URL_MAX) {
        snprintf(msg, msglen, "callback_cmd: longer than %d bytes", TR_URL_MAX);
        return TR_RET_TOO_LARGE;
    }
    if (strlen(url) != (size_t)url_len) {
        snprintf(msg, msglen, "callback_cmd: holds a NUL character");
        return TR_RET_BAD_URL;
    }
    if (tr_url_check_target(url, "callback_cmd", msg, msglen) != 0)
        return TR_RET_BAD_URL;

    /* seconds */
    int64_t s = 0;
    ret = read_seconds(secs, &s, msg, msglen);
    if (ret != TR_RET_OK)
        return ret;
    if (s <= 0) {
        snprintf(msg, msglen, "seconds: must be greater than 0");
        return TR_RET_BAD_SECONDS;
    }
    if (s > max_delay_s) {
        snprintf(msg, msglen, "seconds: at most %lld", (long long)max_delay_s);
        return TR_RET_BAD_SECONDS;
    }

    /* callback_data */
    ret = read_data(data, &spec.data, &spec.data_len, msg, msglen);
    if (ret != TR_RET_OK)
        goto fail;
    spec.url = tr_dup_bytes(url, (size_t)url_len);
    if (spec.url == NULL) {
        snprintf(msg, msglen, "out of memory");
        ret = TR_RET_INTERNAL;
        goto fail;
    }
    spec.delay_ms = s * 1000; /* s <= max_delay_s (bounded by tr_config), no overflow */
    json_object *cl = NULL;
    if (json_object_object_get_ex(obj, "chain_limit", &cl)) {
        ret = read_chain_limit(cl, &spec.chain_limit, msg, msglen);
        if (ret != TR_RET_OK)
            goto fail;
        spec.has_chain_limit = 1;
    }
    *out = spec;
    return TR_RET_OK;
fail:
    tr_timer_spec_clear(&spec);
    return ret;
}

tr_ret tr_timer_spec_parse_compat(const char *body, size_t len, int64_t max_delay_s,
                                  tr_timer_spec *out, char *msg, size_t msglen)
{
    memset(out, 0, sizeof *out);
    json_object *obj = tr_json_parse_input(body, len, msg, msglen);
    if (obj == NULL)
        return TR_RET_BAD_JSON;
    tr_ret ret = tr_timer_spec_from_compat(obj, max_delay_s, out, msg, msglen);
    json_object_put(obj);
    return ret;
}

const tr_timer_names tr_timer_record_names = {"h", "r", {"n", "lo", "hi"}, "t", "f"};

int tr_timer_policy_add(json_object *obj, const tr_timer_spec *spec, const tr_timer_names *names)
{
    if (spec->headers_json != NULL) {
        json_object *h = json_tokener_parse(spec->headers_json);
        if (h == NULL || !json_object_is_type(h, json_type_object)) {
            json_object_put(h);
            return -1;
        }
        if (tr_json_add(obj, names->headers, h) != 0)
            return -1;
    }
    const tr_timer_policy *p = &spec->policy;
    if (p->max_attempts > 0 || p->min_backoff_ms > 0 || p->max_backoff_ms > 0) {
        json_object *r = json_object_new_object();
        if (r == NULL ||
            (p->max_attempts > 0 &&
             tr_json_add(r, names->retry_keys[0], json_object_new_int(p->max_attempts)) != 0) ||
            (p->min_backoff_ms > 0 &&
             tr_json_add(r, names->retry_keys[1], json_object_new_int64(p->min_backoff_ms)) != 0) ||
            (p->max_backoff_ms > 0 &&
             tr_json_add(r, names->retry_keys[2], json_object_new_int64(p->max_backoff_ms)) != 0)) {
            json_object_put(r);
            return -1;
        }
        if (tr_json_add(obj, names->retry, r) != 0)
            return -1;
    }
    if (p->timeout_ms > 0 &&
        tr_json_add(obj, names->timeout, json_object_new_int64(p->timeout_ms)) != 0)
        return -1;
    if (spec->failure_url != NULL &&
        tr_json_add(obj, names->failure_url, json_object_new_string(spec->failure_url)) != 0)
        return -1;
    return 0;
}

/* The REST fields, each only when set, in the documented order; "fd" last (the
 * create script compares records with it cut off). */
static int encode_rest(json_object *obj, const tr_timer_spec *spec)
{
    if (tr_timer_policy_add(obj, spec, &tr_timer_record_names) != 0)
        return -1;
    const tr_timer_schedule *sc = &spec->schedule;
    if (sc->every_ms > 0 && tr_json_add(obj, "e", json_object_new_int64(sc->every_ms)) != 0)
        return -1;
    if (sc->cron != NULL && tr_json_add(obj, "c", json_object_new_string(sc->cron)) != 0)
        return -1;
    if (sc->until_ms > 0 && tr_json_add(obj, "un", json_object_new_int64(sc->until_ms)) != 0)
        return -1;
    if (sc->count > 0 && tr_json_add(obj, "cn", json_object_new_int64(sc->count)) != 0)
        return -1;
    if (spec->has_chain_limit &&
        tr_json_add(obj, "cl", json_object_new_int64(spec->chain_limit)) != 0)
        return -1;
    if (sc->fired > 0 && tr_json_add(obj, "fd", json_object_new_int64(sc->fired)) != 0)
        return -1;
    return 0;
}

int tr_timer_spec_plain(const tr_timer_spec *spec)
{
    const tr_timer_policy *p = &spec->policy;
    const tr_timer_schedule *sc = &spec->schedule;
    return spec->headers_json == NULL && spec->failure_url == NULL && p->max_attempts <= 0 &&
           p->min_backoff_ms <= 0 && p->max_backoff_ms <= 0 && p->timeout_ms <= 0 &&
           sc->every_ms <= 0 && sc->cron == NULL && sc->until_ms <= 0 && sc->count <= 0 &&
           sc->fired <= 0 && !spec->has_chain_limit;
}

/* The usual record, {"u":..,"d":..}, without a json-c tree: one allocation. */
static int encode_plain(const tr_timer_spec *spec, char **out, size_t *out_len)
{
    size_t ul = strlen(spec->url);
    size_t dl = spec->data_len;
    if (ul > (SIZE_MAX - 32) / 12 || dl > (SIZE_MAX - 32) / 12 - ul)
        return -1;
    char *buf = malloc((ul + dl) * 6 + 16);
    if (buf == NULL)
        return -1;
    char *o = buf;
    memcpy(o, "{\"u\":", 5);
    o = tr_json_escape(o + 5, spec->url, ul);
    memcpy(o, ",\"d\":", 5);
    o = tr_json_escape(o + 5, spec->data != NULL ? spec->data : "", dl);
    *o++ = '}';
    *o = '\0';
    *out = buf;
    *out_len = (size_t)(o - buf);
    return 0;
}

int tr_timer_record_encode(const tr_timer_spec *spec, char **out, size_t *out_len)
{
    int rc = -1;
    json_object *obj = NULL;
    *out = NULL;
    *out_len = 0;
    if (spec->url == NULL || spec->data_len > INT_MAX)
        return -1;
    if (tr_timer_spec_plain(spec))
        return encode_plain(spec, out, out_len);
    obj = json_object_new_object();
    if (obj == NULL)
        return -1;
    if (tr_json_add(obj, "u", json_object_new_string(spec->url)) != 0 ||
        tr_json_add(obj, "d", json_object_new_string_len(spec->data ? spec->data : "",
                                                       (int)spec->data_len)) != 0 ||
        encode_rest(obj, spec) != 0)
        goto done;
    size_t n = 0;
    const char *s = tr_json_text(obj, &n);
    if (s == NULL)
        goto done;
    *out = tr_dup_bytes(s, n);
    if (*out == NULL)
        goto done;
    *out_len = n;
    rc = 0;
done:
    json_object_put(obj);
    return rc;
}

/* Reads an integer field >= 0 when present (0 when absent). -1 when it has the
 * wrong type. */
static int get_i64(json_object *obj, const char *name, int64_t *out)
{
    json_object *v = NULL;
    *out = 0;
    if (!json_object_object_get_ex(obj, name, &v))
        return 0;
    if (!json_object_is_type(v, json_type_int))
        return -1;
    *out = json_object_get_int64(v);
    return *out < 0 ? -1 : 0;
}

/* Copies a string field when present (NULL when absent). -1 wrong type or OOM. */
static int get_str(json_object *obj, const char *name, char **out)
{
    json_object *v = NULL;
    *out = NULL;
    if (!json_object_object_get_ex(obj, name, &v))
        return 0;
    if (!json_object_is_type(v, json_type_string))
        return -1;
    *out = tr_dup_bytes(json_object_get_string(v), (size_t)json_object_get_string_len(v));
    return *out == NULL ? -1 : 0;
}

static int decode_rest(json_object *obj, tr_timer_spec *out)
{
    json_object *h = NULL, *r = NULL;
    if (json_object_object_get_ex(obj, "h", &h)) {
        if (!json_object_is_type(h, json_type_object))
            return -1;
        size_t n = 0;
        const char *s = tr_json_text(h, &n);
        if (s == NULL || (out->headers_json = tr_dup_bytes(s, n)) == NULL)
            return -1;
    }
    if (json_object_object_get_ex(obj, "r", &r)) {
        int64_t n = 0;
        if (!json_object_is_type(r, json_type_object) || get_i64(r, "n", &n) != 0 ||
            n > INT_MAX || get_i64(r, "lo", &out->policy.min_backoff_ms) != 0 ||
            get_i64(r, "hi", &out->policy.max_backoff_ms) != 0)
            return -1;
        out->policy.max_attempts = (int)n;
    }
    tr_timer_schedule *sc = &out->schedule;
    if (get_i64(obj, "t", &out->policy.timeout_ms) != 0 ||
        get_str(obj, "f", &out->failure_url) != 0 || get_i64(obj, "e", &sc->every_ms) != 0 ||
        get_str(obj, "c", &sc->cron) != 0 || get_i64(obj, "un", &sc->until_ms) != 0 ||
        get_i64(obj, "cn", &sc->count) != 0 || get_i64(obj, "fd", &sc->fired) != 0)
        return -1;
    json_object *cl = NULL;
    if (json_object_object_get_ex(obj, "cl", &cl)) {
        if (get_i64(obj, "cl", &out->chain_limit) != 0 || out->chain_limit > TR_CHAIN_LIMIT_MAX)
            return -1;
        out->has_chain_limit = 1;
    }
    return 0;
}

int tr_timer_record_decode(const char *rec, size_t len, tr_timer_spec *out)
{
    char msg[160];
    json_object *u = NULL, *d = NULL;
    int rc = -1;
    memset(out, 0, sizeof *out);
    json_object *obj = tr_json_parse_value(rec, len, msg, sizeof msg);
    if (obj == NULL)
        return -1;
    if (!json_object_is_type(obj, json_type_object) ||
        !json_object_object_get_ex(obj, "u", &u) || !json_object_is_type(u, json_type_string) ||
        !json_object_object_get_ex(obj, "d", &d) || !json_object_is_type(d, json_type_string))
        goto done;
    int ul = json_object_get_string_len(u), dl = json_object_get_string_len(d);
    if (ul < 0 || dl < 0)
        goto done;
    out->url = tr_dup_bytes(json_object_get_string(u), (size_t)ul);
    out->data = tr_dup_bytes(json_object_get_string(d), (size_t)dl);
    if (out->url == NULL || out->data == NULL) {
        tr_timer_spec_clear(out);
        goto done;
    }
    out->data_len = (size_t)dl;
    out->delay_ms = 0;
    if (decode_rest(obj, out) != 0) {
        tr_timer_spec_clear(out);
        goto done;
    }
    rc = 0;
done:
    json_object_put(obj);
    return rc;
}
