/* sink_http.h - parses one HTTP/1.x request with a Content-Length body.
 *
 * Stateless: it is called again on the whole buffered request each time more
 * bytes arrive (requests are small and usually arrive in one read). Every pointer
 * in tr_sink_req points into the caller's buffer and is valid while it is.
 */
#ifndef SINK_HTTP_H
#define SINK_HTTP_H

#include <stddef.h>

/* A string inside the request buffer; not NUL-terminated. */
typedef struct tr_sink_str {
    const char *p;
    size_t len;
} tr_sink_str;

typedef struct tr_sink_req {
    tr_sink_str method;
    tr_sink_str path;       /* the request target as sent */
    tr_sink_str key;        /* X-TimeRush-Key, empty when absent */
    tr_sink_str attempt;    /* X-TimeRush-Attempt, empty when absent */
    tr_sink_str due_ms;     /* X-TimeRush-Due-Ms, empty when absent */
    tr_sink_str ctype;      /* Content-Type, empty when absent */
    tr_sink_str wh_id;      /* webhook-id (Standard Webhooks), empty when absent */
    tr_sink_str wh_ts;      /* webhook-timestamp, empty when absent */
    tr_sink_str wh_sig;     /* webhook-signature, empty when absent */
    tr_sink_str body;       /* Content-Length bytes */
    int keep_alive;         /* 1 unless "Connection: close" or HTTP/1.0 without keep-alive */
    int expect_continue;    /* "Expect: 100-continue" was sent */
    size_t header_len;      /* bytes up to and including the blank line */
    size_t total_len;       /* header_len + body length: what the request consumed */
} tr_sink_req;

typedef enum tr_sink_parse {
    TR_SINK_PARSE_DONE = 1,     /* *req describes a whole request */
    TR_SINK_PARSE_HEADERS = 2,  /* headers complete, body still arriving (*req has them) */
    TR_SINK_PARSE_MORE = 0,     /* headers incomplete */
    TR_SINK_PARSE_ERROR = -1    /* malformed, or over max_header / max_body */
} tr_sink_parse;

tr_sink_parse tr_sink_http_parse(const char *buf, size_t len, size_t max_header,
                                 size_t max_body, tr_sink_req *req);

#endif
