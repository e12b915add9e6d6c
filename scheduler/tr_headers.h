/* tr_headers.h - a REST timer's own request headers, merged into a delivery's.
 *
 * The API validated them at create time (tokens, deny-list, sizes). The scheduler
 * still checks each again, because the record is data from Redis: a header whose
 * name is not a token, whose value holds CR, LF or NUL, or whose name duplicates
 * one TimeRush sets itself or one curl manages (Content-Type, User-Agent, Expect,
 * X-TimeRush-*, Host, Content-Length, Transfer-Encoding, Connection, Keep-Alive,
 * Proxy-*, TE, Trailer, Upgrade) is skipped, never sent.
 */
#ifndef TR_HEADERS_H
#define TR_HEADERS_H

#include <curl/curl.h>

/* Nonzero when a header called `name` (any case) must not come from a timer. */
int tr_headers_reserved(const char *name);

/* Appends "Name: value" for each member of the JSON object text `headers_json`
 * (NULL or "" adds nothing) to *list. *skipped (when not NULL) is set to the
 * number of members left out (not a string, bad name or value, reserved).
 * Returns 0; -1 when the text is not a JSON object or memory ran out (then *list
 * may hold some of them: the caller frees *list with curl_slist_free_all()). */
int tr_headers_merge(struct curl_slist **list, const char *headers_json, int *skipped);

#endif
