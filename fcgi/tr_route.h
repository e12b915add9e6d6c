/* tr_route.h - request dispatch: path and method to handler.
 *
 * The compatible endpoints (tr_compat.h) answer at /register/ and /unregister/
 * (with or without the trailing slash). Other methods there get 405 with
 * "Allow: POST" and {"ret":6,...}; unknown paths 404 with {"ret":7,...}. The REST
 * API (/v1/...) will be its own module, dispatched from here by prefix.
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
