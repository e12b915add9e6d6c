#include "sink_spec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses a whole decimal number in [min, max] from text[0..len). */
static int parse_long(const char *text, size_t len, long min, long max, long *out)
{
    char buf[32];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *end = NULL;
    errno = 0;
    long v = strtol(buf, &end, 10);
    if (errno != 0 || end == buf || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static const char *reason_phrase(long status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Status";
    }
}

#define RESPONSE_FMT "HTTP/1.1 %ld %s\r\nContent-Type: application/json\r\n" \
                     "Content-Length: %zu\r\n%s%s\r\n%s"

/* Builds one response into a malloc'd buffer. extra is "" or whole header lines. */
static char *build_response(long status, const char *extra, const char *body, int close_conn,
                            size_t *len_out)
{
    size_t body_len = strlen(body);
    const char *conn = close_conn ? "Connection: close\r\n" : "";
    int n = snprintf(NULL, 0, RESPONSE_FMT, status, reason_phrase(status), body_len, extra, conn, body);
    if (n < 0)
        return NULL;
    char *buf = malloc((size_t)n + 1);
    if (buf == NULL)
        return NULL;
    snprintf(buf, (size_t)n + 1, RESPONSE_FMT, status, reason_phrase(status), body_len, extra, conn, body);
    *len_out = (size_t)n;
    return buf;
}

static int set_responses(tr_sink_spec *out, long status, const char *extra, const char *body)
{
    out->response = build_response(status, extra, body, 0, &out->response_len);
    out->response_close = build_response(status, extra, body, 1, &out->response_close_len);
    return out->response != NULL && out->response_close != NULL ? 0 : -1;
}

int tr_sink_spec_parse(const char *text, tr_sink_spec *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *colon = strchr(text, ':');
    size_t name_len = colon ? (size_t)(colon - text) : strlen(text);
    const char *arg = colon ? colon + 1 : NULL;
    char body[64];
    char extra[64];
    long a = 0;
    long b = 0;
    int rc = -1;

#define IS(name) (name_len == strlen(name) && strncmp(text, name, name_len) == 0)
    if (IS("ok") && arg == NULL) {
        out->kind = TR_SINK_ANSWER;
        rc = set_responses(out, 200, "", "{\"ret\":0}");
    } else if (IS("status") && arg && parse_long(arg, strlen(arg), 100, 999, &a) == 0) {
        out->kind = TR_SINK_ANSWER;
        rc = set_responses(out, a, "", "{\"ret\":0}");
    } else if (IS("ret") && arg && parse_long(arg, strlen(arg), -1000000, 1000000, &a) == 0) {
        out->kind = TR_SINK_ANSWER;
        snprintf(body, sizeof body, "{\"ret\":%ld}", a);
        rc = set_responses(out, 200, "", body);
    } else if (IS("timeout") && arg == NULL) {
        out->kind = TR_SINK_TIMEOUT;
        rc = 0;
    } else if (IS("close") && arg == NULL) {
        out->kind = TR_SINK_CLOSE;
        rc = 0;
    } else if (IS("chain") && arg && *arg != '\0') {
        /* The data object goes out verbatim: the test decides what is valid. */
        const char *pre = "{\"ret\":0,\"data\":";
        size_t len = strlen(pre) + strlen(arg) + 2;
        char *cb = malloc(len);
        if (cb != NULL) {
            snprintf(cb, len, "%s%s}", pre, arg);
            out->kind = TR_SINK_ANSWER;
            rc = set_responses(out, 200, "", cb);
            free(cb);
        }
    } else if (IS("retry-after") && arg) {
        const char *sep = strchr(arg, ':');
        if (sep && parse_long(arg, (size_t)(sep - arg), 100, 999, &a) == 0 &&
            parse_long(sep + 1, strlen(sep + 1), 0, 1000000000, &b) == 0) {
            out->kind = TR_SINK_ANSWER;
            snprintf(extra, sizeof extra, "Retry-After: %ld\r\n", b);
            rc = set_responses(out, a, extra, "{\"ret\":0}");
        }
    } else if (IS("redirect") && arg) {
        /* redirect:N:URL - status N (3xx) with "Location: URL" (a receiver pointing
         * the sender elsewhere, which TimeRush must not follow). */
        const char *sep = strchr(arg, ':');
        if (sep && parse_long(arg, (size_t)(sep - arg), 300, 399, &a) == 0 && sep[1] != '\0') {
            size_t len = strlen(sep + 1) + sizeof "Location: \r\n";
            char *loc = malloc(len);
            if (loc != NULL) {
                snprintf(loc, len, "Location: %s\r\n", sep + 1);
                out->kind = TR_SINK_ANSWER;
                rc = set_responses(out, a, loc, "{\"ret\":0}");
                free(loc);
            }
        }
    } else if (IS("slow") && arg && parse_long(arg, strlen(arg), 0, 86400000, &a) == 0) {
        out->kind = TR_SINK_SLOW;
        out->delay_ms = a;
        rc = set_responses(out, 200, "", "{\"ret\":0}");
    } else if (IS("garbage") && arg == NULL) {
        /* No status line: neither HTTP/1.x nor a body a client could take for one. */
        static const char junk[] = "this is not HTTP \x01\x02\x7f\r\n\r\n";
        out->kind = TR_SINK_GARBAGE;
        out->response = malloc(sizeof junk);
        out->response_close = malloc(sizeof junk);
        if (out->response != NULL && out->response_close != NULL) {
            memcpy(out->response, junk, sizeof junk);
            memcpy(out->response_close, junk, sizeof junk);
            out->response_len = out->response_close_len = sizeof junk - 1;
            rc = 0;
        }
    } else if (IS("drip") && arg && parse_long(arg, strlen(arg), 1, 3600000, &a) == 0) {
        out->kind = TR_SINK_DRIP;
        out->delay_ms = a;
        rc = set_responses(out, 200, "", "{\"ret\":0}");
    }
#undef IS

    if (rc != 0) {
        tr_sink_spec_clear(out);
        snprintf(err, errlen, "bad answer spec '%s' (ok, status:N, ret:N, timeout, close, "
                 "chain:JSON, retry-after:N:S, redirect:N:URL, slow:MS, garbage, drip:MS)", text);
    }
    return rc;
}

void tr_sink_spec_clear(tr_sink_spec *spec)
{
    free(spec->response);
    free(spec->response_close);
    memset(spec, 0, sizeof *spec);
}

int tr_sink_list_add(tr_sink_list *list, const char *text, char *err, size_t errlen)
{
    tr_sink_spec spec;
    if (tr_sink_spec_parse(text, &spec, err, errlen) != 0)
        return -1;
    tr_sink_spec *items = realloc(list->items, (list->count + 1) * sizeof *items);
    if (items == NULL) {
        tr_sink_spec_clear(&spec);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    items[list->count++] = spec;
    list->items = items;
    return 0;
}

const tr_sink_spec *tr_sink_list_next(tr_sink_list *list, const tr_sink_spec *fallback)
{
    if (list->count == 0)
        return fallback;
    const tr_sink_spec *spec = &list->items[list->next];
    if (list->next + 1 < list->count)
        list->next++;
    return spec;
}

void tr_sink_list_clear(tr_sink_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        tr_sink_spec_clear(&list->items[i]);
    free(list->items);
    memset(list, 0, sizeof *list);
}
