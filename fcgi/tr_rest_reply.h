/* tr_rest_reply.h - the REST API's answers: JSON bodies and error objects.
 *
 * Errors are {"error":{"code":"<snake_case>","message":"..."}} with the status the
 * caller gives (docs/API.md has the table). Every function fills *resp and
 * returns 0, or -1 when out of memory and *resp could not be filled. Building the
 * JSON trees: tr_json_add() and tr_json_wrap() (tr_json.h).
 */
#ifndef TR_REST_REPLY_H
#define TR_REST_REPLY_H

#include <json-c/json.h>

#include "tr_http.h"
#include "tr_store.h"

/* The object {"code":code,"message":message}; NULL when out of memory. */
json_object *tr_rest_error_object(const char *code, const char *message);

/* An error answer; logs "rest: <status> <code>: <message>" at WARNING (4xx) or
 * ERROR (5xx). */
int tr_rest_error(tr_http_response *resp, int status, const char *code, const char *message);

/* A store failure: 503 store_unavailable (the store's message shown) or 500
 * internal (the store's message logged, not shown). `what` names the operation. */
int tr_rest_store_failed(tr_http_response *resp, tr_store *store, const char *what);

/* status and obj (consumed, also on failure; NULL counts as out of memory). */
int tr_rest_json(tr_http_response *resp, int status, json_object *obj);

#endif
