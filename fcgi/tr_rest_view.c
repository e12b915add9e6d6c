#include "tr_rest_view.h"

#include <string.h>

#include "tr_header_rules.h"
#include "tr_json.h"

/* name: value when `set`, else name: null. 0 or -1. */
static int add_int_or_null(json_object *o, const char *name, int set, int64_t value)
{
    return set ? tr_json_add(o, name, json_object_new_int64(value)) : tr_json_add_null(o, name);
}

/* Replaces the value of every secret header (tr_header_secret()) in o's "headers"
 * with TR_HEADER_REDACTED: credentials given at create time are never answered. */
static int redact_headers(json_object *o)
{
    json_object *h = NULL;
    if (!json_object_object_get_ex(o, "headers", &h) || !json_object_is_type(h, json_type_object))
        return 0;
    json_object_object_foreach(h, name, value)
    {
        (void)value;
        /* Replacing an existing key's value leaves the table as it is, so the
         * iteration stays valid. */
        if (tr_header_secret(name) &&
            json_object_object_add(h, name, json_object_new_string(TR_HEADER_REDACTED)) != 0)
            return -1;
    }
    return 0;
}

/* The fields every state shares, from the spec. 0 or -1. */
static int add_spec(json_object *o, const tr_timer_spec *spec)
{
    if (tr_json_add(o, "url", json_object_new_string(spec->url)) != 0 ||
        tr_json_add(o, "data", json_object_new_string_len(spec->data ? spec->data : "",
                                                          (int)spec->data_len)) != 0)
        return -1;
    static const tr_timer_names api_names = {
        "headers", "retry", {"max_attempts", "min_backoff_ms", "max_backoff_ms"}, "timeout_ms",
        "failure_url"};
    if (tr_timer_policy_add(o, spec, &api_names) != 0 || redact_headers(o) != 0)
        return -1;
    if (spec->has_chain_limit &&
        tr_json_add(o, "chain_limit", json_object_new_int64(spec->chain_limit)) != 0)
        return -1;
    const tr_timer_schedule *sc = &spec->schedule;
    if (sc->every_ms > 0 || sc->cron != NULL) {
        json_object *s = json_object_new_object();
        if ((sc->every_ms > 0 &&
             tr_json_add(s, "every_ms", json_object_new_int64(sc->every_ms)) != 0) ||
            (sc->cron != NULL && tr_json_add(s, "cron", json_object_new_string(sc->cron)) != 0) ||
            add_int_or_null(s, "until", sc->until_ms > 0, sc->until_ms) != 0 ||
            add_int_or_null(s, "count", sc->count > 0, sc->count) != 0 ||
            tr_json_add(s, "fired", json_object_new_int64(sc->fired)) != 0) {
            json_object_put(s);
            return -1;
        }
        if (tr_json_add(o, "schedule", s) != 0)
            return -1;
    }
    return 0;
}

/* last_status and last_error from the meta JSON of the last failure. */
static int add_last(json_object *o, const char *meta, size_t meta_len)
{
    json_object *status = NULL, *error = NULL;
    json_object *m = meta != NULL && meta_len > 0 ? json_tokener_parse(meta) : NULL;
    json_object *v = NULL;
    if (m != NULL && json_object_object_get_ex(m, "status", &v) &&
        json_object_is_type(v, json_type_int) && json_object_get_int64(v) > 0)
        status = json_object_new_int64(json_object_get_int64(v));
    if (m != NULL && json_object_object_get_ex(m, "error", &v) &&
        json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0)
        error = json_object_new_string(json_object_get_string(v));
    json_object_put(m);
    int rc = (status != NULL ? tr_json_add(o, "last_status", status)
                             : tr_json_add_null(o, "last_status")) != 0 ? -1 : 0;
    if (rc != 0)
        json_object_put(error);
    else if ((error != NULL ? tr_json_add(o, "last_error", error)
                            : tr_json_add_null(o, "last_error")) != 0)
        rc = -1;
    return rc;
}

static json_object *build(const char *key, const tr_timer_spec *spec, tr_timer_state state,
                          int64_t score_ms, int64_t now_ms, int64_t attempts, const char *meta,
                          size_t meta_len)
{
    json_object *o = json_object_new_object();
    int64_t ttl = state == TR_STATE_PENDING && score_ms > now_ms ? score_ms - now_ms : 0;
    if (tr_json_add(o, "key", json_object_new_string(key)) != 0 ||
        tr_json_add(o, "state", json_object_new_string(tr_timer_state_name(state))) != 0 ||
        add_spec(o, spec) != 0 ||
        add_int_or_null(o, "due_ms", state == TR_STATE_PENDING, score_ms) != 0 ||
        tr_json_add(o, "ttl_ms", json_object_new_int64(ttl)) != 0 ||
        tr_json_add(o, "attempts", json_object_new_int64(attempts)) != 0 ||
        add_last(o, meta, meta_len) != 0 ||
        (state == TR_STATE_DEAD &&
         tr_json_add(o, "dead_at_ms", json_object_new_int64(score_ms)) != 0)) {
        json_object_put(o);
        return NULL;
    }
    return o;
}

json_object *tr_rest_view_timer(const tr_timer_view *v, int *bad_record)
{
    tr_timer_spec spec;
    *bad_record = 0;
    if (v->record == NULL || tr_timer_record_decode(v->record, v->record_len, &spec) != 0) {
        *bad_record = 1;
        return NULL;
    }
    json_object *o = build(v->id, &spec, v->state, v->score_ms, v->now_ms, v->attempts, v->meta,
                           v->meta_len);
    tr_timer_spec_clear(&spec);
    return o;
}

json_object *tr_rest_view_new(const char *key, const tr_timer_spec *spec, int64_t due_ms,
                              int64_t now_ms)
{
    return build(key, spec, TR_STATE_PENDING, due_ms, now_ms, 0, NULL, 0);
}
