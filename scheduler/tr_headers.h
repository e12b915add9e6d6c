/* tr_headers.h - a REST timer's own request headers, merged into a delivery's.
 *
 * The API validated them at create time. The scheduler still checks each again
 * with the same rule (tr_header_allowed(), tr_header_rules.h), because the record
 * is data from Redis: a member that is not a string, or that the rule refuses, is
 * skipped, never sent.
 */
#ifndef TR_HEADERS_H
#define TR_HEADERS_H

#include <curl/curl.h>

/* Appends "Name: value" for each member of the JSON object text `headers_json`
 * (NULL or "" adds nothing) to *list. *skipped (when not NULL) is set to the
 * number of members left out (not a string, bad name or value, reserved).
 * Returns 0; -1 when the text is not a JSON object or memory ran out (then *list
 * may hold some of them: the caller frees *list with curl_slist_free_all()). */
int tr_headers_merge(struct curl_slist **list, const char *headers_json, int *skipped);

#endif
