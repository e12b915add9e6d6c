/* tr_auth.h - bearer tokens (--api-token) for /v1/ and the compat endpoints. */
#ifndef TR_AUTH_H
#define TR_AUTH_H

#include "tr_config.h"

/* 0 when no token is configured, or `authorization` (the Authorization header,
 * NULL when absent) is "Bearer <one of the tokens>"; -1 otherwise. Compares the
 * SHA-256 digests of the given and each configured token with CRYPTO_memcmp, and
 * always all of them, so the time taken says nothing about any token. */
int tr_auth_check(const tr_config *cfg, const char *authorization);

#endif
