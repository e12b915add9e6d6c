#include "tr_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tr_json.h"

#include "tr_assert.h"

tr_ret tr_http_body_check(const tr_http_request *req, size_t max_body)
{
    if (req->body_ret == TR_RET_TOO_LARGE ||
        (req->content_length > 0 && (uint64_t)req->content_length > max_body) ||
        req->body_len > max_body)
        return TR_RET_TOO_LARGE;
    return req->body_ret;
}

int tr_http_media_type_is(const char *ct, const char *type)
{
    size_t n = strlen(type);
    while (*ct == ' ' || *ct == '\t')
        ct++;
    if (strncasecmp(ct, type, n) != 0)
        return 0;
    const char *p = ct + n;
    while (*p == ' ' || *p == '\t')
        p++;
    return *p == '\0' || *p == ';';
}

tr_http_body_type tr_http_body_type_of(const tr_http_request *req)
{
    if (req->content_type == NULL)
        return TR_HTTP_BODY_NONE;
    if (tr_http_media_type_is(req->content_type, "application/json"))
        return TR_HTTP_BODY_JSON;
    if (tr_http_media_type_is(req->content_type, "application/x-www-form-urlencoded"))
        return TR_HTTP_BODY_FORM;
    return TR_HTTP_BODY_OTHER;
}

void tr_http_response_init(tr_http_response *resp)
{
    memset(resp, 0, sizeof *resp);
    resp->status = 200;
}

void tr_http_response_clear(tr_http_response *resp)
{
    free(resp->body);
    tr_http_response_init(resp);
}

int tr_http_response_json(tr_http_response *resp, int status, json_object *obj)
{
    size_t n = 0;
    const char *s = tr_json_text(obj, &n);
    if (s == NULL)
        return -1;
    return tr_http_response_text(resp, status, NULL, s, n);
}

int tr_http_response_add_header(tr_http_response *resp, const char *name, const char *value)
{
    if (strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL)
        return -1;
    size_t used = strlen(resp->headers);
    assert(used < sizeof resp->headers);
    int n = snprintf(resp->headers + used, sizeof resp->headers - used, "%s: %s\r\n", name,
                     value);
    if (n < 0 || (size_t)n >= sizeof resp->headers - used) {
        resp->headers[used] = '\0'; /* keep the lines that fitted, whole */
        return -1;
    }
    return 0;
}

int tr_http_response_text(tr_http_response *resp, int status, const char *content_type,
                          const char *text, size_t len)
{
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return -1;
    memcpy(copy, text, len);
    copy[len] = '\0';
    free(resp->body);
    resp->body = copy;
    resp->body_len = len;
    resp->status = status;
    resp->content_type = content_type;
    return 0;
}

const char *tr_http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}
