#include "tr_fcgi_io.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_log.h"
#include "tr_num.h"

/* Bytes of an oversized body read and thrown away before giving up on it: nginx
 * limits bodies (client_max_body_size) long before this. */
#define DRAIN_MAX (64 * 1024 * 1024)

/* Reads and discards the rest of the request body, so the web server is not left
 * writing into a connection nobody reads. */
static void drain(FCGX_Stream *in)
{
    char scrap[4096];
    size_t total = 0;
    int n;
    while (total < DRAIN_MAX && (n = FCGX_GetStr(scrap, (int)sizeof scrap, in)) > 0)
        total += (size_t)n;
}

/* Parses CONTENT_LENGTH: -1 when absent or empty, -2 when not digits only (a sign,
 * spaces, trailing bytes) or beyond int64. */
static int64_t content_length(const char *text)
{
    if (text == NULL || text[0] == '\0')
        return -1;
    int64_t v = 0;
    return tr_num_parse(text, strlen(text), 0, INT64_MAX, &v) == TR_NUM_OK ? v : -2;
}

static const char *request_path(FCGX_Request *fr)
{
    const char *p = FCGX_GetParam("DOCUMENT_URI", fr->envp);
    if (p != NULL && p[0] != '\0')
        return p;
    p = FCGX_GetParam("SCRIPT_NAME", fr->envp);
    if (p != NULL && p[0] != '\0')
        return p;
    return NULL;
}

int tr_fcgi_read_request(FCGX_Request *fr, size_t max_body, tr_http_request *req,
                         char **body_buf)
{
    memset(req, 0, sizeof *req);
    *body_buf = NULL;
    req->body_ret = TR_RET_OK;
    const char *m = FCGX_GetParam("REQUEST_METHOD", fr->envp);
    req->method = m != NULL ? m : "";
    const char *q = FCGX_GetParam("QUERY_STRING", fr->envp);
    req->query = q != NULL ? q : "";
    req->content_type = FCGX_GetParam("CONTENT_TYPE", fr->envp);
    if (req->content_type != NULL && req->content_type[0] == '\0')
        req->content_type = NULL;
    req->authorization = FCGX_GetParam("HTTP_AUTHORIZATION", fr->envp);
    req->path = request_path(fr);
    /* Without DOCUMENT_URI or SCRIPT_NAME, the path is REQUEST_URI up to the
     * query, copied into the body buffer (after the body and its NUL). */
    const char *uri = NULL;
    size_t uri_len = 0;
    if (req->path == NULL) {
        uri = FCGX_GetParam("REQUEST_URI", fr->envp);
        if (uri == NULL)
            uri = "";
        uri_len = strcspn(uri, "?");
        req->path = "";
        if (q == NULL && uri[uri_len] == '?')
            req->query = uri + uri_len + 1;
    }

    int64_t cl = content_length(FCGX_GetParam("CONTENT_LENGTH", fr->envp));
    req->content_length = cl < 0 ? -1 : cl;
    if (cl == -2) {
        req->body_ret = TR_RET_BAD_JSON;
        drain(fr->in);
        cl = 0;
    } else if (cl > (int64_t)max_body) {
        req->body_ret = TR_RET_TOO_LARGE;
        drain(fr->in);
        cl = 0;
    } else if (cl < 0) {
        cl = 0;
    }
    if (cl == 0 && uri_len == 0) {
        drain(fr->in); /* the input's end marker: see below */
        return 0;
    }

    char *buf = malloc((size_t)cl + 1 + uri_len + 1);
    if (buf == NULL)
        return -1;
    size_t got = 0;
    while (got < (size_t)cl) {
        size_t want = (size_t)cl - got;
        int n = FCGX_GetStr(buf + got, want > 65536 ? 65536 : (int)want, fr->in);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (got < (size_t)cl)
        tr_log_warning("request body ended after %zu of %lld bytes", got, (long long)cl);
    /* Read on to the input's end (FastCGI's empty FCGI_STDIN record): left in the
     * socket, it would be taken as the start of the next request on a kept-alive
     * connection, a protocol error that closes it. */
    drain(fr->in);
    buf[got] = '\0';
    req->body = got > 0 ? buf : NULL;
    req->body_len = got;
    if (uri_len > 0) {
        char *p = buf + (size_t)cl + 1;
        memcpy(p, uri, uri_len);
        p[uri_len] = '\0';
        req->path = p;
    }
    *body_buf = buf;
    return 0;
}

int tr_fcgi_write_response(FCGX_Request *fr, const tr_http_response *resp)
{
    char head[512 + TR_HTTP_HEADERS_MAX];
    int n = snprintf(head, sizeof head,
                     "Status: %d %s\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\n%s\r\n",
                     resp->status, tr_http_reason(resp->status),
                     resp->content_type != NULL ? resp->content_type : "application/json",
                     resp->body_len, resp->headers);
    if (n < 0 || (size_t)n >= sizeof head)
        return -1;
    if (FCGX_PutStr(head, n, fr->out) != n)
        return -1;
    size_t done = 0;
    while (done < resp->body_len) {
        size_t left = resp->body_len - done;
        int chunk = left > 65536 ? 65536 : (int)left;
        if (FCGX_PutStr(resp->body + done, chunk, fr->out) != chunk)
            return -1;
        done += (size_t)chunk;
    }
    return FCGX_FFlush(fr->out) == 0 ? 0 : -1;
}
