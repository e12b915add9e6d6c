/* tr_auth.h - bearer tokens and their scopes (--api-token, --api-token-file,
 * --metrics-token; shared/tr_tokens.h) for /v1/, /metrics and the compat endpoints.
 *
 * Every route names what it needs (tr_auth_need). The API (/v1/, /register/,
 * /unregister/) is open only while no token has a read, write or admin scope;
 * /metrics is open only without --metrics-auth and --metrics-token; /healthz is
 * always open. docs/SECURITY.md, "API tokens and scopes".
 */
#ifndef TR_AUTH_H
#define TR_AUTH_H

#include "tr_config.h"
#include "tr_store_rest.h"

/* What a route needs. */
typedef enum tr_auth_need {
    TR_NEED_OPEN = 0, /* nothing (/healthz) */
    TR_NEED_READ,     /* an API token with the read scope */
    TR_NEED_WRITE,    /* ... write */
    TR_NEED_ADMIN,    /* ... admin */
    TR_NEED_WRITE_OR_ADMIN, /* either (DELETE: the handler tells which it needs) */
    TR_NEED_METRICS,  /* /metrics: read or metrics, when /metrics is protected */
    TR_NEED_ANY       /* any valid API token (an unknown /v1/ path: 404 only for one) */
} tr_auth_need;

/* The outcome of a check. */
typedef enum tr_auth_result {
    TR_AUTH_OK = 0,       /* go on */
    TR_AUTH_MISSING = 1,  /* no token, or not one of ours: 401 */
    TR_AUTH_FORBIDDEN = 2 /* a valid token without the scope: 403 */
} tr_auth_result;

/* What a request holding `scopes` may cancel: dead timers need admin, the
 * others write (TR_CANCEL_ANY with both). Only for a request that passed
 * TR_NEED_WRITE_OR_ADMIN (or write). */
tr_cancel_scope tr_auth_cancel_scope(unsigned scopes);

/* Checks `authorization` (the Authorization header, NULL when absent; "Bearer
 * <token>", the scheme in any case) for `need`. *granted (may be NULL) gets the
 * scopes the request holds: the token's, or every scope while the API is open.
 * Compares the SHA-256 digests of the given and of every configured token with
 * CRYPTO_memcmp, always all of them, so the time taken says nothing about any
 * token, its length or which one matched. */
tr_auth_result tr_auth_check(const tr_config *cfg, const char *authorization, tr_auth_need need,
                             unsigned *granted);

/* 1 when the API needs a token (some token has read, write or admin), else 0. */
int tr_auth_api_protected(const tr_config *cfg);

#endif
