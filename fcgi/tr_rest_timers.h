/* tr_rest_timers.h - the /v1/timers handlers (docs/API.md).
 *
 * Each fills *resp (init'ed by the caller) from a request whose method, size,
 * Content-Type and token tr_rest.c has checked already; `key` is the {key} path
 * parameter, checked with tr_timer_key_check(). Returns 0, or -1 when out of
 * memory and *resp could not be filled.
 */
#ifndef TR_REST_TIMERS_H
#define TR_REST_TIMERS_H

#include "tr_config.h"
#include "tr_http.h"
#include "tr_store.h"

#define TR_REST_BATCH_MAX 1000 /* timers in one POST /v1/timers/batch */

int tr_rest_create_timer(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                   tr_http_response *resp);
int tr_rest_batch(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                  tr_http_response *resp);
int tr_rest_list(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                 tr_http_response *resp);
int tr_rest_get(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                tr_http_response *resp, const char *key);
int tr_rest_delete(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                   tr_http_response *resp, const char *key);
int tr_rest_reschedule(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                       tr_http_response *resp, const char *key);
int tr_rest_replay(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                   tr_http_response *resp, const char *key);

#endif
