#include "sink_http.h"

#include <string.h>
#include <strings.h>

/* Finds "\r\n\r\n"; returns the offset just past it, or 0. */
static size_t find_header_end(const char *buf, size_t len)
{
    for (size_t i = 3; i < len; i++) {
        if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' && buf[i - 3] == '\r')
            return i + 1;
    }
    return 0;
}

static int name_is(const char *p, size_t len, const char *name)
{
    return len == strlen(name) && strncasecmp(p, name, len) == 0;
}

static tr_sink_str trim(const char *p, size_t len)
{
    while (len > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    tr_sink_str s = {p, len};
    return s;
}

/* Content-Length: digits only, bounded. */
static int parse_length(tr_sink_str v, size_t max, size_t *out)
{
    if (v.len == 0 || v.len > 18)
        return -1;
    size_t n = 0;
    for (size_t i = 0; i < v.len; i++) {
        if (v.p[i] < '0' || v.p[i] > '9')
            return -1;
        n = n * 10 + (size_t)(v.p[i] - '0');
    }
    if (n > max)
        return -1;
    *out = n;
    return 0;
}

/* Case-insensitive search of a token in a header value. */
static int has_token(tr_sink_str v, const char *token)
{
    size_t tl = strlen(token);
    for (size_t i = 0; i + tl <= v.len; i++)
        if (strncasecmp(v.p + i, token, tl) == 0)
            return 1;
    return 0;
}

tr_sink_parse tr_sink_http_parse(const char *buf, size_t len, size_t max_header,
                                 size_t max_body, tr_sink_req *req)
{
    memset(req, 0, sizeof *req);
    size_t hend = find_header_end(buf, len < max_header ? len : max_header);
    if (hend == 0)
        return len >= max_header ? TR_SINK_PARSE_ERROR : TR_SINK_PARSE_MORE;
    req->header_len = hend;

    /* Request line: METHOD SP TARGET SP VERSION CRLF */
    const char *line_end = memchr(buf, '\r', hend);
    const char *sp1 = memchr(buf, ' ', (size_t)(line_end - buf));
    if (sp1 == NULL || sp1 == buf)
        return TR_SINK_PARSE_ERROR;
    const char *sp2 = memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1));
    if (sp2 == NULL || sp2 == sp1 + 1)
        return TR_SINK_PARSE_ERROR;
    req->method.p = buf;
    req->method.len = (size_t)(sp1 - buf);
    req->path.p = sp1 + 1;
    req->path.len = (size_t)(sp2 - sp1 - 1);
    tr_sink_str version = {sp2 + 1, (size_t)(line_end - sp2 - 1)};
    int http10 = name_is(version.p, version.len, "HTTP/1.0");
    if (!http10 && !name_is(version.p, version.len, "HTTP/1.1"))
        return TR_SINK_PARSE_ERROR;
    req->keep_alive = !http10;

    size_t content_length = 0;
    const char *p = line_end + 2;
    const char *end = buf + hend - 2; /* the final CRLF */
    while (p < end) {
        const char *eol = memchr(p, '\r', (size_t)(end - p));
        if (eol == NULL || eol + 1 >= buf + hend || eol[1] != '\n')
            return TR_SINK_PARSE_ERROR;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon == NULL)
            return TR_SINK_PARSE_ERROR;
        size_t nlen = (size_t)(colon - p);
        tr_sink_str v = trim(colon + 1, (size_t)(eol - colon - 1));
        if (name_is(p, nlen, "content-length")) {
            if (parse_length(v, max_body, &content_length) != 0)
                return TR_SINK_PARSE_ERROR;
        } else if (name_is(p, nlen, "transfer-encoding")) {
            return TR_SINK_PARSE_ERROR; /* chunked is not needed: refuse it loudly */
        } else if (name_is(p, nlen, "content-type")) {
            req->ctype = v;
        } else if (name_is(p, nlen, "x-timerush-key")) {
            req->key = v;
        } else if (name_is(p, nlen, "x-timerush-attempt")) {
            req->attempt = v;
        } else if (name_is(p, nlen, "x-timerush-due-ms")) {
            req->due_ms = v;
        } else if (name_is(p, nlen, "webhook-id")) {
            req->wh_id = v;
        } else if (name_is(p, nlen, "webhook-timestamp")) {
            req->wh_ts = v;
        } else if (name_is(p, nlen, "webhook-signature")) {
            req->wh_sig = v;
        } else if (name_is(p, nlen, "connection")) {
            if (has_token(v, "close"))
                req->keep_alive = 0;
            else if (has_token(v, "keep-alive"))
                req->keep_alive = 1;
        } else if (name_is(p, nlen, "expect")) {
            req->expect_continue = has_token(v, "100-continue");
        }
        p = eol + 2;
    }

    req->body.p = buf + hend;
    req->body.len = content_length;
    req->total_len = hend + content_length;
    return len >= req->total_len ? TR_SINK_PARSE_DONE : TR_SINK_PARSE_HEADERS;
}
