/* ctl_timers.c - create, get, cancel, reschedule, replay: one timer at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_api.h"
#include "ctl_args.h"
#include "ctl_body.h"
#include "ctl_cmd.h"
#include "ctl_view.h"
#include "tr_json.h"

#define CTL_PATH_MAX 1024

int ctl_usage_error(const ctl_ctx *ctx, const char *cmd, const char *msg)
{
    fprintf(stderr, "%s %s: %s (see %s --help)\n", ctx->prog, cmd, msg, ctx->prog);
    return CTL_EXIT_USAGE;
}

/* Prints the timer of an answer {"timer":{..}}: the raw answer with --json, else a
 * one-row listing. */
static int show_timer_answer(ctl_ctx *ctx, json_object *answer, const char *raw)
{
    if (ctx->json) {
        ctl_api_print_raw(raw);
        return CTL_EXIT_OK;
    }
    json_object *timer = ctl_api_get(answer, "timer", json_type_object);
    if (timer == NULL) {
        fprintf(stderr, "%s: the answer has no timer object\n", ctx->prog);
        return CTL_EXIT_SERVER;
    }
    ctl_table *t = ctl_view_list_table(0);
    int rc = t != NULL ? ctl_view_list_row(t, timer, 0, ctl_out_now_ms()) : -1;
    if (rc != 0) {
        ctl_table_free(t);
        fprintf(stderr, "%s: out of memory\n", ctx->prog);
        return CTL_EXIT_SERVER;
    }
    ctl_table_print(t, stdout, 1);
    ctl_table_free(t);
    return CTL_EXIT_OK;
}

/* METHOD /v1/timers/KEY<suffix> with body, then the timer of its answer. */
static int timer_call(ctl_ctx *ctx, const char *method, const char *key, const char *suffix,
                      const char *body)
{
    char path[CTL_PATH_MAX];
    if (ctl_http_key_path(ctx->http, "/v1/timers/", key, suffix, path, sizeof path) != 0) {
        fprintf(stderr, "%s: key too long\n", ctx->prog);
        return CTL_EXIT_USAGE;
    }
    json_object *answer;
    char *raw;
    int rc = ctl_api_call(ctx, method, path, body, &answer, &raw);
    if (rc == CTL_EXIT_OK)
        rc = show_timer_answer(ctx, answer, raw);
    json_object_put(answer);
    free(raw);
    return rc;
}

int ctl_cmd_create(ctl_ctx *ctx, int argc, char **argv)
{
    ctl_create_opts o = {0};
    const ctl_opt opts[] = {
        {"data", CTL_OPT_STR, &o.data},
        {"data-json", CTL_OPT_STR, &o.data_json},
        {"key", CTL_OPT_STR, &o.key},
        {"delay-ms", CTL_OPT_STR, &o.when.delay_ms},
        {"seconds", CTL_OPT_STR, &o.when.seconds},
        {"at", CTL_OPT_STR, &o.when.at},
        {"header", CTL_OPT_LIST, &o.headers},
        {"max-attempts", CTL_OPT_STR, &o.max_attempts},
        {"min-backoff-ms", CTL_OPT_STR, &o.min_backoff_ms},
        {"max-backoff-ms", CTL_OPT_STR, &o.max_backoff_ms},
        {"timeout-ms", CTL_OPT_STR, &o.timeout_ms},
        {"failure-url", CTL_OPT_STR, &o.failure_url},
        {"every-ms", CTL_OPT_STR, &o.every_ms},
        {"cron", CTL_OPT_STR, &o.cron},
        {"until", CTL_OPT_STR, &o.until},
        {"count", CTL_OPT_STR, &o.count},
        {NULL, CTL_OPT_FLAG, NULL},
    };
    const char *pos[1];
    int npos;
    char err[512];
    if (ctl_args_parse(argc - 1, argv + 1, opts, pos, 1, &npos, err, sizeof err) != 0)
        return ctl_usage_error(ctx, "create", err);
    if (npos != 1)
        return ctl_usage_error(ctx, "create", "the callback URL is missing");
    o.url = pos[0];
    json_object *body = ctl_body_create(&o, err, sizeof err);
    if (body == NULL)
        return ctl_usage_error(ctx, "create", err);
    int rc = CTL_EXIT_SERVER;
    size_t text_len;
    const char *text = tr_json_text(body, &text_len);
    if (text == NULL) {
        fprintf(stderr, "%s: out of memory\n", ctx->prog);
    } else {
        json_object *answer;
        char *raw;
        rc = ctl_api_call(ctx, "POST", "/v1/timers", text, &answer, &raw);
        if (rc == CTL_EXIT_OK)
            rc = show_timer_answer(ctx, answer, raw);
        json_object_put(answer);
        free(raw);
    }
    json_object_put(body);
    return rc;
}

/* A command of the form NAME KEY... with no options: the keys in pos. */
static int keys_only(ctl_ctx *ctx, int argc, char **argv, const char **pos, int max, int *n)
{
    const ctl_opt none[] = {{NULL, CTL_OPT_FLAG, NULL}};
    char err[256];
    if (ctl_args_parse(argc - 1, argv + 1, none, pos, max, n, err, sizeof err) != 0)
        return ctl_usage_error(ctx, argv[0], err);
    if (*n == 0)
        return ctl_usage_error(ctx, argv[0], "no key given");
    return CTL_EXIT_OK;
}

#define CTL_KEYS_MAX 256

int ctl_cmd_get(ctl_ctx *ctx, int argc, char **argv)
{
    const char *pos[1];
    int n;
    int rc = keys_only(ctx, argc, argv, pos, 1, &n);
    if (rc != CTL_EXIT_OK)
        return rc;
    char path[CTL_PATH_MAX];
    if (ctl_http_key_path(ctx->http, "/v1/timers/", pos[0], "", path, sizeof path) != 0)
        return ctl_usage_error(ctx, "get", "key too long");
    json_object *answer;
    char *raw;
    rc = ctl_api_call(ctx, "GET", path, NULL, &answer, &raw);
    if (rc == CTL_EXIT_OK) {
        json_object *timer = ctl_api_get(answer, "timer", json_type_object);
        if (ctx->json) {
            ctl_api_print_raw(raw);
        } else if (timer == NULL) {
            fprintf(stderr, "%s: the answer has no timer object\n", ctx->prog);
            rc = CTL_EXIT_SERVER;
        } else {
            ctl_view_timer(timer, ctl_out_now_ms(), stdout);
        }
    }
    json_object_put(answer);
    free(raw);
    return rc;
}

/* DELETE one key; with check_dead, only when GET says it is dead (dead delete). */
static int delete_one(ctl_ctx *ctx, const char *key, int check_dead)
{
    char path[CTL_PATH_MAX], safe[300];
    if (ctl_http_key_path(ctx->http, "/v1/timers/", key, "", path, sizeof path) != 0)
        return ctl_usage_error(ctx, "cancel", "key too long");
    json_object *answer;
    char *raw;
    int rc;
    if (check_dead) {
        rc = ctl_api_call(ctx, "GET", path, NULL, &answer, NULL);
        if (rc != CTL_EXIT_OK)
            return rc;
        json_object *timer = ctl_api_get(answer, "timer", json_type_object);
        const char *state = ctl_api_str(timer, "state", "?");
        if (strcmp(state, "dead") != 0) {
            fprintf(stderr, "%s: %s is %s, not dead (cancel deletes live timers)\n", ctx->prog,
                    ctl_out_safe(key, safe, sizeof safe), state);
            json_object_put(answer);
            return CTL_EXIT_NOT_FOUND;
        }
        json_object_put(answer);
    }
    rc = ctl_api_call(ctx, "DELETE", path, NULL, &answer, &raw);
    if (rc == CTL_EXIT_OK) {
        if (ctx->json) {
            ctl_api_print_raw(raw);
        } else {
            int64_t ttl = 0;
            char left[32];
            (void)ctl_api_int(answer, "ttl_ms", &ttl);
            ctl_out_duration(ttl, left, sizeof left);
            printf("%s %s (it was %s, %s left)\n", check_dead ? "deleted" : "cancelled",
                   ctl_out_safe(key, safe, sizeof safe), ctl_api_str(answer, "state", "?"),
                   left);
        }
    }
    json_object_put(answer);
    free(raw);
    return rc;
}

int ctl_cmd_delete_keys(ctl_ctx *ctx, int argc, char **argv, int check_dead)
{
    const char *pos[CTL_KEYS_MAX];
    int n;
    int rc = keys_only(ctx, argc, argv, pos, CTL_KEYS_MAX, &n);
    if (rc != CTL_EXIT_OK)
        return rc;
    /* Every key is tried; the exit code is the first failure's. */
    for (int i = 0; i < n; i++) {
        int r = delete_one(ctx, pos[i], check_dead);
        if (rc == CTL_EXIT_OK)
            rc = r;
    }
    return rc;
}

int ctl_cmd_cancel(ctl_ctx *ctx, int argc, char **argv)
{
    return ctl_cmd_delete_keys(ctx, argc, argv, 0);
}

int ctl_cmd_replay(ctl_ctx *ctx, int argc, char **argv)
{
    const char *pos[CTL_KEYS_MAX];
    int n;
    int rc = keys_only(ctx, argc, argv, pos, CTL_KEYS_MAX, &n);
    if (rc != CTL_EXIT_OK)
        return rc;
    for (int i = 0; i < n; i++) {
        int r = timer_call(ctx, "POST", pos[i], "/replay", NULL);
        if (rc == CTL_EXIT_OK)
            rc = r;
    }
    return rc;
}

int ctl_cmd_reschedule(ctl_ctx *ctx, int argc, char **argv)
{
    ctl_when w = {0};
    const ctl_opt opts[] = {
        {"delay-ms", CTL_OPT_STR, &w.delay_ms},
        {"seconds", CTL_OPT_STR, &w.seconds},
        {"at", CTL_OPT_STR, &w.at},
        {NULL, CTL_OPT_FLAG, NULL},
    };
    const char *pos[1];
    int npos;
    char err[512];
    if (ctl_args_parse(argc - 1, argv + 1, opts, pos, 1, &npos, err, sizeof err) != 0)
        return ctl_usage_error(ctx, "reschedule", err);
    if (npos != 1)
        return ctl_usage_error(ctx, "reschedule", "no key given");
    json_object *body = json_object_new_object();
    if (body == NULL) {
        fprintf(stderr, "%s: out of memory\n", ctx->prog);
        return CTL_EXIT_SERVER;
    }
    int rc;
    if (ctl_body_when(body, &w, 1, err, sizeof err) != 0) {
        rc = ctl_usage_error(ctx, "reschedule", err);
    } else {
        size_t text_len;
        const char *text = tr_json_text(body, &text_len);
        rc = text != NULL ? timer_call(ctx, "POST", pos[0], "/reschedule", text)
                          : CTL_EXIT_SERVER;
    }
    json_object_put(body);
    return rc;
}
