/* fuzz_route.c - a whole request through the handlers (tr_route_dispatch): routing,
 * the bearer token, methods, body size and Content-Type, then every handler's own
 * parsing (/register/, /unregister/, POST /v1/timers, the batch, reschedule, the
 * list query, keys in paths...), with a store whose Redis is never there (a unix
 * socket path that does not exist): each handler runs up to its store call, which
 * fails at once, so its error path is fuzzed too.
 *
 * Input: 1 byte choosing the method, 1 choosing the path (a known one, a known one
 * with the fuzzed key, or the fuzzed text itself), 1 of flags (a token configured,
 * the right token sent, Content-Type, Content-Length told or not), then '\n'-separated
 * fields: key or path, query, Authorization, Content-Type; then the body.
 * Checks: the handler fills the response (no -1); the status is one the API
 * documents; a JSON body parses; compat paths always answer with an integer "ret",
 * /v1/ errors with {"error":{"code","message"}}; header lines are whole CR LF lines;
 * and with a token configured, a request without it never gets a 2xx nor reaches
 * the store (no 503 store_unavailable, no ret 10), /healthz and /metrics aside.
 */
#include <string.h>
#include <strings.h>

#include "tr_config.h"
#include "tr_fuzz.h"
#include "tr_json.h"
#include "tr_log.h"
#include "tr_route.h"
#include "tr_store.h"

static tr_config cfg_open, cfg_token;
static tr_store *store_open, *store_token;

int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* Every log line formatted (DEBUG shows bodies), none kept. */
    (void)tr_log_open("fuzz_route", TR_LOG_DEBUG, "/dev/null");
    /* Through the option parser, as the program does: independent of how tr_config
     * keeps its tokens. */
    char *open_argv[] = {(char *)"fuzz_route", (char *)"--port=0",
                         (char *)"--redis-socket=/nonexistent/tr-fuzz/redis.sock",
                         (char *)"--redis-timeout-ms=10", NULL};
    char *token_argv[] = {(char *)"fuzz_route", (char *)"--port=0",
                          (char *)"--redis-socket=/nonexistent/tr-fuzz/redis.sock",
                          (char *)"--redis-timeout-ms=10", (char *)"--api-token=s3cret", NULL};
    char err[256];
    TR_FUZZ_CHECK(tr_config_parse(&cfg_open, TR_PROG_FCGI, "fuzz_route", 4, open_argv, err,
                                  sizeof err) == TR_CONFIG_OK, "%s", err);
    TR_FUZZ_CHECK(tr_config_parse(&cfg_token, TR_PROG_FCGI, "fuzz_route", 5, token_argv, err,
                                  sizeof err) == TR_CONFIG_OK, "%s", err);
    store_open = tr_store_new(&cfg_open);
    store_token = tr_store_new(&cfg_token);
    TR_FUZZ_CHECK(store_open != NULL && store_token != NULL, "tr_store_new");
    return 0;
}

static const char *const methods[] = {"POST", "GET", "DELETE", "PUT", "HEAD", "", "post"};
static const char *const paths[] = {
    "/register/", "/register", "/unregister/", "/unregister", "/v1/timers", "/v1/timers/batch",
    "/v1/timers/", "/v1/timers/%s", "/v1/timers/%s/reschedule", "/v1/timers/%s/replay",
    "/v1/pause", "/v1/resume", "/v1/stats", "/healthz", "/metrics", "/v1", "/v1/", "/"};
/* 403: a token without the scope a route needs (scoped tokens, docs/SECURITY.md). */
static const int known_status[] = {200, 201, 204, 400, 401, 403, 404, 405, 409, 413, 415, 500, 503};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tr_fuzz_in in = {data, size};
    uint8_t m = tr_fuzz_u8(&in), p = tr_fuzz_u8(&in), flags = tr_fuzz_u8(&in);
    char *field = tr_fuzz_field_str(&in, '\n');
    char *query = tr_fuzz_field_str(&in, '\n');
    char *auth = tr_fuzz_field_str(&in, '\n');
    char *ctype = tr_fuzz_field_str(&in, '\n');
    size_t nb = in.left;
    char *body = nb > 0 ? tr_fuzz_str(in.p, nb) : NULL;

    char path[512];
    size_t pi = p % (sizeof paths / sizeof paths[0] + 1);
    if (pi == sizeof paths / sizeof paths[0])
        snprintf(path, sizeof path, "%s", field); /* the fuzzed text itself */
    else if (strstr(paths[pi], "%s") != NULL) /* the fuzzed key in place of %s */
        snprintf(path, sizeof path, "%.*s%s%s", (int)(strstr(paths[pi], "%s") - paths[pi]),
                 paths[pi], field, strstr(paths[pi], "%s") + 2);
    else
        snprintf(path, sizeof path, "%s", paths[pi]);

    int token_set = flags & 1;
    int good_token = flags & 2;
    const tr_config *cfg = token_set ? &cfg_token : &cfg_open;
    tr_app app = {cfg, token_set ? store_token : store_open};
    tr_http_request req;
    memset(&req, 0, sizeof req);
    req.method = methods[m % (sizeof methods / sizeof methods[0])];
    req.path = path;
    req.query = query;
    req.body = body;
    req.body_len = nb;
    req.body_ret = TR_RET_OK;
    req.content_length = (flags & 4) ? (int64_t)nb : -1;
    req.content_type = (flags & 8) ? ctype : ((flags & 16) ? "application/json" : NULL);
    req.authorization = good_token ? "Bearer s3cret" : ((flags & 32) ? auth : NULL);

    tr_http_response resp;
    tr_http_response_init(&resp);
    TR_FUZZ_CHECK(tr_route_dispatch(&app, &req, &resp) == 0, "no response for %s %s", req.method, path);

    int known = 0;
    for (size_t i = 0; i < sizeof known_status / sizeof known_status[0]; i++)
        known |= resp.status == known_status[i];
    TR_FUZZ_CHECK(known, "status %d for %s %s", resp.status, req.method, path);
    /* Header lines: "Name: value\r\n" each, nothing else. */
    for (const char *h = resp.headers; *h != '\0';) {
        const char *eol = strstr(h, "\r\n");
        TR_FUZZ_CHECK(eol != NULL && memchr(h, '\n', (size_t)(eol - h)) == NULL &&
                          memchr(h, '\r', (size_t)(eol - h)) == NULL && strstr(h, ": ") < eol,
                      "header block '%s'", resp.headers);
        h = eol + 2;
    }
    json_object *answer = NULL;
    char msg[256];
    if (resp.content_type == NULL && resp.body_len > 0) {
        answer = tr_json_parse_value(resp.body, resp.body_len, msg, sizeof msg);
        TR_FUZZ_CHECK(answer != NULL && json_object_is_type(answer, json_type_object),
                      "answer is no JSON object (%s): %.*s", msg, (int)resp.body_len, resp.body);
    }
    /* Every path the REST API does not own answers the compat way, with "ret". */
    int v1 = strncmp(path, "/v1/", 4) == 0 || strcmp(path, "/v1") == 0;
    int compat = !v1 && strcmp(path, "/healthz") != 0 && strcmp(path, "/metrics") != 0;
    json_object *v = NULL, *code = NULL, *message = NULL;
    int reached_store = 0;
    if (compat) {
        TR_FUZZ_CHECK(answer != NULL && json_object_object_get_ex(answer, "ret", &v) &&
                          json_object_is_type(v, json_type_int),
                      "compat answer without an integer ret (status %d)", resp.status);
        reached_store = json_object_get_int(v) == TR_RET_STORE_DOWN;
    }
    if (v1 && resp.status >= 400) {
        TR_FUZZ_CHECK(answer != NULL && json_object_object_get_ex(answer, "error", &v) &&
                          json_object_object_get_ex(v, "code", &code) &&
                          json_object_object_get_ex(v, "message", &message) &&
                          json_object_is_type(code, json_type_string) &&
                          json_object_is_type(message, json_type_string),
                      "error answer of %s %s without error.code and error.message", req.method, path);
        reached_store = strcmp(json_object_get_string(code), "store_unavailable") == 0 ||
                        strcmp(json_object_get_string(code), "outcome_unknown") == 0;
    }
    if (token_set && !good_token && strcmp(path, "/healthz") != 0 && strcmp(path, "/metrics") != 0) {
        /* "Bearer" in any case, then spaces, then the token (docs/API.md). */
        const char *a = req.authorization;
        int real_token = a != NULL && strncasecmp(a, "Bearer ", 7) == 0 &&
                         strcmp(a + 7 + strspn(a + 7, " "), "s3cret") == 0;
        if (!real_token)
            TR_FUZZ_CHECK((resp.status < 200 || resp.status > 299) && !reached_store,
                          "%s %s without the token: status %d%s", req.method, path, resp.status,
                          reached_store ? ", store reached" : "");
    }
    json_object_put(answer);
    tr_http_response_clear(&resp);
    free(body);
    free(ctype);
    free(auth);
    free(query);
    free(field);
    return 0;
}
