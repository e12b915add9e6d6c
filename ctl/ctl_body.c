/* ctl_body.c - create and reschedule bodies (ctl_body.h). */
#include "ctl_body.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_json.h"
#include "tr_mem.h"
#include "tr_num.h"

/* An integer option as a JSON integer. */
static int add_int(json_object *o, const char *field, const char *opt, const char *text,
                   int64_t lo, char *err, size_t errlen)
{
    int64_t v;
    if (ctl_args_int(opt, text, lo, INT64_MAX, &v, err, errlen) != 0)
        return -1;
    if (tr_json_add(o, field, json_object_new_int64(v)) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

/* A time: digits are epoch ms, anything else an RFC 3339 string the API parses. */
static int add_time(json_object *o, const char *field, const char *text, char *err,
                    size_t errlen)
{
    int64_t ms;
    json_object *v = tr_num_parse(text, strlen(text), 0, INT64_MAX, &ms) == TR_NUM_OK
                         ? json_object_new_int64(ms)
                         : json_object_new_string(text);
    if (tr_json_add(o, field, v) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int ctl_body_when(json_object *body, const ctl_when *w, int required, char *err,
                  size_t errlen)
{
    int n = (w->delay_ms != NULL) + (w->seconds != NULL) + (w->at != NULL);
    if (n > 1 || (required && n == 0)) {
        snprintf(err, errlen, "give %s one of --delay-ms, --seconds, --at",
                 required ? "exactly" : "at most");
        return -1;
    }
    if (w->delay_ms != NULL)
        return add_int(body, "delay_ms", "delay-ms", w->delay_ms, 0, err, errlen);
    if (w->at != NULL)
        return add_time(body, "at", w->at, err, errlen);
    if (w->seconds != NULL) {
        double s;
        if (ctl_args_seconds("seconds", w->seconds, 0, 1e12, &s, err, errlen) != 0)
            return -1;
        /* _s keeps the text as typed, so 0.1 is sent as 0.1 and not 0.10000000000000001. */
        if (tr_json_add(body, "seconds", json_object_new_double_s(s, w->seconds)) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

/* --header "Name: value" into the headers object. */
static int add_headers(json_object *body, const ctl_strlist *l, char *err, size_t errlen)
{
    if (l->n == 0)
        return 0;
    json_object *h = json_object_new_object();
    if (h == NULL || tr_json_add(body, "headers", h) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (int i = 0; i < l->n; i++) {
        const char *colon = strchr(l->v[i], ':');
        if (colon == NULL || colon == l->v[i]) {
            snprintf(err, errlen, "--header '%s': expected 'Name: value'", l->v[i]);
            return -1;
        }
        char *name = tr_dup_bytes(l->v[i], (size_t)(colon - l->v[i]));
        if (name == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        const char *value = colon + 1;
        while (*value == ' ' || *value == '\t')
            value++;
        int rc = tr_json_add(h, name, json_object_new_string(value));
        free(name);
        if (rc != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

static int add_retry(json_object *body, const ctl_create_opts *o, char *err, size_t errlen)
{
    if (o->max_attempts == NULL && o->min_backoff_ms == NULL && o->max_backoff_ms == NULL)
        return 0;
    json_object *r = json_object_new_object();
    if (r == NULL || tr_json_add(body, "retry", r) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (o->max_attempts != NULL &&
        add_int(r, "max_attempts", "max-attempts", o->max_attempts, 1, err, errlen) != 0)
        return -1;
    if (o->min_backoff_ms != NULL &&
        add_int(r, "min_backoff_ms", "min-backoff-ms", o->min_backoff_ms, 1, err, errlen) != 0)
        return -1;
    if (o->max_backoff_ms != NULL &&
        add_int(r, "max_backoff_ms", "max-backoff-ms", o->max_backoff_ms, 1, err, errlen) != 0)
        return -1;
    return 0;
}

static int add_str(json_object *body, const char *field, const char *v, char *err,
                   size_t errlen)
{
    if (v == NULL)
        return 0;
    if (tr_json_add(body, field, json_object_new_string(v)) != 0) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

json_object *ctl_body_create(const ctl_create_opts *o, char *err, size_t errlen)
{
    if ((o->data == NULL) == (o->data_json == NULL)) {
        snprintf(err, errlen, "give exactly one of --data, --data-json");
        return NULL;
    }
    int recurring = o->every_ms != NULL || o->cron != NULL;
    json_object *body = json_object_new_object();
    if (body == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (add_str(body, "url", o->url, err, errlen) != 0 ||
        add_str(body, "key", o->key, err, errlen) != 0)
        goto fail;
    if (o->data != NULL) {
        if (add_str(body, "data", o->data, err, errlen) != 0)
            goto fail;
    } else {
        char msg[256];
        json_object *d = tr_json_parse_input(o->data_json, strlen(o->data_json), msg, sizeof msg);
        if (d == NULL) {
            snprintf(err, errlen, "--data-json: %s", msg);
            goto fail;
        }
        if (tr_json_add(body, "data", d) != 0) {
            snprintf(err, errlen, "out of memory");
            goto fail;
        }
    }
    if (ctl_body_when(body, &o->when, !recurring, err, errlen) != 0 ||
        add_headers(body, &o->headers, err, errlen) != 0 || add_retry(body, o, err, errlen) != 0)
        goto fail;
    if (o->timeout_ms != NULL &&
        add_int(body, "timeout_ms", "timeout-ms", o->timeout_ms, 0, err, errlen) != 0)
        goto fail;
    if (add_str(body, "failure_url", o->failure_url, err, errlen) != 0 ||
        add_str(body, "cron", o->cron, err, errlen) != 0)
        goto fail;
    if (o->every_ms != NULL &&
        add_int(body, "every_ms", "every-ms", o->every_ms, 0, err, errlen) != 0)
        goto fail;
    if (o->until != NULL && add_time(body, "until", o->until, err, errlen) != 0)
        goto fail;
    if (o->count != NULL && add_int(body, "count", "count", o->count, 1, err, errlen) != 0)
        goto fail;
    return body;
fail:
    json_object_put(body);
    return NULL;
}
