/* tr_jbuf.h - a growable text buffer: JSON written directly, without json-c trees,
 * for answers of a fixed shape built many times (a batch's 1000 results), and
 * other text answers (the metrics page, tr_jbuf_printf()).
 *
 * Strings are escaped exactly as json-c 0.16 writes them with
 * JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE (test_jbuf checks every
 * byte against it), so answers do not change when a path moves off json-c.
 * The buffer owns its memory: tr_jbuf_take() hands it over, tr_jbuf_free() frees it.
 * After an allocation failure every append is a no-op and tr_jbuf_failed() is 1.
 */
#ifndef TR_JBUF_H
#define TR_JBUF_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

typedef struct tr_jbuf {
    char *data; /* len bytes, NUL-terminated when cap > 0 */
    size_t len;
    size_t cap;
    int failed;
} tr_jbuf;

/* Empty buffer with room for hint bytes (0: grow on first use). 0 or -1. */
int tr_jbuf_init(tr_jbuf *b, size_t hint);
void tr_jbuf_free(tr_jbuf *b);

void tr_jbuf_raw(tr_jbuf *b, const char *s, size_t n);
void tr_jbuf_lit(tr_jbuf *b, const char *s); /* NUL-terminated raw text */
/* A JSON string: quotes and escapes around s[0..n). */
void tr_jbuf_str(tr_jbuf *b, const char *s, size_t n);
void tr_jbuf_i64(tr_jbuf *b, int64_t v);
/* printf-formatted text. */
void tr_jbuf_printf(tr_jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The compact text of obj (not consumed). */
void tr_jbuf_json(tr_jbuf *b, json_object *obj);

int tr_jbuf_failed(const tr_jbuf *b);

/* Hands the text over (caller frees; *len gets its length). NULL when an append
 * failed; the buffer is empty afterwards either way. */
char *tr_jbuf_take(tr_jbuf *b, size_t *len);

#endif
