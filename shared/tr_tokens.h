/* tr_tokens.h - API bearer tokens and their scopes, as the options give them.
 *
 * A token is written "[SCOPES:]TOKEN" (--api-token, an `api-token =` line, a line of
 * an --api-token-file). SCOPES is a comma-separated list of read, write, admin and
 * metrics; without it a token has read, write and admin (what a token meant before
 * scopes). TOKEN must be an RFC 6750 b64token: 1..255 of A-Z a-z 0-9 - . _ ~ + /
 * followed by any number of '='. Neither ':' nor ',' can be part of one, so the
 * scopes can never swallow part of a token. Scopes are independent: admin does not
 * imply write or read (docs/SECURITY.md, API tokens and scopes).
 *
 * Error messages never quote a token: it is a secret (a scope name is quoted).
 */
#ifndef TR_TOKENS_H
#define TR_TOKENS_H

#include <stddef.h>

#define TR_API_TOKENS_MAX 64   /* tokens from every source together */
#define TR_API_TOKEN_MAX 256   /* bytes of one token, NUL included */

/* Scopes, a bit mask. */
#define TR_SCOPE_READ 1u    /* GET timers and lists, /v1/stats, /metrics */
#define TR_SCOPE_WRITE 2u   /* create, batch, cancel, reschedule, /register/, /unregister/ */
#define TR_SCOPE_ADMIN 4u   /* pause, resume, replay, deleting a dead timer */
#define TR_SCOPE_METRICS 8u /* GET /metrics only (--metrics-token) */
#define TR_SCOPE_API (TR_SCOPE_READ | TR_SCOPE_WRITE | TR_SCOPE_ADMIN) /* a bare token */

/* One configured token. */
typedef struct tr_api_token {
    char token[TR_API_TOKEN_MAX]; /* NUL-terminated, a valid b64token */
    unsigned scopes;              /* TR_SCOPE_* bits, never 0 */
} tr_api_token;

/* Parses "[SCOPES:]TOKEN" into *out. Returns 0, or -1 with a one-line reason in err
 * (empty or whitespace-only, unknown or empty scope, too long, a character a bearer
 * token cannot hold). */
int tr_token_parse(const char *text, tr_api_token *out, char *err, size_t errlen);

/* 1 when text[0..len) is an RFC 6750 b64token, else 0. */
int tr_token_is_b64token(const char *text, size_t len);

/* Appends the tokens of the file `path` to list[*count..max): one "[SCOPES:]TOKEN" a
 * line, blank lines and '#' comments skipped. Refuses (-1, err set, list and *count
 * unchanged) a file that is not a regular file, that group or others may access at
 * all (chmod 600), that holds no token, a bad line (its number named), or more
 * tokens than fit. 0 on success. */
int tr_token_file_load(const char *path, tr_api_token *list, int *count, int max, char *err,
                       size_t errlen);

#endif
