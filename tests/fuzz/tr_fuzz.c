/* tr_fuzz.c - input helpers for the fuzz targets (tr_fuzz.h). */
#include "tr_fuzz.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <string.h>

#include "tr_headers.h"
#include "tr_header_rules.h"
#include "tr_json.h"
#include "tr_rest_parse.h"
#include "tr_timer.h"

uint8_t tr_fuzz_u8(tr_fuzz_in *in)
{
    if (in->left == 0)
        return 0;
    in->left--;
    return *in->p++;
}

uint64_t tr_fuzz_u64(tr_fuzz_in *in)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)tr_fuzz_u8(in) << (8 * i);
    return v;
}

const uint8_t *tr_fuzz_field(tr_fuzz_in *in, uint8_t sep, size_t *len)
{
    const uint8_t *start = in->p;
    const uint8_t *end = in->left > 0 ? memchr(in->p, sep, in->left) : NULL;
    size_t n = end != NULL ? (size_t)(end - start) : in->left;
    *len = n;
    in->p += n;
    in->left -= n;
    if (end != NULL) { /* skip the separator */
        in->p++;
        in->left--;
    }
    return start;
}

char *tr_fuzz_str(const void *p, size_t len)
{
    char *s = malloc(len + 1);
    if (s == NULL)
        abort();
    if (len > 0)
        memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

char *tr_fuzz_bytes(const void *p, size_t len)
{
    char *s = malloc(len > 0 ? len : 1);
    if (s == NULL)
        abort();
    if (len > 0)
        memcpy(s, p, len);
    return s;
}

char *tr_fuzz_field_str(tr_fuzz_in *in, uint8_t sep)
{
    size_t n = 0;
    const uint8_t *p = tr_fuzz_field(in, sep, &n);
    return tr_fuzz_str(p, n);
}

/* Both NULL, or equal strings. */
static int same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

void tr_fuzz_check_record_round_trip(const tr_timer_spec *spec)
{
    char *rec = NULL;
    size_t rec_len = 0;
    TR_FUZZ_CHECK(tr_timer_record_encode(spec, &rec, &rec_len) == 0, "encode failed");
    TR_FUZZ_CHECK(rec != NULL && strlen(rec) == rec_len, "record holds a NUL or is unterminated");
    tr_timer_spec back;
    TR_FUZZ_CHECK(tr_timer_record_decode(rec, rec_len, &back) == 0, "own record refused: %s", rec);
    TR_FUZZ_CHECK(same_str(back.url, spec->url), "url changed: %s", rec);
    TR_FUZZ_CHECK(back.data_len == spec->data_len &&
                      (spec->data_len == 0 || memcmp(back.data, spec->data, spec->data_len) == 0),
                  "data changed: %s", rec);
    TR_FUZZ_CHECK(same_str(back.headers_json, spec->headers_json), "headers changed: '%s' -> '%s'",
                  spec->headers_json ? spec->headers_json : "(none)",
                  back.headers_json ? back.headers_json : "(none)");
    TR_FUZZ_CHECK(same_str(back.failure_url, spec->failure_url), "failure_url changed: %s", rec);
    TR_FUZZ_CHECK(memcmp(&back.policy, &spec->policy, sizeof back.policy) == 0,
                  "policy changed: %s", rec);
    TR_FUZZ_CHECK(same_str(back.schedule.cron, spec->schedule.cron) &&
                      back.schedule.every_ms == spec->schedule.every_ms &&
                      back.schedule.until_ms == spec->schedule.until_ms &&
                      back.schedule.count == spec->schedule.count &&
                      back.schedule.fired == spec->schedule.fired,
                  "schedule changed: %s", rec);
    TR_FUZZ_CHECK(back.has_chain_limit == spec->has_chain_limit &&
                      back.chain_limit == spec->chain_limit,
                  "chain_limit changed: %s", rec);
    /* The decoded spec encodes to the very same record (the create script compares
     * records as text). */
    char *again = NULL;
    size_t again_len = 0;
    TR_FUZZ_CHECK(tr_timer_record_encode(&back, &again, &again_len) == 0, "re-encode failed");
    TR_FUZZ_CHECK(again_len == rec_len && memcmp(again, rec, rec_len) == 0,
                  "record not stable: '%s' -> '%s'", rec, again);
    free(again);
    tr_timer_spec_clear(&back);
    free(rec);
}

void tr_fuzz_check_headers_sent(const char *headers_json)
{
    if (headers_json == NULL)
        return;
    json_object *o = json_tokener_parse(headers_json);
    TR_FUZZ_CHECK(o != NULL && json_object_is_type(o, json_type_object),
                  "accepted headers are not an object: %s", headers_json);
    int members = json_object_object_length(o);
    json_object_put(o);
    struct curl_slist *list = NULL;
    int skipped = -1;
    TR_FUZZ_CHECK(tr_headers_merge(&list, headers_json, &skipped) == 0, "merge failed: %s",
                  headers_json);
    TR_FUZZ_CHECK(skipped == 0, "%d accepted header(s) not sent: %s", skipped, headers_json);
    int lines = 0;
    for (struct curl_slist *l = list; l != NULL; l = l->next, lines++) {
        const char *s = l->data;
        size_t name_len = strcspn(s, ":;");
        TR_FUZZ_CHECK(s[name_len] != '\0', "line without ':' or ';': %s", s);
        TR_FUZZ_CHECK(strpbrk(s, "\r\n") == NULL, "CR or LF in a header line");
        char *name = tr_fuzz_str(s, name_len);
        TR_FUZZ_CHECK(tr_header_name_is_token(name) && !tr_header_reserved(name),
                      "bad or reserved name sent: %s", s);
        free(name);
        if (s[name_len] == ';')
            TR_FUZZ_CHECK(s[name_len + 1] == '\0', "'Name;' with more after it: %s", s);
        else
            TR_FUZZ_CHECK(s[name_len + 1] == ' ' && s[name_len + 2] != '\0',
                          "'Name: value' malformed: %s", s);
    }
    TR_FUZZ_CHECK(lines == members, "%d members, %d lines: %s", members, lines, headers_json);
    curl_slist_free_all(list);
}

int tr_fuzz_parse_create_with(const char *name, json_object *value, tr_rest_create *out,
                              char *msg, size_t msglen)
{
    json_object *body = json_object_new_object();
    TR_FUZZ_CHECK(body != NULL, "out of memory");
    tr_json_add(body, "url", json_object_new_string("http://app/hook"));
    tr_json_add(body, "data", json_object_new_string(""));
    tr_json_add(body, "delay_ms", json_object_new_int(0));
    tr_json_add(body, name, json_object_get(value));
    int got = tr_rest_parse_create(body, 0, 1000, out, msg, msglen) == 0;
    json_object_put(body);
    return got;
}
