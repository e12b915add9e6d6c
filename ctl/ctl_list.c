/* ctl_list.c - ls and dead ls: pages of GET /v1/timers, walked by cursor.
 *
 * --json prints one JSON array of timer objects over every page fetched, written as
 * the pages come (a million timers never sit in memory); the table for people is
 * printed once the walk ends, so its columns line up over all pages.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl_api.h"
#include "ctl_args.h"
#include "ctl_cmd.h"
#include "ctl_view.h"
#include "tr_json.h"

#define CTL_PATH_MAX 2048

typedef struct list_opts {
    const char *state;  /* pending or dead */
    int64_t limit;      /* timers a page, 1..1000 */
    const char *cursor; /* where to start; NULL: the beginning */
    int all;            /* walk every page */
    const char *prefix; /* only keys starting with it (filtered here) */
    int64_t due_after;  /* only due_ms >= it (filtered here); INT64_MIN: any */
    int64_t due_before; /* only due_ms < it; INT64_MAX: any. The pending set is walked
                         * in due order, so the walk ends at the first one past it. */
} list_opts;

/* Output of a walk in progress. */
typedef struct list_out {
    ctl_table *table; /* people: rows of every page */
    size_t printed;   /* --json: timers written so far */
    int dead;
} list_out;

static int emit(ctl_ctx *ctx, list_out *lo, json_object *timer)
{
    if (ctx->json) {
        size_t text_len;
        const char *text = tr_json_text(timer, &text_len);
        if (text == NULL)
            return -1;
        printf("%s%s", lo->printed == 0 ? "" : ",\n", text);
        lo->printed++;
        return 0;
    }
    return ctl_view_list_row(lo->table, timer, lo->dead, ctl_out_now_ms());
}

/* One page: its timers emitted, *next the next cursor (a copy the caller frees) or
 * NULL at the end. */
static int one_page(ctl_ctx *ctx, const list_opts *o, const char *cursor, list_out *lo,
                    char **next)
{
    *next = NULL;
    char path[CTL_PATH_MAX];
    char head[128];
    snprintf(head, sizeof head, "/v1/timers?state=%s&limit=%lld%s", o->state,
             (long long)o->limit, cursor != NULL ? "&cursor=" : "");
    if (ctl_http_key_path(ctx->http, head, cursor != NULL ? cursor : "", "", path,
                          sizeof path) != 0) {
        fprintf(stderr, "%s: cursor too long\n", ctx->prog);
        return CTL_EXIT_USAGE;
    }
    json_object *answer;
    int rc = ctl_api_call(ctx, "GET", path, NULL, &answer, NULL);
    if (rc != CTL_EXIT_OK)
        return rc;
    json_object *timers = ctl_api_get(answer, "timers", json_type_array);
    if (timers == NULL) {
        fprintf(stderr, "%s: the answer has no timers array\n", ctx->prog);
        json_object_put(answer);
        return CTL_EXIT_SERVER;
    }
    size_t n = json_object_array_length(timers);
    size_t plen = o->prefix != NULL ? strlen(o->prefix) : 0;
    int past_range = 0;
    for (size_t i = 0; i < n && rc == CTL_EXIT_OK && !past_range; i++) {
        json_object *t = json_object_array_get_idx(timers, i);
        if (t == NULL || !json_object_is_type(t, json_type_object)) {
            fprintf(stderr, "%s: a listed timer is not a JSON object\n", ctx->prog);
            rc = CTL_EXIT_SERVER;
            break;
        }
        const char *key = ctl_api_str(t, "key", "");
        if (plen > 0 && strncmp(key, o->prefix, plen) != 0)
            continue;
        int64_t due;
        if (o->due_after != INT64_MIN || o->due_before != INT64_MAX) {
            if (ctl_api_int(t, "due_ms", &due) != 0 || due < o->due_after)
                continue;
            if (due >= o->due_before) {
                past_range = 1;
                continue;
            }
        }
        if (emit(ctx, lo, t) != 0) {
            fprintf(stderr, "%s: out of memory\n", ctx->prog);
            rc = CTL_EXIT_SERVER;
        }
    }
    const char *nc = ctl_api_str(answer, "next_cursor", NULL);
    if (rc == CTL_EXIT_OK && nc != NULL && !past_range) {
        *next = strdup(nc);
        if (*next == NULL) {
            fprintf(stderr, "%s: out of memory\n", ctx->prog);
            rc = CTL_EXIT_SERVER;
        }
    }
    json_object_put(answer);
    return rc;
}

int ctl_list_run(ctl_ctx *ctx, int argc, char **argv, int dead_only)
{
    const char *cmd = dead_only ? "dead ls" : "ls";
    const char *limit = NULL, *after = NULL, *before = NULL;
    list_opts o = {.state = dead_only ? "dead" : "pending", .limit = 100,
                   .due_after = INT64_MIN, .due_before = INT64_MAX};
    const ctl_opt opts[] = {
        {"state", CTL_OPT_STR, &o.state},
        {"limit", CTL_OPT_STR, &limit},
        {"cursor", CTL_OPT_STR, &o.cursor},
        {"all", CTL_OPT_FLAG, &o.all},
        {"prefix", CTL_OPT_STR, &o.prefix},
        {"due-after", CTL_OPT_STR, &after},
        {"due-before", CTL_OPT_STR, &before},
        {NULL, CTL_OPT_FLAG, NULL},
    };
    const char *pos[1];
    int npos;
    char err[512];
    if (ctl_args_parse(argc - 1, argv + 1, dead_only ? opts + 1 : opts, pos, 0, &npos, err,
                       sizeof err) != 0)
        return ctl_usage_error(ctx, cmd, err);
    if (strcmp(o.state, "pending") != 0 && strcmp(o.state, "dead") != 0)
        return ctl_usage_error(ctx, cmd, "--state must be pending or dead");
    if (limit != NULL && ctl_args_int("limit", limit, 1, 1000, &o.limit, err, sizeof err) != 0)
        return ctl_usage_error(ctx, cmd, err);
    if ((after != NULL || before != NULL) && strcmp(o.state, "pending") != 0)
        return ctl_usage_error(ctx, cmd, "--due-after/--due-before list pending timers only");
    if ((after != NULL &&
         ctl_args_time("due-after", after, &o.due_after, err, sizeof err) != 0) ||
        (before != NULL &&
         ctl_args_time("due-before", before, &o.due_before, err, sizeof err) != 0))
        return ctl_usage_error(ctx, cmd, err);

    list_out lo = {.dead = strcmp(o.state, "dead") == 0};
    if (!ctx->json) {
        lo.table = ctl_view_list_table(lo.dead);
        if (lo.table == NULL) {
            fprintf(stderr, "%s: out of memory\n", ctx->prog);
            return CTL_EXIT_SERVER;
        }
    } else {
        fputs("[", stdout);
    }
    char *cursor = NULL;
    int rc = CTL_EXIT_OK;
    const char *start = o.cursor;
    do {
        char *next;
        rc = one_page(ctx, &o, cursor != NULL ? cursor : start, &lo, &next);
        free(cursor);
        cursor = next;
    } while (rc == CTL_EXIT_OK && o.all && cursor != NULL);

    /* The array is closed also after a failed page: what was printed stays valid JSON,
     * and the exit code says it is not the whole list. */
    if (ctx->json)
        fputs(lo.printed == 0 ? "]\n" : "\n]\n", stdout);
    else if (rc == CTL_EXIT_OK)
        ctl_table_print(lo.table, stdout, 1);
    if (rc == CTL_EXIT_OK && cursor != NULL)
        fprintf(stderr, "more timers: %s %s --cursor %s\n", ctx->prog, cmd, cursor);
    free(cursor);
    ctl_table_free(lo.table);
    return rc;
}

int ctl_cmd_ls(ctl_ctx *ctx, int argc, char **argv)
{
    return ctl_list_run(ctx, argc, argv, 0);
}
