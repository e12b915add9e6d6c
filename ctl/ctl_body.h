/* ctl_body.h - request bodies of the create and reschedule calls, from options.
 *
 * Only what the options mean is checked here (a number is a number, a header has a
 * name); the API checks the rest and its message is printed as it comes.
 */
#ifndef CTL_BODY_H
#define CTL_BODY_H

#include <json-c/json.h>
#include <stddef.h>

#include "ctl_args.h"

/* When a timer is due: at most one of these is set (NULL: not given). */
typedef struct ctl_when {
    const char *delay_ms; /* --delay-ms N */
    const char *seconds;  /* --seconds S (fractional allowed) */
    const char *at;       /* --at: epoch ms, or RFC 3339 passed through */
} ctl_when;

/* Every option of `create` (NULL / empty: not given). */
typedef struct ctl_create_opts {
    const char *url;
    const char *data;      /* --data: sent as a string */
    const char *data_json; /* --data-json: a JSON value */
    const char *key;
    ctl_when when;
    ctl_strlist headers;   /* "Name: value" */
    const char *max_attempts, *min_backoff_ms, *max_backoff_ms;
    const char *timeout_ms;
    const char *failure_url;
    const char *every_ms, *cron, *until, *count;
} ctl_create_opts;

/* Adds the due time of w to body. required: exactly one must be given, else at most
 * one. 0, or -1 with a reason in err (usage error). */
int ctl_body_when(json_object *body, const ctl_when *w, int required, char *err,
                  size_t errlen);

/* The JSON body of POST /v1/timers. Caller puts it. NULL with a reason in err (a
 * usage error, or out of memory). */
json_object *ctl_body_create(const ctl_create_opts *o, char *err, size_t errlen);

#endif
