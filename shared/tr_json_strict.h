/* tr_json_strict.h - what outside JSON must be beyond what json-c checks.
 *
 * json-c 0.16's tokener, even with JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8,
 * lets through text that it then reads differently from what the sender wrote:
 * single-quoted strings, NaN and Infinity, "1.", raw control characters in strings,
 * overlong or surrogate UTF-8, lone \ud800 escapes (turned into U+FFFD), integers
 * beyond 64 bits (saturated), -0 (read as 0), \u0000 in a key (the key is cut
 * there) and a key given twice in one object (the last one wins). This module
 * refuses all of them, so every body TimeRush accepts means exactly one thing.
 * tr_json_parse_input() (tr_json.h) runs it; docs/SECURITY.md "Strict input" has
 * the rules.
 */
#ifndef TR_JSON_STRICT_H
#define TR_JSON_STRICT_H

#include <stddef.h>

/* Nesting allowed: json-c's default depth, so both refuse the same texts. */
#define TR_JSON_DEPTH_MAX 32

/* Checks text[0..len) (need not be NUL-terminated) is exactly one RFC 8259 JSON
 * value, surrounded by JSON whitespace only, and obeys the rules above. Returns 0,
 * or -1 with a one-line reason in msg ("duplicate key \"a\" at byte 9"); the reason
 * holds only printable ASCII and valid UTF-8. Allocates (room for the decoded
 * keys, a hash for objects of more than 16 keys) and frees before returning. */
int tr_json_strict_check(const char *text, size_t len, char *msg, size_t msglen);

#endif
