/* tr_error.h - the `ret` codes TimeRush answers on its compatible endpoints.
 *
 * 0 is success, as in the original. Every other code names one kind of failure so a
 * client can act on it without parsing `msg`. docs/PROTOCOL.md has the table; keep it
 * in step with this enum. The HTTP status next to each code is what the REST API
 * (/v1/) answers for the same failure. The compatible endpoints answer HTTP 200 with
 * the `ret` code, as the original did, except: wrong method 405 (ret 6), unknown
 * path 404 (ret 7), and a body over nginx's limit 413 (ret 5, answered by nginx).
 */
#ifndef TR_ERROR_H
#define TR_ERROR_H

typedef enum tr_ret {
    TR_RET_OK = 0,
    TR_RET_BAD_JSON = 1,        /* body is not JSON, or not a JSON object      (400) */
    TR_RET_BAD_FIELD = 2,       /* a field is missing or has the wrong type    (400) */
    TR_RET_BAD_SECONDS = 3,     /* seconds <= 0, not an integer, or too large  (400) */
    TR_RET_BAD_URL = 4,         /* callback_cmd not an absolute http(s) URL    (400) */
    TR_RET_TOO_LARGE = 5,       /* body or a field over its documented limit   (413) */
    TR_RET_BAD_METHOD = 6,      /* not POST                                    (405) */
    TR_RET_NOT_FOUND = 7,       /* no such endpoint                            (404) */
    TR_RET_UNAUTHORIZED = 8,    /* --api-token set, no valid bearer token      (401);
                                 * the compat endpoints answer it with HTTP 401 */
    TR_RET_FORBIDDEN = 9,       /* a valid token without the endpoint's scope   (403);
                                 * the compat endpoints answer it with HTTP 403 */
    TR_RET_STORE_DOWN = 10,     /* Redis unreachable or timed out before the request
                                 * was sent: nothing was changed               (503) */
    TR_RET_INTERNAL = 11,       /* anything else; logged with details          (500) */
    TR_RET_OUTCOME_UNKNOWN = 12, /* the request reached Redis but its answer did not
                                 * come back: it may have been applied         (503) */
    TR_RET_DESTINATION_REFUSED = 13 /* the destination policy refuses the URL by its text
                                 * alone (literal address, port 0; tr_netpolicy.h) (400) */
} tr_ret;

/* A short stable name for `ret`, e.g. "bad_json"; never NULL. */
const char *tr_ret_name(tr_ret ret);

/* The HTTP status the REST API pairs with `ret` (200 for TR_RET_OK). */
int tr_ret_http_status(tr_ret ret);

#endif
