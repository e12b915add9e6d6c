/* tr_json.h - reading a request body as one JSON object (fcgi handlers). */
#ifndef TR_JSON_H
#define TR_JSON_H

#include <json-c/json.h>
#include <stddef.h>

/* Parses body[0..len) (need not be NUL-terminated) as exactly one JSON object with
 * json-c's strict tokener: only whitespace may follow, no NUL byte in the text.
 * Returns the object (caller puts it), or NULL with a one-line reason in msg. */
json_object *tr_json_parse_object(const char *body, size_t len, char *msg, size_t msglen);

#endif
