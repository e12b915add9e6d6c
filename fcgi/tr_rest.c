#include "tr_rest.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "tr_auth.h"
#include "tr_rest_admin.h"
#include "tr_rest_reply.h"
#include "tr_rest_timers.h"
#include "tr_timer.h"

typedef int (*plain_fn)(const tr_config *, tr_store *, const tr_http_request *,
                        tr_http_response *);
typedef int (*key_fn)(const tr_config *, tr_store *, const tr_http_request *, tr_http_response *,
                      const char *);

typedef enum auth_kind { AUTH_TOKEN, AUTH_NONE, AUTH_METRICS } auth_kind;

/* One path pattern and its methods. */
typedef struct rest_route {
    const char *prefix;   /* the path, or the part before {key} */
    const char *suffix;   /* after {key}; NULL: no {key} in this path */
    auth_kind auth;
    const char *allow;    /* the Allow header */
    struct {
        const char *method;
        int has_body;     /* POST with a JSON body: size and Content-Type checked */
        plain_fn plain;
        key_fn keyed;
    } m[2];
} rest_route;

static const rest_route routes[] = {
    {"/v1/timers/batch", NULL, AUTH_TOKEN, "POST", {{"POST", 1, tr_rest_batch, NULL}}},
    {"/v1/timers", NULL, AUTH_TOKEN, "GET, POST",
     {{"POST", 1, tr_rest_create_timer, NULL}, {"GET", 0, tr_rest_list, NULL}}},
    {"/v1/timers/", "/reschedule", AUTH_TOKEN, "POST", {{"POST", 1, NULL, tr_rest_reschedule}}},
    {"/v1/timers/", "/replay", AUTH_TOKEN, "POST", {{"POST", 0, NULL, tr_rest_replay}}},
    {"/v1/timers/", "", AUTH_TOKEN, "DELETE, GET",
     {{"GET", 0, NULL, tr_rest_get}, {"DELETE", 0, NULL, tr_rest_delete}}},
    {"/v1/pause", NULL, AUTH_TOKEN, "POST", {{"POST", 0, tr_rest_pause, NULL}}},
    {"/v1/resume", NULL, AUTH_TOKEN, "POST", {{"POST", 0, tr_rest_resume, NULL}}},
    {"/v1/stats", NULL, AUTH_TOKEN, "GET", {{"GET", 0, tr_rest_stats, NULL}}},
    {"/healthz", NULL, AUTH_NONE, "GET", {{"GET", 0, tr_rest_healthz, NULL}}},
    {"/metrics", NULL, AUTH_METRICS, "GET", {{"GET", 0, tr_rest_metrics, NULL}}},
};

int tr_rest_owns(const char *path)
{
    return strncmp(path, "/v1/", 4) == 0 || strcmp(path, "/v1") == 0 ||
           strcmp(path, "/healthz") == 0 || strcmp(path, "/metrics") == 0;
}

/* Matches path against r; for a {key} route copies the key (checked) into key.
 * 1 match, 0 no match. */
static int match(const rest_route *r, const char *path, char *key, size_t keylen)
{
    size_t pl = strlen(r->prefix);
    if (r->suffix == NULL)
        return strcmp(path, r->prefix) == 0;
    if (strncmp(path, r->prefix, pl) != 0)
        return 0;
    const char *k = path + pl;
    size_t sl = strlen(r->suffix), rest = strlen(k);
    if (rest <= sl || strcmp(k + rest - sl, r->suffix) != 0)
        return 0;
    size_t kl = rest - sl;
    if (kl >= keylen || memchr(k, '/', kl) != NULL)
        return 0;
    memcpy(key, k, kl);
    key[kl] = '\0';
    return 1;
}

int tr_rest_dispatch(const tr_config *cfg, tr_store *store, const tr_http_request *req,
                     tr_http_response *resp)
{
    char key[TR_KEY_MAX + 64];
    const rest_route *r = NULL;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0] && r == NULL; i++)
        if (match(&routes[i], req->path, key, sizeof key))
            r = &routes[i];
    int need_token = r == NULL || r->auth == AUTH_TOKEN || (r->auth == AUTH_METRICS && cfg->metrics_auth);
    if (need_token && tr_auth_check(cfg, req->authorization) != 0) {
        if (tr_http_response_add_header(resp, "WWW-Authenticate", "Bearer") != 0)
            return -1;
        return tr_rest_error(resp, 401, "unauthorized", "Authorization: Bearer <token> required");
    }
    if (r == NULL)
        return tr_rest_error(resp, 404, "not_found", "no such endpoint");
    int m = -1;
    for (int i = 0; i < 2; i++)
        if (r->m[i].method != NULL && strcmp(req->method, r->m[i].method) == 0)
            m = i;
    if (m < 0) {
        char msg[128];
        snprintf(msg, sizeof msg, "method not allowed: use %s", r->allow);
        if (tr_http_response_add_header(resp, "Allow", r->allow) != 0)
            return -1;
        return tr_rest_error(resp, 405, "method_not_allowed", msg);
    }
    if (r->suffix != NULL && tr_timer_key_check(key) != 0)
        return tr_rest_error(resp, 404, "not_found",
                             "no such timer (keys are 1 to 128 of A-Z a-z 0-9 . _ : -)");
    if (r->m[m].has_body) {
        tr_ret body = tr_http_body_check(req, (size_t)cfg->max_body_bytes);
        if (body == TR_RET_TOO_LARGE) {
            char msg[128];
            snprintf(msg, sizeof msg, "body larger than %d bytes (--max-body)", cfg->max_body_bytes);
            return tr_rest_error(resp, 413, "too_large", msg);
        }
        if (body != TR_RET_OK)
            return tr_rest_error(resp, 400, "bad_request", "unreadable Content-Length");
        tr_http_body_type bt = tr_http_body_type_of(req);
        if (bt != TR_HTTP_BODY_NONE && bt != TR_HTTP_BODY_JSON)
            return tr_rest_error(resp, 415, "unsupported_media_type",
                                 "Content-Type: must be application/json");
    }
    if (r->m[m].keyed != NULL)
        return r->m[m].keyed(cfg, store, req, resp, key);
    return r->m[m].plain(cfg, store, req, resp);
}
