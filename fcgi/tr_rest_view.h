/* tr_rest_view.h - the "timer object" of REST answers (docs/API.md). Every view
 * answers the value of a secret header (Authorization, Cookie,
 * Proxy-Authorization: tr_header_secret()) as TR_HEADER_REDACTED. */
#ifndef TR_REST_VIEW_H
#define TR_REST_VIEW_H

#include <json-c/json.h>

#include "tr_store_rest.h"
#include "tr_timer.h"

/* The timer object of a stored timer. NULL when out of memory or its record is
 * unreadable (*bad_record set to 1 then). Caller puts it. */
json_object *tr_rest_view_timer(const tr_timer_view *v, int *bad_record);

/* The timer object of a timer just created from spec: pending, due at due_ms,
 * read at now_ms, never tried. NULL when out of memory. */
json_object *tr_rest_view_new(const char *key, const tr_timer_spec *spec, int64_t due_ms,
                              int64_t now_ms);

#endif
