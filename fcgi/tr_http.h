/* tr_http.h - one HTTP request and its response, as the handlers see them.
 *
 * Free of FastCGI: tr_fcgi_io.h fills a request from libfcgi and writes a response
 * out, so handlers (tr_compat.h, tr_rest.h) are plain functions from request to
 * response that unit tests call directly.
 */
#ifndef TR_HTTP_H
#define TR_HTTP_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "tr_error.h"

#define TR_HTTP_HEADERS_MAX 256 /* room for the extra header lines of a response */

/* A request. Every pointer is borrowed from whoever filled it (tr_fcgi_io.c: the
 * FastCGI request and its body buffer) and lives until that is finished. */
typedef struct tr_http_request {
    const char *method;     /* "POST", ...; NUL-terminated, never NULL ("" when unknown) */
    const char *path;       /* URI path without the query; never NULL */
    const char *body;       /* body_len bytes, not NUL-terminated; NULL when empty */
    size_t body_len;
    tr_ret body_ret;        /* TR_RET_OK; TR_RET_TOO_LARGE when Content-Length was over
                             * the limit (the body was drained, not kept); TR_RET_BAD_JSON
                             * when Content-Length was not a number */
    int64_t content_length; /* as announced, bytes; -1 when absent or unreadable */
    const char *query;      /* query string without '?'; never NULL ("" when none) */
    const char *content_type;  /* Content-Type header; NULL when absent */
    const char *authorization; /* Authorization header; NULL when absent */
    unsigned auth_scopes;   /* TR_SCOPE_* bits the request's token holds (every scope
                             * while the API is open); set by tr_route_dispatch() after
                             * its check, 0 (none) before */
} tr_http_request;

/* A response. Owns its body; tr_http_response_clear() frees it. */
typedef struct tr_http_response {
    int status;                         /* HTTP status, 200 after init */
    char headers[TR_HTTP_HEADERS_MAX];  /* extra "Name: value\r\n" lines; "" for none */
    char *body;                         /* body_len bytes, malloc'd; NULL when empty */
    size_t body_len;
    const char *content_type;           /* static string; NULL: application/json */
} tr_http_response;

/* The body rule every endpoint with a body applies first: TR_RET_TOO_LARGE when
 * the body, or the Content-Length announced, is over max_body bytes (also when
 * tr_fcgi_io drained it); TR_RET_BAD_JSON when Content-Length was unreadable;
 * else TR_RET_OK. */
tr_ret tr_http_body_check(const tr_http_request *req, size_t max_body);

/* What a request's Content-Type says its body is. The REST API takes JSON or none
 * (415 otherwise); the compatible endpoints also form, which is what `curl -d`
 * sends, as the original's clients did (their body is JSON all the same). */
typedef enum tr_http_body_type {
    TR_HTTP_BODY_NONE = 0, /* no Content-Type */
    TR_HTTP_BODY_JSON,     /* application/json, any case, parameters allowed */
    TR_HTTP_BODY_FORM,     /* application/x-www-form-urlencoded, the same way */
    TR_HTTP_BODY_OTHER,
} tr_http_body_type;

tr_http_body_type tr_http_body_type_of(const tr_http_request *req);

/* 1 when the Content-Type value ct names the media type `type` (any case,
 * whitespace around it, parameters after ';' allowed), else 0. */
int tr_http_media_type_is(const char *ct, const char *type);

/* Sets status 200, no headers, no body. */
void tr_http_response_init(tr_http_response *resp);

/* Frees the body and re-inits. Safe on an init'ed response. */
void tr_http_response_clear(tr_http_response *resp);

/* Replaces the body with the compact JSON text of obj (tr_json_text(); obj is not
 * consumed), sets the status and the Content-Type application/json. Returns 0, or
 * -1 when out of memory (response unchanged). */
int tr_http_response_json(tr_http_response *resp, int status, json_object *obj);

/* Appends "name: value\r\n". Returns 0, or -1 when it does not fit or holds CR/LF. */
int tr_http_response_add_header(tr_http_response *resp, const char *name, const char *value);

/* Replaces the body with len bytes of text (copied) and sets status and
 * content_type (a static string). 0, or -1 when out of memory. */
int tr_http_response_text(tr_http_response *resp, int status, const char *content_type,
                          const char *text, size_t len);

/* The reason phrase of an HTTP status ("OK", "Not Found"); "Unknown" when unknown. */
const char *tr_http_reason(int status);

#endif
