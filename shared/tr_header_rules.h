/* tr_header_rules.h - which extra callback headers a timer may carry.
 *
 * One rule for both sides: the API refuses a header at create time
 * (fcgi/tr_rest_parse.c) exactly when the scheduler would leave it out of a
 * delivery (scheduler/tr_headers.c), so a header that was accepted is always sent.
 * docs/API.md lists the reserved names.
 */
#ifndef TR_HEADER_RULES_H
#define TR_HEADER_RULES_H

#include <stddef.h>

/* 1 when `name` is an HTTP token (RFC 9110: one or more of A-Z a-z 0-9
 * !#$%&'*+-.^_`|~), else 0. */
int tr_header_name_is_token(const char *name);

/* 1 when a timer may not set the header `name` (any case): one TimeRush sets itself
 * (Content-Type, User-Agent, X-TimeRush-*, and the Standard Webhooks signature
 * headers webhook-id, webhook-timestamp, webhook-signature), one libcurl manages (Host,
 * Content-Length, Transfer-Encoding, Connection, Keep-Alive, Expect, TE, Trailer,
 * Upgrade), or a proxy's (Proxy-*). Else 0. */
int tr_header_reserved(const char *name);

/* 1 when value[0..len) may be sent as a header value: no control character
 * (below 0x20, or 0x7f) except tab, so no CR, LF or NUL; no space or tab at
 * either end (so none only of whitespace). Empty is allowed. Else 0. */
int tr_header_value_ok(const char *value, size_t len);

/* 1 when the header `name` (any case) carries a credential: Authorization, Cookie,
 * Proxy-Authorization. Its value is write-only: sent with deliveries, answered as
 * TR_HEADER_REDACTED in every timer view (fcgi/tr_rest_view.c). Else 0. */
int tr_header_secret(const char *name);

/* What a view shows instead of a secret header's value. */
#define TR_HEADER_REDACTED "[redacted]"

/* 1 when a timer may carry the header name: value, by all three rules above. */
int tr_header_allowed(const char *name, const char *value, size_t len);

#endif
