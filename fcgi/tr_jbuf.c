#include "tr_jbuf.h"

#include "tr_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_assert.h"

int tr_jbuf_init(tr_jbuf *b, size_t hint)
{
    memset(b, 0, sizeof *b);
    if (hint == 0)
        return 0;
    b->data = malloc(hint);
    if (b->data == NULL) {
        b->failed = 1;
        return -1;
    }
    b->cap = hint;
    b->data[0] = '\0';
    return 0;
}

void tr_jbuf_free(tr_jbuf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* Makes room for n more bytes and the NUL. 0 or -1 (failed set). */
static int reserve(tr_jbuf *b, size_t n)
{
    if (b->failed)
        return -1;
    if (n < b->cap - b->len && b->cap > 0)
        return 0;
    if (n > SIZE_MAX / 2 - b->len - 1) {
        b->failed = 1;
        return -1;
    }
    size_t want = b->len + n + 1;
    size_t cap = b->cap > 0 ? b->cap : 256;
    while (cap < want)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (p == NULL) {
        b->failed = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void tr_jbuf_raw(tr_jbuf *b, const char *s, size_t n)
{
    if (reserve(b, n) != 0)
        return;
    assert(b->len + n < b->cap); /* reserve() made room for the NUL too */
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void tr_jbuf_lit(tr_jbuf *b, const char *s)
{
    tr_jbuf_raw(b, s, strlen(s));
}

void tr_jbuf_str(tr_jbuf *b, const char *s, size_t n)
{
    /* Worst case every byte becomes \u00XX: reserve once, write without checks. */
    if (n > (SIZE_MAX - 2) / 6 || reserve(b, n * 6 + 2) != 0) {
        b->failed = 1;
        return;
    }
    char *o = tr_json_escape(b->data + b->len, s, n);
    b->len = (size_t)(o - b->data);
    assert(b->len < b->cap);
    b->data[b->len] = '\0';
}

void tr_jbuf_i64(tr_jbuf *b, int64_t v)
{
    char tmp[24];
    size_t i = sizeof tmp;
    /* Through uint64_t so INT64_MIN negates without overflow. */
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        tmp[--i] = '-';
    tr_jbuf_raw(b, tmp + i, sizeof tmp - i);
}

void tr_jbuf_printf(tr_jbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if (reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void tr_jbuf_json(tr_jbuf *b, json_object *obj)
{
    size_t n = 0;
    const char *s = tr_json_text(obj, &n);
    if (s == NULL) {
        b->failed = 1;
        return;
    }
    tr_jbuf_raw(b, s, n);
}

int tr_jbuf_failed(const tr_jbuf *b)
{
    return b->failed;
}

char *tr_jbuf_take(tr_jbuf *b, size_t *len)
{
    char *out = b->failed ? NULL : b->data;
    *len = b->failed ? 0 : b->len;
    if (b->failed)
        free(b->data);
    memset(b, 0, sizeof *b);
    return out;
}
