#include "tr_route.h"

#include <stdio.h>
#include <string.h>

#include "tr_auth.h"
#include "tr_compat.h"
#include "tr_log.h"
#include "tr_rest.h"

typedef int (*tr_handler)(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                          tr_http_response *resp);

typedef struct route {
    const char *path;   /* exact match */
    const char *method; /* the one method served */
    tr_auth_need need;  /* the scope it needs (tr_auth.h) */
    tr_handler handler;
} route;

static const route routes[] = {
    {"/register/", "POST", TR_NEED_WRITE, tr_compat_register},
    {"/register", "POST", TR_NEED_WRITE, tr_compat_register},
    {"/unregister/", "POST", TR_NEED_WRITE, tr_compat_unregister},
    {"/unregister", "POST", TR_NEED_WRITE, tr_compat_unregister},
};

/* Copies up to len-1 bytes of path for a log line, control bytes as '.', so a
 * decoded "%0a" cannot forge log lines. */
static const char *loggable(const char *path, char *buf, size_t len)
{
    size_t i = 0;
    for (; path[i] != '\0' && i + 1 < len; i++)
        buf[i] = ((unsigned char)path[i] < 0x20 || path[i] == 0x7f) ? '.' : path[i];
    buf[i] = '\0';
    return buf;
}

int tr_route_dispatch(const tr_app *app, const tr_http_request *req, tr_http_response *resp)
{
    if (tr_rest_owns(req->path))
        return tr_rest_dispatch(app->cfg, app->store, req, resp);
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const route *r = &routes[i];
        if (strcmp(req->path, r->path) != 0)
            continue;
        /* The token before the method, as on /v1/: without one, 401 whatever the
         * method; a valid token of any scope may learn the method (405). */
        int method_ok = strcmp(req->method, r->method) == 0;
        tr_http_request reqc = *req;
        tr_auth_result a = tr_auth_check(app->cfg, req->authorization,
                                         method_ok ? r->need : TR_NEED_ANY, &reqc.auth_scopes);
        if (a == TR_AUTH_MISSING) {
            tr_log_warning("%s rejected ret=%d (%s): no valid bearer token", req->path,
                           (int)TR_RET_UNAUTHORIZED, tr_ret_name(TR_RET_UNAUTHORIZED));
            return tr_compat_error(resp, 401, TR_RET_UNAUTHORIZED, "unauthorized");
        }
        if (a == TR_AUTH_FORBIDDEN) {
            tr_log_warning("%s rejected ret=%d (%s): the token lacks the write scope",
                           req->path, (int)TR_RET_FORBIDDEN, tr_ret_name(TR_RET_FORBIDDEN));
            return tr_compat_error(resp, 403, TR_RET_FORBIDDEN,
                                   "forbidden: the token lacks the write scope");
        }
        if (!method_ok) {
            char msg[128], shown[20];
            snprintf(msg, sizeof msg, "method %s not allowed: use %s",
                     loggable(req->method, shown, sizeof shown), r->method);
            tr_log_warning("%s rejected ret=%d (%s): %s", req->path, (int)TR_RET_BAD_METHOD,
                           tr_ret_name(TR_RET_BAD_METHOD), msg);
            if (tr_compat_error(resp, 405, TR_RET_BAD_METHOD, msg) != 0)
                return -1;
            return tr_http_response_add_header(resp, "Allow", r->method);
        }
        return r->handler(app->cfg, app->store, &reqc, resp);
    }
    char shown[200];
    tr_log_warning("%s rejected ret=%d (%s): no such endpoint",
                   loggable(req->path, shown, sizeof shown),
                   (int)TR_RET_NOT_FOUND, tr_ret_name(TR_RET_NOT_FOUND));
    return tr_compat_error(resp, 404, TR_RET_NOT_FOUND, "no such endpoint");
}
