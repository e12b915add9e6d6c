/* tr_json_strict.c - a recursive-descent check of RFC 8259 JSON (depth bounded
 * by TR_JSON_DEPTH_MAX), with the extra rules of tr_json_strict.h. It builds no
 * tree: json-c does that once the text passed. */
#include "tr_json_strict.h"

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keys of one object compared one by one up to this many; beyond, through a hash. */
#define SMALL_OBJECT 16

typedef struct scan {
    const unsigned char *start, *p, *end;
    /* Every key decoded, NUL-terminated, one after the other: a key's decoded
     * bytes and NUL take at most its text with the quotes, so len + 1 bytes hold
     * them all. malloc'd at the first key. */
    char *keys;
    size_t keys_used;
    char *msg;
    size_t msglen;
} scan;

static int fail(scan *s, const char *what)
{
    snprintf(s->msg, s->msglen, "%s at byte %zu", what, (size_t)(s->p - s->start));
    return -1;
}

static void skip_ws(scan *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static int hex4(const unsigned char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10;
        else
            return -1;
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

/* Length of the well-formed UTF-8 sequence at p (Unicode table 3-7: no overlong
 * forms, no surrogates, nothing above U+10FFFF), or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xbf; /* bounds of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

/* Appends code point cp as UTF-8 at *o. */
static void put_utf8(char **o, unsigned long cp)
{
    unsigned char *q = (unsigned char *)*o;
    if (cp < 0x80) {
        *q++ = (unsigned char)cp;
    } else if (cp < 0x800) {
        *q++ = (unsigned char)(0xc0 | (cp >> 6));
        *q++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *q++ = (unsigned char)(0xe0 | (cp >> 12));
        *q++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        *q++ = (unsigned char)(0x80 | (cp & 0x3f));
    } else {
        *q++ = (unsigned char)(0xf0 | (cp >> 18));
        *q++ = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
        *q++ = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        *q++ = (unsigned char)(0x80 | (cp & 0x3f));
    }
    *o = (char *)q;
}

/* A string at s->p (on its opening quote). When out is not NULL the decoded bytes
 * go there (never more than the text's length) with a NUL after them, and a
 * \u0000 is refused (a key). */
static int string(scan *s, char *out)
{
    s->p++;
    for (;;) {
        if (s->p >= s->end)
            return fail(s, "unterminated string");
        unsigned c = *s->p;
        if (c == '"') {
            s->p++;
            if (out != NULL)
                *out = '\0';
            return 0;
        }
        if (c < 0x20)
            return fail(s, "control character in a string (escape it)");
        if (c != '\\') {
            size_t n = utf8_len(s->p, s->end);
            if (n == 0)
                return fail(s, "invalid UTF-8");
            if (out != NULL) {
                memcpy(out, s->p, n);
                out += n;
            }
            s->p += n;
            continue;
        }
        if (s->end - s->p < 2)
            return fail(s, "unterminated string");
        unsigned e = s->p[1];
        const char *simple = strchr("\"\\/bfnrt", (int)e);
        if (e != 'u') {
            if (e == '\0' || simple == NULL)
                return fail(s, "invalid escape in a string");
            if (out != NULL)
                *out++ = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
            s->p += 2;
            continue;
        }
        unsigned u;
        if (s->end - s->p < 6 || hex4(s->p + 2, &u) != 0)
            return fail(s, "invalid \\u escape");
        unsigned long cp = u;
        if (u >= 0xdc00 && u <= 0xdfff)
            return fail(s, "lone low surrogate \\u escape");
        if (u >= 0xd800 && u <= 0xdbff) {
            unsigned lo;
            if (s->end - s->p < 12 || s->p[6] != '\\' || s->p[7] != 'u' ||
                hex4(s->p + 8, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff)
                return fail(s, "lone high surrogate \\u escape");
            cp = 0x10000 + (((unsigned long)u - 0xd800) << 10) + (lo - 0xdc00);
            s->p += 6;
        }
        if (out != NULL) {
            if (cp == 0)
                return fail(s, "\\u0000 in a key");
            put_utf8(&out, cp);
        }
        s->p += 6;
    }
}

static int is_digit(const unsigned char *p, const unsigned char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

/* A number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?; an integer (no
 * fraction, no exponent) must be an int64 other than -0. */
static int number(scan *s)
{
    const unsigned char *b = s->p;
    int neg = *s->p == '-';
    if (neg)
        s->p++;
    if (!is_digit(s->p, s->end))
        return fail(s, "number expected");
    const unsigned char *digits = s->p;
    if (*s->p == '0') {
        s->p++;
        if (is_digit(s->p, s->end))
            return fail(s, "leading zero in a number");
    } else {
        while (is_digit(s->p, s->end))
            s->p++;
    }
    size_t ndigits = (size_t)(s->p - digits);
    int integer = 1;
    if (s->p < s->end && *s->p == '.') {
        integer = 0;
        s->p++;
        if (!is_digit(s->p, s->end))
            return fail(s, "digit expected after '.'");
        while (is_digit(s->p, s->end))
            s->p++;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        integer = 0;
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (!is_digit(s->p, s->end))
            return fail(s, "digit expected in an exponent");
        while (is_digit(s->p, s->end))
            s->p++;
    }
    if (!integer)
        return 0;
    if (neg && ndigits == 1 && *digits == '0') {
        s->p = b;
        return fail(s, "-0 (write 0)");
    }
    /* Beyond 19 digits, or above the limit with 19: out of int64's range. */
    const char *lim = neg ? "9223372036854775808" : "9223372036854775807";
    if (ndigits > 19 || (ndigits == 19 && memcmp(digits, lim, 19) > 0)) {
        s->p = b;
        return fail(s, "integer out of 64-bit range");
    }
    return 0;
}

static int literal(scan *s, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n) != 0)
        return fail(s, "unexpected character");
    s->p += n;
    return 0;
}

static int value(scan *s, int depth);

/* The duplicate key k (decoded) shown in msg: at most 64 bytes, cut on a character
 * boundary, bytes below 0x20, DEL, '"' and '\\' as '?'. */
static int fail_duplicate(scan *s, const char *k, const unsigned char *at)
{
    char shown[65];
    size_t n = strlen(k);
    if (n > 64) {
        n = 64;
        while (n > 0 && ((unsigned char)k[n] & 0xc0) == 0x80)
            n--;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        shown[i] = c < 0x20 || c == 0x7f || c == '"' || c == '\\' ? '?' : (char)c;
    }
    shown[n] = '\0';
    char what[128];
    snprintf(what, sizeof what, "duplicate key \"%s\"", shown);
    s->p = at;
    return fail(s, what);
}

/* Adds k to *set (made on the first call). 1 when it was there already, 0 when
 * added, -1 when out of memory (msg set). */
static int set_add(scan *s, json_object **set, const char *k)
{
    if (*set == NULL && (*set = json_object_new_object()) == NULL)
        return fail(s, "out of memory");
    if (json_object_object_get_ex(*set, k, NULL))
        return 1;
    if (json_object_object_add(*set, k, NULL) != 0)
        return fail(s, "out of memory");
    return 0;
}

/* 1 when the object's keys so far (first[0..n) in s->keys, or *set past
 * SMALL_OBJECT) hold k, which is added; 0 when not; -1 on failure (msg set). */
static int seen_before(scan *s, size_t *first, size_t n, json_object **set, const char *k)
{
    if (n < SMALL_OBJECT) {
        for (size_t i = 0; i < n; i++)
            if (strcmp(s->keys + first[i], k) == 0)
                return 1;
        first[n] = (size_t)(k - s->keys);
        return 0;
    }
    if (*set == NULL) {
        for (size_t i = 0; i < n; i++)
            if (set_add(s, set, s->keys + first[i]) != 0)
                return -1; /* they are distinct: only out of memory */
    }
    return set_add(s, set, k);
}

static int object(scan *s, int depth)
{
    size_t first[SMALL_OBJECT]; /* offsets of the first keys in s->keys */
    json_object *set = NULL;    /* all keys, once there are more */
    size_t n = 0;
    int rc = -1;
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return 0;
    }
    for (;; n++) {
        if (s->p >= s->end || *s->p != '"') {
            fail(s, "string expected as a key");
            goto done;
        }
        const unsigned char *at = s->p;
        if (s->keys == NULL && (s->keys = malloc((size_t)(s->end - s->start) + 1)) == NULL) {
            fail(s, "out of memory");
            goto done;
        }
        char *k = s->keys + s->keys_used;
        if (string(s, k) != 0)
            goto done;
        s->keys_used += strlen(k) + 1; /* no NUL inside: string() refuses \u0000 */
        int seen = seen_before(s, first, n, &set, k);
        if (seen != 0) {
            if (seen == 1)
                fail_duplicate(s, k, at);
            goto done;
        }
        skip_ws(s);
        if (s->p >= s->end || *s->p != ':') {
            fail(s, "':' expected");
            goto done;
        }
        s->p++;
        if (value(s, depth) != 0)
            goto done;
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            skip_ws(s);
            continue;
        }
        if (s->p < s->end && *s->p == '}') {
            s->p++;
            rc = 0;
            goto done;
        }
        fail(s, "',' or '}' expected");
        goto done;
    }
done:
    json_object_put(set);
    return rc;
}

static int array(scan *s, int depth)
{
    s->p++;
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return 0;
    }
    for (;;) {
        if (value(s, depth) != 0)
            return -1;
        skip_ws(s);
        if (s->p < s->end && *s->p == ',') {
            s->p++;
            continue;
        }
        if (s->p < s->end && *s->p == ']') {
            s->p++;
            return 0;
        }
        return fail(s, "',' or ']' expected");
    }
}

/* One value after optional whitespace; depth counts the containers around it. */
static int value(scan *s, int depth)
{
    skip_ws(s);
    if (s->p >= s->end)
        return fail(s, "value expected");
    switch (*s->p) {
    case '{':
    case '[':
        if (depth >= TR_JSON_DEPTH_MAX)
            return fail(s, "nested too deep");
        return *s->p == '{' ? object(s, depth + 1) : array(s, depth + 1);
    case '"':
        return string(s, NULL);
    case 't':
        return literal(s, "true");
    case 'f':
        return literal(s, "false");
    case 'n':
        return literal(s, "null");
    default:
        if (*s->p == '-' || (*s->p >= '0' && *s->p <= '9'))
            return number(s);
        return fail(s, "unexpected character");
    }
}

int tr_json_strict_check(const char *text, size_t len, char *msg, size_t msglen)
{
    scan s = {(const unsigned char *)text, (const unsigned char *)text,
              (const unsigned char *)text + len, NULL, 0, msg, msglen};
    int rc = text == NULL ? fail(&s, "value expected") : value(&s, 0);
    if (rc == 0) {
        skip_ws(&s);
        if (s.p != s.end)
            rc = fail(&s, "extra data");
    }
    free(s.keys);
    return rc;
}
