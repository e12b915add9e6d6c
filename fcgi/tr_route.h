/* tr_route.h - request dispatch: path and method to handler.
 *
 * Paths tr_rest_owns() claims (/v1/..., /healthz, /metrics) go to the REST API
 * (tr_rest.h), which does its own token, method and body checks. The compatible
 * endpoints (tr_compat.h) answer at /register/ and /unregister/ (with or without
 * the trailing slash), and need the write scope (tr_auth.h). First the token: a
 * missing or wrong bearer token 401 with {"ret":8,"msg":"unauthorized"} (whatever
 * the method); then other methods 405 with "Allow: POST" and {"ret":6,...}; then a
 * token without the write scope 403 with {"ret":9,...}. Any other path: 404 with
 * {"ret":7,...}.
 */
#ifndef TR_ROUTE_H
#define TR_ROUTE_H

#include "tr_config.h"
#include "tr_http.h"
#include "tr_store.h"

/* What every handler may use. Borrowed: cfg and store outlive the requests. */
typedef struct tr_app {
    const tr_config *cfg;
    tr_store *store;
} tr_app;

/* Fills *resp (init'ed by the caller) for req. Returns 0, or -1 when out of
 * memory and *resp could not be filled (the caller answers a plain 500). */
int tr_route_dispatch(const tr_app *app, const tr_http_request *req, tr_http_response *resp);

#endif
