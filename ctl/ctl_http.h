/* ctl_http.h - the HTTP client of timerushctl: one libcurl easy handle, reused for
 * every request of a run (one connection for the pages of `ls --all` and the samples
 * of `top`).
 *
 * It knows the base URL and the bearer token; it does not know the API (ctl_api.h
 * turns answers into exit codes). Redirects are not followed: the API never answers
 * one, and following it would send the token elsewhere.
 */
#ifndef CTL_HTTP_H
#define CTL_HTTP_H

#include <stddef.h>

typedef struct ctl_http ctl_http;

/* One answer. body is NUL-terminated (len excludes the NUL) and owned by the reply:
 * ctl_reply_clear() frees it. */
typedef struct ctl_reply {
    long status; /* HTTP status */
    char *body;
    size_t len;
} ctl_reply;

/* A client for base_url (no trailing '/'), sending "Authorization: Bearer <token>"
 * when token is non-empty (the header is copied and wiped again on free), and giving
 * up on a request after timeout_ms (connect included). Caller frees with
 * ctl_http_free(). NULL with a reason in err when libcurl cannot be set up. */
ctl_http *ctl_http_new(const char *base_url, const char *token, long timeout_ms, char *err,
                       size_t errlen);

/* Frees h (NULL is fine). */
void ctl_http_free(ctl_http *h);

/* Sends METHOD base_url+path, with body as application/json when body is not NULL.
 * 0 with *out filled for any HTTP answer (caller clears it), or -1 with libcurl's
 * reason in err when none came (refused, unresolvable, timed out, TLS failure). */
int ctl_http_do(ctl_http *h, const char *method, const char *path, const char *body,
                ctl_reply *out, char *err, size_t errlen);

/* path_prefix + key percent-encoded + path_suffix into buf ("/v1/timers/", key,
 * "/replay"). 0, or -1 when it does not fit or out of memory. */
int ctl_http_key_path(ctl_http *h, const char *path_prefix, const char *key,
                      const char *path_suffix, char *buf, size_t len);

/* Frees the body and zeroes the reply. */
void ctl_reply_clear(ctl_reply *r);

#endif
