/* tr_rest_reply.h - the REST API's answers: JSON bodies and error objects.
 *
 * Errors are {"error":{"code":"<snake_case>","message":"..."}} with the status the
 * code implies (docs/API.md). Every function fills *resp and returns 0, or -1
 * when out of memory and *resp could not be filled.
 */
#ifndef TR_REST_REPLY_H
#define TR_REST_REPLY_H

#include <json-c/json.h>

#include "tr_http.h"
#include "tr_store.h"

/* An error answer; logged at WARNING (4xx) or ERROR (5xx) with `what`. */
int tr_rest_error(tr_http_response *resp, int status, const char *code, const char *message);

/* A store failure: 503 store_unavailable or 500 internal (logged). */
int tr_rest_store_failed(tr_http_response *resp, tr_store *store, const char *what);

/* status and obj (consumed, also on failure; NULL counts as out of memory). */
int tr_rest_json(tr_http_response *resp, int status, json_object *obj);

/* {name: value} with value consumed; NULL when out of memory. */
json_object *tr_rest_wrap(const char *name, json_object *value);

/* Adds name: value to obj, value consumed also on failure. 0 or -1. */
int tr_rest_add(json_object *obj, const char *name, json_object *value);

#endif
