/* ctl_api.c - API calls and their exit codes (ctl_api.h). */
#include "ctl_api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_json.h"

static int exit_for_status(long status)
{
    if (status == 401 || status == 403)
        return CTL_EXIT_AUTH;
    if (status == 404)
        return CTL_EXIT_NOT_FOUND;
    return CTL_EXIT_SERVER;
}

/* Prints an error answer: the API's code and message when the body is one, else
 * the first line of whatever came (nginx's own pages, a proxy). */
static void print_error(const ctl_ctx *ctx, const ctl_reply *r)
{
    char msg[256];
    fflush(stdout); /* what came before the error stays before it in a shared terminal */
    json_object *o = tr_json_parse_value(r->body, r->len, msg, sizeof msg);
    json_object *e = o != NULL ? ctl_api_get(o, "error", json_type_object) : NULL;
    if (e != NULL) {
        fprintf(stderr, "%s: HTTP %ld %s: %s\n", ctx->prog, r->status,
                ctl_api_str(e, "code", "?"), ctl_api_str(e, "message", ""));
    } else {
        size_t n = strcspn(r->body, "\r\n");
        if (n > 200)
            n = 200;
        fprintf(stderr, "%s: HTTP %ld: %.*s\n", ctx->prog, r->status, (int)n, r->body);
    }
    json_object_put(o);
}

/* One request; a 2xx answer in *r (the caller clears it). Otherwise prints why
 * and returns the exit code (r cleared): CTL_EXIT_CONNECT, or exit_for_status(). */
static int fetch(ctl_ctx *ctx, const char *method, const char *path, const char *body,
                 ctl_reply *r)
{
    char err[512];
    if (ctl_http_do(ctx->http, method, path, body, r, err, sizeof err) != 0) {
        fprintf(stderr, "%s: cannot reach the server: %s\n", ctx->prog, err);
        return CTL_EXIT_CONNECT;
    }
    if (r->status < 200 || r->status > 299) {
        print_error(ctx, r);
        int code = exit_for_status(r->status);
        ctl_reply_clear(r);
        return code;
    }
    return CTL_EXIT_OK;
}

int ctl_api_call(ctl_ctx *ctx, const char *method, const char *path, const char *body,
                 json_object **out, char **raw)
{
    *out = NULL;
    if (raw != NULL)
        *raw = NULL;
    ctl_reply r;
    int rc = fetch(ctx, method, path, body, &r);
    if (rc != CTL_EXIT_OK)
        return rc;
    char msg[256];
    json_object *o = tr_json_parse_value(r.body, r.len, msg, sizeof msg);
    if (o == NULL || !json_object_is_type(o, json_type_object)) {
        fprintf(stderr, "%s: %s %s: HTTP %ld but the answer is not a JSON object%s%s\n",
                ctx->prog, method, path, r.status, o == NULL ? ": " : "", o == NULL ? msg : "");
        json_object_put(o);
        ctl_reply_clear(&r);
        return CTL_EXIT_SERVER;
    }
    *out = o;
    if (raw != NULL)
        *raw = r.body; /* handed over */
    else
        free(r.body);
    return CTL_EXIT_OK;
}

int ctl_api_text(ctl_ctx *ctx, const char *path, char **text)
{
    *text = NULL;
    ctl_reply r;
    int rc = fetch(ctx, "GET", path, NULL, &r);
    if (rc != CTL_EXIT_OK)
        return rc;
    *text = r.body;
    return CTL_EXIT_OK;
}

void ctl_api_print_raw(const char *text)
{
    size_t n = strlen(text);
    fputs(text, stdout);
    if (n == 0 || text[n - 1] != '\n')
        fputc('\n', stdout);
}

json_object *ctl_api_get(json_object *obj, const char *name, json_type t)
{
    json_object *v = NULL;
    if (obj == NULL || !json_object_object_get_ex(obj, name, &v) || !json_object_is_type(v, t))
        return NULL;
    return v;
}

int ctl_api_int(json_object *obj, const char *name, int64_t *out)
{
    json_object *v = ctl_api_get(obj, name, json_type_int);
    if (v == NULL)
        return -1;
    *out = json_object_get_int64(v);
    return 0;
}

const char *ctl_api_str(json_object *obj, const char *name, const char *def)
{
    json_object *v = ctl_api_get(obj, name, json_type_string);
    return v != NULL ? json_object_get_string(v) : def;
}
