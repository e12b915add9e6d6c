/* ctl_view.c - timers for people (ctl_view.h). */
#include "ctl_view.h"

#include <string.h>

#include "ctl_api.h"

ctl_table *ctl_view_list_table(int dead)
{
    static const char *const pending_heads[] = {"KEY", "STATE", "DUE", "WHEN", "ATTEMPTS",
                                                "URL"};
    static const char *const dead_heads[] = {"KEY",      "STATE",      "DEAD AT", "WHEN",
                                             "ATTEMPTS", "LAST ERROR", "URL"};
    return dead ? ctl_table_new(7, dead_heads) : ctl_table_new(6, pending_heads);
}

/* The last failure of a timer in a few words: "HTTP 500", its last_error, or "-". */
static void last_failure(json_object *timer, char *buf, size_t len)
{
    int64_t status;
    const char *e = ctl_api_str(timer, "last_error", NULL);
    /* The scheduler's error for a bad status already reads "HTTP 500". */
    if (ctl_api_int(timer, "last_status", &status) == 0 &&
        (e == NULL || strncmp(e, "HTTP ", 5) != 0))
        snprintf(buf, len, "HTTP %lld%s%s", (long long)status, e != NULL ? ": " : "",
                 e != NULL ? e : "");
    else
        snprintf(buf, len, "%s", e != NULL ? e : "-");
}

int ctl_view_list_row(ctl_table *t, json_object *timer, int dead, int64_t now_ms)
{
    char when[64] = "-", at[64] = "-", attempts[32] = "-", last[512];
    int64_t v;
    const char *state = ctl_api_str(timer, "state", "?");
    if (dead) {
        if (ctl_api_int(timer, "dead_at_ms", &v) == 0) {
            ctl_out_time(v, at, sizeof at);
            ctl_out_relative(v - now_ms, when, sizeof when);
        }
    } else if (ctl_api_int(timer, "due_ms", &v) == 0) {
        ctl_out_time(v, at, sizeof at);
        /* ttl_ms is the server's own distance to the due time (the Redis clock): no
         * skew between this machine's clock and the server's. */
        int64_t ttl;
        if (ctl_api_int(timer, "ttl_ms", &ttl) == 0)
            ctl_out_relative(ttl, when, sizeof when);
    } else if (strcmp(state, "in_flight") == 0) {
        snprintf(when, sizeof when, "delivering");
    }
    if (ctl_api_int(timer, "attempts", &v) == 0)
        snprintf(attempts, sizeof attempts, "%lld", (long long)v);
    const char *key = ctl_api_str(timer, "key", "?");
    const char *url = ctl_api_str(timer, "url", "-");
    if (dead) {
        last_failure(timer, last, sizeof last);
        const char *row[] = {key, state, at, when, attempts, last, url};
        return ctl_table_add(t, row);
    }
    const char *row[] = {key, state, at, when, attempts, url};
    return ctl_table_add(t, row);
}

void ctl_view_timer(json_object *timer, int64_t now_ms, FILE *out)
{
    json_object_object_foreach(timer, name, val)
    {
        char text[1024], safe[1024];
        if (val == NULL) {
            snprintf(text, sizeof text, "-");
        } else if (json_object_is_type(val, json_type_string)) {
            snprintf(text, sizeof text, "%s", json_object_get_string(val));
        } else if (json_object_is_type(val, json_type_int) &&
                   (strcmp(name, "due_ms") == 0 || strcmp(name, "dead_at_ms") == 0)) {
            int64_t ms = json_object_get_int64(val);
            char when[64];
            ctl_out_time(ms, text, sizeof text);
            ctl_out_relative(ms - now_ms, when, sizeof when);
            size_t n = strlen(text);
            snprintf(text + n, sizeof text - n, " (%s)", when);
        } else if (json_object_is_type(val, json_type_int) && strcmp(name, "ttl_ms") == 0) {
            int64_t ms = json_object_get_int64(val);
            char d[32];
            ctl_out_duration(ms, d, sizeof d);
            snprintf(text, sizeof text, "%lld (%s)", (long long)ms, d);
        } else {
            const char *j = json_object_to_json_string_ext(
                val, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
            snprintf(text, sizeof text, "%s", j != NULL ? j : "?");
        }
        fprintf(out, "%-12s %s\n", name, ctl_out_safe(text, safe, sizeof safe));
    }
}
