#include "sink_log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Growable output with a sticky failure flag, so callers check once at the end. */
typedef struct out {
    tr_sink_log *log;
    size_t len;
    int failed;
} out;

static void reserve(out *o, size_t more)
{
    if (o->failed || o->len + more <= o->log->cap)
        return;
    size_t cap = o->log->cap ? o->log->cap : 4096;
    while (cap < o->len + more)
        cap *= 2;
    char *buf = realloc(o->log->buf, cap);
    if (buf == NULL) {
        o->failed = 1;
        return;
    }
    o->log->buf = buf;
    o->log->cap = cap;
}

static void put(out *o, const char *s, size_t len)
{
    reserve(o, len);
    if (o->failed)
        return;
    memcpy(o->log->buf + o->len, s, len);
    o->len += len;
}

static void put_str(out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* A JSON string: quotes, backslash and control bytes escaped; other bytes as is. */
static void put_json(out *o, tr_sink_str s)
{
    static const char hex[] = "0123456789abcdef";
    reserve(o, s.len * 6 + 2); /* worst case, so the loop needs no checks */
    if (o->failed)
        return;
    char *w = o->log->buf + o->len;
    *w++ = '"';
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == '"' || c == '\\') {
            *w++ = '\\';
            *w++ = (char)c;
        } else if (c == '\n') {
            *w++ = '\\';
            *w++ = 'n';
        } else if (c == '\r') {
            *w++ = '\\';
            *w++ = 'r';
        } else if (c == '\t') {
            *w++ = '\\';
            *w++ = 't';
        } else if (c < 0x20 || c == 0x7f) {
            *w++ = '\\';
            *w++ = 'u';
            *w++ = '0';
            *w++ = '0';
            *w++ = hex[c >> 4];
            *w++ = hex[c & 15];
        } else {
            *w++ = (char)c;
        }
    }
    *w++ = '"';
    o->len = (size_t)(w - o->log->buf);
}

/* A header holding a decimal number; 0 when absent or not a number. */
static long long header_number(tr_sink_str s)
{
    char tmp[32];
    if (s.len == 0 || s.len >= sizeof tmp)
        return 0;
    memcpy(tmp, s.p, s.len);
    tmp[s.len] = '\0';
    char *end = NULL;
    errno = 0;
    long long v = strtoll(tmp, &end, 10);
    if (errno != 0 || end == tmp || *end != '\0')
        return 0;
    return v;
}

int tr_sink_log_request(tr_sink_log *log, uint64_t n, int64_t t_us, const tr_sink_req *req)
{
    if (log->fd < 0)
        return 0;
    out o = {log, 0, 0};
    char num[96];
    snprintf(num, sizeof num, "{\"n\":%llu,\"t_us\":%lld,\"method\":", (unsigned long long)n,
             (long long)t_us);
    put_str(&o, num);
    put_json(&o, req->method);
    put_str(&o, ",\"path\":");
    put_json(&o, req->path);
    put_str(&o, ",\"key\":");
    put_json(&o, req->key);
    snprintf(num, sizeof num, ",\"attempt\":%lld,\"due_ms\":%lld,\"ctype\":",
             header_number(req->attempt), header_number(req->due_ms));
    put_str(&o, num);
    put_json(&o, req->ctype);
    put_str(&o, ",\"body\":");
    put_json(&o, req->body);
    if (req->wh_id.len > 0 || req->wh_ts.len > 0 || req->wh_sig.len > 0) {
        /* Signed (or half-signed) requests only: other lines stay as they were. */
        put_str(&o, ",\"webhook\":{\"id\":");
        put_json(&o, req->wh_id);
        put_str(&o, ",\"timestamp\":");
        put_json(&o, req->wh_ts);
        put_str(&o, ",\"signature\":");
        put_json(&o, req->wh_sig);
        put_str(&o, "}");
    }
    put_str(&o, "}\n");
    if (o.failed)
        return -1;

    size_t off = 0;
    while (off < o.len) {
        ssize_t w = write(log->fd, log->buf + off, o.len - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        off += (size_t)w;
    }
    return 0;
}

void tr_sink_log_clear(tr_sink_log *log)
{
    free(log->buf);
    log->buf = NULL;
    log->cap = 0;
}
