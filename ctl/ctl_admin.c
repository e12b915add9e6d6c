/* ctl_admin.c - pause, resume and stats. */
#include <stdio.h>
#include <stdlib.h>

#include "ctl_api.h"
#include "ctl_cmd.h"

static int no_args(ctl_ctx *ctx, int argc, char **argv)
{
    if (argc > 1) {
        char msg[300];
        snprintf(msg, sizeof msg, "unexpected argument '%s'", argv[1]);
        return ctl_usage_error(ctx, argv[0], msg);
    }
    return CTL_EXIT_OK;
}

static int pause_resume(ctl_ctx *ctx, int argc, char **argv, const char *path)
{
    int rc = no_args(ctx, argc, argv);
    if (rc != CTL_EXIT_OK)
        return rc;
    json_object *answer;
    char *raw;
    rc = ctl_api_call(ctx, "POST", path, NULL, &answer, &raw);
    if (rc == CTL_EXIT_OK) {
        json_object *p = ctl_api_get(answer, "paused", json_type_boolean);
        if (ctx->json) {
            ctl_api_print_raw(raw);
        } else if (p == NULL) {
            fprintf(stderr, "%s: the answer has no paused flag\n", ctx->prog);
            rc = CTL_EXIT_SERVER;
        } else {
            printf("%s\n", json_object_get_boolean(p) ? "paused: the schedulers claim nothing"
                                                      : "resumed: deliveries go on");
        }
    }
    json_object_put(answer);
    free(raw);
    return rc;
}

int ctl_cmd_pause(ctl_ctx *ctx, int argc, char **argv)
{
    return pause_resume(ctx, argc, argv, "/v1/pause");
}

int ctl_cmd_resume(ctl_ctx *ctx, int argc, char **argv)
{
    return pause_resume(ctx, argc, argv, "/v1/resume");
}

int ctl_cmd_stats(ctl_ctx *ctx, int argc, char **argv)
{
    int rc = no_args(ctx, argc, argv);
    if (rc != CTL_EXIT_OK)
        return rc;
    json_object *answer;
    char *raw;
    rc = ctl_api_call(ctx, "GET", "/v1/stats", NULL, &answer, &raw);
    if (rc == CTL_EXIT_OK) {
        if (ctx->json) {
            ctl_api_print_raw(raw);
        } else {
            json_object *p = ctl_api_get(answer, "paused", json_type_boolean);
            printf("server     %s\n", ctx->url);
            printf("paused     %s\n", p != NULL && json_object_get_boolean(p) ? "yes" : "no");
            static const char *const gauges[] = {"pending", "in_flight", "dead"};
            for (size_t i = 0; i < sizeof gauges / sizeof gauges[0]; i++) {
                int64_t v;
                if (ctl_api_int(answer, gauges[i], &v) == 0)
                    printf("%-10s %lld\n", gauges[i], (long long)v);
            }
            json_object *totals = ctl_api_get(answer, "totals", json_type_object);
            if (totals != NULL) {
                printf("totals:\n");
                json_object_object_foreach(totals, name, val)
                {
                    if (json_object_is_type(val, json_type_int))
                        printf("  %-10s %lld\n", name, (long long)json_object_get_int64(val));
                }
            }
        }
    }
    json_object_put(answer);
    free(raw);
    return rc;
}
