/* tr_rest.h - the REST API v1 (/v1/...), /healthz and /metrics: routing.
 *
 * Routes (docs/API.md, docs/openapi.yaml), with the scope each needs (tr_auth.h):
 *   /v1/timers                   POST create (write), GET list (read)
 *   /v1/timers/batch             POST (write; so "batch" is not usable as a key in paths)
 *   /v1/timers/{key}             GET (read), DELETE (write; a dead timer also admin)
 *   /v1/timers/{key}/reschedule  POST (write)
 *   /v1/timers/{key}/replay      POST (admin)
 *   /v1/pause, /v1/resume        POST (admin)
 *   /v1/stats                    GET (read)
 *   /healthz                     GET (never needs a token)
 *   /metrics                     GET (read or metrics, with --metrics-auth or
 *                                --metrics-token; else open)
 * Before a handler runs: the token (tr_auth.h: none or unknown 401, without the
 * scope 403; an unknown path or method asks for any valid token), then the method (405 with Allow),
 * then for a POST its body: over --max-body 413, a Content-Type other than
 * application/json 415 (absent is taken as JSON). Unknown /v1/ paths 404.
 */
#ifndef TR_REST_H
#define TR_REST_H

#include "tr_config.h"
#include "tr_http.h"
#include "tr_store.h"

/* 1 when path belongs to this module (/v1/..., /healthz, /metrics). */
int tr_rest_owns(const char *path);

/* Fills *resp (init'ed). 0, or -1 when out of memory and nothing could be filled. */
int tr_rest_dispatch(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                     tr_http_response *resp);

#endif
