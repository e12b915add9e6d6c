#include "tr_json.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_json_strict.h"
#include "tr_mem.h"

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* json-c's tokener with `flags` over body[0..len); then, when `strict`, the rules of
 * tr_json_strict.h (after json-c, so its messages stay those of plain syntax errors). */
static json_object *parse(const char *body, size_t len, int flags, int strict, char *msg,
                          size_t msglen)
{
    if (body == NULL || len == 0) {
        snprintf(msg, msglen, "body is empty");
        return NULL;
    }
    if (len > INT_MAX - 1) {
        snprintf(msg, msglen, "body too large to parse");
        return NULL;
    }
    if (memchr(body, '\0', len) != NULL) {
        snprintf(msg, msglen, "body holds a NUL byte");
        return NULL;
    }
    json_tokener *tok = json_tokener_new();
    if (tok == NULL) {
        snprintf(msg, msglen, "out of memory");
        return NULL;
    }
    json_tokener_set_flags(tok, flags);
    json_object *obj = json_tokener_parse_ex(tok, body, (int)len);
    size_t end = json_tokener_get_parse_end(tok);
    int at_end = obj == NULL && json_tokener_get_error(tok) == json_tokener_continue;
    if (at_end) {
        /* A number that ends the text ("5") is unfinished until the tokener sees the
         * input's end: give it the NUL it stops at (found by fuzz_json: "5 " was
         * accepted, "5" refused). All of body is then read. */
        obj = json_tokener_parse_ex(tok, "", 1);
        end = len;
    }
    if (obj == NULL) {
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        if (at_end)
            snprintf(msg, msglen, "body is not valid JSON: unexpected end");
        else if (jerr == json_tokener_success)
            snprintf(msg, msglen, "body is null"); /* json-c's null is a NULL object */
        else
            snprintf(msg, msglen, "body is not valid JSON: %s at byte %zu",
                     json_tokener_error_desc(jerr), json_tokener_get_parse_end(tok));
        goto done;
    }
    for (size_t i = end; i < len; i++) {
        if (!is_space(body[i])) {
            snprintf(msg, msglen, "body is not valid JSON: extra data at byte %zu", i);
            json_object_put(obj);
            obj = NULL;
            goto done;
        }
    }
    char why[160];
    if (strict && tr_json_strict_check(body, len, why, sizeof why) != 0) {
        snprintf(msg, msglen, "body is not valid JSON: %s", why);
        json_object_put(obj);
        obj = NULL;
    }
done:
    json_tokener_free(tok);
    return obj;
}

json_object *tr_json_parse_value(const char *body, size_t len, char *msg, size_t msglen)
{
    return parse(body, len, JSON_TOKENER_STRICT, 0, msg, msglen);
}

json_object *tr_json_parse_input(const char *body, size_t len, char *msg, size_t msglen)
{
    return parse(body, len, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8, 1, msg, msglen);
}

json_object *tr_json_parse_object(const char *body, size_t len, char *msg, size_t msglen)
{
    json_object *obj = tr_json_parse_input(body, len, msg, msglen);
    if (obj != NULL && !json_object_is_type(obj, json_type_object)) {
        snprintf(msg, msglen, "body must be a JSON object");
        json_object_put(obj);
        obj = NULL;
    }
    return obj;
}

char *tr_json_escape(char *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    *o++ = '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 0x0f];
        }
    }
    *o++ = '"';
    return o;
}

int tr_json_add(json_object *obj, const char *name, json_object *value)
{
    if (obj == NULL || value == NULL || json_object_object_add(obj, name, value) != 0) {
        json_object_put(value);
        return -1;
    }
    return 0;
}

int tr_json_add_null(json_object *obj, const char *name)
{
    return obj != NULL && json_object_object_add(obj, name, NULL) == 0 ? 0 : -1;
}

json_object *tr_json_wrap(const char *name, json_object *value)
{
    json_object *obj = json_object_new_object();
    if (tr_json_add(obj, name, value) != 0) {
        json_object_put(obj);
        return NULL;
    }
    return obj;
}

const char *tr_json_text(json_object *v, size_t *len)
{
    *len = 0;
    return json_object_to_json_string_length(
        v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}

tr_json_data_result tr_json_read_data(json_object *v, char **out, size_t *len)
{
    const char *s = NULL;
    size_t n = 0;
    *out = NULL;
    *len = 0;
    if (json_object_is_type(v, json_type_string)) {
        int sl = json_object_get_string_len(v);
        s = json_object_get_string(v);
        if (s == NULL || sl < 0)
            return TR_JSON_DATA_BAD_TYPE;
        n = (size_t)sl;
    } else if (json_object_is_type(v, json_type_object) ||
               json_object_is_type(v, json_type_array)) {
        if ((s = tr_json_text(v, &n)) == NULL)
            return TR_JSON_DATA_NO_MEMORY;
    } else {
        return TR_JSON_DATA_BAD_TYPE;
    }
    char *copy = tr_dup_bytes(s, n);
    if (copy == NULL)
        return TR_JSON_DATA_NO_MEMORY;
    *out = copy;
    *len = n;
    return TR_JSON_DATA_OK;
}
