/* tr_json.h - reading JSON text strictly, and writing JSON strings without json-c.
 *
 * One place for what request bodies, stored records and answers share: the strict
 * parse (json-c's tokener, whole input, no NUL) and the string escaping that must
 * agree byte for byte with json-c 0.16 (JSON_C_TO_STRING_PLAIN |
 * JSON_C_TO_STRING_NOSLASHESCAPE), because the create script compares stored
 * records as text. tests/unit/test_jbuf.c pins the escaping to json-c.
 */
#ifndef TR_JSON_H
#define TR_JSON_H

#include <json-c/json.h>
#include <stddef.h>

/* Parses body[0..len) (need not be NUL-terminated) as exactly one JSON value with
 * json-c's strict tokener: only whitespace may follow, no NUL byte in the text.
 * Returns the value (caller puts it), or NULL with a one-line reason in msg. */
json_object *tr_json_parse_value(const char *body, size_t len, char *msg, size_t msglen);

/* The same, and the value must be a JSON object ("body must be a JSON object"). */
json_object *tr_json_parse_object(const char *body, size_t len, char *msg, size_t msglen);

/* Adds name: value to obj; value is consumed also on failure (json-c 0.16 leaves
 * it with the caller when the add fails) and may be NULL (a failed json-c
 * constructor: then -1). 0 or -1. */
int tr_json_add(json_object *obj, const char *name, json_object *value);

/* Writes s[0..n) as a quoted, escaped JSON string at o, which has room for
 * n * 6 + 2 bytes; writes no NUL. Returns the end of what it wrote. */
char *tr_json_escape(char *o, const char *s, size_t n);

#endif
