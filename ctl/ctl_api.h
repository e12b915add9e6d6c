/* ctl_api.h - calls to the TimeRush REST API (docs/API.md) and what their answers
 * mean for timerushctl's exit code.
 *
 * 2xx is success; an error answer {"error":{"code","message"}} is printed on stderr
 * as "PROG: HTTP 404 not_found: <message>" and becomes 4 (404), 5 (401, 403) or 1
 * (any other); no answer at all becomes 3 (ctl_exit.h).
 */
#ifndef CTL_API_H
#define CTL_API_H

#include <json-c/json.h>

#include "ctl_cmd.h"

/* METHOD path with an optional JSON body. CTL_EXIT_OK with *out the answer, a JSON
 * object (caller puts it; when raw is not NULL, *raw is the answer's text, which the
 * caller frees: --json prints it as the server sent it), or another ctl_exit code
 * with the reason printed (*out and *raw NULL). */
int ctl_api_call(ctl_ctx *ctx, const char *method, const char *path, const char *body,
                 json_object **out, char **raw);

/* GET path whose answer is text (/metrics): CTL_EXIT_OK with *text (caller frees). */
int ctl_api_text(ctl_ctx *ctx, const char *path, char **text);

/* Prints text and a newline (unless it ends with one) on stdout. */
void ctl_api_print_raw(const char *text);

/* The member name of obj when it is of type t, else NULL. Borrowed from obj. */
json_object *ctl_api_get(json_object *obj, const char *name, json_type t);

/* The integer member name of obj: 0 with *out, or -1 when absent, null or not an
 * integer. */
int ctl_api_int(json_object *obj, const char *name, int64_t *out);

/* The string member name of obj, or def when absent or not a string. Borrowed. */
const char *ctl_api_str(json_object *obj, const char *name, const char *def);

#endif
