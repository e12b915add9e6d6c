/* tr_url.h - callback URL validation, with libcurl's URL API. */
#ifndef TR_URL_H
#define TR_URL_H

#include <stddef.h>

#define TR_URL_MAX 2048 /* longest callback URL accepted, bytes */

/* Returns 0 when `url` is an absolute http:// or https:// URL with a host, no
 * user:password part, no port 0 and at most TR_URL_MAX bytes; otherwise -1 and a short reason
 * in msg (e.g. "callback_cmd: scheme must be http or https"). `field` names the
 * field in the reason. */
int tr_url_check(const char *url, const char *field, char *msg, size_t msglen);

#endif
