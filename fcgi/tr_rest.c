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

/* One path pattern and its methods, each with the scope it needs (tr_auth.h;
 * docs/SECURITY.md has the same table). */
typedef struct rest_route {
    const char *prefix;   /* the path, or the part before {key} */
    const char *suffix;   /* after {key}; NULL: no {key} in this path */
    const char *allow;    /* the Allow header */
    struct {
        const char *method;
        tr_auth_need need;
        int has_body;     /* POST with a JSON body: size and Content-Type checked */
        plain_fn plain;
        key_fn keyed;
    } m[2];
} rest_route;

/* DELETE: write for a pending or in-flight timer, admin for a dead one, which
 * tr_rest_delete checks in the same store call that removes it. */
static const rest_route routes[] = {
    {"/v1/timers/batch", NULL, "POST", {{"POST", TR_NEED_WRITE, 1, tr_rest_batch, NULL}}},
    {"/v1/timers", NULL, "GET, POST",
     {{"POST", TR_NEED_WRITE, 1, tr_rest_create_timer, NULL},
      {"GET", TR_NEED_READ, 0, tr_rest_list, NULL}}},
    {"/v1/timers/", "/reschedule", "POST",
     {{"POST", TR_NEED_WRITE, 1, NULL, tr_rest_reschedule}}},
    {"/v1/timers/", "/replay", "POST", {{"POST", TR_NEED_ADMIN, 0, NULL, tr_rest_replay}}},
    {"/v1/timers/", "", "DELETE, GET",
     {{"GET", TR_NEED_READ, 0, NULL, tr_rest_get},
      {"DELETE", TR_NEED_WRITE_OR_ADMIN, 0, NULL, tr_rest_delete}}},
    {"/v1/pause", NULL, "POST", {{"POST", TR_NEED_ADMIN, 0, tr_rest_pause, NULL}}},
    {"/v1/resume", NULL, "POST", {{"POST", TR_NEED_ADMIN, 0, tr_rest_resume, NULL}}},
    {"/v1/stats", NULL, "GET", {{"GET", TR_NEED_READ, 0, tr_rest_stats, NULL}}},
    {"/healthz", NULL, "GET", {{"GET", TR_NEED_OPEN, 0, tr_rest_healthz, NULL}}},
    {"/metrics", NULL, "GET", {{"GET", TR_NEED_METRICS, 0, tr_rest_metrics, NULL}}},
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

/* Answers a failed check: 401 (+ WWW-Authenticate) or 403. */
static int refuse(tr_http_response *resp, tr_auth_result a)
{
    if (a == TR_AUTH_FORBIDDEN)
        return tr_rest_error(resp, 403, "forbidden",
                             "the token lacks the scope this endpoint needs");
    if (tr_http_response_add_header(resp, "WWW-Authenticate", "Bearer") != 0)
        return -1;
    return tr_rest_error(resp, 401, "unauthorized", "Authorization: Bearer <token> required");
}

int tr_rest_dispatch(const tr_config *cfg, tr_store *store, const tr_http_request *in,
                     tr_http_response *resp)
{
    char key[TR_KEY_MAX + 64];
    const rest_route *r = NULL;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0] && r == NULL; i++)
        if (match(&routes[i], in->path, key, sizeof key))
            r = &routes[i];
    int m = -1;
    for (int i = 0; r != NULL && i < 2; i++)
        if (r->m[i].method != NULL && strcmp(in->method, r->m[i].method) == 0)
            m = i;
    /* The token first, so without one nothing is revealed: not which paths exist
     * (404), nor their methods (405). Any valid token may learn those. */
    tr_auth_need need = TR_NEED_ANY;
    if (m >= 0)
        need = r->m[m].need;
    else if (r != NULL && (r->m[0].need == TR_NEED_OPEN || r->m[0].need == TR_NEED_METRICS))
        need = r->m[0].need; /* /healthz's and /metrics' 405 as open as their GET */
    tr_http_request reqc = *in;
    const tr_http_request *req = &reqc;
    tr_auth_result a = tr_auth_check(cfg, in->authorization, need, &reqc.auth_scopes);
    if (a != TR_AUTH_OK)
        return refuse(resp, a);
    if (r == NULL)
        return tr_rest_error(resp, 404, "not_found", "no such endpoint");
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
