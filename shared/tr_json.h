/* tr_json.h - reading JSON text strictly, building json-c trees, writing compact
 * JSON text.
 *
 * One place for what request bodies, stored records and answers share: the strict
 * parse (json-c's tokener, whole input, no NUL); adding members without leaking
 * (json-c 0.16 leaves the value with the caller when an add fails); callback data
 * (a string kept byte for byte, or an object/array kept compact); and the compact
 * text, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, which
 * tr_json_escape() must agree with byte for byte because the create script
 * compares stored records as text. tests/unit/test_jbuf.c pins the escaping to
 * json-c.
 */
#ifndef TR_JSON_H
#define TR_JSON_H

#include <json-c/json.h>
#include <stddef.h>

/* Parses body[0..len) (need not be NUL-terminated) as exactly one JSON value with
 * json-c's strict tokener: only whitespace may follow, no NUL byte in the text.
 * Returns the value (caller puts it), or NULL with a one-line reason in msg.
 * For text TimeRush wrote itself (stored records): outside input goes through
 * tr_json_parse_input(). */
json_object *tr_json_parse_value(const char *body, size_t len, char *msg, size_t msglen);

/* The same for outside input (request bodies, callback answers): json-c also
 * validates UTF-8 (JSON_TOKENER_VALIDATE_UTF8) and the text must pass
 * tr_json_strict_check() (tr_json_strict.h: RFC 8259 exactly, valid UTF-8, no
 * lone surrogate, no -0, integers within 64 bits, no key twice in one object).
 * msg then reads "body is not valid JSON: duplicate key \"a\" at byte 9". */
json_object *tr_json_parse_input(const char *body, size_t len, char *msg, size_t msglen);

/* tr_json_parse_input(), and the value must be a JSON object ("body must be a
 * JSON object"). */
json_object *tr_json_parse_object(const char *body, size_t len, char *msg, size_t msglen);

/* Adds name: value to obj. value is consumed, also on failure; a NULL value (a
 * constructor that ran out of memory) or a NULL obj is a failure. 0 or -1. */
int tr_json_add(json_object *obj, const char *name, json_object *value);

/* Adds name: null to obj. 0 or -1. */
int tr_json_add_null(json_object *obj, const char *name);

/* A new object {name: value}, value consumed also on failure. Caller puts it;
 * NULL when out of memory. */
json_object *tr_json_wrap(const char *name, json_object *value);

/* The compact text of v (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)
 * and its length in *len. Owned by v: valid until v is changed or put. NULL when
 * out of memory. */
const char *tr_json_text(json_object *v, size_t *len);

typedef enum tr_json_data_result {
    TR_JSON_DATA_OK = 0,
    TR_JSON_DATA_BAD_TYPE, /* not a string, object or array */
    TR_JSON_DATA_NO_MEMORY,
} tr_json_data_result;

/* Callback data from a request: a string's bytes exactly (they may hold NULs), or
 * the compact text of an object or array. On TR_JSON_DATA_OK *out is a malloc'd
 * copy with a NUL after its *len bytes (caller frees); otherwise *out is NULL. */
tr_json_data_result tr_json_read_data(json_object *v, char **out, size_t *len);

/* Writes s[0..n) as a quoted, escaped JSON string at o, which has room for
 * n * 6 + 2 bytes; writes no NUL. Returns the end of what it wrote. */
char *tr_json_escape(char *o, const char *s, size_t n);

#endif
