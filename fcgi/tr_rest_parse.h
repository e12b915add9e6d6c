/* tr_rest_parse.h - the REST API's requests: a timer to create, a new time, the
 * list's query string.
 *
 * Pure validation (no I/O): json-c objects or text in, a tr_timer_spec, a due time
 * or a list query out, or a message naming the field. docs/API.md has the rules. Unknown fields are
 * rejected (a typo must not silently change what a timer does).
 */
#ifndef TR_REST_PARSE_H
#define TR_REST_PARSE_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "tr_timer.h"

#define TR_REST_HEADERS_MAX 32          /* extra callback headers per timer */
#define TR_REST_HEADERS_BYTES 8192      /* names + values of those, in all */
#define TR_REST_LIST_DEFAULT 100        /* timers on a page of GET /v1/timers */
#define TR_REST_LIST_MAX 1000
#define TR_REST_EPOCH_MS_MAX 253402300799999LL /* 9999-12-31T23:59:59.999Z: at, until */

/* When a timer fires: a delay from Redis's now, or an absolute epoch ms. */
typedef struct tr_rest_when {
    int64_t delay_ms;   /* >= 0; used when at_ms < 0 */
    int64_t at_ms;      /* epoch ms, or -1 */
} tr_rest_when;

/* A parsed create body. Owns spec's strings: clear with tr_rest_create_clear(). */
typedef struct tr_rest_create {
    char key[TR_KEY_MAX + 1];  /* the client's key, or "" when it gave none */
    tr_timer_spec spec;        /* spec.delay_ms is unused: see when */
    tr_rest_when when;
} tr_rest_create;

void tr_rest_create_clear(tr_rest_create *c);

/* Parses one create object. now_ms (wall clock, epoch ms) places a cron
 * schedule's first firing; max_delay_ms bounds delays and how far ahead "at" may
 * lie. Returns 0 and fills *out, or -1 with *out zeroed and msg naming the field
 * (status 400 invalid_field, or invalid_json when obj is not an object). */
int tr_rest_parse_create(json_object *obj, int64_t now_ms, int64_t max_delay_ms,
                         tr_rest_create *out, char *msg, size_t msglen);

/* Parses a reschedule body: exactly one of delay_ms, seconds, at and nothing
 * else. 0 or -1 with msg. */
int tr_rest_parse_when(json_object *obj, int64_t now_ms, int64_t max_delay_ms,
                       tr_rest_when *out, char *msg, size_t msglen);

/* GET /v1/timers?state=pending|dead&limit=N&cursor=C, parsed. */
typedef struct tr_rest_list_query {
    int dead;                        /* 1: state=dead; 0: pending (the default) */
    size_t limit;                    /* 1..TR_REST_LIST_MAX; TR_REST_LIST_DEFAULT */
    int has_cursor;                  /* 1: start strictly after (after_score, after_key) */
    int64_t after_score;             /* ms (due or dead time) of the last timer shown */
    char after_key[TR_KEY_MAX + 1];  /* its key */
} tr_rest_list_query;

/* Parses the query string (without '?'; "" for none). 0, or -1 with msg naming the
 * parameter (status 400 bad_request): unknown parameter, bad state, limit or
 * cursor. */
int tr_rest_parse_list_query(const char *query, tr_rest_list_query *out, char *msg,
                             size_t msglen);


/* 0 when `name` may be set as an extra callback header: an HTTP token that
 * tr_header_reserved() does not reserve (tr_header_rules.h); -1 otherwise. */
int tr_rest_header_allowed(const char *name);

#endif
